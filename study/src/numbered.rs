//! Image slices as volumes: the one naming rule of the CLI, evaluation and the page.
//!
//! Files in one folder whose names end in a slice number (the LGG dataset's `<case>_<n>.<ext>`,
//! `slice_007.png`, `IM-0001-0012.png`) and share what comes before it are one volume, ordered by
//! that number. Expert masks (`<name>_mask.<ext>`, any case) are never slices. A loose image,
//! or one whose name has no number, stays a single slice.

use std::collections::BTreeMap;

/// Extensions of the image slices the model takes (lower case).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "webp"];

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `(stem, extension)` of a path's file name.
fn split_name(path: &str) -> (&str, Option<&str>) {
    let name = file_name(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    }
}

/// Whether a path names an image slice, by its extension (any case).
pub fn is_image_name(path: &str) -> bool {
    split_name(path).1.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether a path names an expert mask (`X_mask.png`, `X_MASK.tif`): never segmented, and what
/// `evaluate` scores against.
pub fn is_mask_name(path: &str) -> bool {
    split_name(path).0.to_ascii_lowercase().ends_with("_mask")
}

/// The stem of a mask's image: `X_3_mask.tif` -> `X_3`.
pub fn mask_base(path: &str) -> Option<&str> {
    let stem = split_name(path).0;
    is_mask_name(path).then(|| &stem[..stem.len() - "_mask".len()])
}

/// The slice number a name ends with and what comes before it (its volume's key):
/// `TCGA_CS_4941_19960909_12.tif` -> `("TCGA_CS_4941_19960909_", 12)`.
pub fn slice_number(path: &str) -> Option<(&str, usize)> {
    let stem = split_name(path).0;
    let digits = stem.bytes().rev().take_while(u8::is_ascii_digit).count();
    // More than 6 digits is a date or an identifier, not a slice number.
    if digits == 0 || digits > 6 {
        return None;
    }
    let (prefix, number) = stem.split_at(stem.len() - digits);
    Some((prefix, number.parse().ok()?))
}

/// One volume of numbered slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedVolume {
    /// Folder and prefix, e.g. `TCGA_CS_4941/TCGA_CS_4941_19960909_`.
    pub key: String,
    /// `(slice number, index into the names given)`, by slice number.
    pub slices: Vec<(usize, usize)>,
    /// Numbers between the first and the last that no file has.
    pub missing: Vec<usize>,
    /// Names left out because an earlier one has the same number (index into the names given).
    pub duplicates: Vec<usize>,
}

impl NumberedVolume {
    /// What to tell the user about gaps and duplicates, if anything.
    pub fn notes(&self, names: &[&str]) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.missing.is_empty() {
            let shown: Vec<String> = self.missing.iter().take(10).map(ToString::to_string).collect();
            let more = if self.missing.len() > 10 { format!(" and {} more", self.missing.len() - 10) } else { String::new() };
            notes.push(format!(
                "slice number(s) {}{more} missing: their neighbours are treated as adjacent",
                shown.join(", ")
            ));
        }
        for &d in &self.duplicates {
            notes.push(format!("{}: another file has the same slice number; left out of the volume", names[d]));
        }
        notes
    }
}

/// How image names group: volumes of two or more numbered slices, and single images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouping {
    pub volumes: Vec<NumberedVolume>,
    /// Indices of names that are slices on their own.
    pub singles: Vec<usize>,
}

/// Groups image `names` (paths with `/` between folders; masks and non-images are not slices and
/// must be filtered out first) by folder and numbered prefix. Volumes come in key order.
pub fn group(names: &[&str]) -> Grouping {
    let mut by_key: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    let mut grouping = Grouping::default();
    for (i, name) in names.iter().enumerate() {
        match slice_number(name) {
            Some((prefix, n)) => {
                let folder = name.len() - file_name(name).len();
                by_key.entry(format!("{}{prefix}", &name[..folder])).or_default().push((n, i));
            }
            None => grouping.singles.push(i),
        }
    }
    for (key, mut slices) in by_key {
        if slices.len() < 2 {
            grouping.singles.extend(slices.iter().map(|&(_, i)| i));
            continue;
        }
        slices.sort();
        let mut duplicates = Vec::new();
        slices.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                duplicates.push(b.1);
            }
            same
        });
        if slices.len() < 2 {
            grouping.singles.push(slices[0].1);
            grouping.singles.extend(duplicates);
            continue;
        }
        let numbers: Vec<usize> = slices.iter().map(|&(n, _)| n).collect();
        let missing = (numbers[0]..*numbers.last().expect("two or more"))
            .filter(|n| numbers.binary_search(n).is_err())
            .take(10_000)
            .collect();
        grouping.volumes.push(NumberedVolume { key, slices, missing, duplicates });
    }
    grouping.singles.sort_unstable();
    grouping
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(slice_number("P/TCGA_CS_4941_19960909_12.tif"), Some(("TCGA_CS_4941_19960909_", 12)));
        assert_eq!(slice_number("slice007.png"), Some(("slice", 7)));
        assert_eq!(slice_number("brain.png"), None);
        assert_eq!(slice_number("scan_20240101123.png"), None, "an identifier, not a slice number");
        assert!(is_mask_name("a/X_3_mask.tif") && is_mask_name("X_3_MASK.PNG"));
        assert!(!is_mask_name("a/X_3.tif") && !is_mask_name("masked_3.png"));
        assert_eq!(mask_base("a/X_3_Mask.tif"), Some("X_3"));
        assert!(is_image_name("a/b.TIF") && !is_image_name("a/b.dcm") && !is_image_name(".png"));
    }

    #[test]
    fn numbered_names_in_one_folder_are_a_volume_in_number_order() {
        let names = ["p/x_10.png", "p/x_2.png", "p/x_1.png", "q/x_1.png", "q/x_2.png", "p/brain.png"];
        let g = group(&names);
        assert_eq!(g.volumes.len(), 2, "the same prefix in two folders is two volumes");
        assert_eq!(g.volumes[0].key, "p/x_");
        assert_eq!(g.volumes[0].slices, [(1, 2), (2, 1), (10, 0)]);
        assert_eq!(g.volumes[0].missing, (3..10).collect::<Vec<_>>());
        assert_eq!(g.volumes[1].slices, [(1, 3), (2, 4)]);
        assert!(g.volumes[1].missing.is_empty());
        assert_eq!(g.singles, [5]);
        assert!(g.volumes[0].notes(&names)[0].contains("3, 4, 5"));
    }

    #[test]
    fn duplicates_are_reported_and_lone_numbers_stay_single() {
        let names = ["a_1.png", "a_01.tif", "a_2.png", "b_7.png", "c_3.png", "c_3.tif"];
        let g = group(&names);
        assert_eq!(g.volumes.len(), 1);
        assert_eq!(g.volumes[0].slices, [(1, 0), (2, 2)]);
        assert_eq!(g.volumes[0].duplicates, [1]);
        assert!(g.volumes[0].notes(&names)[0].contains("a_01.tif"));
        assert_eq!(g.singles, [3, 4, 5], "one slice (twice) is no volume");
    }

    #[test]
    fn mixed_prefixes_in_one_folder_split() {
        let g = group(&["s/t1_1.png", "s/t1_2.png", "s/flair_1.png", "s/flair_2.png"]);
        let keys: Vec<&str> = g.volumes.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["s/flair_", "s/t1_"]);
    }
}
