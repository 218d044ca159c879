//! TEMPORARY: folder expansion and exposure opening, until the library's shared versions land.

use std::path::{Path, PathBuf};

use burstpipe::{Engine, Frame, Image, Options, Tone};

const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "rw2", "orf", "pef",
    "srw", "3fr", "iiq", "erf", "kdc", "mrw", "x3f",
];

pub fn is_raw(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    RAW_EXTENSIONS.contains(&ext.as_str())
}

pub fn expand(inputs: &[PathBuf]) -> burstpipe::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut list: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| burstpipe::Error::Io { path: input.clone(), source: e })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .collect();
            list.sort();
            files.extend(list);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

pub fn open_exposure(engine: &Engine, path: &Path) -> burstpipe::Result<Image> {
    if !is_raw(path) {
        return Image::open(path);
    }
    let frame = Frame::open(path)?;
    let options = Options {
        exposure_ev: Some(0.0),
        tone: Tone::Curve,
        ..Options::default()
    };
    engine.develop(&frame, &options)
}
