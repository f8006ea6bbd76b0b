//! Running a loaded model on slices: the one code path of the CLI, the app and evaluation.
//!
//! Tensor reads are split out so the browser can await them ([`Segmenter::segment_async`]);
//! a blocking read panics on WebGPU.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use image::{GrayImage, RgbImage};

use crate::error::{Error, Result};
use crate::model::UNet;
use crate::model_file::{self, ModelMeta};
use crate::postprocess::{PostProcess, coverage_percent, mask_from_probabilities};
use crate::preprocess::{batch_tensor_stacks, fit_to_input, stack_indices};

/// The result for one slice.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Tumor probability per pixel at the model's input size (row-major, `size*size`), kept so
    /// the threshold can change without re-running the network.
    pub probabilities: Vec<f32>,
    pub size: u32,
    /// 255 = tumor, at the input's original width and height.
    pub mask: GrayImage,
    pub coverage_percent: f64,
}

impl Prediction {
    /// Builds the mask from `probabilities` for an input of `width`x`height`.
    pub fn new(probabilities: Vec<f32>, size: u32, width: u32, height: u32, post: &PostProcess) -> Self {
        let mask = mask_from_probabilities(&probabilities, size, width, height, post);
        let coverage_percent = coverage_percent(&mask);
        Self { probabilities, size, mask, coverage_percent }
    }

    /// The same prediction post-processed differently (no network run).
    pub fn reprocess(&self, post: &PostProcess) -> Self {
        let (w, h) = self.mask.dimensions();
        Self::new(self.probabilities.clone(), self.size, w, h, post)
    }
}

/// A model ready to segment slices on one device.
pub struct Segmenter {
    model: UNet,
    meta: ModelMeta,
    device: Device,
}

impl Segmenter {
    /// Loads a `.bsm` model file's bytes onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        let (model, meta) = model_file::decode(bytes, device)?;
        Ok(Self::new(model, meta, device.clone()))
    }

    pub fn new(model: UNet, meta: ModelMeta, device: Device) -> Self {
        Self { model, meta, device }
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Replaces the model file's post-processing (threshold, minimum region) for this session.
    pub fn set_postprocess(&mut self, post: PostProcess) {
        self.meta.postprocess = post;
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn input_size(&self) -> u32 {
        self.meta.config.input_size as u32
    }

    /// Tumor probabilities of a batch of lone slices (a model that reads neighbouring slices
    /// gets each slice as its own neighbours), with mirrored test-time augmentation if the model
    /// asks.
    ///
    /// # Shapes
    /// - output: `[images.len(), 1, size, size]`
    pub fn probabilities(&self, images: &[&RgbImage]) -> Tensor<4> {
        let size = self.input_size();
        let resized: Vec<_> = images.iter().map(|i| fit_to_input(i, size)).collect();
        let depth = self.meta.config.stack_len();
        let stacks: Vec<Vec<&RgbImage>> = resized.iter().map(|c| vec![c.as_ref(); depth]).collect();
        self.stack_probabilities(&stacks)
    }

    /// Tumor probabilities of slice stacks at the model's input size (see
    /// [`crate::preprocess::stack_indices`]).
    fn stack_probabilities(&self, stacks: &[Vec<&RgbImage>]) -> Tensor<4> {
        let x = batch_tensor_stacks(stacks, &self.meta.normalization, &self.device);
        probabilities(&self.model, x, self.meta.flip_tta)
    }

    /// The stacks of slices `zs` of `volume` (already at the model's input size).
    fn stacks<'a>(&self, volume: &[&'a RgbImage], zs: std::ops::Range<usize>) -> Vec<Vec<&'a RgbImage>> {
        let context = self.meta.config.context();
        zs.map(|z| stack_indices(volume.len(), z, context).into_iter().map(|k| volume[k]).collect()).collect()
    }

    /// Tumor probabilities (`size*size` per slice, at the model's input size) of every slice of
    /// a volume: its slices in order, so that a model reading neighbouring slices gets them.
    /// `batch` slices per network run; `progress` is told how many slices are done.
    pub fn volume_probabilities(
        &self,
        volume: &[&RgbImage],
        batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let size = self.input_size();
        let resized: Vec<_> = volume.iter().map(|i| fit_to_input(i, size)).collect();
        let refs: Vec<&RgbImage> = resized.iter().map(|c| c.as_ref()).collect();
        let mut out = Vec::with_capacity(volume.len());
        let batch = batch.max(1);
        for start in (0..volume.len()).step_by(batch) {
            let end = (start + batch).min(volume.len());
            let t = self.stack_probabilities(&self.stacks(&refs, start..end));
            out.extend(split(read(t)?, end - start));
            progress(end);
        }
        Ok(out)
    }

    /// Tumor probabilities of slice `z` of a volume, awaiting the read-back (required on
    /// WebGPU): how the page segments a study one slice at a time.
    pub async fn slice_probabilities_async(&self, volume: &[&RgbImage], z: usize) -> Result<Vec<f32>> {
        let size = self.input_size();
        let resized: Vec<_> = self.stacks(volume, z..z + 1).remove(0).into_iter().map(|i| fit_to_input(i, size)).collect();
        let stack: Vec<&RgbImage> = resized.iter().map(|c| c.as_ref()).collect();
        read_async(self.stack_probabilities(&[stack])).await
    }

    /// A prediction of an input of `width`x`height` from its probabilities, under the model's
    /// post-processing.
    pub fn prediction(&self, probabilities: Vec<f32>, width: u32, height: u32) -> Prediction {
        Prediction::new(probabilities, self.input_size(), width, height, &self.meta.postprocess)
    }

    fn predictions(&self, images: &[&RgbImage], probs: Vec<f32>) -> Vec<Prediction> {
        images
            .iter()
            .zip(split(probs, images.len()))
            .map(|(img, p)| self.prediction(p, img.width(), img.height()))
            .collect()
    }

    /// Segments a batch of lone slices, blocking on the result (native backends).
    pub fn segment(&self, images: &[&RgbImage]) -> Result<Vec<Prediction>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.predictions(images, read(self.probabilities(images))?))
    }

    /// Segments a batch of lone slices, awaiting the read-back (required on WebGPU).
    pub async fn segment_async(&self, images: &[&RgbImage]) -> Result<Vec<Prediction>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.predictions(images, read_async(self.probabilities(images)).await?))
    }
}

/// A tensor's values on the host, blocking (native backends).
fn read(t: Tensor<4>) -> Result<Vec<f32>> {
    let data = t.try_into_data().map_err(|e| Error::Device(format!("{e:?}")))?;
    data.try_into_vec::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}

/// A tensor's values on the host, awaiting the read-back (required on WebGPU).
async fn read_async(t: Tensor<4>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| Error::Device(format!("{e:?}")))?;
    data.try_into_vec::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}

/// `n` equal parts of a batch's values, one per slice.
fn split(values: Vec<f32>, n: usize) -> Vec<Vec<f32>> {
    let per = values.len() / n.max(1);
    values.chunks_exact(per.max(1)).map(<[f32]>::to_vec).collect()
}

/// Sigmoid of the logits, averaged with the left-right mirrored pass when `flip_tta` is set.
///
/// # Shapes
/// - x: `[batch, in_channels, s, s]` -> `[batch, 1, s, s]`
pub fn probabilities(model: &UNet, x: Tensor<4>, flip_tta: bool) -> Tensor<4> {
    if !flip_tta {
        return sigmoid(model.forward(x));
    }
    let batch = x.dims()[0];
    // One forward pass over [x; flip(x)] is faster than two passes of half the batch.
    let both = Tensor::cat(vec![x.clone(), x.flip([3])], 0);
    let p = sigmoid(model.forward(both));
    let direct = p.clone().slice(s![0..batch]);
    let mirrored = p.slice(s![batch..2 * batch]).flip([3]);
    (direct + mirrored) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UNetConfig;
    use crate::preprocess::Normalization;
    use crate::synthetic::phantom;

    /// Polls a future that never waits (reads on the CPU backend are ready at once).
    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the CPU read-back should be ready at once"),
        }
    }

    #[test]
    fn the_page_and_the_cli_feed_a_2_5d_model_the_same_stacks() {
        let device = Device::flex();
        device.seed(9);
        let config = UNetConfig::new().with_base_channels(4).with_depth(2).with_norm_groups(2).with_input_size(32).with_context(1);
        let meta = ModelMeta::new(config.clone(), Normalization::default());
        let seg = Segmenter::new(config.init(&device), meta, device);
        // Five different slices, one of another size (resized like the rest).
        let mut volume: Vec<RgbImage> = (0..4).map(|k| phantom(32, 32, k, k % 2 == 0).image).collect();
        volume.push(phantom(48, 40, 7, true).image);
        let refs: Vec<&RgbImage> = volume.iter().collect();
        let mut seen = Vec::new();
        let cli = seg.volume_probabilities(&refs, 2, |n| seen.push(n)).unwrap();
        assert_eq!(seen, [2, 4, 5]);
        assert_eq!(cli.len(), 5);
        for z in 0..5 {
            let page = ready(seg.slice_probabilities_async(&refs, z)).unwrap();
            let diff = page.iter().zip(&cli[z]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "slice {z}: {diff}");
        }
        // The neighbours matter: the same slice alone (its own neighbours) differs.
        let alone = read(seg.probabilities(&[refs[2]])).unwrap();
        assert!(alone.iter().zip(&cli[2]).any(|(a, b)| (a - b).abs() > 1e-4));
    }
}
