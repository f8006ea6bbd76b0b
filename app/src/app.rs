//! The page layout and the state every component shares.

use leptos::prelude::*;

use crate::components::{Controls, DropZone, SliceList, StatusBar, Studies, StudyViewer, Summary, Viewer};
use crate::session::{Runtime, RuntimeStore, start_engine};
use crate::state::AppState;

#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    let runtime: RuntimeStore = StoredValue::new_local(Runtime::default());
    provide_context(state);
    provide_context(runtime);
    start_engine(state, runtime);

    view! {
        <header>
            <h1>"brainseg"</h1>
            <p class="tagline">
                "Brain-tumor segmentation of MRI slices, DICOM series and NIfTI volumes, computed in this page. "
                "Your images never leave your computer: nothing is uploaded, there is no tracking, "
                "and after the first visit the page works offline."
            </p>
            <StatusBar/>
        </header>
        <main>
            <DropZone/>
            <StudyViewer/>
            <div class="workspace">
                <SliceList/>
                <Viewer/>
                <aside class="side">
                    <Controls/>
                    <Studies/>
                    <Summary/>
                </aside>
            </div>
        </main>
        <footer>
            "Research software, not a medical device: do not use for diagnosis."
        </footer>
    }
}
