//! A 3D scan as the model sees it: axial slices in display orientation (image left = patient
//! right, top = anterior), plus the geometry that turns voxel counts into millilitres and masks
//! back into files aligned with the input.

use serde::{Deserialize, Serialize};

use crate::dicom::source::DicomSource;
use crate::nifti::Header;

/// Voxel (column, row, slice) to RAS millimetres, as a 3x4 matrix.
pub type Affine = [[f64; 4]; 3];

/// Where a volume came from: needed to write its mask with the input's geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    /// The series, and each slice's instance: what a DICOM SEG references.
    Dicom(Box<DicomSource>),
    /// The input's header and how its voxel axes map onto the display axes.
    Nifti { header: Box<Header>, reorient: Reorient },
    /// Numbered image slices (see [`crate::numbered`]): no geometry but their order.
    Images { files: usize },
}

/// Maps display axes onto a file's voxel axes: display axis `d` runs along file axis `axes[d]`,
/// reversed where `flip[d]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorient {
    pub axes: [usize; 3],
    pub flip: [bool; 3],
}

impl Reorient {
    pub const IDENTITY: Reorient = Reorient { axes: [0, 1, 2], flip: [false; 3] };

    /// The display dimensions of a file of dimensions `file`.
    pub fn display_dims(&self, file: [usize; 3]) -> [usize; 3] {
        self.axes.map(|a| file[a])
    }

    /// The file voxel holding display voxel `d`.
    pub fn file_index(&self, d: [usize; 3], file: [usize; 3]) -> [usize; 3] {
        let mut f = [0; 3];
        for axis in 0..3 {
            let n = file[self.axes[axis]];
            f[self.axes[axis]] = if self.flip[axis] { n - 1 - d[axis] } else { d[axis] };
        }
        f
    }

    /// For each display voxel in display order (column fastest), its offset in a file of
    /// dimensions `file` stored column fastest.
    pub fn file_offsets(&self, file: [usize; 3]) -> impl Iterator<Item = usize> + '_ {
        let [w, h, d] = self.display_dims(file);
        (0..d).flat_map(move |z| (0..h).flat_map(move |y| (0..w).map(move |x| [x, y, z]))).map(move |v| {
            let [fx, fy, fz] = self.file_index(v, file);
            fx + file[0] * (fy + file[1] * fz)
        })
    }
}

/// Serializable so that the page's workers can hand a study's geometry to the page (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// What to call it: a series description or a file name.
    pub label: String,
    /// Width (columns), height (rows), slices.
    pub dims: [usize; 3],
    /// Column-fastest, then rows, then slices.
    pub voxels: Vec<f32>,
    /// Millimetres between columns and between rows, where the file says.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Each slice's position along the slice normal, in millimetres, where known.
    pub slice_positions: Option<Vec<f64>>,
    /// Display voxel to RAS millimetres, where the geometry is complete.
    pub affine: Option<Affine>,
    /// What the user should know about how it was read (ordering, spacing, fall-backs).
    pub notes: Vec<String>,
    pub origin: Origin,
}

impl Volume {
    /// The geometry of `slices` numbered images of `width`x`height` (no spacing known), to
    /// measure their masks as a study's.
    pub fn of_images(label: &str, width: usize, height: usize, slices: usize) -> Volume {
        Volume {
            label: label.to_string(),
            dims: [width, height, slices],
            voxels: Vec::new(),
            pixel_spacing: None,
            slice_positions: None,
            affine: None,
            notes: Vec::new(),
            origin: Origin::Images { files: slices },
        }
    }

    /// Everything but the voxels: enough to measure masks and export them, at a fraction of the
    /// memory (the browser keeps this once the slices are made).
    pub fn geometry(&self) -> Volume {
        Volume {
            label: self.label.clone(),
            dims: self.dims,
            voxels: Vec::new(),
            pixel_spacing: self.pixel_spacing,
            slice_positions: self.slice_positions.clone(),
            affine: self.affine,
            notes: self.notes.clone(),
            origin: self.origin.clone(),
        }
    }

    pub fn slice_len(&self) -> usize {
        self.dims[0] * self.dims[1]
    }

    pub fn slice(&self, k: usize) -> &[f32] {
        let n = self.slice_len();
        &self.voxels[k * n..(k + 1) * n]
    }

    /// How to map this volume's intensities to 8 bits, the way the LGG training data was scaled.
    pub fn window(&self) -> Window {
        Window::of(&self.voxels)
    }

    /// Millimetres each slice stands for: half the gap to each neighbour (the gap itself at the
    /// ends), so uneven spacing still sums to the right volume.
    pub fn slice_extents(&self) -> Option<Vec<f64>> {
        let p = self.slice_positions.as_ref()?;
        match p.len() {
            0 => None,
            1 => None,
            n => Some(
                (0..n)
                    .map(|k| {
                        let before = if k > 0 { (p[k] - p[k - 1]).abs() } else { (p[1] - p[0]).abs() };
                        let after = if k + 1 < n { (p[k + 1] - p[k]).abs() } else { before };
                        (before + after) / 2.0
                    })
                    .collect(),
            ),
        }
    }
}

/// A linear map of intensities to 0..=255.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub low: f32,
    pub high: f32,
}

impl Window {
    /// The LGG release scaled each sequence of a patient from its minimum to its maximum (its 8-bit
    /// slices reach 255 on ~1 voxel per million). The 99.99th percentile stands in for the maximum
    /// so one hot voxel cannot darken a whole series.
    pub fn of(values: &[f32]) -> Window {
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let (low, max) = finite().fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if max <= low {
            return Window { low: low.min(0.0).max(f32::MIN / 2.0), high: low.max(0.0) + 1.0 };
        }
        // A histogram finds the quantile's bin, the values in that bin its exact value.
        const BINS: usize = 4096;
        let scale = (BINS - 1) as f32 / (max - low);
        let bin_of = |v: f32| (((v - low) * scale) as usize).min(BINS - 1);
        let mut histogram = vec![0usize; BINS];
        for v in finite() {
            histogram[bin_of(v)] += 1;
        }
        let count: usize = histogram.iter().sum();
        let rank = count - 1 - count / 10_000;
        let (mut below, mut bin) = (0, BINS - 1);
        for (i, &n) in histogram.iter().enumerate() {
            if below + n > rank {
                bin = i;
                break;
            }
            below += n;
        }
        let mut in_bin: Vec<f32> = finite().filter(|&v| bin_of(v) == bin).collect();
        in_bin.sort_by(f32::total_cmp);
        let high = in_bin.get(rank - below).copied().unwrap_or(max);
        Window { low, high: if high > low { high } else { max } }
    }

    pub fn apply(&self, v: f32) -> u8 {
        if !v.is_finite() {
            return 0;
        }
        ((v - self.low) / (self.high - self.low) * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_ignores_a_single_hot_voxel() {
        let mut v: Vec<f32> = (0..100_000).map(|i| (i % 1000) as f32).collect();
        v[5] = 1e6;
        let w = Window::of(&v);
        assert_eq!(w.apply(0.0), 0);
        assert!(w.apply(999.0) >= 250, "{w:?}");
        assert_eq!(w.apply(1e6), 255);
    }

    #[test]
    fn reorient_maps_display_back_to_file() {
        let r = Reorient { axes: [1, 0, 2], flip: [true, false, false] };
        let file = [4, 5, 6];
        assert_eq!(r.display_dims(file), [5, 4, 6]);
        assert_eq!(r.file_index([0, 3, 2], file), [3, 4, 2]);
    }

    #[test]
    fn uneven_slices_get_their_own_extent() {
        let mut v = Volume {
            label: String::new(),
            dims: [1, 1, 3],
            voxels: vec![0.0; 3],
            pixel_spacing: None,
            slice_positions: Some(vec![0.0, 2.0, 6.0]),
            affine: None,
            notes: Vec::new(),
            origin: Origin::Dicom(Box::default()),
        };
        assert_eq!(v.slice_extents().unwrap(), [2.0, 3.0, 4.0]);
        v.slice_positions = None;
        assert!(v.slice_extents().is_none());
    }
}
