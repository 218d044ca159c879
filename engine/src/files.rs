//! The files a front hands the engine: which are raw, a folder's files in name order, a bracket
//! member opened for fusion, and the checks an output name passes before any work. The CLI, the
//! Python module and the C API all take paths the same way through these.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::{Engine, Format, Frame, FuseOptions, Image, Options, Tone};

/// File extensions (lower case) of raw photos: such exposures are developed before fusion.
pub const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "rw2", "orf", "pef",
    "srw", "3fr", "iiq", "erf", "kdc", "mrw", "x3f",
];

/// Whether `path` names a raw photo (by its extension, any case).
///
/// ```
/// assert!(burstpipe::files::is_raw("IMG_0001.CR2".as_ref()));
/// assert!(!burstpipe::files::is_raw("photo.jpg".as_ref()));
/// ```
pub fn is_raw(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    RAW_EXTENSIONS.contains(&ext.as_str())
}

/// The files of folder `dir` in name order, hidden files (names starting with '.') and
/// sub-folders left out; `what` ends the message when there are none ("no files{what}").
fn folder_files(dir: &Path, what: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::file(dir, format!("the folder holds no files{what}")));
    }
    Ok(files)
}

/// A bracket's exposures: files as given, folders expanded to their files in name order (hidden
/// files skipped). An empty folder is an error naming it.
pub fn exposure_files(inputs: &[impl AsRef<Path>]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        if input.is_dir() {
            files.extend(folder_files(input, "")?);
        } else {
            files.push(input.to_path_buf());
        }
    }
    Ok(files)
}

/// A burst's frames: one folder's files in name order (hidden files skipped), or the files given
/// in capture order.
pub fn burst_files(inputs: &[impl AsRef<Path>]) -> Result<Vec<PathBuf>> {
    if let [dir] = inputs {
        let dir = dir.as_ref();
        if dir.is_dir() {
            return folder_files(dir, " to merge");
        }
    }
    Ok(inputs.iter().map(|p| p.as_ref().to_path_buf()).collect())
}

/// Refuse before any work an output we cannot write (an unknown extension, a folder that does not
/// exist) or one that would overwrite one of `inputs`.
pub fn check_output(inputs: &[impl AsRef<Path>], output: &Path) -> Result<()> {
    if Format::from_path(output).is_none() {
        return Err(Error::file(
            output,
            "unknown output format: use .jpg, .png or .tif",
        ));
    }
    check_writable(inputs, output)
}

/// The output's folder exists and the output is none of `inputs`.
pub fn check_writable(inputs: &[impl AsRef<Path>], output: &Path) -> Result<()> {
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::file(
            output,
            format!(
                "the output folder {} does not exist: create it first",
                dir.display()
            ),
        ));
    }
    let Ok(out) = output.canonicalize() else {
        return Ok(());
    };
    if inputs
        .iter()
        .any(|i| i.as_ref().canonicalize().is_ok_and(|i| i == out))
    {
        return Err(Error::file(
            output,
            "the output would overwrite the input: choose another name",
        ));
    }
    Ok(())
}

impl Engine {
    /// One exposure of a bracket as a display-referred image: finished photos (JPEG, PNG, TIFF)
    /// as they are; raw files developed with the plain curve at 0 EV (no automatic exposure), so
    /// that the bracket keeps its exposure differences, which are what fusion works from.
    pub fn open_exposure(&self, path: &Path) -> Result<Image> {
        if !is_raw(path) {
            return Image::open(path);
        }
        let frame = Frame::open(path)?;
        let options = Options {
            exposure_ev: Some(0.0),
            tone: Tone::Curve,
            ..Options::default()
        };
        self.develop(&frame, &options)
    }

    /// Fuse the bracket in `inputs` (files, or folders of them: [`exposure_files`]), each
    /// opened with [`Engine::open_exposure`] (decoded side by side). At least two exposures of
    /// one size; errors name the file at fault.
    pub fn fuse_files(&self, inputs: &[impl AsRef<Path>], options: &FuseOptions) -> Result<Image> {
        self.fuse_files_with_progress(inputs, options, &mut crate::progress::ignore)
    }

    /// [`Engine::fuse_files`] with progress and cancellation, as [`Engine::fuse_with_progress`].
    pub fn fuse_files_with_progress(
        &self,
        inputs: &[impl AsRef<Path>],
        options: &FuseOptions,
        progress: &mut crate::Progress,
    ) -> Result<Image> {
        let files = exposure_files(inputs)?;
        match files.as_slice() {
            [] => return Err(Error::InvalidInput("no exposures given".into())),
            [one] => {
                return Err(Error::file(
                    one,
                    "exposure fusion needs at least two exposures, got only this one",
                ))
            }
            _ => {}
        }
        let images = files
            .par_iter()
            .map(|f| self.open_exposure(f))
            .collect::<Result<Vec<_>>>()?;
        let (w, h) = (images[0].width, images[0].height);
        for (f, img) in files.iter().zip(&images) {
            if (img.width, img.height) != (w, h) {
                return Err(Error::file(
                    f,
                    format!(
                        "{}×{}, but {} is {w}×{h}: a bracket's exposures must have the same size",
                        img.width,
                        img.height,
                        files[0].display(),
                    ),
                ));
            }
        }
        self.fuse_with_progress(&images, options, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_in_name_order_without_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.png", "a.png", ".hidden.png"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let files = exposure_files(&[dir.path()]).unwrap();
        assert_eq!(files, [dir.path().join("a.png"), dir.path().join("b.png")]);
        assert_eq!(burst_files(&[dir.path()]).unwrap(), files);
        let given = [dir.path().join("x.dng"), dir.path().join("y.dng")];
        assert_eq!(burst_files(&given).unwrap(), given);
    }

    #[test]
    fn an_empty_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = burst_files(&[dir.path()]).unwrap_err().to_string();
        assert!(
            e.contains(&dir.path().display().to_string()) && e.contains("no files"),
            "{e}"
        );
    }

    #[test]
    fn outputs_are_checked_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.png");
        std::fs::write(&input, b"x").unwrap();
        let e = check_output(&[&input], &input).unwrap_err().to_string();
        assert!(e.contains("overwrite the input"), "{e}");
        let e = check_output(&[&input], &dir.path().join("no/out.png")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = check_output(&[&input], &dir.path().join("out.bmp")).unwrap_err();
        assert!(e.to_string().contains("unknown output format"), "{e}");
        check_output(&[&input], &dir.path().join("out.png")).unwrap();
    }
}
