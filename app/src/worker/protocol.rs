//! The messages between the page and its segmentation workers, as plain JS objects (structured
//! clone); pixel buffers are transferred, not copied. Both sides encode and decode here.

use std::sync::Arc;

use image::RgbImage;
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// What a worker is asked to do.
#[derive(Clone)]
pub enum Request {
    /// Read and decode an image file, then segment it alone.
    Segment(web_sys::File),
    /// Read and decode an image file only (a slice of a numbered folder, segmented later with its
    /// neighbours once the whole folder is read).
    Decode(web_sys::File),
    /// Read scan files (DICOM, NIfTI, zip) into studies: their 8-bit slices and geometry.
    Scans(Vec<(String, web_sys::File)>),
    /// Segment slice `z` of a volume: only the slices its stack needs travel (the model's context
    /// on each side, clamped at the volume's ends, which is where its own stacking clamps too).
    InVolume { volume: Arc<Vec<RgbImage>>, z: usize },
}

/// What a worker sends back for a job.
#[derive(Debug)]
pub struct Reply {
    /// The decoded image (jobs that read a file).
    pub image: Option<RgbImage>,
    /// Conversions made to read the file (16-bit, gray, alpha).
    pub notes: Vec<String>,
    /// Tumor probabilities at the model's input size (jobs that segment).
    pub probabilities: Option<Vec<f32>>,
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
    Segment(web_sys::File),
    Decode(web_sys::File),
    Scans(Vec<(String, web_sys::File)>),
    Stack { images: Vec<RgbImage>, z: usize },
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

impl Request {
    /// The message for job `id` to a model reading `context` slices on each side, and the
    /// buffers to transfer with it.
    pub fn encode(&self, id: u64, context: usize) -> (Object, Array) {
        let msg = Object::new();
        let transfer = Array::new();
        set(&msg, "type", "job");
        set(&msg, "id", id as f64);
        match self {
            Request::Segment(file) | Request::Decode(file) => {
                set(&msg, "kind", if matches!(self, Request::Segment(_)) { "segment" } else { "decode" });
                set(&msg, "file", file.clone());
            }
            Request::Scans(files) => {
                set(&msg, "kind", "scans");
                set(&msg, "paths", files.iter().map(|(p, _)| JsValue::from(p)).collect::<Array>());
                set(&msg, "files", files.iter().map(|(_, f)| JsValue::from(f)).collect::<Array>());
            }
            Request::InVolume { volume, z } => {
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
            }
        }
        (msg, transfer)
    }
}

impl Job {
    pub fn decode(msg: &JsValue) -> Result<Job, String> {
        let file = || get(msg, "file").dyn_into::<web_sys::File>().map_err(|_| "no file in the message".to_string());
        match get_string(msg, "kind").as_deref() {
            Some("segment") => Ok(Job::Segment(file()?)),
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
                Ok(Job::Stack { images, z: get_f64(msg, "z").unwrap_or(0.0) as usize })
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
        Ok(Reply { image, notes, probabilities, scans, millis: get_f64(msg, "millis").unwrap_or(0.0) })
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
