//! The study viewer's engine: a study's volume (the model's FLAIR input) with its mask in linked
//! axial, coronal and sagittal planes and a 3D view, drawn by NiiVue on one canvas; the mask is
//! NiiVue's drawing layer, so brush, eraser and fill strokes land in it and are read back here
//! into the study's corrections (`brainseg_pipeline::EditedMask`). Both volumes are handed over
//! from memory as NIfTI files on the study's display grid (`brainseg_pipeline::grid`).

pub mod niivue;

use std::cell::RefCell;

use brainseg_pipeline::StudyHeader;
use brainseg_pipeline::grid::Grid;
use brainseg_study::diameters::{Bidimensional, Line};
use image::RgbImage;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use self::niivue::{Niivue, array, constant, get, numbers, object, on, set};
use crate::browser::describe;

/// What the left mouse button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Moves the crosshair (the other planes follow).
    Navigate,
    Brush,
    Eraser,
    /// Draws a closed outline and fills it.
    Fill,
    /// A click removes the connected 3D component under it.
    NotTumor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Axial, coronal and sagittal planes and the 3D view.
    Planes,
    Axial,
    Coronal,
    Sagittal,
    Render,
}

/// Up to this size (a 256x256x64 study) a software renderer draws the 3D view beside the
/// planes fast enough; above it the 3D view is its own layout.
const MAX_SOFTWARE_RENDER_VOXELS: usize = 256 * 256 * 64;

fn is_software(renderer: &str) -> bool {
    let r = renderer.to_ascii_lowercase();
    ["swiftshader", "llvmpipe", "software", "softpipe"].iter().any(|s| r.contains(s))
}

/// A study on the canvas.
pub struct View {
    nv: Niivue,
    pub grid: Grid,
    header: StudyHeader,
    /// The crosshair's voxel on the display grid.
    at: RefCell<[usize; 3]>,
    /// Whether the planes' layout shows the 3D view too (not on a software renderer for a
    /// large study).
    pub render_in_planes: bool,
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl View {
    /// Shows `slices` (the model's input) with `mask` (display order, nonzero = tumor) on
    /// `canvas`. `moved` hears the crosshair's voxel, `stroke` that a stroke changed the drawing.
    pub async fn open(
        canvas: &web_sys::HtmlCanvasElement,
        header: &StudyHeader,
        slices: &[&RgbImage],
        mask: &[u8],
        mut moved: impl FnMut([usize; 3]) + 'static,
        mut stroke: impl FnMut() + 'static,
    ) -> Result<View, String> {
        let grid = Grid::of(header).ok_or("the study's slices differ in size: there is no volume to view")?;
        niivue::load().await?;
        let options = object(&[
            ("backColor", array(&[0.0, 0.0, 0.0, 1.0])),
            ("crosshairColor", array(&[0.15, 0.75, 1.0, 1.0])),
            ("isRadiologicalConvention", true.into()),
            ("show3Dcrosshair", true.into()),
            ("dragAndDropEnabled", false.into()),
            ("isForceMouseClickToVoxelCenters", true.into()),
            ("multiplanarShowRender", constant("SHOW_RENDER", "ALWAYS").into()),
            ("multiplanarLayout", constant("MULTIPLANAR_TYPE", "GRID").into()),
            ("loadingText", "".into()),
            ("logLevel", "warn".into()),
        ]);
        let nv = Niivue::new(&options);
        // RANO's lines in amber, apart from the red mask.
        let amber = array(&[1.0, 0.78, 0.1, 1.0]);
        for key in ["rulerColor", "measureLineColor", "measureTextColor"] {
            set(&nv, &["opts", key], &amber);
        }
        JsFuture::from(nv.attach_to_canvas(canvas)).await.map_err(|e| format!("the viewer needs WebGL2: {}", describe(&e)))?;
        // A software renderer (SwiftShader, llvmpipe) ray-casts the 3D view on the CPU, on the
        // page's thread: on a large study each redraw then blocks it for a second or more. The
        // planes are cheap; the 3D view stays one click away (its own layout).
        let software = niivue::renderer(&nv).is_some_and(|r| is_software(&r));
        let render_in_planes = !software || grid.voxels() <= MAX_SOFTWARE_RENDER_VOXELS;
        if !render_in_planes {
            set(&nv, &["opts", "multiplanarShowRender"], &constant("SHOW_RENDER", "NEVER").into());
        }
        let flair = grid.flair_nifti(header, slices).map_err(|e| e.to_string())?;
        nv.add_volume(&niivue::image(&flair, "study.nii", "gray", 1.0).await?);
        let drag = |name| JsValue::from(constant("DRAG_MODE", name));
        nv.set_mouse_event_config(&object(&[
            ("leftButton", object(&[("primary", drag("crosshair"))])),
            ("rightButton", drag("windowing")),
            ("centerButton", drag("pan")),
        ]));
        nv.create_empty_drawing();
        let view = View { nv, grid, header: header.clone(), at: RefCell::new([0, 0, 0]), render_in_planes, _callbacks: Vec::new() };
        view.load_mask(mask).await?;
        view.set_layout(Layout::Planes);
        let grid = view.grid.clone();
        let located = on(
            &view.nv,
            "onLocationChange",
            Closure::new(move |data: JsValue| {
                let mm = numbers(&get(&data, &["mm"]));
                if let (Some(v), true) = (mm.get(..3).and_then(|m| grid.voxel([m[0], m[1], m[2]])), mm.len() >= 3) {
                    moved(v);
                }
            }),
        );
        let drawn = on(
            &view.nv,
            "onDrawingChanged",
            Closure::new(move |action: JsValue| {
                if action.as_string().as_deref() == Some("draw") {
                    stroke();
                }
            }),
        );
        Ok(View { _callbacks: vec![located, drawn], ..view })
    }

    pub fn set_layout(&self, layout: Layout) {
        let name = match layout {
            Layout::Planes => "MULTIPLANAR",
            Layout::Axial => "AXIAL",
            Layout::Coronal => "CORONAL",
            Layout::Sagittal => "SAGITTAL",
            Layout::Render => "RENDER",
        };
        self.nv.set_slice_type(constant("SLICE_TYPE", name));
    }

    pub fn set_tool(&self, tool: Tool, pen_size: u32) {
        set(&self.nv, &["opts", "penSize"], &pen_size.into());
        match tool {
            Tool::Navigate | Tool::NotTumor => self.nv.set_drawing_enabled(false),
            Tool::Brush | Tool::Eraser | Tool::Fill => {
                self.nv.set_drawing_enabled(true);
                self.nv.set_pen_value(if tool == Tool::Eraser { 0.0 } else { 1.0 }, tool == Tool::Fill);
            }
        }
    }

    /// The mask filled at `opacity`, or as its outline only.
    pub fn set_mask_style(&self, outline: bool, opacity: f64) {
        // NiiVue draws the rim only where the fill's alpha is above zero: a faint fill remains.
        self.nv.set_draw_opacity(if outline { 0.04 } else { opacity });
        set(&self.nv, &["drawRimOpacity"], &(if outline { opacity } else { -1.0 }).into());
        self.nv.draw_scene();
    }

    /// Replaces the drawing with `mask` (display order, nonzero = tumor).
    pub async fn load_mask(&self, mask: &[u8]) -> Result<(), String> {
        let nifti = self.grid.mask_nifti(&self.header, mask).map_err(|e| e.to_string())?;
        let image = niivue::image(&nifti, "mask.nii", "", 1.0).await?;
        if !self.nv.load_drawing(&image) {
            return Err("the viewer refused the mask (its grid differs from the volume's)".into());
        }
        self.nv.draw_scene();
        Ok(())
    }

    /// The drawing as a mask in display order (1 = tumor): NiiVue writes it back in the order
    /// of the file it was given.
    pub async fn read_mask(&self) -> Result<Vec<u8>, String> {
        let options = object(&[("filename", "".into()), ("isSaveDrawing", true.into())]);
        let saved = JsFuture::from(Promise::resolve(&self.nv.save_image(&options))).await.map_err(|e| describe(&e))?;
        let bytes = Uint8Array::new(&saved).to_vec();
        let n = self.grid.voxels();
        let offset = bytes.len().checked_sub(n).filter(|&o| o >= 348).ok_or("the viewer's drawing has the wrong size")?;
        Ok(bytes[offset..].iter().map(|&v| u8::from(v != 0)).collect())
    }

    /// Moves the crosshair to voxel `v` of the display grid (all planes follow).
    pub fn go_to(&self, v: [usize; 3]) {
        let mm = self.grid.mm(v.map(|x| x as f64));
        let frac = self.nv.mm2frac(&array(&mm));
        set(&self.nv, &["scene", "crosshairPos"], &frac);
        *self.at.borrow_mut() = v;
        self.nv.create_on_location_change();
        self.nv.draw_scene();
    }

    /// Slice `k`, keeping the crosshair's place in the plane.
    pub fn go_to_slice(&self, k: usize) {
        let [x, y, _] = *self.at.borrow();
        self.go_to([x, y, k.min(self.grid.dims[2].saturating_sub(1))]);
    }

    /// `dk` slices up or down the study's own slice order.
    pub fn scroll(&self, dk: i64) {
        let k = self.at.borrow()[2] as i64 + dk;
        self.go_to_slice(k.clamp(0, self.grid.dims[2] as i64 - 1) as usize);
    }

    pub fn set_at(&self, v: [usize; 3]) {
        *self.at.borrow_mut() = v;
    }

    pub fn at(&self) -> [usize; 3] {
        *self.at.borrow()
    }

    /// Zooms the 2D planes by `factor` (1 resets zoom and pan).
    pub fn zoom(&self, factor: f64) {
        let mut pan = numbers(&get(&self.nv, &["scene", "pan2Dxyzmm"]));
        pan.resize(4, 1.0);
        if factor == 1.0 {
            pan = vec![0.0, 0.0, 0.0, 1.0];
        } else {
            pan[3] = (pan[3] * factor).clamp(0.25, 16.0);
        }
        self.nv.set_pan_2d_xyzmm(&array(&pan));
    }

    /// Back to the full 8-bit range of the model's input.
    pub fn reset_window(&self) {
        let base = get(&self.nv, &["volumes", "0"]);
        set(&base, &["cal_min"], &0.0.into());
        set(&base, &["cal_max"], &255.0.into());
        self.nv.update_gl_volume();
    }

    /// Draws RANO's two diameters on their slice (shown while the crosshair is on it).
    pub fn show_diameters(&self, b: Option<&Bidimensional>) {
        self.nv.clear_measurements();
        let Some(b) = b else { return self.nv.draw_scene() };
        let list = get(&self.nv, &["document", "completedMeasurements"]);
        let axial = constant("SLICE_TYPE", "AXIAL");
        for line in [&b.longest, &b.perpendicular] {
            let ends = self.ends(line, b.slice);
            let frac = numbers(&self.nv.mm2frac(&array(&ends[0])));
            let distance = line.mm.unwrap_or(line.px);
            let m = object(&[
                ("startMM", array(&ends[0])),
                ("endMM", array(&ends[1])),
                ("distance", distance.into()),
                ("sliceIndex", 0.into()),
                ("sliceType", axial.into()),
                ("slicePosition", frac.get(2).copied().unwrap_or(0.0).into()),
            ]);
            let push: js_sys::Function = get(&list, &["push"]).unchecked_into();
            let _ = push.call1(&list, &m);
        }
        self.nv.draw_scene();
    }

    /// A line's end points in millimetres (pixel corners at whole numbers, voxel centres at
    /// halves).
    fn ends(&self, line: &Line, slice: usize) -> [[f64; 3]; 2] {
        [line.from, line.to].map(|p| self.grid.mm([p[0] - 0.5, p[1] - 0.5, slice as f64]))
    }
}
