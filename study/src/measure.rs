//! Study-level figures from per-slice masks: tumor volume in millilitres, slices with tumor, and
//! the largest in-plane diameter on the slice with most tumor.

use serde::{Deserialize, Serialize};

use crate::diameters::{Bidimensional, max_diameter};
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub slices: usize,
    pub slices_with_tumor: usize,
    pub tumor_voxels: usize,
    /// Tumor voxels over all voxels.
    pub tumor_percent: f64,
    /// `None` where the spacing is unknown.
    pub volume_ml: Option<f64>,
    /// 1-based, on the slice with most tumor.
    pub largest_slice: Option<usize>,
    /// Longest distance across the tumor on that slice, in millimetres where the pixel spacing is
    /// known.
    pub largest_diameter_mm: Option<f64>,
    pub largest_diameter_px: Option<f64>,
    /// RANO's two diameters on the slice with most tumor (the longest, and the longest across
    /// it), with their end points for drawing.
    pub bidimensional: Option<Bidimensional>,
}

impl Summary {
    /// `12.40 mL tumor on 7/24 slices; largest diameter 41.3 mm (slice 12)`: the one wording of
    /// a study's figures, in the CLI and on the page.
    pub fn text(&self) -> String {
        let diameter = self.diameter_text().map(|d| format!("; largest diameter {d}")).unwrap_or_default();
        let amount = match self.volume_ml {
            Some(ml) => format!("{ml:.2} mL tumor"),
            None => format!("{:.3}% of voxels tumor (no voxel spacing: mL unknown)", self.tumor_percent),
        };
        format!("{amount} on {}/{} slices{diameter}", self.slices_with_tumor, self.slices)
    }

    /// `12.40 mL`, or the share of voxels where the spacing is unknown.
    pub fn amount_text(&self) -> String {
        match self.volume_ml {
            Some(ml) => format!("{ml:.2} mL"),
            None => format!("{:.3}% of voxels (no voxel spacing: mL unknown)", self.tumor_percent),
        }
    }

    /// `41.3 mm (slice 12)` (pixels where the spacing is unknown), if there is tumor.
    pub fn diameter_text(&self) -> Option<String> {
        match (self.largest_diameter_mm, self.largest_diameter_px, self.largest_slice) {
            (Some(mm), _, Some(k)) => Some(format!("{mm:.1} mm (slice {k})")),
            (None, Some(px), Some(k)) => Some(format!("{px:.0} px (slice {k})")),
            _ => None,
        }
    }
}

/// `masks` holds one slice per entry (nonzero = tumor), each `volume.dims[0] x dims[1]`.
pub fn summarize(volume: &Volume, masks: &[&[u8]]) -> Summary {
    let [w, h, _] = volume.dims;
    let counts: Vec<usize> = masks.iter().map(|m| m.iter().filter(|&&v| v != 0).count()).collect();
    let tumor_voxels: usize = counts.iter().sum();
    let total = (w * h * masks.len()).max(1);
    let area_mm2 = volume.pixel_spacing.map(|[dx, dy]| dx * dy);
    let volume_ml = match (area_mm2, volume.slice_extents()) {
        (Some(area), Some(extents)) if extents.len() == counts.len() => {
            Some(counts.iter().zip(&extents).map(|(&n, t)| n as f64 * area * t).sum::<f64>() / 1000.0)
        }
        _ => None,
    };
    let largest = counts.iter().enumerate().filter(|(_, n)| **n > 0).max_by_key(|(i, n)| (**n, usize::MAX - i)).map(|(i, _)| i);
    let diameter = |scale: [f64; 2]| largest.map(|k| max_diameter(masks[k], w, h, scale));
    Summary {
        slices: masks.len(),
        slices_with_tumor: counts.iter().filter(|&&n| n > 0).count(),
        tumor_voxels,
        tumor_percent: 100.0 * tumor_voxels as f64 / total as f64,
        volume_ml,
        largest_slice: largest.map(|k| k + 1),
        largest_diameter_mm: volume.pixel_spacing.and_then(diameter),
        largest_diameter_px: diameter([1.0, 1.0]),
        bidimensional: crate::diameters::largest(volume, masks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Origin;

    fn volume(dims: [usize; 3], spacing: Option<[f64; 2]>, positions: Option<Vec<f64>>) -> Volume {
        Volume {
            label: "t".into(),
            dims,
            voxels: vec![0.0; dims.iter().product()],
            pixel_spacing: spacing,
            slice_positions: positions,
            affine: None,
            notes: Vec::new(),
            origin: Origin::Dicom(Box::default()),
        }
    }

    #[test]
    fn volume_in_ml_uses_spacing_and_each_slice_extent() {
        let v = volume([4, 4, 3], Some([0.5, 0.5]), Some(vec![0.0, 5.0, 10.0]));
        let full = [1u8; 16];
        let empty = [0u8; 16];
        let s = summarize(&v, &[&empty, &full, &full]);
        // 32 voxels of 0.25 mm² x 5 mm = 40 mm³.
        assert!((s.volume_ml.unwrap() - 0.04).abs() < 1e-12);
        assert_eq!((s.slices_with_tumor, s.largest_slice), (2, Some(2)));
        let unknown = summarize(&volume([4, 4, 3], None, None), &[&empty, &full, &full]);
        assert_eq!((unknown.volume_ml, unknown.largest_diameter_mm), (None, None));
        assert!((unknown.tumor_percent - 200.0 / 3.0).abs() < 1e-9);
    }
}
