//! Decoding tests on the files in assets/ and on small DNGs built in memory. No GPU needed.

use std::path::{Path, PathBuf};

use super::decode::{decode_bytes, decode_file};
use super::{Cfa, Frame, SRGB_TO_XYZ_INVERSE};
use crate::error::Error;

fn asset(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets")
        .join(rel)
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("burstpipe-raw-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The synthetic Kodak DNGs in assets/raw.

/// Facts about assets/raw/synthetic-kodim23*.dng, read independently with LibRaw 0.21 through
/// rawpy 0.28 (`rawpy.imread(f)`: `sizes`, `raw_pattern`/`color_desc`, `black_level_per_channel`,
/// `white_level`, `camera_whitebalance`, `raw_image_visible`) and tifffile (NoiseProfile,
/// Make/Model tags). Both files gave the same values.
mod kodim23 {
    pub const WIDTH: u32 = 1488;
    pub const HEIGHT: u32 = 976;
    pub const BLACK: f32 = 256.0;
    pub const WHITE: f32 = 4095.0;
    /// `raw_image_visible.sum()`
    pub const SUM: u64 = 1_483_094_131;
    /// `raw_image_visible[0, :6]` and `[1, :6]`
    pub const ROW0: [u16; 6] = [1752, 1458, 1695, 1460, 1705, 1505];
    pub const ROW1: [u16; 6] = [1607, 1181, 1493, 1104, 1599, 1082];
    /// `raw_image_visible[975, 1482:]`
    pub const LAST_ROW_TAIL: [u16; 6] = [516, 302, 569, 297, 563, 291];
    /// `raw_image_visible.min()`, `.max()`
    pub const MIN: u16 = 248;
    pub const MAX: u16 = 4095;
    /// NoiseProfile tag (tifffile)
    pub const NOISE: [f64; 2] = [0.0005, 2.7140870140367835e-07];
}

fn check_kodim23(f: &Frame) {
    use kodim23::*;
    assert_eq!((f.width, f.height), (WIDTH, HEIGHT));
    // LibRaw: raw_pattern [[0,1],[3,2]] with colour_desc "RGBG" = RGGB.
    assert_eq!(f.cfa, Cfa::Rggb);
    assert_eq!(f.black, [BLACK; 4]);
    assert_eq!(f.white, WHITE);
    assert_eq!(f.wb, [1.0; 3]);
    assert_eq!(f.orientation, 1);
    // ColorMatrix1 is the identity (tifffile), calibrated for D65 (CalibrationIlluminant1 = 21).
    assert_eq!(
        f.xyz_to_cam,
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    );
    assert_eq!(f.exif.make, "Synthetic");
    assert_eq!(f.exif.model, "Burst");
    assert_eq!(f.noise_profile, Some(NOISE));
    let w = WIDTH as usize;
    assert_eq!(f.mosaic[..6], ROW0);
    assert_eq!(f.mosaic[w..w + 6], ROW1);
    assert_eq!(f.mosaic[f.mosaic.len() - 6..], LAST_ROW_TAIL);
    assert_eq!(f.mosaic.iter().map(|&v| v as u64).sum::<u64>(), SUM);
    assert_eq!(*f.mosaic.iter().min().unwrap(), MIN);
    assert_eq!(*f.mosaic.iter().max().unwrap(), MAX);
}

#[test]
fn strip_dng_matches_libraw() {
    let f = Frame::open(asset("raw/synthetic-kodim23.dng")).unwrap();
    check_kodim23(&f);
}

#[test]
fn tiled_dng_matches_libraw() {
    let f = Frame::open(asset("raw/synthetic-kodim23-tiled.dng")).unwrap();
    check_kodim23(&f);
}

#[test]
fn strip_and_tiled_dng_decode_identically() {
    let strips = Frame::open(asset("raw/synthetic-kodim23.dng")).unwrap();
    let tiles = Frame::open(asset("raw/synthetic-kodim23-tiled.dng")).unwrap();
    assert_eq!(strips.mosaic, tiles.mosaic);
    assert_eq!(
        (strips.width, strips.height, strips.cfa),
        (tiles.width, tiles.height, tiles.cfa)
    );
    assert_eq!(
        (strips.black, strips.white, strips.wb),
        (tiles.black, tiles.white, tiles.wb)
    );
    assert_eq!(
        (strips.xyz_to_cam, strips.orientation),
        (tiles.xyz_to_cam, tiles.orientation)
    );
    assert_eq!(
        (&strips.exif, strips.noise_profile),
        (&tiles.exif, tiles.noise_profile)
    );
}

#[test]
fn noise_profile_is_read() {
    let f = Frame::open(asset("raw/synthetic-kodim23.dng")).unwrap();
    assert_eq!(f.noise_profile, Some(kodim23::NOISE));
}

// ---------------------------------------------------------------------------------------------
// Bad input: every case a clean error of the right kind, naming the file.

#[test]
fn truncated_dng_is_a_decode_error() {
    let dir = TempDir::new("truncated");
    for name in ["synthetic-kodim23.dng", "synthetic-kodim23-tiled.dng"] {
        let data = std::fs::read(asset(&format!("raw/{name}"))).unwrap();
        // Cut inside the pixel data, and inside the directory (at byte 100).
        for keep in [data.len() * 2 / 3, 100] {
            let path = dir.0.join(format!("{keep}-{name}"));
            std::fs::write(&path, &data[..keep]).unwrap();
            let err = Frame::open(&path).unwrap_err();
            assert!(
                matches!(err, Error::Decode { .. }),
                "{name} cut at {keep}: {err}"
            );
            assert!(
                err.to_string().contains("truncated"),
                "{name} cut at {keep}: {err}"
            );
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
}

#[test]
fn text_file_named_dng_is_a_decode_error() {
    let dir = TempDir::new("text");
    let path = dir.0.join("notes.dng");
    std::fs::write(&path, "These are my holiday notes, not a photo.\n").unwrap();
    let err = Frame::open(&path).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("text file"), "{err}");
}

#[test]
fn binary_junk_is_a_decode_error() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = decode_bytes(Path::new("junk.nef"), &junk).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("not a raw image format"), "{err}");
}

#[test]
fn empty_file_is_a_decode_error() {
    let dir = TempDir::new("empty");
    let path = dir.0.join("empty.dng");
    std::fs::write(&path, b"").unwrap();
    let err = Frame::open(&path).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("empty file"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = asset("raw/does-not-exist.dng");
    let err = Frame::open(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("does-not-exist.dng"), "{err}");
}

fn bad_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(asset("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "assets/bad is incomplete: {files:?}");
    files
}

#[test]
fn bad_files_give_errors() {
    for path in bad_files() {
        let err = decode_file(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode { .. } | Error::Unsupported { .. } | Error::Limits { .. }
            ),
            "{}: {err:?}",
            path.display()
        );
        let text = err.to_string();
        assert!(
            text.contains(&*path.file_name().unwrap().to_string_lossy()),
            "{text}"
        );
        // Our words, not rawloader's requests to its maintainers.
        assert!(
            !text.contains("submit samples") && !text.contains("file a bug"),
            "{text}"
        );
        assert!(
            !text.contains("raw.pixls.us") && !text.contains("github.com"),
            "{text}"
        );
    }
}

/// Set in the child process of `bad_files_print_no_panic_text`.
const CHILD_ENV: &str = "BURSTPIPE_DECODE_BAD_FILES_CHILD";

/// Does the work only in the child process started below; a no-op in normal runs.
#[test]
fn bad_files_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    for path in bad_files() {
        assert!(decode_file(&path).is_err());
    }
    println!("child decoded all bad files");
    // Positive control: a panic on another thread must still be printed by the previous hook,
    // which also proves the parent really sees this process's stderr.
    let other = std::thread::spawn(|| panic!("deliberate panic outside the decoder"));
    assert!(other.join().is_err());
}

/// The panic hook writes straight to stderr, which the test harness cannot capture reliably, so
/// run the decodes in a child process with `--nocapture` and read its real stderr.
#[test]
fn bad_files_print_no_panic_text() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "raw::tests::bad_files_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("child decoded all bad files"),
        "child did not run:\n{stdout}"
    );
    // Exactly one panic message: the deliberate one from the other thread.
    assert!(
        stderr.contains("deliberate panic outside the decoder"),
        "hook not forwarding:\n{stderr}"
    );
    assert_eq!(
        stderr.matches("panicked").count(),
        1,
        "panic text printed:\n{stderr}"
    );
    assert!(
        !stdout.contains("panicked"),
        "panic text printed:\n{stdout}"
    );
}

/// rawloader decodes some corrupt files "successfully" with absurd levels (a truncated CRW with a
/// black level far above its white level); validation must turn that into an error.
#[test]
fn rawloader_garbage_levels_are_rejected() {
    let image = rawloader::RawImage {
        make: "Canon".into(),
        model: "Canon PowerShot S40".into(),
        clean_make: "Canon".into(),
        clean_model: "PowerShot S40".into(),
        width: 8,
        height: 6,
        cpp: 1,
        wb_coeffs: [f32::NAN; 4],
        whitelevels: [4095; 4],
        blacklevels: [60_000, 128, 65_535, 0],
        xyz_to_cam: [[0.0; 3]; 4],
        cfa: rawloader::CFA::new("RGGB"),
        crops: [0, 0, 0, 0],
        blackareas: vec![],
        orientation: rawloader::Orientation::Normal,
        data: rawloader::RawImageData::Integer(vec![100; 48]),
    };
    let err = super::decode::frame_from_rawloader(Path::new("cut.crw"), b"", image)
        .and_then(|f| f.validate())
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("black levels"), "{err}");
}

#[test]
fn rawloader_conversion_crops_and_shifts() {
    let (width, height) = (10usize, 8usize);
    let image = rawloader::RawImage {
        make: "X".into(),
        model: "Y".into(),
        clean_make: "X".into(),
        clean_model: "Y".into(),
        width,
        height,
        cpp: 1,
        wb_coeffs: [2.0, 1.0, 1.5, f32::NAN],
        whitelevels: [4000, 4095, 3900, 0],
        blacklevels: [10, 20, 30, 0],
        xyz_to_cam: [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [0.0; 3]],
        cfa: rawloader::CFA::new("RGGB"),
        crops: [1, 2, 3, 1], // top, right, bottom, left
        blackareas: vec![],
        orientation: rawloader::Orientation::Rotate90,
        data: rawloader::RawImageData::Integer((0..(width * height) as u16).collect()),
    };
    let f = super::decode::frame_from_rawloader(Path::new("x.cr2"), b"", image).unwrap();
    assert_eq!((f.width, f.height), (7, 4));
    assert_eq!(f.mosaic[0], 11); // (x 1, y 1)
    assert_eq!(f.mosaic[7], 21); // (x 1, y 2)
    assert_eq!(f.cfa, Cfa::Bggr); // RGGB seen from (1, 1)
    assert_eq!(f.black, [30.0, 20.0, 20.0, 10.0]);
    assert_eq!(f.white, 3900.0);
    assert_eq!(f.wb, [2.0, 1.0, 1.5]);
    assert_eq!(
        f.xyz_to_cam,
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    );
    assert_eq!(f.orientation, 6);
}

#[test]
fn rawloader_xtrans_decodes_and_other_6x6_and_rgb_are_unsupported() {
    let mut image = rawloader::RawImage {
        make: "FUJIFILM".into(),
        model: "X-T3".into(),
        clean_make: "Fujifilm".into(),
        clean_model: "X-T3".into(),
        width: 12,
        height: 12,
        cpp: 1,
        wb_coeffs: [1.0; 4],
        whitelevels: [4095; 4],
        blacklevels: [0; 4],
        xyz_to_cam: [[0.0; 3]; 4],
        cfa: rawloader::CFA::new("GGRGGBGGBGGRBRGRBGGGBGGRGGRGGBRBGBRG"),
        crops: [0; 4],
        blackareas: vec![],
        orientation: rawloader::Orientation::Normal,
        data: rawloader::RawImageData::Integer(vec![0; 144]),
    };
    let f = super::decode::frame_from_rawloader(Path::new("x.raf"), b"", image.clone()).unwrap();
    assert_eq!(f.xtrans, Some(crate::XTrans::FUJIFILM));
    // Crop margins (top, right, bottom, left) shift the layout like any crop.
    let mut cropped = image.clone();
    cropped.crops = [1, 0, 3, 2];
    let f = super::decode::frame_from_rawloader(Path::new("x.raf"), b"", cropped).unwrap();
    assert_eq!((f.width, f.height), (10, 8));
    assert_eq!(f.xtrans, Some(crate::XTrans::FUJIFILM.shifted(2, 1)));
    // A 6×6 layout that is not X-Trans-like is refused, naming the pattern.
    let mut odd = image.clone();
    odd.cfa = rawloader::CFA::new(&"RGGB".repeat(9));
    let err = super::decode::frame_from_rawloader(Path::new("x.raf"), b"", odd).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("6×6 (RGGBRGGB"), "{err}");
    image.cfa = rawloader::CFA::new("RGGB");
    image.cpp = 3;
    image.data = rawloader::RawImageData::Integer(vec![0; 432]);
    let err = super::decode::frame_from_rawloader(Path::new("x.raf"), b"", image).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// DNGs built in memory: layouts and tags the asset files do not have.

/// A tag value for [`tiff_file`].
#[derive(Clone)]
enum V {
    Byte(Vec<u8>),
    Short(Vec<u16>),
    Long(Vec<u32>),
    Rational(Vec<(u32, u32)>),
    SRational(Vec<(i32, i32)>),
    Double(Vec<f64>),
    Ascii(&'static str),
    /// Offsets of these blobs (LONG).
    Blobs(Vec<usize>),
    /// Offsets of these IFDs (LONG).
    Ifds(Vec<usize>),
}

/// A classic TIFF: `ifds[0]` is IFD0 (the others are reached through `V::Ifds`), `blobs` are
/// pixel data. Layout: header, blobs, IFDs each followed by their out-of-line values.
fn tiff_file(little_endian: bool, ifds: &[Vec<(u16, V)>], blobs: &[Vec<u8>]) -> Vec<u8> {
    let u16b = |v: u16| {
        if little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let u32b = |v: u32| {
        if little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    // (type, count, bytes) of a value, offsets resolved from the positions given.
    let encode = |v: &V, blob_at: &[u32], ifd_at: &[u32]| -> (u16, u32, Vec<u8>) {
        match v {
            V::Byte(b) => (1, b.len() as u32, b.clone()),
            V::Short(s) => (3, s.len() as u32, s.iter().flat_map(|&x| u16b(x)).collect()),
            V::Long(l) => (4, l.len() as u32, l.iter().flat_map(|&x| u32b(x)).collect()),
            V::Rational(r) => (
                5,
                r.len() as u32,
                r.iter()
                    .flat_map(|&(n, d)| [u32b(n), u32b(d)].concat())
                    .collect(),
            ),
            V::SRational(r) => (
                10,
                r.len() as u32,
                r.iter()
                    .flat_map(|&(n, d)| [u32b(n as u32), u32b(d as u32)].concat())
                    .collect(),
            ),
            V::Double(d) => (
                12,
                d.len() as u32,
                d.iter()
                    .flat_map(|&x| {
                        if little_endian {
                            x.to_le_bytes()
                        } else {
                            x.to_be_bytes()
                        }
                    })
                    .collect(),
            ),
            V::Ascii(s) => (2, s.len() as u32 + 1, [s.as_bytes(), &[0]].concat()),
            V::Blobs(i) => (
                4,
                i.len() as u32,
                i.iter().flat_map(|&i| u32b(blob_at[i])).collect(),
            ),
            V::Ifds(i) => (
                4,
                i.len() as u32,
                i.iter().flat_map(|&i| u32b(ifd_at[i])).collect(),
            ),
        }
    };
    let mut blob_at = vec![];
    let mut pos = 8u32;
    for b in blobs {
        blob_at.push(pos);
        pos += (b.len() as u32 + 1) & !1;
    }
    let dummy = vec![0; ifds.len().max(blobs.len())];
    let mut ifd_at = vec![];
    for ifd in ifds {
        ifd_at.push(pos);
        let extra: u32 = ifd
            .iter()
            .map(|(_, v)| encode(v, &dummy, &dummy).2.len() as u32)
            .filter(|&n| n > 4)
            .map(|n| (n + 1) & !1)
            .sum();
        pos += 2 + 12 * ifd.len() as u32 + 4 + extra;
    }
    let mut out = if little_endian {
        b"II".to_vec()
    } else {
        b"MM".to_vec()
    };
    out.extend(u16b(42));
    out.extend(u32b(ifd_at[0]));
    for b in blobs {
        out.extend(b);
        if b.len() % 2 == 1 {
            out.push(0);
        }
    }
    for (n, ifd) in ifds.iter().enumerate() {
        assert_eq!(out.len() as u32, ifd_at[n]);
        let mut entries = ifd.clone();
        entries.sort_by_key(|(t, _)| *t);
        let mut values_at = ifd_at[n] + 2 + 12 * entries.len() as u32 + 4;
        let mut values = vec![];
        out.extend(u16b(entries.len() as u16));
        for (t, v) in &entries {
            let (ty, count, mut bytes) = encode(v, &blob_at, &ifd_at);
            out.extend(u16b(*t));
            out.extend(u16b(ty));
            out.extend(u32b(count));
            if bytes.len() <= 4 {
                bytes.resize(4, 0);
                out.extend(bytes);
            } else {
                out.extend(u32b(values_at));
                if bytes.len() % 2 == 1 {
                    bytes.push(0);
                }
                values_at += bytes.len() as u32;
                values.extend(bytes);
            }
        }
        out.extend(u32b(0));
        out.extend(values);
    }
    out
}

/// The tags of a 16-bit RGGB CFA raw image, pixels in one strip (blob 0).
fn raw_ifd(width: u32, height: u32, bits: u16) -> Vec<(u16, V)> {
    vec![
        (256, V::Long(vec![width])),
        (257, V::Long(vec![height])),
        (258, V::Short(vec![bits])),
        (259, V::Short(vec![1])),
        (262, V::Short(vec![32803])),
        (273, V::Blobs(vec![0])),
        (277, V::Short(vec![1])),
        (278, V::Long(vec![height])),
        (279, V::Long(vec![0])), // unused by our reader: sizes follow from the geometry
        (33421, V::Short(vec![2, 2])),
        (33422, V::Byte(vec![0, 1, 1, 2])),
        (50706, V::Byte(vec![1, 4, 0, 0])),
        (50717, V::Long(vec![(1u32 << bits) - 1])),
    ]
}

fn with(mut tags: Vec<(u16, V)>, more: Vec<(u16, V)>) -> Vec<(u16, V)> {
    for (t, v) in more {
        tags.retain(|(u, _)| *u != t);
        tags.push((t, v));
    }
    tags
}

/// Pixel values that differ everywhere and fit in `bits`.
fn ramp(width: u32, height: u32, bits: u32) -> Vec<u16> {
    (0..width * height)
        .map(|i| ((i * 37 + 11) % (1 << bits)) as u16)
        .collect()
}

fn le16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Pack rows MSB-first, each row starting on a byte boundary.
fn pack(values: &[u16], width: usize, bits: u32) -> Vec<u8> {
    let mut out = vec![];
    for row in values.chunks(width) {
        let (mut acc, mut have) = (0u64, 0u32);
        for &v in row {
            acc = (acc << bits) | v as u64;
            have += bits;
            while have >= 8 {
                have -= 8;
                out.push((acc >> have) as u8);
            }
        }
        if have > 0 {
            out.push((acc << (8 - have)) as u8);
            acc = 0;
            have = 0;
        }
        let _ = (acc, have);
    }
    out
}

fn decode(data: &[u8]) -> Result<Frame, Error> {
    decode_bytes(Path::new("memory.dng"), data)
}

#[test]
fn hostile_size_is_a_limits_error_before_allocating() {
    // Claims 100000×100000 16-bit pixels (20 GB) in a file of a few hundred bytes.
    let data = tiff_file(true, &[raw_ifd(100_000, 100_000, 16)], &[vec![0; 16]]);
    let err = decode(&data).unwrap_err();
    assert!(matches!(err, Error::Limits { .. }), "{err}");
    // Within the side limit but far beyond the pixel budget.
    let data = tiff_file(true, &[raw_ifd(65_000, 65_000, 16)], &[vec![0; 16]]);
    assert!(matches!(decode(&data).unwrap_err(), Error::Limits { .. }));
}

#[test]
fn hostile_size_in_a_non_dng_tiff_is_a_limits_error() {
    // A "NEF" whose raw SubIFD claims 100000×100000: refused before rawloader allocates for it.
    let mut raw = raw_ifd(100_000, 100_000, 16);
    raw.retain(|(t, _)| *t != 50706);
    let ifd0 = vec![
        (256, V::Long(vec![160])),
        (257, V::Long(vec![120])),
        (271, V::Ascii("NIKON CORPORATION")),
        (272, V::Ascii("NIKON D1")),
        (330, V::Ifds(vec![1])),
    ];
    let err = decode(&tiff_file(false, &[ifd0, raw], &[vec![0; 16]])).unwrap_err();
    assert!(matches!(err, Error::Limits { .. }), "{err}");
}

#[test]
fn packed_and_narrow_samples() {
    let (w, h) = (13u32, 5u32); // odd width: rows end mid-byte
    for bits in [8u32, 10, 12, 14, 16] {
        let values = ramp(w, h, bits);
        let pixels = match bits {
            16 => le16(&values),
            8 => values.iter().map(|&v| v as u8).collect(),
            _ => pack(&values, w as usize, bits),
        };
        let data = tiff_file(true, &[raw_ifd(w, h, bits as u16)], &[pixels]);
        let f = decode(&data).unwrap_or_else(|e| panic!("{bits} bits: {e}"));
        assert_eq!(f.mosaic, values, "{bits} bits");
        assert_eq!(f.white, ((1 << bits) - 1) as f32);
    }
}

#[test]
fn big_endian_multi_strip_dng() {
    let (w, h) = (6u32, 7u32);
    let values = ramp(w, h, 16);
    // Three strips of 3, 3 and 1 rows.
    let blobs: Vec<Vec<u8>> = values
        .chunks(3 * w as usize)
        .map(|c| c.iter().flat_map(|v| v.to_be_bytes()).collect())
        .collect();
    let tags = with(
        raw_ifd(w, h, 16),
        vec![(273, V::Blobs(vec![0, 1, 2])), (278, V::Long(vec![3]))],
    );
    let f = decode(&tiff_file(false, &[tags], &blobs)).unwrap();
    assert_eq!(f.mosaic, values);
}

#[test]
fn tiles_with_padding_at_the_edges() {
    let (w, h, tw, th) = (10u32, 7u32, 4u32, 4u32);
    let values = ramp(w, h, 16);
    let mut blobs = vec![];
    for ty in 0..h.div_ceil(th) {
        for tx in 0..w.div_ceil(tw) {
            let mut tile = vec![0xdeadu16; (tw * th) as usize];
            for y in 0..th {
                for x in 0..tw {
                    let (gx, gy) = (tx * tw + x, ty * th + y);
                    if gx < w && gy < h {
                        tile[(y * tw + x) as usize] = values[(gy * w + gx) as usize];
                    }
                }
            }
            blobs.push(le16(&tile));
        }
    }
    let mut tags = raw_ifd(w, h, 16);
    tags.retain(|(t, _)| ![273, 278, 279].contains(t));
    tags.extend([
        (322, V::Long(vec![tw])),
        (323, V::Long(vec![th])),
        (324, V::Blobs((0..blobs.len()).collect())),
        (325, V::Long(vec![tw * th * 2; blobs.len()])),
    ]);
    let f = decode(&tiff_file(true, &[tags], &blobs)).unwrap();
    assert_eq!(f.mosaic, values);
}

#[test]
fn active_area_crop_shifts_cfa_and_black_levels() {
    let (w, h) = (8u32, 6u32);
    let values = ramp(w, h, 12);
    let tags = with(
        raw_ifd(w, h, 16),
        vec![
            (50713, V::Short(vec![2, 2])),
            (50714, V::Rational(vec![(10, 1), (20, 1), (30, 1), (40, 1)])),
            (50829, V::Long(vec![1, 1, 5, 7])), // top, left, bottom, right
        ],
    );
    let f = decode(&tiff_file(true, &[tags], &[le16(&values)])).unwrap();
    assert_eq!((f.width, f.height), (6, 4));
    assert_eq!(f.mosaic[0], values[(w + 1) as usize]);
    assert_eq!(f.cfa, Cfa::Bggr);
    assert_eq!(f.black, [40.0, 30.0, 20.0, 10.0]);
}

#[test]
fn default_crop_inside_active_area() {
    let (w, h) = (12u32, 10u32);
    let values = ramp(w, h, 12);
    let tags = with(
        raw_ifd(w, h, 16),
        vec![
            (50829, V::Long(vec![2, 2, 10, 12])),
            (50719, V::Rational(vec![(1, 1), (0, 1)])), // x, y
            (50720, V::Rational(vec![(8, 1), (6, 1)])), // w, h
        ],
    );
    let f = decode(&tiff_file(true, &[tags], &[le16(&values)])).unwrap();
    assert_eq!((f.width, f.height), (8, 6));
    assert_eq!(f.mosaic[0], values[(2 * w + 3) as usize]);
    assert_eq!(f.cfa, Cfa::Grbg); // RGGB seen from (3, 2)
}

#[test]
fn raw_image_in_a_subifd_with_metadata_in_ifd0() {
    let (w, h) = (4u32, 4u32);
    let values = ramp(w, h, 12);
    // IFD0: an RGB thumbnail, reduced to its tags, plus the camera-wide metadata.
    let ifd0 = vec![
        (254, V::Long(vec![1])),
        (256, V::Long(vec![2])),
        (257, V::Long(vec![2])),
        (258, V::Short(vec![8, 8, 8])),
        (262, V::Short(vec![2])),
        (271, V::Ascii("Phone Maker")),
        (272, V::Ascii("Phone 1")),
        (273, V::Blobs(vec![1])),
        (274, V::Short(vec![6])),
        (277, V::Short(vec![3])),
        (279, V::Long(vec![12])),
        (330, V::Ifds(vec![1])),
        (34665, V::Ifds(vec![2])),
        (50706, V::Byte(vec![1, 4, 0, 0])),
        (
            50721,
            V::SRational(vec![
                (1, 1),
                (0, 1),
                (0, 1),
                (0, 1),
                (1, 1),
                (0, 1),
                (0, 1),
                (0, 1),
                (1, 1),
            ]),
        ),
        (
            50722,
            V::SRational(vec![
                (2, 1),
                (0, 1),
                (0, 1),
                (0, 1),
                (2, 1),
                (0, 1),
                (0, 1),
                (0, 1),
                (2, 1),
            ]),
        ),
        (50728, V::Rational(vec![(1, 2), (1, 1), (1, 4)])),
        (50778, V::Short(vec![17])), // Standard light A
        (50779, V::Short(vec![21])), // D65
        (
            51041,
            V::Double(vec![1e-4, 2e-6, 1.1e-4, 2.1e-6, 1.2e-4, 2.2e-6]),
        ),
    ];
    let exif = vec![
        (33434, V::Rational(vec![(1, 50)])),
        (33437, V::Rational(vec![(18, 10)])),
        (34855, V::Short(vec![400])),
        (36867, V::Ascii("2024:05:06 07:08:09")),
        (37386, V::Rational(vec![(54, 10)])),
    ];
    let data = tiff_file(
        true,
        &[ifd0, raw_ifd(w, h, 16), exif],
        &[le16(&values), vec![0; 12]],
    );
    let f = decode(&data).unwrap();
    assert_eq!(f.mosaic, values);
    assert_eq!(f.wb, [2.0, 1.0, 4.0]);
    assert_eq!(
        f.xyz_to_cam,
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    ); // the D65 one
    assert_eq!(f.orientation, 6);
    assert_eq!(f.noise_profile, Some([1e-4, 2e-6]));
    assert_eq!(f.exif.make, "Phone Maker");
    assert_eq!(f.exif.model, "Phone 1");
    assert_eq!(f.exif.exposure_time, Some(0.02));
    assert_eq!(f.exif.f_number, Some(1.8));
    assert_eq!(f.exif.focal_length, Some(5.4));
    assert_eq!(f.exif.iso, Some(400));
    assert_eq!(f.exif.datetime.as_deref(), Some("2024:05:06 07:08:09"));
}

#[test]
fn no_colour_matrix_means_srgb_primaries() {
    let values = ramp(4, 4, 12);
    let f = decode(&tiff_file(true, &[raw_ifd(4, 4, 16)], &[le16(&values)])).unwrap();
    assert_eq!(f.xyz_to_cam, SRGB_TO_XYZ_INVERSE);
}

#[test]
fn non_bayer_cfa_patterns_are_unsupported() {
    let values = ramp(12, 12, 12);
    let cases: [(&[u16], Vec<u8>, &str); 3] = [
        (
            // 4×4 but not made of one-colour 2×2 blocks (a Quad Bayer is, and decodes).
            &[4, 4],
            [[0, 1, 0, 1], [1, 2, 1, 2], [0, 1, 0, 1], [1, 2, 1, 1]].concat(),
            "4×4 (Quad Bayer)",
        ),
        (&[6, 6], vec![1; 36], "6×6 GGGGGG"),
        (&[2, 2], vec![0, 1, 1, 1], "RGGG"),
    ];
    for (dim, pattern, name) in cases {
        let tags = with(
            raw_ifd(12, 12, 16),
            vec![(33421, V::Short(dim.to_vec())), (33422, V::Byte(pattern))],
        );
        let err = decode(&tiff_file(true, &[tags], &[le16(&values)])).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn linear_raw_dng_decodes_as_rgb() {
    // More in `dng::linear_raw::tests`.
    let tags = with(
        raw_ifd(4, 4, 16),
        vec![(262, V::Short(vec![34892])), (277, V::Short(vec![3]))],
    );
    let f = decode(&tiff_file(true, &[tags], &[vec![0; 96]])).unwrap();
    assert_eq!((f.width, f.height, f.samples()), (4, 4, 3));
    assert_eq!(f.mosaic.len(), 4 * 4 * 3);
}

#[test]
fn pixel_offsets_past_the_end_are_truncation() {
    let tags = with(raw_ifd(8, 8, 16), vec![(273, V::Long(vec![u32::MAX - 8]))]);
    let err = decode(&tiff_file(true, &[tags], &[])).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn black_at_or_above_white_is_rejected() {
    let values = ramp(4, 4, 12);
    let tags = with(raw_ifd(4, 4, 16), vec![(50714, V::Long(vec![70_000]))]);
    let err = decode(&tiff_file(true, &[tags], &[le16(&values)])).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
}

#[test]
fn directory_cycles_terminate() {
    // IFD0 lists itself as its SubIFD.
    let values = ramp(4, 4, 12);
    let tags = with(raw_ifd(4, 4, 16), vec![(330, V::Ifds(vec![0]))]);
    let f = decode(&tiff_file(true, &[tags], &[le16(&values)])).unwrap();
    assert_eq!(f.mosaic, values);
}

/// A Bayer pattern of `b`×`b` one-colour blocks, as a DNG CFAPattern of side 2b.
fn block_pattern(cfa: Cfa, b: usize) -> Vec<u8> {
    (0..4 * b * b)
        .map(|i| cfa.color_at(i % (2 * b) / b, i / (2 * b) / b) as u8)
        .collect()
}

#[test]
fn quad_bayer_and_nonacell_dngs_decode_as_blocks_and_a_split_crop_is_refused() {
    for (b, cfa) in [(2usize, Cfa::Rggb), (3, Cfa::Gbrg)] {
        let side = 12u32;
        let tags = with(
            raw_ifd(side, side, 16),
            vec![
                (33421, V::Short(vec![2 * b as u16; 2])),
                (33422, V::Byte(block_pattern(cfa, b))),
            ],
        );
        let frame = decode(&tiff_file(
            true,
            std::slice::from_ref(&tags),
            &[le16(&ramp(side, side, 12))],
        ))
        .unwrap();
        assert_eq!((frame.cfa_block, frame.cfa), (b as u32, cfa));
        // A crop by whole blocks shifts the block pattern; one that splits blocks is refused.
        let crop = |x: u32| {
            let t = with(tags.clone(), vec![(50829, V::Long(vec![0, x, side, side]))]);
            decode(&tiff_file(true, &[t], &[le16(&ramp(side, side, 12))]))
        };
        assert_eq!(crop(b as u32).unwrap().cfa, cfa.shifted(1, 0));
        let err = crop(1).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("colour blocks"), "{err}");
    }
}

#[test]
fn x_trans_dngs_decode_in_any_phase_and_crop() {
    let side = 12u32;
    let layout = crate::XTrans::FUJIFILM.shifted(1, 4);
    let tags = with(
        raw_ifd(side, side, 16),
        vec![
            (33421, V::Short(vec![6, 6])),
            (33422, V::Byte(layout.colors().to_vec())),
            (50829, V::Long(vec![2, 1, side, side])),
        ],
    );
    let f = decode(&tiff_file(true, &[tags], &[le16(&ramp(side, side, 12))])).unwrap();
    assert_eq!((f.width, f.height), (11, 10));
    assert_eq!(f.xtrans, Some(layout.shifted(1, 2)));
}

#[test]
fn a_quad_bayer_raw_develops_like_a_native_half_resolution_bayer_sensor() {
    use crate::schedule::develop::{render, Look};
    use crate::stages::Demosaic;
    // A real photo seen by a Quad Bayer sensor (12-bit, black 256) and by a Bayer sensor with
    // pixels twice as large: binning the quad blocks must give the Bayer sensor's picture.
    let (w, h, px) = crate::stages::testing::kodak("kodim23");
    let level = |v: f32| (256.0 + v * 3839.0).round() as u16;
    let quad: Vec<u16> = (0..(w * h) as usize)
        .map(|i| level(px[i][Cfa::Rggb.color_at(i % w as usize / 2, i / w as usize / 2)]))
        .collect();
    let tags = with(
        raw_ifd(w, h, 16),
        vec![
            (33421, V::Short(vec![4, 4])),
            (33422, V::Byte(block_pattern(Cfa::Rggb, 2))),
            (50714, V::Short(vec![256])),
            (50717, V::Long(vec![4095])),
        ],
    );
    let frame = decode(&tiff_file(true, &[tags], &[le16(&quad)])).unwrap();
    let (hw, hh) = (w / 2, h / 2);
    let native: Vec<u16> = (0..(hw * hh) as usize)
        .map(|i| {
            let (x, y) = (i % hw as usize, i / hw as usize);
            let c = Cfa::Rggb.color_at(x, y);
            let sum: f32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                .iter()
                .map(|&(dx, dy)| px[(2 * y + dy) * w as usize + 2 * x + dx][c])
                .sum();
            level(sum / 4.0)
        })
        .collect();
    let native = Frame::from_mosaic(hw, hh, native, Cfa::Rggb, 256.0, 4095.0).unwrap();
    // The test DNG records no white (a default develop would estimate one): both sensors neutral.
    let look = Look::Photo {
        exposure_ev: Some(0.0),
        tone: crate::Tone::Curve,
        white_balance: crate::WhiteBalance::Multipliers([1.0; 3]),
    };
    let gpu = crate::gpu::testing::gpu();
    let a = render(gpu, &frame, Demosaic::Mhc, look, 16, None).unwrap();
    let b = render(gpu, &native, Demosaic::Mhc, look, 16, None).unwrap();
    assert_eq!((a.width, a.height), (hw, hh));
    let mse = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| ((x as f64 - y as f64) / 65535.0).powi(2))
        .sum::<f64>()
        / a.data.len() as f64;
    let psnr = 10.0 * (1.0 / mse).log10();
    // They differ only by 12-bit rounding of the block means (about 60 dB).
    assert!(
        psnr > 50.0,
        "quad-binned develop vs native half-resolution sensor: {psnr:.2} dB"
    );
}

/// A DNG's colour tags reach the frame and the develop: BaselineExposure brightens by its EV
/// (exposure 0 is relative to it), AsShotWhiteXY gives the as-shot multipliers through the
/// colour matrix, and no as-shot tag at all means none (the develop estimates it).
#[test]
fn dng_baseline_exposure_and_as_shot_white_xy() {
    use crate::schedule::develop::{render, Look};
    use crate::stages::Demosaic;
    let (w, h) = (64u32, 48u32);
    let grey = le16(&vec![3000u16; (w * h) as usize]);
    let neutral = (50728, V::Rational(vec![(1, 1), (1, 1), (1, 1)]));
    let plain = decode(&tiff_file(
        true,
        &[with(raw_ifd(w, h, 16), vec![neutral.clone()])],
        std::slice::from_ref(&grey),
    ))
    .unwrap();
    let brighter = with(
        raw_ifd(w, h, 16),
        vec![neutral, (50730, V::SRational(vec![(1, 1)]))],
    );
    let brighter = decode(&tiff_file(true, &[brighter], std::slice::from_ref(&grey))).unwrap();
    assert_eq!(
        (plain.baseline_exposure(), brighter.baseline_exposure()),
        (0.0, 1.0)
    );
    let look = Look::Photo {
        exposure_ev: Some(0.0),
        tone: crate::Tone::Curve,
        white_balance: crate::WhiteBalance::AsShot,
    };
    let gpu = crate::gpu::testing::gpu();
    let mean = |f: &Frame| {
        let out = render(gpu, f, Demosaic::Bilinear, look, 16, None).unwrap();
        let lin = |v: u16| {
            let c = v as f64 / 65535.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        out.data.iter().map(|&v| lin(v)).sum::<f64>() / out.data.len() as f64
    };
    let ratio = mean(&brighter) / mean(&plain);
    assert!(
        (ratio - 2.0).abs() < 0.05,
        "BaselineExposure 1 brightened {ratio}×"
    );

    // AsShotWhiteXY of D50 with an identity ColorMatrix (camera RGB = XYZ): neutral = XYZ(D50).
    let xy = (50729, V::Rational(vec![(34567, 100000), (35850, 100000)]));
    let one = |r: usize, c: usize| ((r == c) as i32, 1);
    let identity = (
        50721,
        V::SRational((0..9).map(|i| one(i / 3, i % 3)).collect()),
    );
    let f = decode(&tiff_file(
        true,
        &[with(raw_ifd(w, h, 16), vec![xy, identity])],
        std::slice::from_ref(&grey),
    ))
    .unwrap();
    assert!(f.has_as_shot_white_balance());
    let want = [0.34567 / 0.35850, 1.0, (1.0 - 0.34567 - 0.35850) / 0.35850].map(|v: f64| 1.0 / v);
    for c in 0..3 {
        assert!(
            (f.white_balance()[c] as f64 - want[c]).abs() < 1e-4,
            "{:?} vs {want:?}",
            f.white_balance()
        );
    }
    let none = decode(&tiff_file(true, &[raw_ifd(w, h, 16)], &[grey])).unwrap();
    assert!(!none.has_as_shot_white_balance());
}
