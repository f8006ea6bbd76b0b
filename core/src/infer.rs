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
use crate::preprocess::{batch_tensor, fit_to_input};

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

    /// Tumor probabilities of a batch, with mirrored test-time augmentation if the model asks.
    ///
    /// # Shapes
    /// - output: `[images.len(), 1, size, size]`
    pub fn probabilities(&self, images: &[&RgbImage]) -> Tensor<4> {
        let size = self.input_size();
        let resized: Vec<_> = images.iter().map(|i| fit_to_input(i, size)).collect();
        let refs: Vec<&RgbImage> = resized.iter().map(|c| c.as_ref()).collect();
        let x = batch_tensor(&refs, &self.meta.normalization, &self.device);
        probabilities(&self.model, x, self.meta.flip_tta)
    }

    fn predictions(&self, images: &[&RgbImage], probs: Vec<f32>) -> Vec<Prediction> {
        let size = self.input_size();
        let per = (size * size) as usize;
        images
            .iter()
            .zip(probs.chunks_exact(per))
            .map(|(img, p)| {
                Prediction::new(p.to_vec(), size, img.width(), img.height(), &self.meta.postprocess)
            })
            .collect()
    }

    /// Segments a batch, blocking on the result (native backends).
    pub fn segment(&self, images: &[&RgbImage]) -> Result<Vec<Prediction>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.probabilities(images).try_into_data().map_err(|e| Error::Device(format!("{e:?}")))?;
        let probs = data.try_into_vec::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
        Ok(self.predictions(images, probs))
    }

    /// Segments a batch, awaiting the read-back (required on WebGPU).
    pub async fn segment_async(&self, images: &[&RgbImage]) -> Result<Vec<Prediction>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let data = self
            .probabilities(images)
            .into_data_async()
            .await
            .map_err(|e| Error::Device(format!("{e:?}")))?;
        let probs = data.try_into_vec::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
        Ok(self.predictions(images, probs))
    }
}

/// Sigmoid of the logits, averaged with the left-right mirrored pass when `flip_tta` is set.
///
/// # Shapes
/// - x: `[batch, 3, s, s]` -> `[batch, 1, s, s]`
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
