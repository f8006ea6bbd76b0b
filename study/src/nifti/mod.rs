//! NIfTI-1 volumes (`.nii`, `.nii.gz`) in, uint8 mask volumes with the same geometry out.

mod header;

use std::io::Write;

pub use header::Header;

use crate::error::{Error, MAX_SIDE, MAX_VOXELS, Result, read_limited};
use crate::volume::{Affine, Origin, Reorient, Volume};

pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Whether `name` has a NIfTI extension.
pub fn has_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".nii") || lower.ends_with(".nii.gz")
}

/// `bytes`, gunzipped where they are gzip, up to the size limit.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    if !is_gzip(bytes) {
        return Ok(bytes.to_vec());
    }
    let limit = (MAX_VOXELS * 8 + (1 << 20)) as u64;
    read_limited(flate2::read::MultiGzDecoder::new(bytes), limit, "the gzipped volume (truncated or not gzip?)")
}

/// Bytes per voxel of the data types read.
fn voxel_bytes(datatype: i16) -> Result<usize> {
    Ok(match datatype {
        2 | 256 => 1,
        4 | 512 => 2,
        8 | 16 | 768 => 4,
        64 | 1024 | 1280 => 8,
        128 => return Err(Error::UnsupportedNifti("RGB voxels; MR volumes are grayscale".into())),
        32 | 1792 | 2048 => return Err(Error::UnsupportedNifti("complex voxels".into())),
        other => return Err(Error::UnsupportedNifti(format!("data type code {other}"))),
    })
}

fn voxel(datatype: i16, b: &[u8], big: bool) -> f64 {
    macro_rules! num {
        ($t:ty, $n:literal) => {{
            let a: [u8; $n] = b.try_into().expect("voxel width");
            (if big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
        }};
    }
    match datatype {
        2 => f64::from(b[0]),
        256 => f64::from(b[0] as i8),
        4 => num!(i16, 2),
        512 => num!(u16, 2),
        8 => num!(i32, 4),
        768 => num!(u32, 4),
        16 => num!(f32, 4),
        64 => num!(f64, 8),
        1024 => num!(i64, 8),
        _ => num!(u64, 8),
    }
}

/// Reads a NIfTI-1 volume into display orientation.
pub fn read(label: &str, bytes: &[u8]) -> Result<Volume> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let data = gunzip(bytes)?;
    let mut header = Header::parse(&data)?;
    let rank = header.dim[0];
    if !(1..=7).contains(&rank) {
        return Err(Error::NotNifti(format!("dim[0] = {rank}, not 1 to 7")));
    }
    let dim = |i: usize| if i as i16 <= rank { header.dim[i] } else { 1 };
    if (1..=rank as usize).any(|i| header.dim[i] <= 0) {
        return Err(Error::NotNifti(format!("dimensions {:?}", &header.dim[1..=rank as usize])));
    }
    let file = [dim(1) as usize, dim(2) as usize, dim(3) as usize];
    let volumes: usize = (4..=7).map(|i| dim(i) as usize).product();
    if volumes > 1 {
        return Err(Error::UnsupportedNifti(format!(
            "a 4D series of {volumes} volumes of {}x{}x{}; save the one to segment as a 3D file (e.g. fslroi or nibabel)",
            file[0], file[1], file[2]
        )));
    }
    // Unused dimensions may hold anything; the exported mask's header must describe its data.
    for i in (rank as usize + 1)..8 {
        header.dim[i] = 1;
    }
    if file[0] > MAX_SIDE || file[1] > MAX_SIDE || file.iter().product::<usize>() > MAX_VOXELS {
        return Err(Error::TooLarge(format!("{}x{}x{} voxels", file[0], file[1], file[2])));
    }
    let width = voxel_bytes(header.datatype)?;
    let offset = header.vox_offset;
    if !offset.is_finite() || offset < 348.0 {
        return Err(Error::NotNifti(format!("voxel data offset {offset}")));
    }
    let count: usize = file.iter().product();
    let start = offset as usize;
    let raw = data
        .get(start..)
        .and_then(|d| d.get(..count * width))
        .ok_or(Error::Truncated { what: "the voxel data", offset: data.len() })?;
    let (slope, inter) = match (header.scl_slope, header.scl_inter) {
        (s, i) if s.is_finite() && s != 0.0 => (f64::from(s), if i.is_finite() { f64::from(i) } else { 0.0 }),
        _ => (1.0, 0.0),
    };
    let values: Vec<f32> =
        raw.chunks_exact(width).map(|b| (voxel(header.datatype, b, header.big_endian) * slope + inter) as f32).collect();

    let (file_affine, oriented) = header.affine();
    let mut notes = Vec::new();
    let reorient = if oriented {
        display_orientation(&file_affine).unwrap_or_else(|| {
            notes.push("oblique orientation: slices taken along the file's third axis".to_string());
            Reorient::IDENTITY
        })
    } else {
        notes.push("no orientation in the header (qform and sform unset): slices taken as stored".to_string());
        Reorient::IDENTITY
    };
    let dims = reorient.display_dims(file);
    let voxels: Vec<f32> = reorient.file_offsets(file).map(|o| values[o]).collect();
    let affine = display_affine(&file_affine, &reorient, file);
    let length = |a: usize| (0..3).map(|r| affine[r][a].powi(2)).sum::<f64>().sqrt();
    Ok(Volume {
        label: label.to_string(),
        dims,
        voxels,
        pixel_spacing: Some([length(0), length(1)]),
        slice_positions: Some((0..dims[2]).map(|k| k as f64 * length(2)).collect()),
        affine: oriented.then_some(affine),
        notes,
        origin: Origin::Nifti { header: Box::new(header), reorient },
    })
}

/// The axis permutation and flips that show a volume as radiologists view axial slices:
/// columns toward patient left, rows toward posterior, slices toward superior (RAS: -x, -y, +z).
fn display_orientation(a: &Affine) -> Option<Reorient> {
    let dominant = |axis: usize| {
        let c = [a[0][axis], a[1][axis], a[2][axis]];
        let k = (0..3).max_by(|&i, &j| c[i].abs().total_cmp(&c[j].abs())).unwrap_or(0);
        (k, c[k])
    };
    let mut axes = [usize::MAX; 3];
    let mut flip = [false; 3];
    for file_axis in 0..3 {
        let (ras, sign) = dominant(file_axis);
        if axes[ras] != usize::MAX {
            return None;
        }
        axes[ras] = file_axis;
        // Display x and y run against RAS (toward L and P); z runs with it (toward S).
        flip[ras] = if ras == 2 { sign < 0.0 } else { sign > 0.0 };
    }
    Some(Reorient { axes, flip })
}

/// The affine of the display grid: file affine composed with the reorientation.
fn display_affine(a: &Affine, r: &Reorient, file: [usize; 3]) -> Affine {
    let origin_voxel = r.file_index([0, 0, 0], file).map(|v| v as f64);
    let mut out = [[0.0; 4]; 3];
    for (row, o) in out.iter_mut().enumerate() {
        for d in 0..3 {
            let sign = if r.flip[d] { -1.0 } else { 1.0 };
            o[d] = sign * a[row][r.axes[d]];
        }
        o[3] = a[row][3] + (0..3).map(|j| a[row][j] * origin_voxel[j]).sum::<f64>();
    }
    out
}

/// A gzipped NIfTI-1 mask (uint8, 1 = tumor) on the input's own voxel grid and geometry.
/// `mask` is in display order (as [`Volume::voxels`]), nonzero = tumor.
pub fn write_mask(volume: &Volume, mask: &[u8]) -> Result<Vec<u8>> {
    let n: usize = volume.dims.iter().product();
    if mask.len() != n {
        return Err(Error::Malformed(format!("mask of {} voxels for a volume of {n}", mask.len())));
    }
    let (header, data) = match &volume.origin {
        Origin::Nifti { header, reorient } => {
            let file = [1, 2, 3].map(|i| header.dim[i].max(1) as usize);
            let mut data = vec![0u8; n];
            for (&m, o) in mask.iter().zip(reorient.file_offsets(file)) {
                data[o] = u8::from(m != 0);
            }
            (header.for_mask(), data)
        }
        Origin::Dicom(_) | Origin::Images { .. } => (display_header(volume, false), mask.iter().map(|&m| u8::from(m != 0)).collect()),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let write = |gz: &mut flate2::write::GzEncoder<Vec<u8>>| -> std::io::Result<()> {
        gz.write_all(&header.to_bytes())?;
        gz.write_all(&data)
    };
    write(&mut gz).and_then(|()| gz.finish()).map_err(|e| Error::Gzip(e.to_string()))
}

/// A uint8 header on the volume's display grid: its display-to-RAS affine, or (where the
/// geometry is incomplete) its spacing alone. `assume_radiological`: without an affine, say that
/// columns run to the patient's left and rows to the back, as slice images are shown
/// (radiological axial), instead of flagging the orientation unknown.
fn display_header(volume: &Volume, assume_radiological: bool) -> Header {
    let mut header = Header::from_affine(volume.dims, &viewer_affine(volume, assume_radiological));
    if volume.affine.is_none() && !assume_radiological {
        (header.qform_code, header.sform_code) = (0, 0);
    }
    header
}

/// The volume's display voxel to RAS millimetres: its affine, or its spacing alone (x and y
/// flipped with `assume_radiological`, as in [`write_display`]).
pub fn viewer_affine(volume: &Volume, assume_radiological: bool) -> Affine {
    let flip = if assume_radiological { -1.0 } else { 1.0 };
    volume.affine.unwrap_or_else(|| {
        let s = volume.pixel_spacing.unwrap_or([1.0, 1.0]);
        let dz = volume.slice_extents().map_or(1.0, |e| e.iter().sum::<f64>() / e.len() as f64);
        [[flip * s[0], 0.0, 0.0, 0.0], [0.0, flip * s[1], 0.0, 0.0], [0.0, 0.0, dz, 0.0]]
    })
}

/// An uncompressed uint8 NIfTI-1 of `values` (display order, as [`Volume::voxels`]) on the
/// volume's display grid: what a viewer is handed in memory (the page's study viewer shows the
/// model's FLAIR input and the mask this way, on one grid).
pub fn write_display(volume: &Volume, values: &[u8]) -> Result<Vec<u8>> {
    let n: usize = volume.dims.iter().product();
    if values.len() != n {
        return Err(Error::Malformed(format!("{} values for a volume of {n}", values.len())));
    }
    let mut out = display_header(volume, true).to_bytes();
    out.extend_from_slice(values);
    Ok(out)
}

/// A float32 NIfTI-1 file of `values` (file order, x fastest) with `affine` (test fixtures and
/// exports of scans).
pub fn write_volume(dims: [usize; 3], affine: &Affine, values: &[f32], gzip: bool) -> Vec<u8> {
    let mut header = Header::from_affine(dims, affine);
    (header.datatype, header.bitpix) = (16, 32);
    let mut out = header.to_bytes();
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if !gzip {
        return out;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&out).and_then(|()| gz.finish()).expect("writing to memory cannot fail")
}
