//! The `.bsm` model file: everything needed to reproduce a model's predictions, checked on load.
//!
//! Layout: `BRAINSEG` magic, u32 LE header length, JSON [`ModelMeta`], then the weights as a
//! burnpack record. The header holds the architecture, normalisation and post-processing, and the
//! SHA-256 of the weights, so a truncated or edited file is refused instead of silently
//! producing wrong masks.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{UNet, UNetConfig};
use crate::postprocess::PostProcess;
use crate::preprocess::Normalization;

const MAGIC: &[u8; 8] = b"BRAINSEG";
/// Bumped whenever the layout or the meaning of a field changes.
pub const FORMAT_VERSION: u32 = 1;

/// How the model was made, for the model card and for `brainseg evaluate` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub epochs: usize,
    pub train_patients: usize,
    pub validation_dice: Option<f64>,
    pub notes: String,
}

/// The header of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format_version: u32,
    pub config: UNetConfig,
    pub normalization: Normalization,
    pub postprocess: PostProcess,
    /// Average the prediction with that of the left-right mirrored slice.
    pub flip_tta: bool,
    /// `"f32"`, `"f16"` or `"q8"` ([`WeightStorage`]): how the weights are stored (they are
    /// always computed in f32).
    pub weights_dtype: String,
    pub weights_sha256: String,
    pub provenance: Provenance,
}

impl ModelMeta {
    /// A header for a fresh model; the hash and dtype are filled in by [`encode`].
    pub fn new(config: UNetConfig, normalization: Normalization) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            config,
            normalization,
            postprocess: PostProcess::default(),
            flip_tta: false,
            weights_dtype: String::new(),
            weights_sha256: String::new(),
            provenance: Provenance::default(),
        }
    }
}

/// How a model file stores its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightStorage {
    F32,
    /// Half the size of f32; predictions differ by well under one in a thousand.
    F16,
    /// 8 bits per weight with per-channel scales ([`crate::quantize`]): a quarter of f32.
    Q8,
}

impl WeightStorage {
    /// The name written to [`ModelMeta::weights_dtype`].
    pub fn name(self) -> &'static str {
        match self {
            WeightStorage::F32 => "f32",
            WeightStorage::F16 => "f16",
            WeightStorage::Q8 => "q8",
        }
    }

    /// The storage a [`ModelMeta::weights_dtype`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        [WeightStorage::F32, WeightStorage::F16, WeightStorage::Q8].into_iter().find(|s| s.name() == name)
    }
}

struct CastFloats(DType);

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// Every float parameter of `model` as (shape, values), in module order: the host-side view that
/// widening and weight averaging compute on before [`refill`]ing a network.
pub fn float_params(model: &UNet) -> Vec<(Vec<usize>, Vec<f32>)> {
    struct Gather(Vec<(Vec<usize>, Vec<f32>)>);
    impl ModuleVisitor for Gather {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let dims = t.dims().to_vec();
            let values = t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
            self.0.push((dims, values));
        }
    }
    let mut gather = Gather(Vec::new());
    model.visit(&mut gather);
    gather.0
}

/// `param` with its values replaced by `values(dims)`, on the same device and tracking gradients
/// as before: how a [`ModuleMapper`] fills a network from weights that Burn's records do not hold
/// (8-bit storage, a narrower model to widen). The first error is kept in `failure`; from then on
/// parameters are handed back unchanged (the caller discards the network).
pub fn refill<const D: usize, E>(
    param: Param<Tensor<D>>,
    failure: &mut Option<E>,
    values: impl FnOnce(&[usize]) -> std::result::Result<Vec<f32>, E>,
) -> Param<Tensor<D>> {
    if failure.is_some() {
        return param;
    }
    param.map(|t| {
        let dims = t.dims();
        match values(&dims) {
            Ok(v) => {
                let tracked = t.is_require_grad();
                Tensor::from_data(TensorData::new(v, dims), &t.device()).set_require_grad(tracked)
            }
            Err(e) => {
                *failure = Some(e);
                t
            }
        }
    })
}

/// `model` with every float parameter, in module order, replaced by `fill(shape, values, dims)`:
/// the next of `params` (as [`float_params`] gives them) mapped onto the parameter's own `dims`.
/// The one way widening, 2.5D input and weight averaging fill a network from host-side weights;
/// `params` must hold exactly one entry per parameter.
pub fn refill_all(
    model: UNet,
    params: Vec<(Vec<usize>, Vec<f32>)>,
    fill: impl FnMut(&[usize], Vec<f32>, &[usize]) -> std::result::Result<Vec<f32>, String>,
) -> std::result::Result<UNet, String> {
    struct Fill<I, F> {
        next: I,
        fill: F,
        failure: Option<String>,
    }
    impl<I, F> ModuleMapper for Fill<I, F>
    where
        I: Iterator<Item = (Vec<usize>, Vec<f32>)>,
        F: FnMut(&[usize], Vec<f32>, &[usize]) -> std::result::Result<Vec<f32>, String>,
    {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some((shape, values)) = self.next.next() else {
                self.failure.get_or_insert_with(|| "fewer tensors than the network has parameters".into());
                return param;
            };
            let fill = &mut self.fill;
            refill(param, &mut self.failure, |dims| fill(&shape, values, dims))
        }
    }
    let mut mapper = Fill { next: params.into_iter(), fill, failure: None };
    let model = model.map(&mut mapper);
    match (mapper.failure, mapper.next.next()) {
        (Some(e), _) => Err(e),
        (None, Some(_)) => Err("more tensors than the network has parameters".into()),
        (None, None) => Ok(model),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Serialises `model` with `meta`, its weights stored as `storage` says.
pub fn encode(model: UNet, mut meta: ModelMeta, storage: WeightStorage) -> Result<Vec<u8>> {
    let weights = match storage {
        WeightStorage::Q8 => crate::quantize::encode(&model),
        WeightStorage::F32 | WeightStorage::F16 => {
            let model = if storage == WeightStorage::F16 { model.map(&mut CastFloats(DType::F16)) } else { model };
            model
                .into_record()
                .into_bytes()
                .map_err(|e| Error::CorruptModel(format!("cannot serialise weights: {e}")))?
                .to_vec()
        }
    };
    meta.format_version = FORMAT_VERSION;
    meta.weights_dtype = storage.name().to_string();
    meta.weights_sha256 = hex_sha256(&weights);
    let header = serde_json::to_vec(&meta).map_err(|e| Error::CorruptModel(e.to_string()))?;
    Ok(assemble(&header, &weights))
}

/// The file's bytes: magic, header length, JSON header, weights.
fn assemble(header: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + header.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(weights);
    out
}

/// Reads and checks the header; returns it with the weight bytes.
pub fn read_meta(bytes: &[u8]) -> Result<(ModelMeta, &[u8])> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(Error::NotAModel("it does not start with the BRAINSEG signature".into()));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let header = bytes
        .get(12..12 + len)
        .ok_or_else(|| Error::CorruptModel("the header is cut short".into()))?;
    let version: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| Error::CorruptModel(format!("header: {e}")))?;
    let found = version.get("format_version").and_then(|v| v.as_u64());
    if found != Some(FORMAT_VERSION as u64) {
        return Err(Error::NotAModel(format!(
            "format version {found:?}, this brainseg reads version {FORMAT_VERSION}"
        )));
    }
    let meta: ModelMeta =
        serde_json::from_value(version).map_err(|e| Error::CorruptModel(format!("header: {e}")))?;
    let weights = &bytes[12 + len..];
    if hex_sha256(weights) != meta.weights_sha256 {
        return Err(Error::CorruptModel(
            "the weights do not match their SHA-256 (truncated or modified file)".into(),
        ));
    }
    meta.config.validate().map_err(Error::ModelMismatch)?;
    Ok((meta, weights))
}

/// Builds the network the file describes and loads its weights onto `device`.
pub fn decode(bytes: &[u8], device: &Device) -> Result<(UNet, ModelMeta)> {
    let (meta, weights) = read_meta(bytes)?;
    let storage = WeightStorage::from_name(&meta.weights_dtype)
        .ok_or_else(|| Error::NotAModel(format!("unknown weight storage {:?}", meta.weights_dtype)))?;
    if storage == WeightStorage::Q8 {
        let model = crate::quantize::decode(weights, meta.config.init(device))?;
        return Ok((model, meta));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .map_err(|e| Error::CorruptModel(e.to_string()))?
        .cast_to_module_dtype();
    let model = meta
        .config
        .init(device)
        .try_load_record(record)
        .map_err(|e| Error::ModelMismatch(e.to_string()))?;
    Ok((model, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> UNetConfig {
        UNetConfig::new().with_base_channels(4).with_depth(2).with_norm_groups(2).with_input_size(16)
    }

    #[test]
    fn round_trip_keeps_meta_and_outputs() {
        let device = Device::flex();
        let model = tiny().init(&device);
        let x = Tensor::<4>::ones([1, 3, 16, 16], &device);
        let before = model.forward(x.clone());
        let bytes = encode(model, ModelMeta::new(tiny(), Normalization::default()), WeightStorage::F32).unwrap();
        let (loaded, meta) = decode(&bytes, &device).unwrap();
        assert_eq!(meta.config, tiny());
        let diff: f32 = (loaded.forward(x) - before).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6);
    }

    #[test]
    fn half_precision_is_smaller_and_close() {
        let device = Device::flex();
        // Wide enough that tensor data, not names, dominates the file.
        let config = tiny().with_base_channels(16);
        let model = config.init(&device);
        let meta = ModelMeta::new(config, Normalization::default());
        let full = encode(model.clone(), meta.clone(), WeightStorage::F32).unwrap();
        let half = encode(model.clone(), meta, WeightStorage::F16).unwrap();
        assert!(half.len() < full.len() * 6 / 10, "{} vs {}", half.len(), full.len());
        let (loaded, meta) = decode(&half, &device).unwrap();
        assert_eq!(meta.weights_dtype, "f16");
        let x = Tensor::<4>::ones([1, 3, 16, 16], &device);
        let diff: f32 = (loaded.forward(x.clone()) - model.forward(x)).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-2, "{diff}");
    }

    #[test]
    fn eight_bit_storage_is_smaller_than_half_and_close() {
        let device = Device::flex();
        let config = tiny().with_base_channels(16);
        let model = config.init(&device);
        let meta = ModelMeta::new(config, Normalization::default());
        let half = encode(model.clone(), meta.clone(), WeightStorage::F16).unwrap();
        let q8 = encode(model.clone(), meta, WeightStorage::Q8).unwrap();
        assert!(q8.len() < half.len() * 6 / 10, "{} vs {}", q8.len(), half.len());
        let (loaded, meta) = decode(&q8, &device).unwrap();
        assert_eq!(meta.weights_dtype, "q8");
        let x = Tensor::<4>::ones([1, 3, 16, 16], &device);
        let (a, b) = (model.forward(x.clone()), loaded.forward(x));
        let scale: f32 = a.clone().abs().max().into_scalar::<f32>();
        let diff: f32 = (a - b).abs().max().into_scalar::<f32>();
        assert!(diff < 0.05 * scale.max(1e-3), "{diff} vs {scale}");
    }

    #[test]
    fn damaged_files_are_refused() {
        let device = Device::flex();
        let bytes =
            encode(tiny().init(&device), ModelMeta::new(tiny(), Normalization::default()), WeightStorage::F32)
                .unwrap();
        assert!(matches!(decode(b"hello", &device), Err(Error::NotAModel(_))));
        let truncated = &bytes[..bytes.len() - 10];
        assert!(matches!(decode(truncated, &device), Err(Error::CorruptModel(_))));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(decode(&flipped, &device), Err(Error::CorruptModel(_))));
    }

    #[test]
    fn weights_of_another_architecture_are_refused() {
        let device = Device::flex();
        let other = tiny().with_base_channels(8).with_norm_groups(4);
        let bytes =
            encode(other.init(&device), ModelMeta::new(tiny(), Normalization::default()), WeightStorage::F32)
                .unwrap();
        // The header claims `tiny`, the weights are `other`: hash is fine, shapes are not.
        let (meta, _) = read_meta(&bytes).unwrap();
        assert_eq!(meta.config, tiny());
        assert!(matches!(decode(&bytes, &device), Err(Error::ModelMismatch(_))));
    }

    #[test]
    fn files_from_before_the_3d_step_and_2_5d_input_load_and_predict_as_before() {
        let device = Device::flex();
        let model = tiny().init(&device);
        let x = Tensor::<4>::ones([1, 3, 16, 16], &device);
        let before = model.forward(x.clone());
        let bytes = encode(model, ModelMeta::new(tiny(), Normalization::default()), WeightStorage::F32).unwrap();
        // The header as brainseg wrote it before `volume` and `context_slices` existed.
        let (meta, weights) = read_meta(&bytes).unwrap();
        let mut header = serde_json::to_value(&meta).unwrap();
        header["postprocess"].as_object_mut().unwrap().remove("volume").unwrap();
        header["config"].as_object_mut().unwrap().remove("context_slices").unwrap();
        let old = assemble(&serde_json::to_vec(&header).unwrap(), weights);
        let (loaded, meta) = decode(&old, &device).unwrap();
        assert_eq!(meta.postprocess.volume, crate::postprocess::VolumeRule::Off);
        assert_eq!((meta.config.context(), meta.config.stack_len()), (0, 1));
        let diff: f32 = (loaded.forward(x) - before).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6);
    }
}
