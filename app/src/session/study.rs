//! A complete study: assembled in a worker (its masks with the 3D step, and its figures) under
//! the committed settings, again whenever they change; its exports made in a worker too.

use brainseg_core::postprocess::PostProcess;
use brainseg_pipeline::StudyResult;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{RuntimeStore, ask};
use crate::state::{AppState, StudyEntry};
use crate::worker::{Assemble, Export, ExportFormat, Floats, Measure, Pixels};

/// Keeps `study` assembled: once every slice is in, and whenever the committed threshold moves,
/// a worker assembles it ahead of the slices waiting.
pub fn watch(state: AppState, rt: RuntimeStore, study: StudyEntry) {
    let owner = rt.with_value(|r| r.owner.clone());
    let run = move || {
        let asked = StoredValue::new(None::<PostProcess>);
        let total = study.slice_ids.len();
        Effect::new(move |_| {
            let post = state.set_post();
            let finished = state.slices.with(|s| study.finished(s));
            if finished < total || study.has_result(&post) || asked.get_value() == Some(post) {
                return;
            }
            let Some(probabilities) = state.slices.with_untracked(|s| study.probabilities(s)) else { return };
            asked.set_value(Some(post));
            let study = study.clone();
            spawn_local(async move {
                let request = Assemble { header: (*study.header).clone(), probabilities: probabilities.into_iter().map(Floats).collect(), post };
                let result = ask(rt, usize::MAX, request, true)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| Ok(StudyResult { masks: Pixels::into_grays(r.masks)?, summary: r.summary }));
                study.set_result(post, result);
                asked.set_value(None);
            });
        });
    };
    match owner {
        Some(owner) => owner.with(run),
        None => run(),
    }
}

/// The figures of the study's corrected mask, measured in a worker after an edit (dropped when
/// another edit came meanwhile).
pub fn measure_edits(rt: RuntimeStore, study: StudyEntry, post: PostProcess) {
    spawn_local(async move {
        let version = study.edit_state.with_untracked(|s| s.version);
        let Some(masks) = untrack(|| study.masks(&post)) else { return };
        let request = Measure { header: (*study.header).clone(), masks: masks.slices().iter().map(Pixels::gray).collect() };
        match ask(rt, usize::MAX, request, true).await {
            Ok(r) => study.set_edited_summary(version, r.summary),
            Err(e) => web_sys::console::warn_1(&format!("measuring the edited mask failed: {e}").into()),
        }
    });
}

/// The study's masks as a file, made in a worker: the reader's mask once edited (a SEG then
/// says SEMIAUTOMATIC), else the model's under `post`.
pub async fn export(rt: RuntimeStore, study: &StudyEntry, post: &PostProcess, format: ExportFormat) -> Result<Vec<u8>, String> {
    let masks = untrack(|| study.masks(post)).ok_or("the study is not assembled yet")?;
    let request = Export { header: (*study.header).clone(), masks: masks.slices().iter().map(Pixels::gray).collect(), format };
    let reply = ask(rt, usize::MAX, request, true).await.map_err(|e| e.to_string())?;
    Ok(reply.bytes.0)
}
