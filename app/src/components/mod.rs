//! The page's components, one job each.

mod controls;
mod drop_zone;
mod slice_list;
mod status_bar;
mod studies;
mod summary;
mod viewer;

pub use controls::Controls;
pub use drop_zone::DropZone;
pub use slice_list::SliceList;
pub use status_bar::StatusBar;
pub use studies::Studies;
pub use summary::Summary;
pub use viewer::Viewer;
