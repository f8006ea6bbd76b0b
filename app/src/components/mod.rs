//! The page's components, one job each.

mod controls;
mod drop_zone;
mod slice_list;
mod status_bar;
mod studies;
mod study_viewer;
mod summary;
mod viewer;
mod viewer_tools;

pub use controls::Controls;
pub use drop_zone::DropZone;
pub use slice_list::SliceList;
pub use status_bar::StatusBar;
pub use studies::Studies;
pub use study_viewer::StudyViewer;
pub use summary::Summary;
pub use viewer::Viewer;
