//! One panel per study of several slices (a DICOM series, a NIfTI volume, a folder of numbered
//! slices): how its channels were filled, its progress, its figures, what the reader noticed,
//! and its exports. The study is assembled and exported by workers (`crate::session`); these
//! components only display and ask.

use brainseg_core::postprocess::PostProcess;
use leptos::prelude::*;

use crate::session::{cancel, export, use_runtime};
use crate::state::{StudyEntry, use_state};
use crate::worker::ExportFormat;
use crate::{browser, downloads};

/// `12 of 24 slices, about 8 s left` from the study's own pace so far (all workers together).
#[component]
fn Progress(study: StudyEntry) -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let total = study.slice_ids.len();
    let study = StoredValue::new(study);
    let finished = Memo::new(move |_| state.slices.with(|s| study.with_value(|st| st.finished(s))));
    let cancelled = Memo::new(move |_| state.slices.with(|s| study.with_value(|st| st.cancelled(s))));
    let text = move || {
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
    view! {
        {text}
        <Show when=move || finished.get() < total && !cancelled.get()>
            " "<button type="button" class="link" data-testid="cancel-study" on:click=cancel_study>"cancel"</button>
        </Show>
    }
}

/// The panel's exports: NIfTI, PNG zip and (for DICOM series) a DICOM SEG, each made in a
/// worker by an action and saved when it comes.
#[component]
fn Exports(study: StudyEntry) -> impl IntoView {
    let (state, rt) = (use_state(), use_runtime());
    let is_dicom = study.header.is_dicom();
    let study = StoredValue::new(study);
    let post = move || state.set_post();
    let figures = move || study.with_value(|st| st.figures(&post()));
    let no_tumor = move || matches!(figures(), Some(Ok(Some(s))) if s.slices_with_tumor == 0);
    let save = Action::new_local(move |format: &ExportFormat| {
        let (format, post) = (format.clone(), untrack(post));
        let st = study.get_value();
        async move {
            let saved = export(rt, &st, &post, format.clone()).await.and_then(|bytes| match format {
                ExportFormat::Nifti => downloads::save_nifti(&st.header.label, &bytes),
                ExportFormat::Seg { .. } => downloads::save_seg(&st.header.label, &bytes),
                ExportFormat::Pngs => downloads::save_study_pngs(&st.header.label, &bytes),
            });
            if let Err(e) = saved {
                let _ = web_sys::window().map(|w| w.alert_with_message(&format!("Download failed: {e}")));
            }
        }
    });
    let seg = move || ExportFormat::Seg {
        model_sha256: state.model_sha256.get_untracked(),
        uid_seed: browser::random_bits().to_string(),
        unix_seconds: browser::unix_seconds(),
        edited: study.with_value(|st| st.edit_state.with_untracked(|e| e.edited)),
    };
    let uniform = study.with_value(|st| st.header.uniform());
    let waiting = move || !matches!(figures(), Some(Ok(_))) || save.pending().get();
    view! {
        <div class="buttons">
            <Show when=move || uniform>
                <button type="button" data-testid="save-nifti" disabled=waiting on:click=move |_| { save.dispatch(ExportFormat::Nifti); }>
                    "Download mask volume (NIfTI)"
                </button>
            </Show>
            <button type="button" data-testid="save-study-pngs" disabled=waiting on:click=move |_| { save.dispatch(ExportFormat::Pngs); }>
                "Download slice masks (zip)"
            </button>
            <Show when=move || is_dicom>
                <button
                    type="button"
                    data-testid="save-seg"
                    disabled=move || waiting() || no_tumor()
                    title=move || if no_tumor() { "No tumor found: nothing to put in a DICOM SEG" } else { "A DICOM Segmentation object of this series, for PACS viewers" }
                    on:click=move |_| { save.dispatch(seg()); }
                >
                    "Download DICOM SEG"
                </button>
            </Show>
        </div>
    }
}

#[component]
fn StudyPanel(study: StudyEntry) -> impl IntoView {
    let state = use_state();
    let entry = StoredValue::new(study.clone());
    let post = move || -> PostProcess { state.set_post() };
    // The reader's mask once edited, else the model's: both as the workers measured them.
    let outcome = Memo::new(move |_| entry.with_value(|st| st.figures(&post())));
    let summary = move || outcome.get().and_then(Result::ok);
    let figure = move |f: fn(&brainseg_study::Summary) -> String| {
        move || match outcome.get() {
            None => "…".into(),
            Some(Err(e)) => format!("not available: {e}"),
            Some(Ok(summary)) => summary.as_ref().map_or_else(|| "– (slices of different sizes)".into(), f),
        }
    };
    let edited = move || entry.with_value(|st| st.edit_state.with(|e| e.edited));
    let discard = move |_| entry.with_value(StudyEntry::discard_edits);
    let show_largest = move |_| {
        if let Some(k) = summary().flatten().and_then(|f| f.largest_slice) {
            state.selected.set(entry.with_value(|st| st.slice_ids.get(k - 1).copied()));
        }
    };
    let has_largest = move || summary().flatten().is_some_and(|f| f.largest_slice.is_some());
    let header = study.header.clone();
    let aria = format!("Study {}", header.label);
    view! {
        <section class="study" data-testid="study-summary" aria-label=aria>
            <h2>{header.label.clone()}</h2>
            <p class="mode" data-testid="study-mode">"Channels: "{header.mode.clone()}</p>
            <dl class="figures">
                <dt>"Segmented"</dt>
                <dd data-testid="study-done"><Progress study=study.clone()/></dd>
                <dt>"Tumor volume"</dt>
                <dd data-testid="study-volume">{figure(|f| f.amount_text())}</dd>
                <dt>"Slices with tumor"</dt>
                <dd data-testid="study-slices">{figure(|f| format!("{} of {}", f.slices_with_tumor, f.slices))}</dd>
                <dt>"Diameters (RANO)"</dt>
                <dd data-testid="study-rano">
                    {figure(|f| f.bidimensional.map_or_else(|| "–".into(), |b| b.text()))}
                </dd>
                <dt>"Largest diameter"</dt>
                <dd data-testid="study-diameter">
                    {figure(|f| f.diameter_text().unwrap_or_else(|| "–".into()))}
                    <Show when=has_largest>
                        " "<button type="button" class="link" on:click=show_largest>"show"</button>
                    </Show>
                </dd>
            </dl>
            <Show when=edited>
                <p class="edited" data-testid="study-edited">
                    "Corrected by you: figures and downloads follow your mask, whatever the threshold. "
                    <button type="button" class="link" data-testid="discard-edits" on:click=discard>"Back to the model's mask"</button>
                </p>
            </Show>
            <ul class="notes">{header.notes.iter().map(|n| view! { <li>"Note: "{n.clone()}</li> }).collect_view()}</ul>
            <div class="buttons">
                <button type="button" data-testid="view-study" disabled=move || outcome.with(|o| !matches!(o, Some(Ok(Some(_)))))
                    title="Scroll the study in three planes and 3D, and correct the mask" on:click=move |_| state.viewing.set(Some(entry.with_value(|st| st.id)))>
                    "View and correct"
                </button>
            </div>
            <Exports study/>
        </section>
    }
}

/// Every study of the session, newest last, and a line while files are being read.
#[component]
pub fn Studies() -> impl IntoView {
    let state = use_state();
    view! {
        {move || {
            let n = state.reading.get();
            (n > 0).then(|| view! { <p class="pending" data-testid="reading-scans">{format!("Reading {n} file(s)…")}</p> })
        }}
        <For each=move || state.studies.get() key=|s| s.id let:study>
            <StudyPanel study/>
        </For>
    }
}
