//! The messages between the page and its segmentation workers, as plain JS objects (structured
//! clone); pixel buffers are transferred, not copied. Both sides encode and decode here.

use std::sync::Arc;

use brainseg_core::postprocess::PostProcess;
use image::{GrayImage, RgbImage};
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// What a worker is asked to do.
#[derive(Clone)]
pub enum Request {
    /// Read and decode an image file, then segment it alone; its mask is made under `post`.
    Segment(web_sys::File, PostProcess),
    /// Read and decode an image file only (a slice of a numbered folder, segmented later with its
    /// neighbours once the whole folder is read).
    Decode(web_sys::File),
    /// Read scan files (DICOM, NIfTI, zip) into studies: their 8-bit slices and geometry.
    Scans(Vec<(String, web_sys::File)>),
    /// Segment slice `z` of a volume: only the slices its stack needs travel (the model's context
    /// on each side, clamped at the volume's ends, which is where its own stacking clamps too).
    InVolume { volume: Arc<Vec<RgbImage>>, z: usize, post: PostProcess },
    /// The masks of a complete study under `post`, its 3D step included: the main thread would
    /// otherwise spend hundreds of milliseconds on them when a study's last slice arrives.
    StudyMasks(Arc<StudyProbabilities>),
}

/// A complete study's network output: every slice's probabilities at the model's `size`, and
/// each slice's own width and height.
#[derive(Debug)]
pub struct StudyProbabilities {
    pub probabilities: Vec<Vec<f32>>,
    pub size: u32,
    pub dims: Vec<(u32, u32)>,
    pub post: PostProcess,
}

/// What a worker sends back for a job.
#[derive(Debug, Default)]
pub struct Reply {
    /// The decoded image (jobs that read a file).
    pub image: Option<RgbImage>,
    /// Conversions made to read the file (16-bit, gray, alpha).
    pub notes: Vec<String>,
    /// Tumor probabilities at the model's input size (jobs that segment).
    pub probabilities: Option<Vec<f32>>,
    /// The slice's mask at its own size under the job's post-processing (jobs that segment).
    pub mask: Option<GrayImage>,
    /// Every slice's mask, 3D step included (study mask jobs).
    pub masks: Option<Vec<GrayImage>>,
    /// Studies read from scan files (scan jobs).
    pub scans: Option<Scans>,
    /// Time in the worker: reading, decoding and the network.
    pub millis: f64,
}

/// What scan files held: studies, and the files that could not be used, with the reason.
#[derive(Debug, Default)]
pub struct Scans {
    pub studies: Vec<ScanStudy>,
    pub problems: Vec<(String, String)>,
}

/// A study as the page needs it: its slices as the model's RGB input, and its geometry.
#[derive(Debug)]
pub struct ScanStudy {
    pub label: String,
    /// Which channels were filled from which series, in words.
    pub mode: String,
    pub notes: Vec<String>,
    /// Spacing, orientation and origin, no voxels (millilitres, NIfTI and DICOM SEG exports).
    pub geometry: brainseg_study::Volume,
    pub slices: Vec<RgbImage>,
}

/// A job as the worker receives it.
pub enum Job {
    Segment(web_sys::File, PostProcess),
    Decode(web_sys::File),
    Scans(Vec<(String, web_sys::File)>),
    Stack { images: Vec<RgbImage>, z: usize, post: PostProcess },
    StudyMasks(StudyProbabilities),
}

pub fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_f64(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).as_f64()
}

pub fn get_string(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

fn bytes_of(image: &RgbImage) -> Uint8Array {
    Uint8Array::from(image.as_raw().as_slice())
}

fn image_of(bytes: &JsValue, width: u32, height: u32) -> Result<RgbImage, String> {
    let bytes = bytes.dyn_ref::<Uint8Array>().ok_or("no pixels in the message")?;
    RgbImage::from_raw(width, height, bytes.to_vec()).ok_or_else(|| format!("pixels do not fill {width}x{height}"))
}

/// A mask as `[bytes, width, height]`, its buffer transferred.
fn encode_mask(mask: &GrayImage, transfer: &Array) -> Array {
    let bytes = Uint8Array::from(mask.as_raw().as_slice());
    transfer.push(&bytes.buffer());
    Array::of3(&bytes, &mask.width().into(), &mask.height().into())
}

fn decode_mask(value: &JsValue) -> Result<GrayImage, String> {
    let (w, h) = (get_f64(value, "1").unwrap_or(0.0) as u32, get_f64(value, "2").unwrap_or(0.0) as u32);
    let bytes = get(value, "0").dyn_into::<Uint8Array>().map_err(|_| "no mask in the message")?;
    GrayImage::from_raw(w, h, bytes.to_vec()).ok_or_else(|| format!("a mask does not fill {w}x{h}"))
}

fn set_post(msg: &Object, post: &PostProcess) {
    set(msg, "post", serde_json::to_string(post).unwrap_or_default());
}

fn post_of(msg: &JsValue) -> Result<PostProcess, String> {
    serde_json::from_str(&get_string(msg, "post").unwrap_or_default()).map_err(|e| format!("the job's post-processing: {e}"))
}

impl Request {
    /// The message for job `id` to a model reading `context` slices on each side, and the
    /// buffers to transfer with it.
    pub fn encode(&self, id: u64, context: usize) -> (Object, Array) {
        let msg = Object::new();
        let transfer = Array::new();
        set(&msg, "type", "job");
        set(&msg, "id", id as f64);
        match self {
            Request::Segment(file, post) => {
                set(&msg, "kind", "segment");
                set(&msg, "file", file.clone());
                set_post(&msg, post);
            }
            Request::Decode(file) => {
                set(&msg, "kind", "decode");
                set(&msg, "file", file.clone());
            }
            Request::StudyMasks(study) => {
                set(&msg, "kind", "study-masks");
                let probs = Array::new();
                for p in &study.probabilities {
                    let array = Float32Array::from(p.as_slice());
                    transfer.push(&array.buffer());
                    probs.push(&array);
                }
                set(&msg, "probabilities", probs);
                set(&msg, "size", study.size);
                set(&msg, "dims", study.dims.iter().map(|&(w, h)| JsValue::from(Array::of2(&w.into(), &h.into()))).collect::<Array>());
                set_post(&msg, &study.post);
            }
            Request::Scans(files) => {
                set(&msg, "kind", "scans");
                set(&msg, "paths", files.iter().map(|(p, _)| JsValue::from(p)).collect::<Array>());
                set(&msg, "files", files.iter().map(|(_, f)| JsValue::from(f)).collect::<Array>());
            }
            Request::InVolume { volume, z, post } => {
                let (lo, hi) = (z.saturating_sub(context), (z + context).min(volume.len().saturating_sub(1)));
                let images = Array::new();
                for image in volume.get(lo..=hi).unwrap_or_default() {
                    let bytes = bytes_of(image);
                    transfer.push(&bytes.buffer());
                    images.push(&bytes);
                }
                let (w, h) = volume.first().map_or((0, 0), |i| i.dimensions());
                set(&msg, "kind", "stack");
                set(&msg, "images", images);
                set(&msg, "width", w);
                set(&msg, "height", h);
                set(&msg, "z", (z - lo) as u32);
                set_post(&msg, post);
            }
        }
        (msg, transfer)
    }
}

impl Job {
    pub fn decode(msg: &JsValue) -> Result<Job, String> {
        let file = || get(msg, "file").dyn_into::<web_sys::File>().map_err(|_| "no file in the message".to_string());
        match get_string(msg, "kind").as_deref() {
            Some("segment") => Ok(Job::Segment(file()?, post_of(msg)?)),
            Some("decode") => Ok(Job::Decode(file()?)),
            Some("scans") => {
                let paths = get(msg, "paths").dyn_into::<Array>().map_err(|_| "no paths in the message")?;
                let files = get(msg, "files").dyn_into::<Array>().map_err(|_| "no files in the message")?;
                let files = paths
                    .iter()
                    .zip(files.iter())
                    .map(|(p, f)| Ok((p.as_string().unwrap_or_default(), f.dyn_into::<web_sys::File>().map_err(|_| "not a file")?)))
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(Job::Scans(files))
            }
            Some("stack") => {
                let (w, h) = (get_f64(msg, "width").unwrap_or(0.0) as u32, get_f64(msg, "height").unwrap_or(0.0) as u32);
                let images = get(msg, "images").dyn_into::<Array>().map_err(|_| "no slices in the message")?;
                let images = images.iter().map(|b| image_of(&b, w, h)).collect::<Result<Vec<_>, _>>()?;
                Ok(Job::Stack { images, z: get_f64(msg, "z").unwrap_or(0.0) as usize, post: post_of(msg)? })
            }
            Some("study-masks") => {
                let probs = get(msg, "probabilities").dyn_into::<Array>().map_err(|_| "no probabilities in the message")?;
                let probabilities = probs
                    .iter()
                    .map(|p| p.dyn_into::<Float32Array>().map(|a| a.to_vec()).map_err(|_| "not probabilities".to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                let dims = get(msg, "dims").dyn_into::<Array>().map_err(|_| "no slice sizes in the message")?;
                let dims: Vec<(u32, u32)> =
                    dims.iter().map(|d| (get_f64(&d, "0").unwrap_or(0.0) as u32, get_f64(&d, "1").unwrap_or(0.0) as u32)).collect();
                let size = get_f64(msg, "size").unwrap_or(0.0) as u32;
                let n = (size * size) as usize;
                if dims.len() != probabilities.len() || probabilities.iter().any(|p| p.len() != n) {
                    return Err(format!("a study of {} slices with {} sizes at {size}x{size}", probabilities.len(), dims.len()));
                }
                Ok(Job::StudyMasks(StudyProbabilities { probabilities, size, dims, post: post_of(msg)? }))
            }
            other => Err(format!("unknown job {other:?}")),
        }
    }
}

impl Reply {
    /// The `done` message of job `id`, and the buffers to transfer with it.
    pub fn encode(result: Result<Reply, String>, id: f64) -> (Object, Array) {
        let msg = Object::new();
        let transfer = Array::new();
        set(&msg, "type", "done");
        set(&msg, "id", id);
        match result {
            Err(e) => set(&msg, "error", e),
            Ok(reply) => {
                if let Some(image) = &reply.image {
                    let bytes = bytes_of(image);
                    transfer.push(&bytes.buffer());
                    set(&msg, "rgb", bytes);
                    set(&msg, "width", image.width());
                    set(&msg, "height", image.height());
                }
                if let Some(p) = &reply.probabilities {
                    let probs = Float32Array::from(p.as_slice());
                    transfer.push(&probs.buffer());
                    set(&msg, "probabilities", probs);
                }
                if let Some(mask) = &reply.mask {
                    set(&msg, "mask", encode_mask(mask, &transfer));
                }
                if let Some(masks) = &reply.masks {
                    set(&msg, "masks", masks.iter().map(|m| JsValue::from(encode_mask(m, &transfer))).collect::<Array>());
                }
                set(&msg, "notes", strings(&reply.notes));
                set(&msg, "millis", reply.millis);
                if let Some(scans) = &reply.scans {
                    set(&msg, "scans", scans.encode(&transfer));
                }
            }
        }
        (msg, transfer)
    }

    /// A worker's `done` message: the reply, or the reason the job failed.
    pub fn decode(msg: &JsValue) -> Result<Reply, String> {
        if let Some(e) = get_string(msg, "error") {
            return Err(e);
        }
        let rgb = get(msg, "rgb");
        let image = if rgb.is_undefined() {
            None
        } else {
            let (w, h) = (get_f64(msg, "width").unwrap_or(0.0) as u32, get_f64(msg, "height").unwrap_or(0.0) as u32);
            Some(image_of(&rgb, w, h)?)
        };
        let probabilities = get(msg, "probabilities").dyn_ref::<Float32Array>().map(Float32Array::to_vec);
        let notes = strings_of(&get(msg, "notes"));
        let scans = get(msg, "scans");
        let scans = if scans.is_undefined() { None } else { Some(Scans::decode(&scans)?) };
        let mask = get(msg, "mask");
        let mask = if mask.is_undefined() { None } else { Some(decode_mask(&mask)?) };
        let masks = match get(msg, "masks").dyn_into::<Array>() {
            Ok(list) => Some(list.iter().map(|m| decode_mask(&m)).collect::<Result<Vec<_>, _>>()?),
            Err(_) => None,
        };
        Ok(Reply { image, notes, probabilities, mask, masks, scans, millis: get_f64(msg, "millis").unwrap_or(0.0) })
    }
}

fn strings(list: &[String]) -> Array {
    list.iter().map(JsValue::from).collect()
}

fn strings_of(array: &JsValue) -> Vec<String> {
    array.dyn_ref::<Array>().map(|a| a.iter().filter_map(|n| n.as_string()).collect()).unwrap_or_default()
}

impl Scans {
    fn encode(&self, transfer: &Array) -> Object {
        let out = Object::new();
        let problems: Array = self.problems.iter().map(|(f, r)| JsValue::from(Array::of2(&JsValue::from(f.as_str()), &JsValue::from(r.as_str())))).collect();
        set(&out, "problems", problems);
        let studies = Array::new();
        for study in &self.studies {
            let s = Object::new();
            set(&s, "label", study.label.clone());
            set(&s, "mode", study.mode.clone());
            set(&s, "notes", strings(&study.notes));
            set(&s, "geometry", serde_json::to_string(&study.geometry).unwrap_or_default());
            let (w, h) = study.slices.first().map_or((0, 0), |i| i.dimensions());
            set(&s, "width", w);
            set(&s, "height", h);
            let slices = Array::new();
            for image in &study.slices {
                let bytes = bytes_of(image);
                transfer.push(&bytes.buffer());
                slices.push(&bytes);
            }
            set(&s, "slices", slices);
            studies.push(&s);
        }
        set(&out, "studies", studies);
        out
    }

    fn decode(msg: &JsValue) -> Result<Scans, String> {
        let problems = get(msg, "problems").dyn_into::<Array>().map_err(|_| "no problems list")?;
        let problems = problems.iter().map(|p| (get_string(&p, "0").unwrap_or_default(), get_string(&p, "1").unwrap_or_default())).collect();
        let list = get(msg, "studies").dyn_into::<Array>().map_err(|_| "no studies list")?;
        let mut studies = Vec::new();
        for s in list.iter() {
            let (w, h) = (get_f64(&s, "width").unwrap_or(0.0) as u32, get_f64(&s, "height").unwrap_or(0.0) as u32);
            let slices = get(&s, "slices").dyn_into::<Array>().map_err(|_| "no slices")?;
            let geometry = serde_json::from_str(&get_string(&s, "geometry").unwrap_or_default()).map_err(|e| format!("a study's geometry: {e}"))?;
            studies.push(ScanStudy {
                label: get_string(&s, "label").unwrap_or_default(),
                mode: get_string(&s, "mode").unwrap_or_default(),
                notes: strings_of(&get(&s, "notes")),
                geometry,
                slices: slices.iter().map(|b| image_of(&b, w, h)).collect::<Result<_, _>>()?,
            });
        }
        Ok(Scans { studies, problems })
    }
}
