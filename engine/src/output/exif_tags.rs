//! EXIF: the capture metadata as a TIFF-structured blob (for PNG/JPEG), and whole 16-bit TIFF files
//! with the same fields, both through kamadak-exif's writer.

use std::io::{Seek, Write};

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use crate::raw::Exif;

fn rational(v: f64) -> Value {
    // Exposure times are fractions of a second: keep 1/x exact where it is one.
    let r = if v > 0.0 && v < 1.0 && (1.0 / v - (1.0 / v).round()).abs() < 1e-6 {
        Rational {
            num: 1,
            denom: (1.0 / v).round() as u32,
        }
    } else {
        Rational {
            num: (v * 10000.0).round() as u32,
            denom: 10000,
        }
    };
    Value::Rational(vec![r])
}

fn ascii(s: &str) -> Value {
    Value::Ascii(vec![s.as_bytes().to_vec()])
}

/// The fields we carry: camera, exposure, date. Orientation is always 1 (pixels are rotated).
fn fields(e: &Exif) -> Vec<Field> {
    let mut f = vec![
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![1]),
        },
        Field {
            tag: Tag::Software,
            ifd_num: In::PRIMARY,
            value: ascii("burstpipe"),
        },
    ];
    if !e.make.is_empty() {
        f.push(Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: ascii(&e.make),
        });
    }
    if !e.model.is_empty() {
        f.push(Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: ascii(&e.model),
        });
    }
    let mut exif = |tag, value| {
        f.push(Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        })
    };
    if let Some(t) = e.exposure_time {
        exif(Tag::ExposureTime, rational(t));
    }
    if let Some(n) = e.f_number {
        exif(Tag::FNumber, rational(n));
    }
    if let Some(iso) = e.iso {
        exif(
            Tag::PhotographicSensitivity,
            Value::Short(vec![iso.min(65535) as u16]),
        );
    }
    if let Some(fl) = e.focal_length {
        exif(Tag::FocalLength, rational(fl));
    }
    if let Some(d) = &e.datetime {
        exif(Tag::DateTimeOriginal, ascii(d));
    }
    f
}

/// EXIF as a little-endian TIFF structure, as PNG eXIf and JPEG APP1 carry it.
pub(crate) fn blob(e: &Exif) -> Vec<u8> {
    let fields = fields(e);
    let mut w = Writer::new();
    fields.iter().for_each(|f| w.push_field(f));
    let mut out = std::io::Cursor::new(Vec::new());
    match w.write(&mut out, true) {
        Ok(()) => out.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// A baseline 16-bit RGB TIFF (one strip, uncompressed) with the EXIF fields.
pub(crate) fn write_tiff16<W: Write + Seek>(
    w: &mut W,
    width: u32,
    height: u32,
    rgb: &[u16],
    e: &Exif,
) -> Result<(), String> {
    let bytes: Vec<u8> = rgb.iter().flat_map(|v| v.to_le_bytes()).collect();
    let strips: [&[u8]; 1] = [&bytes];
    let mut fields = fields(e);
    let p = In::PRIMARY;
    fields.extend([
        Field {
            tag: Tag::ImageWidth,
            ifd_num: p,
            value: Value::Long(vec![width]),
        },
        Field {
            tag: Tag::ImageLength,
            ifd_num: p,
            value: Value::Long(vec![height]),
        },
        Field {
            tag: Tag::BitsPerSample,
            ifd_num: p,
            value: Value::Short(vec![16, 16, 16]),
        },
        Field {
            tag: Tag::Compression,
            ifd_num: p,
            value: Value::Short(vec![1]),
        },
        Field {
            tag: Tag::PhotometricInterpretation,
            ifd_num: p,
            value: Value::Short(vec![2]),
        },
        Field {
            tag: Tag::SamplesPerPixel,
            ifd_num: p,
            value: Value::Short(vec![3]),
        },
        Field {
            tag: Tag::RowsPerStrip,
            ifd_num: p,
            value: Value::Long(vec![height]),
        },
        Field {
            tag: Tag::PlanarConfiguration,
            ifd_num: p,
            value: Value::Short(vec![1]),
        },
    ]);
    let mut writer = Writer::new();
    fields.iter().for_each(|f| writer.push_field(f));
    writer.set_strips(&strips, p);
    writer.write(w, true).map_err(|e| e.to_string())
}
