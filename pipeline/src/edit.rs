//! Corrections a reader makes to a study's mask before it becomes mL, a NIfTI file or a DICOM
//! SEG: strokes (painted elsewhere, e.g. by the page's viewer) arrive as whole new masks, a
//! click removes a connected 3D component ("not tumor"), and every change can be undone and
//! redone. The mask is one volume in display order (x fastest, then y, then slice), 0 or 1.

use std::collections::VecDeque;

/// One step of the history: the voxels it changed, with their values before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    changed: Vec<(u32, u8, u8)>,
}

/// A study's mask and its history of edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedMask {
    dims: [usize; 3],
    mask: Vec<u8>,
    undo: VecDeque<Step>,
    redo: Vec<Step>,
}

/// Steps kept for undo: each holds only the voxels it changed.
const MAX_UNDO: usize = 100;

impl EditedMask {
    /// Starts from the model's mask (nonzero = tumor), `dims` = width, height, slices.
    pub fn new(dims: [usize; 3], mask: &[u8]) -> EditedMask {
        assert_eq!(mask.len(), dims.iter().product::<usize>(), "mask of the wrong size");
        EditedMask { dims, mask: mask.iter().map(|&v| u8::from(v != 0)).collect(), undo: VecDeque::new(), redo: Vec::new() }
    }

    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// The mask now: 1 = tumor.
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }

    /// Whether any edit is in effect (an undone edit is not).
    pub fn is_edited(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Takes a whole new mask (after a brush, eraser or fill stroke) as one step; returns how
    /// many voxels changed (none: no step).
    pub fn replace(&mut self, mask: &[u8]) -> usize {
        if mask.len() != self.mask.len() {
            return 0;
        }
        let changed: Vec<(u32, u8, u8)> = self
            .mask
            .iter()
            .zip(mask)
            .enumerate()
            .filter_map(|(i, (&old, &new))| {
                let new = u8::from(new != 0);
                (old != new).then_some((i as u32, old, new))
            })
            .collect();
        self.apply(changed)
    }

    /// "Not tumor": removes the 26-connected 3D component holding voxel `(x, y, z)`; returns how
    /// many voxels it had (0 where the voxel is not tumor).
    pub fn remove_component(&mut self, x: usize, y: usize, z: usize) -> usize {
        let [w, h, d] = self.dims;
        if x >= w || y >= h || z >= d || self.mask[(z * h + y) * w + x] == 0 {
            return 0;
        }
        let mut seen = vec![false; self.mask.len()];
        let mut stack = vec![(x, y, z)];
        let mut changed = Vec::new();
        seen[(z * h + y) * w + x] = true;
        while let Some((x, y, z)) = stack.pop() {
            changed.push((((z * h + y) * w + x) as u32, 1, 0));
            for dz in -1i64..=1 {
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (nx, ny, nz) = (x as i64 + dx, y as i64 + dy, z as i64 + dz);
                        if nx < 0 || ny < 0 || nz < 0 || nx >= w as i64 || ny >= h as i64 || nz >= d as i64 {
                            continue;
                        }
                        let i = ((nz as usize * h + ny as usize) * w) + nx as usize;
                        if self.mask[i] != 0 && !seen[i] {
                            seen[i] = true;
                            stack.push((nx as usize, ny as usize, nz as usize));
                        }
                    }
                }
            }
        }
        self.apply(changed)
    }

    fn apply(&mut self, changed: Vec<(u32, u8, u8)>) -> usize {
        let n = changed.len();
        if n == 0 {
            return 0;
        }
        for &(i, _, new) in &changed {
            self.mask[i as usize] = new;
        }
        self.undo.push_back(Step { changed });
        if self.undo.len() > MAX_UNDO {
            self.undo.pop_front();
        }
        self.redo.clear();
        n
    }

    /// Takes back the last step; `false` where there is none.
    pub fn undo(&mut self) -> bool {
        let Some(step) = self.undo.pop_back() else { return false };
        for &(i, old, _) in &step.changed {
            self.mask[i as usize] = old;
        }
        self.redo.push(step);
        true
    }

    /// Makes the last undone step again; `false` where there is none.
    pub fn redo(&mut self) -> bool {
        let Some(step) = self.redo.pop() else { return false };
        for &(i, _, new) in &step.changed {
            self.mask[i as usize] = new;
        }
        self.undo.push_back(step);
        true
    }

    /// Tumor voxels now.
    pub fn voxels(&self) -> usize {
        self.mask.iter().filter(|&&v| v != 0).count()
    }

    /// The mask as one 8-bit slice per entry (255 = tumor), as the exports take them.
    pub fn slices(&self) -> Vec<Vec<u8>> {
        let [w, h, _] = self.dims;
        self.mask.chunks(w * h).map(|s| s.iter().map(|&v| v * 255).collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two blobs: a 2x2x2 cube at the origin corner and a diagonal pair touching only at a
    /// corner (26-connected, not 6-connected) far from it.
    fn two_blobs() -> EditedMask {
        let dims = [8, 8, 4];
        let mut m = vec![0u8; 8 * 8 * 4];
        let at = |x: usize, y: usize, z: usize| (z * 8 + y) * 8 + x;
        for (x, y, z) in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)] {
            m[at(x, y, z)] = 255;
        }
        m[at(5, 5, 1)] = 255;
        m[at(6, 6, 2)] = 255;
        EditedMask::new(dims, &m)
    }

    #[test]
    fn not_tumor_removes_one_26_connected_component() {
        let mut e = two_blobs();
        assert_eq!(e.voxels(), 10);
        assert_eq!(e.remove_component(6, 6, 2), 2, "the corner-touching pair is one component");
        assert_eq!(e.voxels(), 8);
        assert_eq!(e.remove_component(4, 4, 0), 0, "a click outside the tumor changes nothing");
        assert!(e.is_edited());
        assert_eq!(e.remove_component(1, 1, 1), 8);
        assert_eq!(e.voxels(), 0);
    }

    #[test]
    fn undo_and_redo_walk_the_history() {
        let mut e = two_blobs();
        let original = e.mask().to_vec();
        e.remove_component(0, 0, 0);
        let mut stroke = e.mask().to_vec();
        stroke[63] = 1;
        assert_eq!(e.replace(&stroke), 1);
        assert_eq!(e.voxels(), 3);
        assert!(e.undo());
        assert_eq!(e.voxels(), 2);
        assert!(e.undo());
        assert_eq!(e.mask(), original.as_slice());
        assert!(!e.is_edited() && !e.undo());
        assert!(e.redo() && e.redo() && !e.redo());
        assert_eq!(e.voxels(), 3);
        // A new edit after an undo drops what could have been redone.
        e.undo();
        e.remove_component(5, 5, 1);
        assert!(!e.can_redo());
        assert_eq!(e.voxels(), 0);
    }

    #[test]
    fn slices_are_8_bit_masks_in_slice_order() {
        let e = two_blobs();
        let slices = e.slices();
        assert_eq!(slices.len(), 4);
        assert_eq!(slices[0][0], 255);
        assert_eq!(slices[3].iter().filter(|&&v| v != 0).count(), 0);
    }
}
