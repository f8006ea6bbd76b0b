//! What the page asks its segmentation workers, and what each request answers: one [`Request`]
//! enum, a reply type per request ([`Ask::Reply`]), both packed by [`super::wire`] (JSON beside
//! transferred buffers). The page holds no model and reads no file; the workers hold no study
//! between requests.

use brainseg_core::postprocess::PostProcess;
use brainseg_pipeline::StudyHeader;
use brainseg_study::Summary;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::wire::{Bytes, FileRef, Floats, JsPixels, Pixels, Stack};

/// Every request a worker takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    Read(Read),
    Infer(Infer),
    Assemble(Assemble),
    Measure(Measure),
    Export(Export),
}

/// A request and the type of its answer.
pub trait Ask: Into<Request> {
    type Reply: Serialize + DeserializeOwned;
}

macro_rules! ask {
    ($request:ident => $reply:ty) => {
        impl From<$request> for Request {
            fn from(r: $request) -> Request {
                Request::$request(r)
            }
        }
        impl Ask for $request {
            type Reply = $reply;
        }
    };
}

/// Read files into studies ([`brainseg_pipeline::Reader`]): scans by content, numbered images
/// as volumes, any other image a study of one slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Read {
    pub files: Vec<ReadFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadFile {
    /// Its path inside the dropped folder, or its name.
    pub path: String,
    pub file: FileRef,
    /// Chosen by the user itself (a wrong format is reported), not found inside a folder.
    pub named: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReadReply {
    pub studies: Vec<ReadStudy>,
    /// `(file, why)` for every file that could not be used.
    pub problems: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReadStudy {
    pub header: StudyHeader,
    /// The model's 8-bit RGB input, in slice order.
    pub slices: Vec<JsPixels>,
}
ask!(Read => ReadReply);

/// The network on slice `z` of `stack` (the slice and the neighbours the model reads), and its
/// mask under `post` on its own (the study's 3D step comes with [`Assemble`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Infer {
    pub stack: Stack,
    pub z: usize,
    pub post: PostProcess,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct InferReply {
    /// At the model's input size.
    pub probabilities: Floats,
    pub mask: Pixels,
    /// Time in the worker.
    pub millis: f64,
}
ask!(Infer => InferReply);

/// A complete study's result from its probabilities ([`brainseg_pipeline::assemble`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assemble {
    pub header: StudyHeader,
    pub probabilities: Vec<Floats>,
    pub post: PostProcess,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AssembleReply {
    pub masks: Vec<Pixels>,
    pub summary: Option<Summary>,
}
ask!(Assemble => AssembleReply);

/// The figures of a study's masks as a reader corrected them ([`brainseg_pipeline::measure`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measure {
    pub header: StudyHeader,
    pub masks: Vec<Pixels>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MeasureReply {
    pub summary: Option<Summary>,
}
ask!(Measure => MeasureReply);

/// A study's masks as a file ([`brainseg_pipeline::exports`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Export {
    pub header: StudyHeader,
    pub masks: Vec<Pixels>,
    pub format: ExportFormat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExportFormat {
    /// `mask.nii.gz` on the input's grid.
    Nifti,
    /// A DICOM SEG; its UIDs from `uid_seed` (128 bits as text: JSON numbers are doubles);
    /// `edited`: a reader corrected the mask (SEMIAUTOMATIC).
    Seg { model_sha256: String, uid_seed: String, unix_seconds: i64, edited: bool },
    /// A zip of `slice_NNN.png`.
    Pngs,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportReply {
    pub bytes: Bytes,
}
ask!(Export => ExportReply);
