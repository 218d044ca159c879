//! Encoders: PNG (8/16-bit), JPEG, TIFF (16-bit), with EXIF carried over. Files are written to a
//! temporary file beside the target and renamed into place, so a failure never leaves half a file
//! and never touches an existing file until the new one is complete.

pub(crate) mod dng;
pub use dng::DngCompression;
mod exif_tags;
pub(crate) mod stream;
pub(crate) mod temporaries;

use std::io::{BufWriter, Write};
use std::path::Path;

use image::ImageEncoder;

use crate::error::{Error, Result};
use crate::Image;

/// Output file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG, 8 or 16 bits per channel.
    Png,
    /// JPEG, 8 bits per channel.
    Jpeg,
    /// TIFF, 16 bits per channel.
    Tiff,
}

impl Format {
    /// The format a file name asks for, by its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "tif" | "tiff" => Some(Format::Tiff),
            _ => None,
        }
    }
}

const JPEG_QUALITY: u8 = 92;

/// Write `img` to `path`, format by extension.
pub(crate) fn save(img: &Image, path: &Path) -> Result<()> {
    let format = Format::from_path(path).ok_or_else(|| Error::Encode {
        path: path.into(),
        reason: "unknown output format: use .png, .jpg/.jpeg or .tif/.tiff".into(),
    })?;
    write_atomically(path, |w| encode(img, format, w))
}

/// Write a raw frame as DNG (temporary file, then renamed, like every output).
pub(crate) fn save_dng(
    frame: &crate::raw::Frame,
    path: &Path,
    compression: DngCompression,
) -> Result<()> {
    write_atomically(path, |w| dng::encode(frame, compression, w))
}

/// Write `path` through a temporary file in its folder, renamed into place only once `write`
/// (an encoder, failing with a reason) and the flush succeeded.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&std::fs::File>) -> std::result::Result<(), String>,
) -> Result<()> {
    write_atomically_with(path, |w| {
        write(w).map_err(|reason| Error::Encode {
            path: path.into(),
            reason,
        })
    })
}

/// [`write_atomically`] with `write` failing with any error (a render that fails midway).
fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&std::fs::File>) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the folder {} does not exist", dir.display()),
            ),
        ));
    }
    let mut builder = tempfile::Builder::new();
    // Named for this process, so that a later run can tell a killed writer's leftovers.
    let prefix = temporaries::prefix();
    builder.prefix(&prefix).suffix(temporaries::SUFFIX);
    // A temporary file is private (0600) and would stay so after the rename: ask for the mode a
    // plain `File::create` gives (0666, less the umask), so the photo is readable like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(|e| Error::io(path, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        write(&mut w)?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

fn to_u8(data: &[u16], bits: u8) -> Vec<u8> {
    if bits == 8 {
        data.iter().map(|&v| v as u8).collect()
    } else {
        data.iter()
            .map(|&v| ((v as u32 * 255 + 32767) / 65535) as u8)
            .collect()
    }
}

fn to_u16(data: &[u16], bits: u8) -> Vec<u16> {
    if bits == 8 {
        data.iter().map(|&v| v * 257).collect()
    } else {
        data.to_vec()
    }
}

fn encode<W: Write + std::io::Seek>(
    img: &Image,
    format: Format,
    w: &mut W,
) -> std::result::Result<(), String> {
    let (width, height) = (img.width, img.height);
    let exif_blob = exif_tags::blob(&img.exif);
    match format {
        Format::Png => {
            let mut enc = image::codecs::png::PngEncoder::new(w);
            let _ = enc.set_exif_metadata(exif_blob);
            if img.bits == 8 {
                enc.write_image(
                    &to_u8(&img.data, 8),
                    width,
                    height,
                    image::ExtendedColorType::Rgb8,
                )
            } else {
                let be: Vec<u8> = img.data.iter().flat_map(|v| v.to_ne_bytes()).collect();
                enc.write_image(&be, width, height, image::ExtendedColorType::Rgb16)
            }
        }
        Format::Jpeg => {
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(w, JPEG_QUALITY);
            let _ = enc.set_exif_metadata(exif_blob);
            enc.write_image(
                &to_u8(&img.data, img.bits),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
        }
        Format::Tiff => {
            return exif_tags::write_tiff16(
                w,
                width,
                height,
                &to_u16(&img.data, img.bits),
                &img.exif,
            )
        }
    }
    .map_err(|e| e.to_string())
}

/// Apply an EXIF orientation (1..=8) to RGB pixels: the stored image turned upright.
pub(crate) fn orient(
    width: u32,
    height: u32,
    data: Vec<u16>,
    orientation: u16,
) -> (u32, u32, Vec<u16>) {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    if !(2..=8).contains(&orientation) {
        return (width, height, data);
    }
    let img = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_raw(width, height, data)
        .expect("render returns width*height*3 values");
    let out = match orientation {
        2 => flip_horizontal(&img),
        3 => rotate180(&img),
        4 => flip_vertical(&img),
        5 => rotate90(&flip_horizontal(&img)),
        6 => rotate90(&img),
        7 => rotate270(&flip_horizontal(&img)),
        _ => rotate270(&img),
    };
    (out.width(), out.height(), out.into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exif;

    fn sample(bits: u8) -> Image {
        let (w, h) = (7u32, 5u32);
        let max = if bits == 8 { 255 } else { 65535 };
        let data = (0..w * h * 3)
            .map(|i| (i * 997 % (max + 1)) as u16)
            .collect();
        let exif = Exif {
            make: "Acme".into(),
            model: "Burst 1".into(),
            exposure_time: Some(1.0 / 125.0),
            iso: Some(400),
            f_number: Some(2.8),
            focal_length: Some(35.0),
            datetime: Some("2026:11:24 12:00:00".into()),
        };
        Image {
            width: w,
            height: h,
            bits,
            data,
            exif,
        }
    }

    fn read_exif(path: &Path) -> ::exif::Exif {
        let mut r = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        ::exif::Reader::new()
            .read_from_container(&mut r)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn png_tiff_jpeg_round_trip_pixels_and_exif() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bits) in [("a.png", 16u8), ("b.png", 8), ("c.tif", 16), ("d.jpg", 16)] {
            let img = sample(bits);
            let path = dir.path().join(name);
            img.save(&path).unwrap();
            let back = image::open(&path).unwrap();
            assert_eq!((back.width(), back.height()), (7, 5));
            match name {
                "a.png" | "c.tif" => assert_eq!(back.to_rgb16().into_raw(), img.data, "{name}"),
                "b.png" => assert_eq!(back.to_rgb8().into_raw(), to_u8(&img.data, 8), "{name}"),
                _ => {} // lossy
            }
            {
                let e = read_exif(&path);
                let f = e
                    .get_field(::exif::Tag::Model, ::exif::In::PRIMARY)
                    .unwrap_or_else(|| panic!("{name}: no Model"));
                assert_eq!(f.display_value().to_string(), "\"Burst 1\"", "{name}");
                let t = e
                    .get_field(::exif::Tag::ExposureTime, ::exif::In::PRIMARY)
                    .unwrap();
                assert_eq!(t.display_value().to_string(), "1/125", "{name}");
            }
        }
        // Nothing but the four files: no temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn missing_folder_and_unknown_extension_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = sample(8).save(dir.path().join("nope/x.png")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = sample(8).save(dir.path().join("x.bmp")).unwrap_err();
        assert!(matches!(err, Error::Encode { .. }), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn orientation_turns_pixels_upright() {
        // 3×2 image, pixel value = its index; orientation 6 means "rotate 90° clockwise to view".
        let data: Vec<u16> = (0..6).flat_map(|i| [i, i, i]).collect();
        let (w, h, out) = orient(3, 2, data.clone(), 6);
        assert_eq!((w, h), (2, 3));
        let firsts: Vec<u16> = out.chunks(3).map(|p| p[0]).collect();
        // Stored rows [0 1 2; 3 4 5] rotated clockwise: [3 0; 4 1; 5 2].
        assert_eq!(firsts, vec![3, 0, 4, 1, 5, 2]);
        assert_eq!(orient(3, 2, data.clone(), 1), (3, 2, data.clone()));
        let (_, _, out) = orient(3, 2, data, 3);
        assert_eq!(
            out.chunks(3).map(|p| p[0]).collect::<Vec<_>>(),
            vec![5, 4, 3, 2, 1, 0]
        );
    }
}
