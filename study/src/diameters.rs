//! RANO's bidimensional measurement of a tumor: on one axial slice, its longest diameter and the
//! longest diameter perpendicular to it, their product, and their end points for drawing.

use serde::{Deserialize, Serialize};

use crate::volume::Volume;

/// A measured line on a slice: end points in pixel coordinates (x right, y down; a pixel's
/// corners at whole numbers) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub from: [f64; 2],
    pub to: [f64; 2],
    pub px: f64,
    /// Where the pixel spacing is known.
    pub mm: Option<f64>,
}

/// The two diameters on one slice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bidimensional {
    /// 0-based slice index.
    pub slice: usize,
    pub longest: Line,
    /// The longest chord through the tumor perpendicular to `longest`.
    pub perpendicular: Line,
}

impl Bidimensional {
    /// The bidimensional product in mm², where the spacing is known.
    pub fn product_mm2(&self) -> Option<f64> {
        Some(self.longest.mm? * self.perpendicular.mm?)
    }

    /// `41.3 x 27.9 mm = 1152 mm² (slice 12)`, pixels where the spacing is unknown.
    pub fn text(&self) -> String {
        match (self.longest.mm, self.perpendicular.mm) {
            (Some(a), Some(b)) => format!("{a:.1} x {b:.1} mm = {:.0} mm² (slice {})", a * b, self.slice + 1),
            _ => format!("{:.0} x {:.0} px (slice {})", self.longest.px, self.perpendicular.px, self.slice + 1),
        }
    }
}

/// The two diameters on the slice with the largest cross-section of tumor (most tumor pixels;
/// the earliest on a tie), as RANO measures; `None` without tumor. `masks` holds one slice per
/// entry (nonzero = tumor).
pub fn largest(volume: &Volume, masks: &[&[u8]]) -> Option<Bidimensional> {
    let [w, h, _] = volume.dims;
    let scale = volume.pixel_spacing.unwrap_or([1.0, 1.0]);
    let counts = masks.iter().map(|m| m.iter().filter(|&&v| v != 0).count());
    let (slice, _) = counts.enumerate().filter(|&(_, n)| n > 0).max_by_key(|&(k, n)| (n, usize::MAX - k))?;
    let (longest, perpendicular) = on_slice(masks[slice], w, h, scale)?;
    let [longest, perpendicular] = [longest, perpendicular].map(|(from, to, _)| line(from, to, scale, volume.pixel_spacing.is_some()));
    Some(Bidimensional { slice, longest, perpendicular })
}

fn line(from: [f64; 2], to: [f64; 2], scale: [f64; 2], spacing_known: bool) -> Line {
    let px = (to[0] - from[0]).hypot(to[1] - from[1]);
    let mm = ((to[0] - from[0]) * scale[0]).hypot((to[1] - from[1]) * scale[1]);
    Line { from, to, px, mm: spacing_known.then_some(mm) }
}

/// A measured segment in pixel coordinates and its length in scaled units.
type Measured = ([f64; 2], [f64; 2], f64);

/// The longest diameter and the longest perpendicular chord of one slice's tumor, with pixels
/// `scale` wide and high; lengths in scaled units.
pub fn on_slice(mask: &[u8], width: usize, height: usize, scale: [f64; 2]) -> Option<(Measured, Measured)> {
    let (a, b, long) = max_diameter_points(mask, width, height, scale)?;
    // Along the long axis `u` and across it `n`, in scaled space.
    let (pa, pb) = ([a[0] * scale[0], a[1] * scale[1]], [b[0] * scale[0], b[1] * scale[1]]);
    let u = [(pb[0] - pa[0]) / long, (pb[1] - pa[1]) / long];
    let n = [-u[1], u[0]];
    // Chords across the axis, sampled every half of the finer spacing, along it and across it:
    // exact enough for drawing and reporting at a tenth of a millimetre on scanners' pixels.
    let step = scale[0].min(scale[1]) / 2.0;
    let inside = |p: [f64; 2]| {
        let (x, y) = ((p[0] / scale[0]).floor(), (p[1] / scale[1]).floor());
        x >= 0.0 && y >= 0.0 && (x as usize) < width && (y as usize) < height && mask[y as usize * width + x as usize] != 0
    };
    let point = |t: f64, s: f64| [pa[0] + t * u[0] + s * n[0], pa[1] + t * u[1] + s * n[1]];
    let reach = (long / step).ceil() as i64;
    let mut best: Option<(f64, f64, f64)> = None;
    for i in 0..=reach {
        let t = i as f64 * step;
        let hits: Vec<f64> = (-reach..=reach).map(|j| j as f64 * step).filter(|&s| inside(point(t, s))).collect();
        if let (Some(&lo), Some(&hi)) = (hits.first(), hits.last())
            && best.is_none_or(|(_, l, h)| hi - lo > h - l)
        {
            best = Some((t, lo, hi));
        }
    }
    let (t, lo, hi) = best?;
    // Each sample stands for a step of length.
    let (lo, hi) = (lo - step / 2.0, hi + step / 2.0);
    let at = |s: f64| {
        let p = point(t, s);
        [p[0] / scale[0], p[1] / scale[1]]
    };
    Some(((a, b, long), (at(lo), at(hi), hi - lo)))
}

/// The longest distance between two points of the tumor pixels' area (their corners), with
/// pixels `scale` wide and high.
pub fn max_diameter(mask: &[u8], width: usize, height: usize, scale: [f64; 2]) -> f64 {
    max_diameter_points(mask, width, height, scale).map_or(0.0, |(_, _, d)| d)
}

/// [`max_diameter`] with its end points, in pixel coordinates (corners at whole numbers).
pub fn max_diameter_points(mask: &[u8], width: usize, height: usize, scale: [f64; 2]) -> Option<([f64; 2], [f64; 2], f64)> {
    let mut corners = Vec::new();
    for y in 0..height {
        for x in 0..width {
            if mask[y * width + x] == 0 {
                continue;
            }
            // Interior pixels cannot add hull points; only edge pixels contribute corners.
            let tumor = |dx: isize, dy: isize| {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                nx >= 0 && ny >= 0 && (nx as usize) < width && (ny as usize) < height && mask[ny as usize * width + nx as usize] != 0
            };
            if tumor(-1, 0) && tumor(1, 0) && tumor(0, -1) && tumor(0, 1) {
                continue;
            }
            for (cx, cy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                corners.push(((x + cx) as f64 * scale[0], (y + cy) as f64 * scale[1]));
            }
        }
    }
    let hull = convex_hull(corners);
    let mut best: Option<([f64; 2], [f64; 2], f64)> = None;
    for (i, a) in hull.iter().enumerate() {
        for b in &hull[i + 1..] {
            let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
            if best.is_none_or(|(_, _, e)| d > e) {
                best = Some(([a.0 / scale[0], a.1 / scale[1]], [b.0 / scale[0], b.1 / scale[1]], d));
            }
        }
    }
    best
}

/// Andrew's monotone chain.
fn convex_hull(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let turn = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> =
            if pass == 0 { Box::new(points.iter()) } else { Box::new(points.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && turn(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ellipse(w: usize, h: usize, c: [f64; 2], r: [f64; 2]) -> Vec<u8> {
        let mut m = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = ((x as f64 + 0.5 - c[0]) / r[0], (y as f64 + 0.5 - c[1]) / r[1]);
                m[y * w + x] = u8::from(dx * dx + dy * dy <= 1.0);
            }
        }
        m
    }

    #[test]
    fn rectangle_diameter_is_its_diagonal() {
        let (w, h) = (20, 10);
        let mut m = vec![0u8; w * h];
        for y in 2..5 {
            for x in 3..7 {
                m[y * w + x] = 1;
            }
        }
        // 4 x 3 pixels of 0.5 x 2 mm: 2 mm by 6 mm.
        assert!((max_diameter(&m, w, h, [0.5, 2.0]) - 40f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn an_ellipse_measures_its_two_axes() {
        // Semi-axes 20 and 8 pixels: diameters ~40 and ~16, the second across the first.
        let m = ellipse(64, 48, [32.0, 24.0], [20.0, 8.0]);
        let ((a, b, long), (c, d, short)) = on_slice(&m, 64, 48, [1.0, 1.0]).unwrap();
        assert!((long - 40.0).abs() < 1.5, "{long}");
        assert!((short - 16.0).abs() < 1.5, "{short}");
        let (u, v) = ([b[0] - a[0], b[1] - a[1]], [d[0] - c[0], d[1] - c[1]]);
        let cos = (u[0] * v[0] + u[1] * v[1]) / (u[0].hypot(u[1]) * v[0].hypot(v[1]));
        assert!(cos.abs() < 1e-9, "perpendicular: cos {cos}");
    }

    #[test]
    fn anisotropic_pixels_are_measured_in_millimetres() {
        // 10 x 10 pixels of 0.5 x 2 mm: a 5 mm wide, 20 mm tall rectangle.
        let mut m = vec![0u8; 32 * 32];
        for y in 5..15 {
            for x in 5..15 {
                m[y * 32 + x] = 1;
            }
        }
        let ((_, _, long), (_, _, short)) = on_slice(&m, 32, 32, [0.5, 2.0]).unwrap();
        assert!((long - 425f64.sqrt()).abs() < 1e-9, "the diagonal: {long}");
        // Across the diagonal, through the middle: 5 mm / cos(atan(5 / 20)) = 5.15 mm.
        let expected = 5.0 / (5f64 / 20.0).atan().cos();
        assert!((short - expected).abs() < 0.3, "{short} against {expected}");
    }

    #[test]
    fn the_slice_with_the_largest_cross_section_is_measured() {
        let v = Volume::of_images("t", 40, 40, 3);
        let small = ellipse(40, 40, [20.0, 20.0], [6.0, 6.0]);
        let big = ellipse(40, 40, [20.0, 20.0], [12.0, 9.0]);
        let empty = vec![0u8; 1600];
        let b = largest(&v, &[&small, &big, &empty]).unwrap();
        assert_eq!(b.slice, 1);
        assert!(b.longest.mm.is_none() && b.longest.px > b.perpendicular.px);
        assert!(largest(&v, &[&empty]).is_none());
    }
}
