//! The NIfTI-1 header: the fields brainseg reads and writes, either byte order in, little
//! endian out.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const HEADER_SIZE: usize = 348;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub dim: [i16; 8],
    pub datatype: i16,
    pub bitpix: i16,
    pub pixdim: [f32; 8],
    pub vox_offset: f32,
    pub scl_slope: f32,
    pub scl_inter: f32,
    pub xyzt_units: u8,
    pub qform_code: i16,
    pub sform_code: i16,
    pub quatern: [f32; 3],
    pub qoffset: [f32; 3],
    pub srow: [[f32; 4]; 3],
    pub big_endian: bool,
}

struct Fields<'a> {
    b: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn i16(&self, at: usize) -> i16 {
        let v = [self.b[at], self.b[at + 1]];
        if self.big { i16::from_be_bytes(v) } else { i16::from_le_bytes(v) }
    }

    fn f32(&self, at: usize) -> f32 {
        let v: [u8; 4] = self.b[at..at + 4].try_into().expect("four bytes");
        if self.big { f32::from_be_bytes(v) } else { f32::from_le_bytes(v) }
    }

    fn f32s<const N: usize>(&self, at: usize) -> [f32; N] {
        std::array::from_fn(|i| self.f32(at + 4 * i))
    }
}

impl Header {
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let b = bytes.get(..HEADER_SIZE).ok_or_else(|| Error::NotNifti(format!("{} bytes, shorter than a header", bytes.len())))?;
        let size_le = i32::from_le_bytes(b[..4].try_into().expect("four bytes"));
        let size_be = i32::from_be_bytes(b[..4].try_into().expect("four bytes"));
        let big = match (size_le, size_be) {
            (348, _) => false,
            (_, 348) => true,
            (540, _) | (_, 540) => return Err(Error::UnsupportedNifti("NIfTI-2 header; save it as NIfTI-1".into())),
            _ => return Err(Error::NotNifti("the header size field is not 348".into())),
        };
        match &b[344..348] {
            b"n+1\0" => {}
            b"ni1\0" => {
                return Err(Error::UnsupportedNifti("a .hdr/.img pair; convert it to a single .nii file".into()));
            }
            _ => return Err(Error::NotNifti("no n+1 magic (an Analyze 7.5 file?)".into())),
        }
        let f = Fields { b, big };
        Ok(Header {
            dim: std::array::from_fn(|i| f.i16(40 + 2 * i)),
            datatype: f.i16(70),
            bitpix: f.i16(72),
            pixdim: f.f32s(76),
            vox_offset: f.f32(108),
            scl_slope: f.f32(112),
            scl_inter: f.f32(116),
            xyzt_units: b[123],
            qform_code: f.i16(252),
            sform_code: f.i16(254),
            quatern: f.f32s(256),
            qoffset: f.f32s(268),
            srow: [f.f32s(280), f.f32s(296), f.f32s(312)],
            big_endian: big,
        })
    }

    /// The header and the 4-byte extension flag of a single-file `.nii`, little endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_SIZE + 4];
        let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, &348i32.to_le_bytes());
        put(38, b"r");
        for (i, d) in self.dim.iter().enumerate() {
            put(40 + 2 * i, &d.to_le_bytes());
        }
        put(70, &self.datatype.to_le_bytes());
        put(72, &self.bitpix.to_le_bytes());
        for (i, p) in self.pixdim.iter().enumerate() {
            put(76 + 4 * i, &p.to_le_bytes());
        }
        put(108, &self.vox_offset.to_le_bytes());
        put(112, &self.scl_slope.to_le_bytes());
        put(116, &self.scl_inter.to_le_bytes());
        put(123, &[self.xyzt_units]);
        put(148, b"brainseg tumor mask");
        put(252, &self.qform_code.to_le_bytes());
        put(254, &self.sform_code.to_le_bytes());
        for (i, q) in self.quatern.iter().chain(&self.qoffset).enumerate() {
            put(256 + 4 * i, &q.to_le_bytes());
        }
        for (r, row) in self.srow.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                put(280 + 16 * r + 4 * i, &v.to_le_bytes());
            }
        }
        put(344, b"n+1\0");
        b
    }

    /// Voxel to RAS millimetres: the sform where set, else the qform, else the pixel sizes alone
    /// (NIfTI's "method 1"), in which case `None` says the orientation is unknown.
    pub fn affine(&self) -> ([[f64; 4]; 3], bool) {
        let spacing = |i: usize| f64::from(self.pixdim[i]).abs().max(f64::MIN_POSITIVE);
        if self.sform_code > 0 {
            return (self.srow.map(|r| r.map(f64::from)), true);
        }
        if self.qform_code > 0 {
            let [b, c, d] = self.quatern.map(f64::from);
            let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
            let r = [
                [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
                [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
                [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
            ];
            let qfac = if self.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
            let s = [spacing(1), spacing(2), spacing(3) * qfac];
            let o = self.qoffset.map(f64::from);
            return (std::array::from_fn(|i| [r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], o[i]]), true);
        }
        ([[spacing(1), 0.0, 0.0, 0.0], [0.0, spacing(2), 0.0, 0.0], [0.0, 0.0, spacing(3), 0.0]], false)
    }

    /// A uint8 mask header with this header's geometry.
    pub fn for_mask(&self) -> Header {
        let mut dim = self.dim;
        dim[0] = 3;
        for d in &mut dim[4..] {
            *d = 1;
        }
        Header {
            dim,
            datatype: 2,
            bitpix: 8,
            vox_offset: 352.0,
            scl_slope: 1.0,
            scl_inter: 0.0,
            big_endian: false,
            ..self.clone()
        }
    }

    /// A header for a volume known only by its affine (a DICOM series): sform and qform both set,
    /// so every reader agrees on the geometry.
    pub fn from_affine(dims: [usize; 3], affine: &[[f64; 4]; 3]) -> Header {
        let column = |j: usize| [affine[0][j], affine[1][j], affine[2][j]];
        let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        let spacing = [norm(column(0)), norm(column(1)), norm(column(2))];
        let unit = |j: usize| column(j).map(|x| x / spacing[j].max(f64::MIN_POSITIVE));
        let (quatern, qfac) = quaternion([unit(0), unit(1), unit(2)]);
        let dim = [3, dims[0] as i16, dims[1] as i16, dims[2] as i16, 1, 1, 1, 1];
        Header {
            dim,
            datatype: 2,
            bitpix: 8,
            pixdim: [qfac as f32, spacing[0] as f32, spacing[1] as f32, spacing[2] as f32, 1.0, 1.0, 1.0, 1.0],
            vox_offset: 352.0,
            scl_slope: 1.0,
            scl_inter: 0.0,
            xyzt_units: 2, // millimetres
            qform_code: 1,
            sform_code: 1,
            quatern: quatern.map(|q| q as f32),
            qoffset: [affine[0][3] as f32, affine[1][3] as f32, affine[2][3] as f32],
            srow: affine.map(|r| r.map(|v| v as f32)),
            big_endian: false,
        }
    }
}

/// Quaternion (b, c, d) and qfac of a rotation whose columns are `cols` (nifti_mat44_to_quatern).
fn quaternion(cols: [[f64; 3]; 3]) -> ([f64; 3], f64) {
    let mut m = [[0.0; 3]; 3];
    for (j, col) in cols.iter().enumerate() {
        for i in 0..3 {
            m[i][j] = col[i];
        }
    }
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let qfac = if det < 0.0 { -1.0 } else { 1.0 };
    if qfac < 0.0 {
        for row in &mut m {
            row[2] = -row[2];
        }
    }
    let trace = m[0][0] + m[1][1] + m[2][2] + 1.0;
    let (a, b, c, d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (m[2][1] - m[1][2]) / a;
        c = 0.25 * (m[0][2] - m[2][0]) / a;
        d = 0.25 * (m[1][0] - m[0][1]) / a;
    } else {
        let xd = 1.0 + m[0][0] - (m[1][1] + m[2][2]);
        let yd = 1.0 + m[1][1] - (m[0][0] + m[2][2]);
        let zd = 1.0 + m[2][2] - (m[0][0] + m[1][1]);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (m[0][1] + m[1][0]) / b;
            d = 0.25 * (m[0][2] + m[2][0]) / b;
            a = 0.25 * (m[2][1] - m[1][2]) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (m[0][1] + m[1][0]) / c;
            d = 0.25 * (m[1][2] + m[2][1]) / c;
            a = 0.25 * (m[0][2] - m[2][0]) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (m[0][2] + m[2][0]) / d;
            c = 0.25 * (m[1][2] + m[2][1]) / d;
            a = 0.25 * (m[1][0] - m[0][1]) / d;
        }
    }
    // NIfTI stores b, c, d with a >= 0.
    let sign = if a < 0.0 { -1.0 } else { 1.0 };
    ([b * sign, c * sign, d * sign], qfac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qform_written_from_an_affine_reads_back_the_same() {
        // LPS-flipped axial DICOM geometry: x to the left, y to posterior, slices up.
        let affine = [[-0.9, 0.0, 0.0, 120.0], [0.0, -0.9, 0.0, 100.0], [0.0, 0.0, 5.0, -40.0]];
        let mut h = Header::from_affine([256, 256, 20], &affine);
        h.sform_code = 0;
        let (back, known) = Header::parse(&h.to_bytes()).unwrap().affine();
        assert!(known);
        for i in 0..3 {
            for j in 0..4 {
                assert!((back[i][j] - affine[i][j]).abs() < 1e-5, "{back:?}");
            }
        }
    }

    #[test]
    fn wrong_magic_and_nifti2_are_named() {
        let mut b = Header::from_affine([2, 2, 2], &[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]).to_bytes();
        b[344] = b'x';
        assert!(matches!(Header::parse(&b), Err(Error::NotNifti(_))));
        b[..4].copy_from_slice(&540i32.to_le_bytes());
        assert!(matches!(Header::parse(&b), Err(Error::UnsupportedNifti(_))));
    }
}
