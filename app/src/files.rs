//! Turning a drop or a file dialog into an ordered list of files, dropped folders included.
//!
//! Like `brainseg segment`: a file chosen by name is always tried (so a wrong format gets a
//! message), while inside folders a worker takes only what its content says is an image or a
//! scan (`brainseg_pipeline::classify`); hidden files and `*_mask.*` files are never sent.

use std::cmp::Ordering;

use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileList, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry,
};

use crate::browser::describe;

/// What was dropped, captured while the drop event lasts (the browser empties it afterwards).
pub enum Source {
    Entry(FileSystemEntry),
    File(File),
}

/// One file to segment, named by its path inside any dropped folder.
pub struct Picked {
    pub path: String,
    pub file: Result<File, String>,
    /// Chosen by itself (a wrong format gets a message), not found inside a folder.
    pub named: bool,
}

/// Whether a file found inside a folder goes to the workers, whose reader tells by its content
/// whether it is an image or a scan.
fn is_candidate_in_folder(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !name.starts_with('.') && !brainseg_study::numbered::is_mask_name(name)
}

/// Orders `slice_2` before `slice_10`, as people number slices.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while let (Some(&x), Some(&y)) = (a.first(), b.first()) {
        if x.is_ascii_digit() && y.is_ascii_digit() {
            let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
            let (nx, ny) = (digits(a), digits(b));
            let trim = |s: &[u8]| s.iter().skip_while(|&&c| c == b'0').count();
            let (da, db) = (&a[nx - trim(&a[..nx])..nx], &b[ny - trim(&b[..ny])..ny]);
            match da.len().cmp(&db.len()).then_with(|| da.cmp(db)) {
                Ordering::Equal => (a, b) = (&a[nx..], &b[ny..]),
                other => return other,
            }
        } else if x != y {
            return x.cmp(&y);
        } else {
            (a, b) = (&a[1..], &b[1..]);
        }
    }
    a.len().cmp(&b.len())
}

pub fn sort(picked: &mut [Picked]) {
    picked.sort_by(|x, y| natural_cmp(&x.path, &y.path));
}

/// Captures the dropped items; must run inside the `drop` handler, before any `await`.
pub fn sources_from_drop(transfer: &DataTransfer) -> Vec<Source> {
    let items = transfer.items();
    let mut sources = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        // Entries reveal folders; items made by scripts may have none, so keep the file too.
        match (item.webkit_get_as_entry().ok().flatten(), item.get_as_file().ok().flatten()) {
            (Some(entry), _) => sources.push(Source::Entry(entry)),
            (None, Some(file)) => sources.push(Source::File(file)),
            (None, None) => {}
        }
    }
    sources
}

/// The files of a file dialog; the folder dialog names them by their path inside the folder.
pub fn from_file_list(list: &FileList) -> Vec<Picked> {
    let mut picked = Vec::new();
    for i in 0..list.length() {
        let Some(file) = list.get(i) else { continue };
        let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|p| !p.is_empty());
        match relative {
            Some(path) if is_candidate_in_folder(&path) => picked.push(Picked { path, file: Ok(file), named: false }),
            Some(_) => {}
            None => picked.push(Picked { path: file.name(), file: Ok(file), named: true }),
        }
    }
    picked
}

/// Walks dropped folders (depth first) and returns every file to segment, folders sorted.
pub async fn collect(sources: Vec<Source>) -> Vec<Picked> {
    let mut picked = Vec::new();
    for source in sources {
        match source {
            Source::File(file) => picked.push(Picked { path: file.name(), file: Ok(file), named: true }),
            Source::Entry(entry) if entry.is_directory() => {
                let mut found = Vec::new();
                walk(entry.unchecked_into(), &mut found).await;
                sort(&mut found);
                picked.extend(found);
            }
            Source::Entry(entry) => {
                let file = entry_file(entry.clone().unchecked_into()).await;
                picked.push(Picked { path: entry.name(), file, named: true });
            }
        }
    }
    picked
}

async fn walk(root: FileSystemDirectoryEntry, found: &mut Vec<Picked>) {
    let mut folders = vec![root];
    while let Some(folder) = folders.pop() {
        let entries = match read_folder(&folder).await {
            Ok(entries) => entries,
            Err(e) => {
                let path = folder.full_path().trim_start_matches('/').to_string();
                found.push(Picked { path, file: Err(format!("cannot read the folder: {e}")), named: false });
                continue;
            }
        };
        for entry in entries {
            let path = entry.full_path().trim_start_matches('/').to_string();
            if entry.is_directory() {
                folders.push(entry.unchecked_into());
            } else if is_candidate_in_folder(&path) {
                found.push(Picked { path, file: entry_file(entry.unchecked_into()).await, named: false });
            }
        }
    }
}

/// All entries of a folder: `readEntries` returns them in batches until an empty one.
async fn read_folder(folder: &FileSystemDirectoryEntry) -> Result<Vec<FileSystemEntry>, String> {
    let reader = folder.create_reader();
    let mut all = Vec::new();
    loop {
        let batch = Promise::new(&mut |resolve, reject| {
            let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
        });
        let batch: Array = JsFuture::from(batch).await.map_err(|e| describe(&e))?.unchecked_into();
        if batch.length() == 0 {
            return Ok(all);
        }
        all.extend(batch.iter().map(|e| e.unchecked_into::<FileSystemEntry>()));
    }
}

async fn entry_file(entry: FileSystemFileEntry) -> Result<File, String> {
    let file = Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    });
    JsFuture::from(file).await.map(|f| f.unchecked_into()).map_err(|e| format!("cannot open the file: {}", describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_numbered_naturally() {
        let mut names = vec!["s_10.tif", "s_9.tif", "s_1.tif", "s_010b.tif"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["s_1.tif", "s_9.tif", "s_10.tif", "s_010b.tif"]);
    }

    #[test]
    fn folders_send_all_but_masks_and_hidden_files() {
        assert!(is_candidate_in_folder("p/TCGA_1.tif"));
        assert!(is_candidate_in_folder("study/series/IM0001"));
        assert!(is_candidate_in_folder("study/series/slice.bin"));
        assert!(!is_candidate_in_folder("p/TCGA_1_mask.tif"));
        assert!(!is_candidate_in_folder("p/.DS_Store"));
    }
}
