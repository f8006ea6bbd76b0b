//! One panel per DICOM series or NIfTI volume: how its channels were filled, tumor volume,
//! slices with tumor, largest diameter, what the reader noticed, and the mask downloads (NIfTI,
//! PNG slices, and a DICOM SEG for DICOM series).

use brainseg_study::dicom::seg::{self, SegInfo};
use brainseg_study::measure::summarize;
use brainseg_study::volume::Origin;
use brainseg_core::postprocess::PostProcess;
use brainseg_study::{file_stem, nifti};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::pipeline::{cancel, study_masks, use_runtime};
use crate::state::{StudyEntry, use_state};
use crate::{browser, downloads};

fn report(result: Result<(), String>) {
    if let Err(e) = result {
        let _ = web_sys::window().map(|w| w.alert_with_message(&format!("Download failed: {e}")));
    }
}

#[component]
fn StudyPanel(study: StudyEntry) -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let total = study.slice_ids.len();
    let study = StoredValue::new(study);
    let finished = Memo::new(move |_| state.slices.with(|s| study.with_value(|st| st.finished(s))));
    let cancelled = Memo::new(move |_| state.slices.with(|s| study.with_value(|st| st.cancelled(s))));
    // Time left from this study's own pace so far (all workers together).
    let progress = move || {
        let done = finished.get();
        let mut text = format!("{done} of {total} slices");
        if cancelled.get() {
            text.push_str(", cancelled");
        } else if done > 0 && done < total {
            let elapsed = browser::now_ms() - study.with_value(|st| st.queued_at_ms);
            let left = elapsed / done as f64 * (total - done) as f64 / 1000.0;
            text.push_str(&format!(", about {left:.0} s left"));
        }
        text
    };
    let cancel_study = move |_| study.with_value(|st| cancel(rt, &st.slice_ids));
    // Once every slice is in, a worker makes the study's masks (3D step) under the committed
    // settings, again whenever they change.
    let asked = StoredValue::new(None::<PostProcess>);
    Effect::new(move |_| {
        let post = state.set_post();
        if finished.get() < total || study.with_value(|st| st.has_masks(&post)) || asked.get_value() == Some(post) {
            return;
        }
        let Some(job) = state.slices.with_untracked(|s| study.with_value(|st| st.probabilities(s, &post))) else { return };
        asked.set_value(Some(post));
        spawn_local(async move {
            let masks = match study_masks(rt, job).await {
                Ok(masks) => Some(masks),
                Err(e) => {
                    // Made here instead: slower, but the study still gets its figures.
                    web_sys::console::warn_1(&format!("study masks in a worker failed ({e}); making them here").into());
                    state.slices.with_untracked(|s| study.with_value(|st| st.masks_now(s, &post))).map(|m| m.to_vec())
                }
            };
            if let Some(masks) = masks {
                study.with_value(|st| st.set_masks(post, masks));
            }
            asked.set_value(None);
        });
    });
    let figures = Memo::new(move |_| {
        let post = state.set_post();
        let masks = study.with_value(|st| st.ready_masks(&post))?;
        let refs: Vec<&[u8]> = masks.iter().map(|m| m.as_raw().as_slice()).collect();
        Some(study.with_value(|st| summarize(&st.geometry, &refs)))
    });
    let masks_now = move || {
        let post = state.set_post();
        state.slices.with_untracked(|s| study.with_value(|st| st.masks_now(s, &post)))
    };
    let save_nifti = move |_| {
        let Some(masks) = masks_now() else { return };
        let flat: Vec<u8> = masks.iter().flat_map(|m| m.as_raw().iter().copied()).collect();
        report(study.with_value(|st| {
            let bytes = nifti::write_mask(&st.geometry, &flat).map_err(|e| e.to_string())?;
            downloads::save_nifti(&st.label, &bytes)
        }));
    };
    let save_pngs = move |_| {
        let Some(masks) = masks_now() else { return };
        report(study.with_value(|st| {
            let named: Vec<_> = masks.iter().enumerate().map(|(k, m)| (format!("slice_{:03}.png", k + 1), m.clone())).collect();
            downloads::save_zip(&format!("{}_masks.zip", file_stem(&st.label)), &named)
        }));
    };
    let save_seg = move |_| {
        let Some(masks) = masks_now() else { return };
        let flat: Vec<u8> = masks.iter().flat_map(|m| m.as_raw().iter().copied()).collect();
        let sha = state.model_sha256.get_untracked();
        let info = SegInfo {
            model_sha256: &sha,
            software_version: env!("CARGO_PKG_VERSION"),
            uid_seed: browser::random_bits(),
            unix_seconds: browser::unix_seconds(),
        };
        report(study.with_value(|st| match seg::write(&st.geometry, &flat, &info) {
            Ok(Some(bytes)) => downloads::save_seg(&st.label, &bytes),
            Ok(None) => Err("no tumor found: a DICOM SEG needs at least one frame".into()),
            Err(e) => Err(e.to_string()),
        }));
    };
    let is_dicom = study.with_value(|st| matches!(st.geometry.origin, Origin::Dicom(_)));
    let no_tumor = move || figures.with(|f| f.as_ref().is_some_and(|f| f.slices_with_tumor == 0));
    let show_largest = move |_| {
        if let Some(k) = figures.get_untracked().and_then(|f| f.largest_slice) {
            state.selected.set(study.with_value(|st| st.slice_ids.get(k - 1).copied()));
        }
    };
    let (label, mode, notes) = study.with_value(|st| (st.label.clone(), st.mode.clone(), st.notes.clone()));
    let aria = format!("Study {label}");
    view! {
        <section class="study" data-testid="study-summary" aria-label=aria>
            <h2>{label}</h2>
            <p class="mode" data-testid="study-mode">"Channels: "{mode}</p>
            <dl class="figures">
                <dt>"Segmented"</dt>
                <dd data-testid="study-done">
                    {progress}
                    <Show when=move || finished.get() < total && !cancelled.get()>
                        " "<button type="button" class="link" data-testid="cancel-study" on:click=cancel_study>"cancel"</button>
                    </Show>
                </dd>
                <dt>"Tumor volume"</dt>
                <dd data-testid="study-volume">{move || figures.get().map_or("…".into(), |f| f.amount_text())}</dd>
                <dt>"Slices with tumor"</dt>
                <dd data-testid="study-slices">
                    {move || figures.get().map_or("…".into(), |f| format!("{} of {}", f.slices_with_tumor, f.slices))}
                </dd>
                <dt>"Largest diameter"</dt>
                <dd data-testid="study-diameter">
                    {move || figures.get().map_or("…".into(), |f| f.diameter_text().unwrap_or_else(|| "–".into()))}
                    <Show when=move || figures.with(|f| f.as_ref().is_some_and(|f| f.largest_slice.is_some()))>
                        " "<button type="button" class="link" on:click=show_largest>"show"</button>
                    </Show>
                </dd>
            </dl>
            <ul class="notes">{notes.into_iter().map(|n| view! { <li>"Note: "{n}</li> }).collect_view()}</ul>
            <div class="buttons">
                <button type="button" data-testid="save-nifti" disabled=move || figures.with(Option::is_none) on:click=save_nifti>
                    "Download mask volume (NIfTI)"
                </button>
                <button type="button" data-testid="save-study-pngs" disabled=move || figures.with(Option::is_none) on:click=save_pngs>
                    "Download slice masks (zip)"
                </button>
                <Show when=move || is_dicom>
                    <button
                        type="button"
                        data-testid="save-seg"
                        disabled=move || figures.with(Option::is_none) || no_tumor()
                        title=move || if no_tumor() { "No tumor found: nothing to put in a DICOM SEG" } else { "A DICOM Segmentation object of this series, for PACS viewers" }
                        on:click=save_seg
                    >
                        "Download DICOM SEG"
                    </button>
                </Show>
            </div>
        </section>
    }
}

/// Every study of the session, newest last, and a line while scans are being read.
#[component]
pub fn Studies() -> impl IntoView {
    let state = use_state();
    view! {
        {move || state.reading_scans.get().map(|m| view! { <p class="pending" data-testid="reading-scans">{m}</p> })}
        <For each=move || state.studies.get() key=|s| s.id let:study>
            <StudyPanel study/>
        </For>
    }
}
