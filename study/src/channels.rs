//! Which series feed which input channel. The model takes (pre-contrast, FLAIR, post-contrast);
//! the LGG release copied FLAIR into a missing sequence's place, so a lone FLAIR fills all three.

use std::fmt;

use serde::Serialize;

use crate::volume::{Volume, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    PreContrast,
    Flair,
    PostContrast,
    Other,
}

/// A series label or input name as a safe file-name stem: ASCII letters, digits, `-` and `.`
/// kept, anything else `_`, no leading or trailing `_`/`.` (so never `..`), "study" when nothing
/// is left. The CLI's output folders and the page's downloads both use it, so one study gets
/// the same name either way.
pub fn file_stem(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    let s = s.trim_matches(|c| c == '_' || c == '.');
    if s.is_empty() { "study".into() } else { s.to_string() }
}

/// Guesses a series' sequence from its description or file name (BraTS names included:
/// `t1`, `t1ce`/`t1gd`, `flair`).
pub fn role_of(label: &str) -> Role {
    let lower = label.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric() && c != '+').filter(|t| !t.is_empty()).collect();
    let has = |words: &[&str]| tokens.iter().any(|t| words.contains(t));
    if lower.contains("flair") {
        Role::Flair
    } else if has(&["t1ce", "t1gd", "t1c", "t1post", "post", "gd", "gad", "+c", "t1+c", "ce", "contrast"]) && !has(&["pre", "precontrast"]) {
        Role::PostContrast
    } else if has(&["t1", "t1w", "pre", "precontrast", "t1pre", "native"]) {
        Role::PreContrast
    } else {
        Role::Other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// Three co-registered series of one study.
    ThreeSequences,
    /// One series in every channel.
    FlairOnly,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::ThreeSequences => "three sequences (pre-contrast, FLAIR, post-contrast)",
            Mode::FlairOnly => "FLAIR only (copied into all three channels)",
        })
    }
}

/// What gets segmented: one volume per channel, all of the FLAIR volume's geometry.
#[derive(Debug, Clone)]
pub struct Study {
    pub label: String,
    pub mode: Mode,
    /// Geometry, notes and export follow this volume.
    pub flair: Volume,
    pre: Option<Volume>,
    post: Option<Volume>,
    windows: [Window; 3],
    pub notes: Vec<String>,
}

impl Study {
    pub fn flair_only(flair: Volume, notes: Vec<String>) -> Study {
        let w = flair.window();
        let mut notes = notes;
        notes.extend(flair.notes.iter().cloned());
        Study { label: flair.label.clone(), mode: Mode::FlairOnly, flair, pre: None, post: None, windows: [w; 3], notes }
    }

    /// The three must have the same dimensions (checked by [`assemble`]).
    fn three(pre: Volume, flair: Volume, post: Volume, notes: Vec<String>) -> Study {
        let windows = [pre.window(), flair.window(), post.window()];
        let mut notes = notes;
        notes.extend(flair.notes.iter().cloned());
        let label = flair.label.clone();
        Study { label, mode: Mode::ThreeSequences, flair, pre: Some(pre), post: Some(post), windows, notes }
    }

    pub fn width(&self) -> usize {
        self.flair.dims[0]
    }

    pub fn height(&self) -> usize {
        self.flair.dims[1]
    }

    pub fn slices(&self) -> usize {
        self.flair.dims[2]
    }

    /// Slice `k` as 8-bit RGB (pre-contrast, FLAIR, post-contrast), row by row.
    pub fn rgb_slice(&self, k: usize) -> Vec<u8> {
        let flair = self.flair.slice(k);
        let pre = self.pre.as_ref().map_or(flair, |v| v.slice(k));
        let post = self.post.as_ref().map_or(flair, |v| v.slice(k));
        let mut out = Vec::with_capacity(flair.len() * 3);
        for i in 0..flair.len() {
            out.extend([self.windows[0].apply(pre[i]), self.windows[1].apply(flair[i]), self.windows[2].apply(post[i])]);
        }
        out
    }
}

/// Turns the volumes of one study (or one dropped folder of NIfTI files) into what to segment.
pub fn assemble(volumes: Vec<Volume>) -> Vec<Study> {
    let roles: Vec<Role> = volumes.iter().map(|v| role_of(&v.label)).collect();
    if !roles.contains(&Role::Flair) {
        return volumes
            .into_iter()
            .map(|v| {
                let note = format!("\"{}\" is not labelled FLAIR; segmented as if it were (the model reads FLAIR)", v.label);
                Study::flair_only(v, vec![note])
            })
            .collect();
    }
    let mut slots: Vec<Option<Volume>> = volumes.into_iter().map(Some).collect();
    let find = |role: Role, dims: Option<[usize; 3]>, slots: &[Option<Volume>]| {
        (0..slots.len()).find(|&i| roles[i] == role && slots[i].as_ref().is_some_and(|v| dims.is_none_or(|d| v.dims == d)))
    };
    let mut studies = Vec::new();
    while let Some(f) = find(Role::Flair, None, &slots) {
        let flair = slots[f].take().expect("found above");
        let pre = find(Role::PreContrast, Some(flair.dims), &slots);
        let post = find(Role::PostContrast, Some(flair.dims), &slots);
        studies.push(match (pre, post) {
            (Some(pre), Some(post)) => {
                let (pre, post) = (slots[pre].take().expect("found"), slots[post].take().expect("found"));
                let note = format!("channels: \"{}\", \"{}\", \"{}\"", pre.label, flair.label, post.label);
                Study::three(pre, flair, post, vec![note])
            }
            (pre, post) => {
                let missing = match (pre, post) {
                    (None, None) => "pre- or post-contrast",
                    (None, _) => "pre-contrast",
                    _ => "post-contrast",
                };
                Study::flair_only(flair, vec![format!("no {missing} series of the same size: FLAIR only")])
            }
        });
    }
    let unused: Vec<String> = slots.into_iter().flatten().map(|v| format!("\"{}\"", v.label)).collect();
    if !unused.is_empty()
        && let Some(first) = studies.first_mut()
    {
        first.notes.push(format!("not used: {}", unused.join(", ")));
    }
    studies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("AX T2/FLAIR (series 5)"), "AX_T2_FLAIR__series_5");
        assert_eq!(file_stem("flair.nii.gz"), "flair.nii.gz");
        assert_eq!(file_stem("../.."), "study");
        assert_eq!(file_stem("Ärger"), "rger");
    }

    #[test]
    fn roles_from_descriptions_and_brats_names() {
        assert_eq!(role_of("AX T2 FLAIR"), Role::Flair);
        assert_eq!(role_of("BraTS_001_flair.nii.gz"), Role::Flair);
        assert_eq!(role_of("BraTS_001_t1ce.nii.gz"), Role::PostContrast);
        assert_eq!(role_of("AX T1 POST GD"), Role::PostContrast);
        assert_eq!(role_of("AX T1 PRE"), Role::PreContrast);
        assert_eq!(role_of("BraTS_001_t1.nii.gz"), Role::PreContrast);
        assert_eq!(role_of("DWI b1000"), Role::Other);
    }
}
