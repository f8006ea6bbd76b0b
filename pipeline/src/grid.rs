//! A study's display grid as a viewer sees it: the NIfTI files it is handed (the model's FLAIR
//! input and the mask, one grid, in memory) and the way between voxels and millimetres. The
//! page's study viewer uses it.

use brainseg_study::nifti;
use image::RgbImage;

use crate::StudyHeader;

/// Voxel `(column, row, slice)` of the display grid to RAS millimetres, and back.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub dims: [usize; 3],
    affine: [[f64; 4]; 3],
    inverse: [[f64; 4]; 3],
}

impl Grid {
    /// `None` where the slices differ in size (no common grid).
    pub fn of(header: &StudyHeader) -> Option<Grid> {
        if !header.uniform() || header.slices() == 0 {
            return None;
        }
        let affine = nifti::viewer_affine(&header.geometry, true);
        Some(Grid { dims: header.geometry.dims, inverse: invert(&affine)?, affine })
    }

    pub fn voxels(&self) -> usize {
        self.dims.iter().product()
    }

    /// Millimetres of a point given in voxel coordinates (voxel centres at whole numbers).
    pub fn mm(&self, v: [f64; 3]) -> [f64; 3] {
        let a = &self.affine;
        [0, 1, 2].map(|r| a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3])
    }

    /// The nearest voxel to a point in millimetres, if it lies in the grid.
    pub fn voxel(&self, mm: [f64; 3]) -> Option<[usize; 3]> {
        let a = &self.inverse;
        let v = [0, 1, 2].map(|r| (a[r][0] * mm[0] + a[r][1] * mm[1] + a[r][2] * mm[2] + a[r][3]).round());
        (0..3).all(|i| v[i] >= 0.0 && v[i] < self.dims[i] as f64).then(|| v.map(|x| x as usize))
    }

    /// The FLAIR channel (the model's green) of every slice, as the viewer's background.
    pub fn flair_nifti(&self, header: &StudyHeader, slices: &[&RgbImage]) -> crate::Result<Vec<u8>> {
        let mut values = Vec::with_capacity(self.voxels());
        for slice in slices {
            values.extend(slice.as_raw().chunks_exact(3).map(|p| p[1]));
        }
        Ok(nifti::write_display(&header.geometry, &values)?)
    }

    /// A mask (nonzero = tumor, display order) as the viewer's drawing: 1 = tumor.
    pub fn mask_nifti(&self, header: &StudyHeader, mask: &[u8]) -> crate::Result<Vec<u8>> {
        let values: Vec<u8> = mask.iter().map(|&v| u8::from(v != 0)).collect();
        Ok(nifti::write_display(&header.geometry, &values)?)
    }
}

/// The inverse of an affine map (3x3 part and translation).
fn invert(a: &[[f64; 4]; 3]) -> Option<[[f64; 4]; 3]> {
    let m = |r: usize, c: usize| a[r][c];
    let det = m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1)) - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
        + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0));
    if det.abs() < 1e-12 {
        return None;
    }
    let cof = |r0: usize, r1: usize, c0: usize, c1: usize| m(r0, c0) * m(r1, c1) - m(r0, c1) * m(r1, c0);
    let inv3 = [
        [cof(1, 2, 1, 2) / det, -cof(0, 2, 1, 2) / det, cof(0, 1, 1, 2) / det],
        [-cof(1, 2, 0, 2) / det, cof(0, 2, 0, 2) / det, -cof(0, 1, 0, 2) / det],
        [cof(1, 2, 0, 1) / det, -cof(0, 2, 0, 1) / det, cof(0, 1, 0, 1) / det],
    ];
    let t = [a[0][3], a[1][3], a[2][3]];
    Some([0, 1, 2].map(|r| {
        let row = inv3[r];
        [row[0], row[1], row[2], -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_study_of_images_gets_a_radiological_grid_and_its_files() {
        use crate::{StudyInput, StudyKind};
        let images = (0..3).map(|k| (format!("s_{k}.png"), RgbImage::from_pixel(4, 2, image::Rgb([0, 10 * k as u8, 0])))).collect();
        let study = StudyInput::from_images("s_", StudyKind::Numbered, images, Vec::new());
        let grid = Grid::of(&study.header).unwrap();
        // Columns run to the patient's left (-x), rows to the back (-y), as slices are shown.
        assert_eq!(grid.mm([1.0, 1.0, 1.0]), [-1.0, -1.0, 1.0]);
        let refs: Vec<&RgbImage> = study.slices.iter().collect();
        let flair = grid.flair_nifti(&study.header, &refs).unwrap();
        assert_eq!(flair.len(), 352 + 24);
        assert_eq!(&flair[352 + 8..352 + 16], &[10; 8], "slice 1's FLAIR channel");
        let mask = grid.mask_nifti(&study.header, &[255; 24]).unwrap();
        assert!(mask[352..].iter().all(|&v| v == 1));
        assert!(grid.mask_nifti(&study.header, &[1; 5]).is_err());
    }

    #[test]
    fn voxels_and_millimetres_round_trip_through_an_oblique_affine() {
        let affine = [[0.0, -0.9, 0.1, 12.0], [0.8, 0.0, 0.0, -30.0], [0.0, 0.2, 5.0, 7.5]];
        let grid = Grid { dims: [64, 64, 10], inverse: invert(&affine).unwrap(), affine };
        for v in [[0usize, 0, 0], [63, 10, 9], [31, 40, 4]] {
            let mm = grid.mm(v.map(|x| x as f64));
            assert_eq!(grid.voxel(mm), Some(v));
        }
        assert_eq!(grid.voxel(grid.mm([-3.0, 0.0, 0.0])), None);
    }
}
