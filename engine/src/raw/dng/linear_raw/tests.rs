//! LinearRaw reading and developing: DNGs written here (strips and tiles, 8/16-bit, levels,
//! LinearizationTable, crops, broken files), and the shared LG G4 file against LibRaw.

use std::path::Path;
use std::process::Command;

use crate::error::Error;
use crate::gpu::testing::gpu;
use crate::raw::decode::decode_bytes;
use crate::raw::{Frame, SRGB_TO_XYZ_INVERSE};
use crate::schedule::develop::{render, Look};
use crate::stages::{tone, Demosaic};

/// The shared LG G4 file (../shared/data/real/raw, next to the repository).
const LG_G4: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/real/raw/lg_g4_linear_raw_lossy_jpeg.dng"
);

// ---------------------------------------------------------------------------------------------
// A minimal little-endian DNG writer for the tests: IFD0 holds the LinearRaw image itself.

enum V {
    Byte(Vec<u8>),
    Short(Vec<u16>),
    Long(Vec<u32>),
    Rational(Vec<(u32, u32)>),
    SRational(Vec<(i32, i32)>),
}

impl V {
    fn encode(&self) -> (u16, u32, Vec<u8>) {
        match self {
            V::Byte(v) => (1, v.len() as u32, v.clone()),
            V::Short(v) => (
                3,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            V::Long(v) => (
                4,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            V::Rational(v) => (
                5,
                v.len() as u32,
                v.iter()
                    .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
                    .collect(),
            ),
            V::SRational(v) => (
                10,
                v.len() as u32,
                v.iter()
                    .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
                    .collect(),
            ),
        }
    }
}

/// A DNG of one LinearRaw image stored in `chunks` (tiles if `tile` is given, else strips of
/// `rows_per_strip`), with `tags` added (they override the defaults written here).
fn write_dng(
    (w, h): (u32, u32),
    bits: u16,
    compression: u16,
    chunks: &[Vec<u8>],
    layout: Layout,
    tags: Vec<(u16, V)>,
) -> Vec<u8> {
    let mut file = b"II*\0\0\0\0\0".to_vec();
    let mut offsets = Vec::new();
    for c in chunks {
        offsets.push(file.len() as u32);
        file.extend_from_slice(c);
        if file.len() % 2 == 1 {
            file.push(0);
        }
    }
    let counts = chunks.iter().map(|c| c.len() as u32).collect::<Vec<_>>();
    let mut all: Vec<(u16, V)> = vec![
        (254, V::Long(vec![0])),
        (256, V::Long(vec![w])),
        (257, V::Long(vec![h])),
        (258, V::Short(vec![bits; 3])),
        (259, V::Short(vec![compression])),
        (262, V::Short(vec![34892])),
        (277, V::Short(vec![3])),
        (50706, V::Byte(vec![1, 4, 0, 0])),
        (50778, V::Short(vec![21])),
        // Camera RGB = linear sRGB: the developed colours are the stored ones.
        (
            50721,
            V::SRational(
                SRGB_TO_XYZ_INVERSE
                    .as_flattened()
                    .iter()
                    .map(|&v| ((v * 1e6).round() as i32, 1_000_000))
                    .collect(),
            ),
        ),
    ];
    match layout {
        Layout::Strips(rows) => {
            all.push((273, V::Long(offsets)));
            all.push((278, V::Long(vec![rows])));
            all.push((279, V::Long(counts)));
        }
        Layout::Tiles(tw, th) => {
            all.push((322, V::Long(vec![tw])));
            all.push((323, V::Long(vec![th])));
            all.push((324, V::Long(offsets)));
            all.push((325, V::Long(counts)));
        }
    }
    for (t, v) in tags {
        all.retain(|(k, _)| *k != t);
        all.push((t, v));
    }
    all.sort_by_key(|(t, _)| *t);
    let ifd_at = file.len() as u32;
    file[4..8].copy_from_slice(&ifd_at.to_le_bytes());
    let mut extra_at = ifd_at + 2 + 12 * all.len() as u32 + 4;
    let (mut ifd, mut extra) = (Vec::new(), Vec::new());
    ifd.extend_from_slice(&(all.len() as u16).to_le_bytes());
    for (t, v) in &all {
        let (ty, count, mut bytes) = v.encode();
        ifd.extend_from_slice(&t.to_le_bytes());
        ifd.extend_from_slice(&ty.to_le_bytes());
        ifd.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            ifd.extend_from_slice(&bytes);
        } else {
            ifd.extend_from_slice(&extra_at.to_le_bytes());
            extra_at += bytes.len().next_multiple_of(2) as u32;
            if bytes.len() % 2 == 1 {
                bytes.push(0);
            }
            extra.extend_from_slice(&bytes);
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&ifd);
    file.extend_from_slice(&extra);
    file
}

#[derive(Clone, Copy)]
enum Layout {
    Strips(u32),
    Tiles(u32, u32),
}

/// Interleaved RGB u16 values of a `w`×`h` image cut into little-endian chunks.
fn chunks16(rgb: &[u16], (w, h): (u32, u32), layout: Layout) -> Vec<Vec<u8>> {
    let (w, h) = (w as usize, h as usize);
    let px = |x: usize, y: usize, c: usize| -> u16 {
        // Tiles are padded past the image's edge (with a value that would show if read).
        if x < w && y < h {
            rgb[(y * w + x) * 3 + c]
        } else {
            0xdead
        }
    };
    let mut out = Vec::new();
    match layout {
        Layout::Strips(rows) => {
            for y0 in (0..h).step_by(rows as usize) {
                let mut c = Vec::new();
                for y in y0..(y0 + rows as usize).min(h) {
                    (0..w * 3)
                        .for_each(|i| c.extend_from_slice(&px(i / 3, y, i % 3).to_le_bytes()));
                }
                out.push(c);
            }
        }
        Layout::Tiles(tw, th) => {
            let (tw, th) = (tw as usize, th as usize);
            for ty in 0..h.div_ceil(th) {
                for tx in 0..w.div_ceil(tw) {
                    let mut c = Vec::new();
                    for y in ty * th..(ty + 1) * th {
                        for x in tx * tw..(tx + 1) * tw {
                            (0..3).for_each(|k| c.extend_from_slice(&px(x, y, k).to_le_bytes()));
                        }
                    }
                    out.push(c);
                }
            }
        }
    }
    out
}

/// A test pattern: value `(x * 7 + y * 13 + c * 101) % 4096` + 100.
fn pattern(w: u32, h: u32) -> Vec<u16> {
    (0..w * h * 3)
        .map(|i| {
            let (p, c) = (i / 3, i % 3);
            ((p % w * 7 + p / w * 13 + c * 101) % 4096 + 100) as u16
        })
        .collect()
}

fn decode(name: &str, file: &[u8]) -> crate::Result<Frame> {
    decode_bytes(Path::new(name), file)
}

#[test]
fn uncompressed_strips_and_tiles_read_the_same_pixels_levels_and_white_balance() {
    let size = (37, 23);
    let rgb = pattern(size.0, size.1);
    for layout in [Layout::Strips(5), Layout::Tiles(16, 16)] {
        let tags = vec![
            (50714, V::Rational(vec![(100, 1), (120, 1), (90, 1)])),
            (50717, V::Long(vec![4095, 4000, 4100])),
            (50728, V::Rational(vec![(1, 2), (1, 1), (3, 4)])),
        ];
        let dng = write_dng(size, 16, 1, &chunks16(&rgb, size, layout), layout, tags);
        let f = decode("linear.dng", &dng).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.width, f.height, f.samples()), (37, 23, 3));
        assert_eq!(f.mosaic, rgb, "pixels differ from what was written");
        let l = f.linear_rgb.unwrap();
        assert_eq!(l.black, [100.0, 120.0, 90.0]);
        assert_eq!(l.white, [4095.0, 4000.0, 4100.0]);
        assert_eq!(f.wb, [2.0, 1.0, 4.0 / 3.0]);
    }
}

#[test]
fn jpeg_xl_tiles_decode_to_the_samples_they_hold() {
    // Four lossless 16×16 tiles of a 24×20 pattern image (assets/linear_raw/make_jxl_tiles.py,
    // libjxl): the edge tiles' padding must not show.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/linear_raw");
    let tiles: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let f = dir.join(format!("tile{i}.jxl"));
            std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        })
        .collect();
    let dng = write_dng((24, 20), 16, 52546, &tiles, Layout::Tiles(16, 16), vec![]);
    let f = decode("jxl.dng", &dng).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((f.width, f.height, f.samples()), (24, 20, 3));
    assert_eq!(f.mosaic, pattern(24, 20));
}

#[test]
fn eight_bit_samples_linearization_table_and_crops_apply() {
    let (w, h) = (20u32, 12u32);
    let rgb8: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    let table: Vec<u16> = (0..256u32).map(|v| (v * v) as u16).collect();
    let dng = write_dng(
        (w, h),
        8,
        1,
        std::slice::from_ref(&rgb8),
        Layout::Strips(h),
        vec![
            (50712, V::Short(table.clone())),
            (50717, V::Long(vec![65025])),
            // ActiveArea top 1, left 2, bottom 11, right 18; DefaultCrop (1, 2) 12×6 inside it.
            (50829, V::Long(vec![1, 2, 11, 18])),
            (50719, V::Rational(vec![(1, 1), (2, 1)])),
            (50720, V::Rational(vec![(12, 1), (6, 1)])),
        ],
    );
    let f = decode("crop.dng", &dng).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((f.width, f.height), (12, 6));
    for y in 0..6 {
        for x in 0..12 {
            for c in 0..3 {
                let stored = rgb8[(((y + 3) * w + x + 3) * 3 + c) as usize];
                assert_eq!(
                    f.mosaic[((y * 12 + x) * 3 + c) as usize],
                    table[stored as usize],
                    "({x}, {y}) sample {c}"
                );
            }
        }
    }
    assert_eq!(f.linear_rgb.unwrap().white, [65025.0; 3]);
}

/// Lossless-JPEG tiles (iPhone ProRAW's layout: 3 components, the tile's full width), every
/// predictor, edge tiles padded: the pixels written come back exactly; a damaged tile is a
/// decode error naming the file.
#[test]
fn lossless_jpeg_tiles_decode_to_the_samples_they_hold() {
    use crate::raw::ljpeg::{encode, EncodeOptions};
    let size = (37, 23);
    let rgb = pattern(size.0, size.1);
    let layout = Layout::Tiles(16, 16);
    for predictor in 1..=7 {
        let options = EncodeOptions {
            predictor,
            precision: 16,
            point_transform: 0,
            restart_lines: 0,
        };
        let tiles: Vec<Vec<u8>> = chunks16(&rgb, size, layout)
            .iter()
            .map(|t| {
                let samples: Vec<u16> = t
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                encode(&samples, 16, 16, 3, options)
            })
            .collect();
        let dng = write_dng(size, 16, 7, &tiles, layout, vec![]);
        let f = decode("prores.dng", &dng).unwrap_or_else(|e| panic!("predictor {predictor}: {e}"));
        assert_eq!((f.width, f.height, f.samples()), (37, 23, 3));
        assert!(f.mosaic == rgb, "predictor {predictor}: pixels differ");
        if predictor == 1 {
            let mut broken = tiles.clone();
            let n = broken[1].len();
            broken[1].truncate(n / 2);
            let dng = write_dng(size, 16, 7, &broken, layout, vec![]);
            let err = decode("broken.dng", &dng).unwrap_err();
            assert!(
                matches!(&err, Error::Decode { .. }) && err.to_string().contains("broken.dng"),
                "{err}"
            );
        }
    }
}

#[test]
fn broken_and_unsupported_linear_raw_files_are_clear_errors() {
    let size = (16, 8);
    let rgb = pattern(16, 8);
    let good = || chunks16(&rgb, size, Layout::Strips(8));
    // Truncated pixel data.
    let mut dng = write_dng(size, 16, 1, &good(), Layout::Strips(8), vec![]);
    let mut short = good();
    short[0].truncate(100);
    let cut = write_dng(size, 16, 1, &short, Layout::Strips(8), vec![]);
    assert!(
        matches!(decode("cut.dng", &cut), Err(Error::Decode { reason, .. }) if reason.contains("truncated")),
        "{:?}",
        decode("cut.dng", &cut).err()
    );
    // Black at or above white.
    let bad_levels = write_dng(
        size,
        16,
        1,
        &good(),
        Layout::Strips(8),
        vec![
            (50714, V::Long(vec![5000, 5000, 5000])),
            (50717, V::Long(vec![4095])),
        ],
    );
    assert!(matches!(
        decode("levels.dng", &bad_levels),
        Err(Error::Decode { .. })
    ));
    // Absurd size: refused before anything is allocated.
    let huge = write_dng((70_000, 70_000), 16, 1, &good(), Layout::Strips(8), vec![]);
    assert!(matches!(
        decode("huge.dng", &huge),
        Err(Error::Limits { .. })
    ));
    // Corrupt JPEG XL tiles, 4 samples, corrupt lossy JPEG: named.
    let jxl = write_dng(size, 16, 52546, &good(), Layout::Tiles(16, 16), vec![]);
    assert!(
        matches!(decode("jxl.dng", &jxl), Err(Error::Decode { reason, .. }) if reason.contains("JPEG XL tile 0")),
        "{:?}",
        decode("jxl.dng", &jxl).err()
    );
    let four = write_dng(
        size,
        16,
        1,
        &good(),
        Layout::Strips(8),
        vec![(277, V::Short(vec![4]))],
    );
    assert!(
        matches!(decode("four.dng", &four), Err(Error::Unsupported { what, .. }) if what.contains("4 samples"))
    );
    let jpeg = write_dng(
        size,
        8,
        34892,
        &[vec![0xff, 0xd8, 1, 2, 3]],
        Layout::Tiles(16, 16),
        vec![],
    );
    assert!(
        matches!(decode("jpeg.dng", &jpeg), Err(Error::Decode { reason, .. }) if reason.contains("JPEG tile 0")),
        "{:?}",
        decode("jpeg.dng", &jpeg).err()
    );
    // Every byte position cut: an error or a frame, never a panic.
    dng.truncate(dng.len() - 3);
    for len in (0..dng.len()).step_by(7) {
        let _ = decode("cut.dng", &dng[..len]);
    }
}

/// The colour and tone stages on a LinearRaw frame: camera RGB = linear sRGB (no ColorMatrix),
/// white from AsShotNeutral. Greys develop to sRGB(stored value × white balance); a colour is
/// carried from the scene's white to D65 as the DNG colour model does (Bradford), computed here
/// by hand.
#[test]
fn a_written_linear_raw_dng_develops_to_the_colours_computed_by_hand() {
    let (w, h) = (64u32, 16u32);
    // Wide ranges: the 16-bit quantization stays below 7 / 65535 even in the darkest sRGB values.
    let black = [100.0f32, 200.0, 300.0];
    let white = [40000.0f32, 50000.0, 60000.0];
    let neutral = [0.5f32, 1.0, 0.8]; // camera response to grey: white balance 2, 1, 1.25
                                      // Left half: a grey ramp (as the camera records grey); right half: one colour patch.
    let patch = [0.20f32, 0.45, 0.08];
    let linear = |x: u32, y: u32| -> [f32; 3] {
        if x < w / 2 {
            let t = 0.02 + 0.9 * (x + y * w / 2) as f32 / (w / 2 * h) as f32;
            neutral.map(|n| n * t)
        } else {
            [0, 1, 2].map(|c| patch[c] * neutral[c])
        }
    };
    let rgb: Vec<u16> = (0..w * h)
        .flat_map(|i| {
            let v = linear(i % w, i / w);
            [0, 1, 2].map(|c| (black[c] + v[c] * (white[c] - black[c])).round() as u16)
        })
        .collect();
    let layout = Layout::Tiles(32, 16);
    let dng = write_dng(
        (w, h),
        16,
        1,
        &chunks16(&rgb, (w, h), layout),
        layout,
        vec![
            (50714, V::Long(black.map(|b| b as u32).to_vec())),
            (50717, V::Long(white.map(|b| b as u32).to_vec())),
            (
                50728,
                V::Rational(neutral.map(|n| ((n * 1000.0) as u32, 1000)).to_vec()),
            ),
        ],
    );
    let frame = decode("written.dng", &dng).unwrap_or_else(|e| panic!("{e}"));
    let look = Look::Photo {
        exposure_ev: Some(0.0),
        tone: crate::Tone::Curve,
        white_balance: crate::WhiteBalance::AsShot,
    };
    let out = render(gpu(), &frame, Demosaic::Rcd, look, 16, None).unwrap();
    assert_eq!((out.width, out.height), (w, h));
    let srgb = |v: f32| tone::srgb_oetf(v) * 65535.0;
    // The patch as the camera recorded it, in XYZ, adapted from the white (the neutral, in XYZ)
    // to D65 in Bradford's cone space, back to linear sRGB.
    const BRADFORD: [[f64; 3]; 3] = [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ];
    let to_xyz = crate::stages::color::SRGB_TO_XYZ;
    let mul = |m: &[[f64; 3]; 3], v: [f64; 3]| m.map(|r| r[0] * v[0] + r[1] * v[1] + r[2] * v[2]);
    let inv = |m: &[[f64; 3]; 3]| crate::raw::colour_model::invert(m).unwrap();
    let cone_white = mul(&BRADFORD, mul(&to_xyz, neutral.map(|v| v as f64)));
    let cone_d65 = mul(&BRADFORD, mul(&to_xyz, [1.0; 3]));
    let recorded = [0, 1, 2].map(|c| (patch[c] * neutral[c]) as f64);
    let cone = mul(&BRADFORD, mul(&to_xyz, recorded));
    let adapted = [0, 1, 2].map(|k| cone[k] * cone_d65[k] / cone_white[k]);
    let expected = mul(&inv(&to_xyz), mul(&inv(&BRADFORD), adapted)).map(|v| v as f32);
    // Allowed error in 16-bit sRGB codes at linear value x: two f16 roundings (the normalize and
    // colour stages' outputs, 2^-11 relative each) and the 16-bit storage (under 2^-14 relative
    // here), through the sRGB slope (d sRGB / d ln x = 1.055 / 2.4 · x^(1/2.4)), plus one code of
    // output rounding.
    let tol =
        |x: f32| 65535.0 * 1.055 / 2.4 * x.powf(1.0 / 2.4) * (2.0 / 2048.0 + 1.0 / 16384.0) + 1.0;
    let mut worst_grey = 0.0f32;
    for (i, px) in out.data.chunks(3).enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        let px = px.iter().map(|&v| v as f32).collect::<Vec<_>>();
        if x < w / 2 {
            // Grey stays grey, at the ramp's value.
            let spread = px.iter().copied().fold(0.0, f32::max)
                - px.iter().copied().fold(f32::MAX, f32::min);
            let t = linear(x, y)[1];
            worst_grey = worst_grey.max(spread / (2.0 * tol(t)));
            assert!(
                (px[1] - srgb(t)).abs() <= tol(t),
                "({x}, {y}): {px:?} vs grey {}",
                srgb(t)
            );
        } else {
            for c in 0..3 {
                assert!(
                    (px[c] - srgb(expected[c])).abs() <= tol(expected[c]),
                    "({x}, {y}) channel {c}: {} vs {}",
                    px[c],
                    srgb(expected[c])
                );
            }
        }
    }
    assert!(
        worst_grey <= 1.0,
        "grey ramp channels spread {worst_grey:.2} × the allowed (twice the per-channel error)"
    );
}

// ---------------------------------------------------------------------------------------------
// The shared LG G4 file (Adobe lossy LinearRaw) against LibRaw.

/// LibRaw's linear render (camera white balance, no auto brightness, 16-bit, gamma 1 — linear
/// sRGB) written as little-endian u16 to argv[2]; prints height and width.
const LIBRAW_LINEAR: &str = r#"
import sys
import numpy as np
import rawpy
with rawpy.imread(sys.argv[1]) as r:
    rgb = r.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16, gamma=(1, 1))
np.ascontiguousarray(rgb, dtype="<u2").tofile(sys.argv[2])
print(rgb.shape[0], rgb.shape[1])
"#;

/// LibRaw's linear render of `file`: width, height, linear RGB in [0, 1].
fn libraw_linear(file: &str) -> (u32, u32, Vec<[f32; 3]>) {
    let out = std::env::temp_dir().join(format!("burstpipe-lg-{}.u16", std::process::id()));
    let run = Command::new("python3")
        .args(["-c", LIBRAW_LINEAR, file])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("python3 could not start ({e}): install Python 3 and `python3 -m pip install rawpy numpy`"));
    assert!(
        run.status.success(),
        "LibRaw (rawpy) failed on {file}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    let dims: Vec<u32> = text
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let px = bytes
        .chunks_exact(6)
        .map(|b| [0, 1, 2].map(|c| u16::from_le_bytes([b[2 * c], b[2 * c + 1]]) as f32 / 65535.0))
        .collect();
    (dims[1], dims[0], px)
}

/// sRGB-encoded → linear.
fn srgb_eotf(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// PSNR (dB, on sRGB-encoded values in [0, 1]) of `ours` (16-bit sRGB) against LibRaw's linear
/// render, after fitting one gain per channel in linear light (least squares): LibRaw and we
/// choose different exposure scales and LibRaw applies CameraCalibration, which we skip.
fn psnr_after_gain_fit(ours: &[u16], libraw: &[[f32; 3]]) -> f64 {
    let ours: Vec<[f32; 3]> = ours
        .chunks(3)
        .map(|p| [0, 1, 2].map(|c| srgb_eotf(p[c] as f32 / 65535.0)))
        .collect();
    let gains = [0, 1, 2].map(|c| {
        let (mut ol, mut oo) = (0.0f64, 0.0f64);
        for (o, l) in ours.iter().zip(libraw) {
            ol += (o[c] * l[c]) as f64;
            oo += (o[c] * o[c]) as f64;
        }
        ol / oo
    });
    let enc = |v: f64| tone::srgb_oetf(v.clamp(0.0, 1.0) as f32) as f64;
    let se: f64 = ours
        .iter()
        .zip(libraw)
        .map(|(o, l)| {
            (0..3)
                .map(|c| (enc(o[c] as f64 * gains[c]) - enc(l[c] as f64)).powi(2))
                .sum::<f64>()
        })
        .sum();
    10.0 * (ours.len() as f64 * 3.0 / se).log10()
}

#[test]
fn the_lg_g4_linear_raw_dng_develops_close_to_libraw() {
    let frame = Frame::open(LG_G4)
        .unwrap_or_else(|e| panic!("{e} (the shared data folder ../shared/data/real is needed)"));
    assert_eq!(frame.samples(), 3);
    let (lw, lh, libraw) = libraw_linear(LG_G4);
    let curve = Look::Photo {
        exposure_ev: Some(0.0),
        tone: crate::Tone::Curve,
        white_balance: crate::WhiteBalance::AsShot,
    };
    let ours = render(gpu(), &frame, Demosaic::Rcd, curve, 16, None).unwrap();
    assert_eq!(
        (ours.width, ours.height),
        (lw, lh),
        "size differs from LibRaw's"
    );
    let psnr = psnr_after_gain_fit(&ours.data, &libraw);

    eprintln!("LG G4 vs LibRaw: {psnr:.2} dB");
    // OpcodeList2's MapPolynomial (per plane) undoes the JPEG's gamma encoding and white
    // balance; with it our reading (JPEG tiles, levels, crop), the opcode stage and the colour
    // pipeline reproduce LibRaw's render: 56.9 dB measured (64.99 dB with the polynomial applied
    // on the CPU in f64, before the f16 stages). 50 dB leaves room for f16 and rounding; a wrong tile placement, white balance, colour
    // matrix or a skipped polynomial (14.85 dB) falls far below.
    assert!(psnr >= 50.0, "as developed: {psnr:.2} dB against LibRaw");

    // The default look develops too, at the same size, with real tones (not black, not white).
    let default = Look::Photo {
        exposure_ev: None,
        tone: crate::Tone::Fusion,
        white_balance: crate::WhiteBalance::AsShot,
    };
    let fused = render(gpu(), &frame, Demosaic::Rcd, default, 16, None).unwrap();
    assert_eq!((fused.width, fused.height), (lw, lh));
    let mean =
        fused.data.iter().map(|&v| v as f64).sum::<f64>() / fused.data.len() as f64 / 65535.0;
    eprintln!("LG G4 default develop: mean {mean:.3}");
    assert!(
        (0.15..0.85).contains(&mean),
        "default develop mean {mean:.3}"
    );
}
