//! A frame's DNG opcode lists in the develop path (kernels in `stages::opcodes`):
//! OpcodeList1 and OpcodeList2 on each band of the normalized mosaic (list 1 with values scaled
//! back to the raw scale it was written for), OpcodeList3 on the demosaiced f16 RGBA band before
//! colour. Bands read the rows their opcodes need: [`band_halo`] adds to the band plan.

use crate::gpu::Gpu;
use crate::raw::opcodes::Opcode;
use crate::raw::Frame;
use crate::stages::opcodes::{
    bad_pixels, gain_map, map_polynomial, map_table, warp_rectilinear, Band, Layout, ToRaw,
};
use crate::stages::RGBA16F_BYTES;

/// Whether the frame's opcodes apply to an image of `size`: their coordinates are the frame's,
/// so a binned image (smaller) takes none.
pub(crate) fn applies(frame: &Frame, size: (u32, u32)) -> bool {
    size == (frame.width, frame.height) && !frame.opcodes.is_empty()
}

/// Extra rows a band of `frame` at `size` must read for its opcodes: the mosaic opcodes' windows
/// and the list-3 warps' reach.
pub(crate) fn band_halo(frame: &Frame, size: (u32, u32)) -> u32 {
    if !applies(frame, size) {
        return 0;
    }
    let lists = &frame.opcodes;
    let mosaic = lists
        .list1
        .iter()
        .chain(&lists.list2)
        .map(Opcode::halo)
        .sum::<u32>();
    mosaic
        + warps(frame)
            .map(|w| warp_rectilinear::halo(w, size.0, size.1))
            .sum::<u32>()
}

fn warps(frame: &Frame) -> impl Iterator<Item = &crate::raw::opcodes::WarpRectilinear> {
    frame.opcodes.list3.iter().filter_map(|op| match op {
        Opcode::WarpRectilinear(w) => Some(w),
        _ => None,
    })
}

/// Record lists 1 and 2 on `mosaic`: `rows` rows of the normalized f32 mosaic from image row `y0`.
pub(crate) fn record_mosaic(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    frame: &Frame,
    mosaic: &wgpu::Buffer,
    y0: u32,
    rows: u32,
) {
    if !applies(frame, (frame.width, frame.height)) {
        return;
    }
    let band = Band::new(frame.width, rows, y0, Layout::MOSAIC);
    for (op, to_raw) in mosaic_lists(frame) {
        record_pointwise(gpu, enc, frame, op, band, to_raw, mosaic);
        if let Some((p, mask)) = bad_pixel_fix(frame, op, y0, rows) {
            let mask = gpu.storage_init("bad pixel mask", bytemuck::cast_slice(&mask));
            bad_pixels::record(gpu, enc, &p, mosaic, &mask);
        }
    }
}

/// Lists 1 and 2, each opcode with the value scale it expects (list 1: the raw scale).
fn mosaic_lists(frame: &Frame) -> impl Iterator<Item = (&Opcode, ToRaw)> {
    let list1 = frame
        .opcodes
        .list1
        .iter()
        .map(|op| (op, ToRaw::sensor(frame.black, frame.white)));
    let list2 = frame.opcodes.list2.iter().map(|op| (op, ToRaw::IDENTITY));
    list1.chain(list2)
}

/// A bad-pixel opcode's parameters and mask for the mosaic band of `rows` rows from `y0`; `None`
/// for other opcodes.
fn bad_pixel_fix(
    frame: &Frame,
    op: &Opcode,
    y0: u32,
    rows: u32,
) -> Option<(bad_pixels::Params, Vec<u32>)> {
    let (phase, constant) = match op {
        Opcode::FixBadPixelsConstant { constant, phase } => (*phase, Some(*constant)),
        Opcode::FixBadPixelsList(l) => (l.phase, None),
        _ => return None,
    };
    let (black, white) = (frame.black, frame.white);
    let p = bad_pixels::Params::new(frame.width, rows, y0, phase, constant, black, white);
    let mask = match op {
        Opcode::FixBadPixelsList(l) => bad_pixels::list_mask(&p, l),
        _ => vec![0; (p.mask_bytes() / 4) as usize],
    };
    Some((p, mask))
}

/// GainMap (and the per-row/column maps), MapPolynomial and MapTable on any layout, in place; other opcodes are left to the caller.
/// Exposed for images of other layouts (e.g. a LinearRaw frame's f16 RGBA, whose OpcodeList2
/// applies per plane): `band` says how the buffer is laid out.
pub(crate) fn record_pointwise(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    frame: &Frame,
    op: &Opcode,
    band: Band,
    to_raw: ToRaw,
    data: &wgpu::Buffer,
) {
    match op {
        Opcode::GainMap(map) => {
            if let Some(p) = gain_map::Params::new(map, band, frame.height, to_raw) {
                let gains = gpu.storage_init("gain map", bytemuck::cast_slice(&map.gains));
                gain_map::record(gpu, enc, &p, data, &gains);
            }
        }
        Opcode::MapPolynomial { area, coefficients } => {
            if let Some(p) =
                map_polynomial::Params::new(area, coefficients, band, frame.height, to_raw)
            {
                map_polynomial::record(gpu, enc, &p, data);
            }
        }
        Opcode::MapTable { area, table } => {
            if let Some(p) = map_table::Params::new(area, table.len(), band, frame.height, to_raw) {
                let values = map_table::table_values(table);
                let table = gpu.storage_init("map table", bytemuck::cast_slice(&values));
                map_table::record(gpu, enc, &p, data, &table);
            }
        }
        _ => {}
    }
}

/// Record OpcodeList2's value maps (GainMap, MapPolynomial, MapTable, …PerRow/Column) on an f16 RGBA band (rows `y0..y0 + rows`)
/// of a 3-sample frame such as a LinearRaw DNG, whose list 2 applies per plane to RGB (Plane and
/// Planes select the planes). Other opcodes of the list (bad pixels: CFA only) are left out.
pub(crate) fn record_list2_on_rgb(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    frame: &Frame,
    rgb: &wgpu::Buffer,
    y0: u32,
    rows: u32,
) {
    let band = Band::new(frame.width, rows, y0, Layout::Rgba16f);
    for op in &frame.opcodes.list2 {
        record_pointwise(gpu, enc, frame, op, band, ToRaw::IDENTITY, rgb);
    }
}

/// The rows the demosaic must produce for a band that outputs rows `out` of an image of `size`:
/// `out` widened by the reach of each list-3 warp.
pub(crate) fn rgb_rows(frame: &Frame, size: (u32, u32), out: (u32, u32)) -> (u32, u32) {
    if !applies(frame, size) {
        return out;
    }
    warps(frame).fold(out, |(a, b), w| {
        let halo = warp_rectilinear::halo(w, size.0, size.1);
        (a.saturating_sub(halo), (b + halo).min(size.1))
    })
}

/// Record list 3 on `rgb` (f16 RGBA holding rows `have`, from [`rgb_rows`]); returns the buffer
/// holding rows `out` after every opcode.
pub(crate) fn record_rgb(
    gpu: &Gpu,
    enc: &mut wgpu::CommandEncoder,
    frame: &Frame,
    size: (u32, u32),
    rgb: wgpu::Buffer,
    have: (u32, u32),
    out: (u32, u32),
) -> wgpu::Buffer {
    if !applies(frame, size) {
        return rgb;
    }
    let (w, h) = size;
    // What each warp leaves: the rows of the warps after it, widened as in rgb_rows.
    let ops = &frame.opcodes.list3;
    let (mut buffer, mut rows) = (rgb, have);
    for (k, op) in ops.iter().enumerate() {
        match op {
            Opcode::WarpRectilinear(warp) => {
                let next = ops[k + 1..]
                    .iter()
                    .filter_map(|op| match op {
                        Opcode::WarpRectilinear(w2) => Some(warp_rectilinear::halo(w2, w, h)),
                        _ => None,
                    })
                    .fold(out, |(a, b), halo| {
                        (a.saturating_sub(halo), (b + halo).min(h))
                    });
                let p = warp_rectilinear::Params::new(warp, w, h, rows, next);
                let dst = gpu.storage("warped", ((next.1 - next.0) * w) as u64 * RGBA16F_BYTES);
                warp_rectilinear::record(gpu, enc, &p, &buffer, &dst);
                (buffer, rows) = (dst, next);
            }
            op => {
                let band = Band::new(w, rows.1 - rows.0, rows.0, Layout::Rgba16f);
                record_pointwise(gpu, enc, frame, op, band, ToRaw::IDENTITY, &buffer);
            }
        }
    }
    debug_assert_eq!(rows, out);
    buffer
}

/// CPU twin of [`record_pointwise`] on `data` (`stride` f32 values per pixel).
#[cfg(test)]
fn reference_pointwise(
    op: &Opcode,
    band: Band,
    height: u32,
    to_raw: ToRaw,
    data: &mut [f32],
    stride: usize,
) {
    match op {
        Opcode::GainMap(map) => {
            if let Some(p) = gain_map::Params::new(map, band, height, to_raw) {
                gain_map::reference(&p, &map.gains, data, stride);
            }
        }
        Opcode::MapPolynomial { area, coefficients } => {
            if let Some(p) = map_polynomial::Params::new(area, coefficients, band, height, to_raw) {
                map_polynomial::reference(&p, data, stride);
            }
        }
        Opcode::MapTable { area, table } => {
            if let Some(p) = map_table::Params::new(area, table.len(), band, height, to_raw) {
                map_table::reference(&p, &map_table::table_values(table), data, stride);
            }
        }
        _ => {}
    }
}

/// CPU twin of lists 1 and 2 on a whole frame: normalize, then each opcode's reference.
#[cfg(test)]
pub(crate) fn reference_mosaic(frame: &Frame) -> Vec<f32> {
    use crate::stages::normalize;
    let (w, h) = (frame.width, frame.height);
    let np = normalize::Params::new(w, h, 0, frame.black, frame.white);
    let mut m = normalize::reference(&np, &frame.mosaic);
    let band = Band::new(w, h, 0, Layout::MOSAIC);
    for (op, to_raw) in mosaic_lists(frame) {
        assert!(
            !matches!(op, Opcode::WarpRectilinear(_)),
            "warps are list 3 only"
        );
        reference_pointwise(op, band, h, to_raw, &mut m, 1);
        if let Some((p, mask)) = bad_pixel_fix(frame, op, 0, h) {
            bad_pixels::reference(&p, &mut m, &mask);
        }
    }
    m
}

/// CPU twin of list 3 on a whole frame's RGB (f16-rounded between opcodes, as on the GPU).
#[cfg(test)]
pub(crate) fn reference_rgb(frame: &Frame, rgb: &[[f32; 3]]) -> Vec<[f32; 3]> {
    use crate::stages::{pack_rgb, unpack_rgb};
    let (w, h) = (frame.width, frame.height);
    let f16 = |v: &[[f32; 3]]| {
        v.iter()
            .map(|&c| unpack_rgb(pack_rgb(c)))
            .collect::<Vec<_>>()
    };
    let mut img = f16(rgb);
    let band = Band::new(w, h, 0, Layout::Rgba16f);
    for op in &frame.opcodes.list3 {
        match op {
            Opcode::WarpRectilinear(warp) => {
                let p = warp_rectilinear::Params::new(warp, w, h, (0, h), (0, h));
                img = warp_rectilinear::reference(&p, &img);
            }
            Opcode::FixBadPixelsConstant { .. } | Opcode::FixBadPixelsList(_) => {
                unreachable!("bad pixels are mosaic opcodes")
            }
            op => reference_pointwise(op, band, h, ToRaw::IDENTITY, img.as_flattened_mut(), 3),
        }
        img = f16(&img);
    }
    img
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::gpu::testing::gpu;
    use crate::output::dng::{save_with, ExtraTag};
    use crate::raw::opcodes::write::{list, Params as P, Raw};
    use crate::raw::opcodes::{OPCODE_LIST_1, OPCODE_LIST_2, OPCODE_LIST_3};
    use crate::schedule::develop::{collect, plan_bands, render, render_source_into, Look, Source};
    use crate::stages::{demosaic, normalize, tone, Demosaic};
    use crate::Cfa;

    const ACTIVE_AREA: u16 = 50829;
    const DEFAULT_CROP_ORIGIN: u16 = 50719;
    const DEFAULT_CROP_SIZE: u16 = 50720;
    const BLACK: f32 = 256.0;
    const WHITE: f32 = 4095.0;
    /// Flat-field level of each colour (R, G, B), of the range.
    const LEVEL: [f64; 3] = [0.45, 0.6, 0.35];

    /// The BayerPhase number of a layout.
    fn phase(cfa: Cfa) -> u32 {
        [Cfa::Rggb, Cfa::Grbg, Cfa::Gbrg, Cfa::Bggr]
            .iter()
            .position(|&c| c == cfa)
            .unwrap() as u32
    }

    /// Lens shading at relative position (u, v) of the active area, per 2×2 position of it: 1
    /// at the centre, 1 - k at the corners.
    fn shading(pos: usize, u: f64, v: f64) -> f64 {
        let k = [0.35, 0.3, 0.3, 0.25][pos];
        1.0 - k * 2.0 * ((u - 0.5).powi(2) + (v - 0.5).powi(2))
    }

    /// A flat field under lens shading in a 108×76 raw image whose active area (rows 3..71,
    /// columns 5..101) is default-cropped by 2 px: the frame is 92×64 at raw (7, 5). OpcodeList1
    /// fixes dead pixels (raw 0, FixBadPixelsConstant) and a hot pixel list with a rectangle (in
    /// raw coordinates); OpcodeList2 holds a phone-style GainMap per 2×2 position (pitch 2, in
    /// active-area coordinates). Returns the file and the defects' frame coordinates.
    fn shading_dng(dir: &Path) -> (PathBuf, Vec<[u32; 2]>) {
        let (fw, fh) = (108u32, 76u32);
        let [at, al, ab, ar] = [3u32, 5, 71, 101];
        let (aw, ah) = (ar - al, ab - at);
        let cfa = Cfa::Rggb;
        let mut rng = crate::stages::testing::Rng::new(77);
        let mut mosaic = vec![BLACK as u16; (fw * fh) as usize];
        for y in at..ab {
            for x in al..ar {
                let (ax, ay) = (x - al, y - at);
                let pos = ((ay & 1) * 2 + (ax & 1)) as usize;
                let (u, v) = ((ax as f64 + 0.5) / aw as f64, (ay as f64 + 0.5) / ah as f64);
                let level = LEVEL[cfa.color_at(x as usize, y as usize)] * shading(pos, u, v);
                mosaic[(y * fw + x) as usize] =
                    (BLACK as f64 + level * (WHITE - BLACK) as f64).round() as u16;
            }
        }
        // Defects, away from each other and from the frame's edge (frame = raw - (7, 5)).
        let mut defects = Vec::new();
        for i in 0..10u32 {
            let (x, y) = (12 + 7 * i + rng.next_u32() % 3, 9 + 5 * i);
            mosaic[(y * fw + x) as usize] = 0;
            defects.push([x - 7, y - 5]);
        }
        let hot = [[40u32, 30u32], [60, 80]]; // (row, column), raw
        for [r, c] in hot {
            mosaic[(r * fw + c) as usize] = WHITE as u16;
            defects.push([c - 7, r - 5]);
        }
        let rect = [20u32, 50, 22, 53]; // rows 20..22, columns 50..53, raw
        for y in rect[0]..rect[2] {
            for x in rect[1]..rect[3] {
                mosaic[(y * fw + x) as usize] = 3000;
                defects.push([x - 7, y - 5]);
            }
        }
        let list1 = list(&[
            Raw::new(4, P::default().u32s(&[0, phase(cfa)])),
            Raw::new(
                5,
                hot.iter()
                    .fold(P::default().u32s(&[phase(cfa), 2, 1]), |p, pt| p.u32s(pt))
                    .u32s(&rect),
            ),
        ]);
        let n = 17u32;
        let maps: Vec<Raw> = (0..4u32)
            .map(|pos| {
                let mut p = P::default()
                    .area([pos / 2, pos % 2, ah, aw], 0, 1, [2, 2])
                    .u32s(&[n, n])
                    .f64s(&[1.0 / (n - 1) as f64, 1.0 / (n - 1) as f64, 0.0, 0.0])
                    .u32(1);
                for j in 0..n {
                    for i in 0..n {
                        let (u, v) = (i as f64 / (n - 1) as f64, j as f64 / (n - 1) as f64);
                        p = p.f32((1.0 / shading(pos as usize, u, v)) as f32);
                    }
                }
                // Optional and preview-skippable, as phones write them.
                Raw {
                    id: 9,
                    flags: 3,
                    params: p.0,
                }
            })
            .collect();
        let frame = Frame::from_mosaic(fw, fh, mosaic, cfa, BLACK, WHITE).unwrap();
        let path = dir.join("shading.dng");
        save_with(
            &frame,
            &path,
            &[
                ExtraTag::Longs(ACTIVE_AREA, vec![at, al, ab, ar]),
                ExtraTag::Longs(DEFAULT_CROP_ORIGIN, vec![2, 2]),
                ExtraTag::Longs(DEFAULT_CROP_SIZE, vec![92, 64]),
                ExtraTag::Undefined(OPCODE_LIST_1, list1),
                ExtraTag::Undefined(OPCODE_LIST_2, list(&maps)),
            ],
        )
        .unwrap();
        (path, defects)
    }

    fn plain(frame: &Frame, bands: Option<u32>) -> Vec<u16> {
        render(gpu(), frame, Demosaic::Mhc, Look::Plain, 16, bands)
            .unwrap()
            .data
    }

    /// The whole develop on the CPU: lists 1 and 2, demosaic, list 3, plain quantization.
    fn reference_develop(frame: &Frame) -> Vec<u16> {
        let (w, h) = (frame.width, frame.height);
        let mosaic = reference_mosaic(frame);
        let dp = demosaic::Params::new(w, h, frame.cfa, 0, h, 0, h);
        let rgb = reference_rgb(frame, &demosaic::reference(&dp, Demosaic::Mhc, &mosaic));
        let packed: Vec<[u32; 2]> = rgb.iter().map(|&c| crate::stages::pack_rgb(c)).collect();
        tone::reference(&tone::Params::plain(w * h, 16), &packed)
    }

    /// The frame developed in one band, checked against the CPU reference (within f16 rounding
    /// of the image between stages, 1e-3 of full scale) and against bands of 16 rows; returns
    /// it and the reference.
    fn develop_checked(frame: &Frame) -> (Vec<u16>, Vec<u16>) {
        let one = plain(frame, None);
        let banded = plain(frame, Some(16));
        let cpu = reference_develop(frame);
        assert!(
            max_diff(&one, &cpu) <= 65,
            "GPU vs CPU develop: {}",
            max_diff(&one, &cpu)
        );
        assert!(
            max_diff(&one, &banded) <= 1,
            "bands differ: {}",
            max_diff(&one, &banded)
        );
        (one, cpu)
    }

    fn max_diff(a: &[u16], b: &[u16]) -> i32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (x as i32 - y as i32).abs())
            .max()
            .unwrap()
    }

    #[test]
    fn shading_and_bad_pixel_opcodes_develop_flat_and_match_the_cpu_reference() {
        let dir = tempfile::tempdir().unwrap();
        let (path, defects) = shading_dng(dir.path());
        let frame = Frame::open(&path).unwrap();
        assert_eq!(
            (frame.width, frame.height, frame.cfa),
            (92, 64, Cfa::Rggb.shifted(7, 5))
        );
        assert_eq!(
            (frame.opcodes.list1.len(), frame.opcodes.list2.len()),
            (2, 4)
        );

        // The lists on the GPU equal their CPU twins, on the mosaic (one pass).
        let gpu = gpu();
        let (w, h) = (frame.width, frame.height);
        let raw = normalize::upload(gpu, &frame.mosaic);
        let m = gpu.storage("mosaic", (w * h) as u64 * 4);
        gpu.run("opcodes", |enc| {
            normalize::record(
                gpu,
                enc,
                &normalize::Params::new(w, h, 0, frame.black, frame.white),
                &raw,
                &m,
            );
            record_mosaic(gpu, enc, &frame, &m, 0, h);
        })
        .unwrap();
        let got: Vec<f32> =
            bytemuck::cast_slice(&gpu.read("opcodes", &m, (w * h) as u64 * 4).unwrap()).to_vec();
        let want = reference_mosaic(&frame);
        let diff = crate::stages::testing::max_abs_diff(&got, &want);
        assert!(diff < 1e-5, "mosaic after lists 1 and 2: max diff {diff}");

        let (one, cpu) = develop_checked(&frame);

        // A merged burst (a normalized mosaic on the GPU, the reference's size) takes the
        // reference's lists 1 and 2 when developed: the same pixels as the frame itself.
        let np = normalize::Params::new(w, h, 0, frame.black, frame.white);
        let merged = normalize::reference(&np, &frame.mosaic);
        let source = Source::Binned {
            buffer: gpu.storage_init("merged", bytemuck::cast_slice(&merged)),
            width: w,
            height: h,
            rgb: false,
        };
        let bands = plan_bands(gpu, &frame, (w, h), false, Some(16)).unwrap();
        let from_merge = collect((w, h), |sink| {
            render_source_into(
                gpu,
                &frame,
                &source,
                &bands,
                Demosaic::Mhc,
                Look::Plain,
                16,
                Some(16),
                &mut crate::progress::ignore,
                sink,
            )
            .map(|()| (w, h))
        })
        .unwrap();
        let merged_diff = max_diff(&one, &from_merge.data);
        assert!(merged_diff <= 1, "merged path: {merged_diff}");

        // Flat within 1 % everywhere, defects included; without the opcodes the corners are
        // 25–35 % dark and the defects stand out.
        let worst = |data: &[u16]| -> f64 {
            data.chunks(3)
                .flat_map(|px| (0..3).map(move |c| (px[c] as f64 / 65535.0 / LEVEL[c] - 1.0).abs()))
                .fold(0.0, f64::max)
        };
        let fixed = worst(&one);
        assert!(
            fixed < 0.01,
            "corrected flat field deviates {:.2} %",
            fixed * 100.0
        );
        let bare = Frame {
            opcodes: Default::default(),
            ..frame.clone()
        };
        let raw_out = plain(&bare, None);
        eprintln!(
            "flat field: worst {:.3} % corrected, {:.1} % without opcodes; GPU vs CPU {} / 65535",
            fixed * 100.0,
            worst(&raw_out) * 100.0,
            max_diff(&one, &cpu)
        );
        assert!(
            worst(&raw_out) > 0.2,
            "the test's vignetting is too weak: {}",
            worst(&raw_out)
        );
        // The photo path (colour, exposure, tone curve; RCD in bands of 16 rows) keeps it flat.
        let look = Look::Photo {
            exposure_ev: Some(0.0),
            tone: crate::Tone::Curve,
            white_balance: crate::WhiteBalance::AsShot,
        };
        let photo = |f: &Frame| {
            render(gpu, f, Demosaic::Rcd, look, 16, Some(16))
                .unwrap()
                .data
        };
        let spread = |data: &[u16]| -> f64 {
            (0..3)
                .map(|c| {
                    let v = data.iter().skip(c).step_by(3).map(|&v| v as f64);
                    let (lo, hi) = v.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
                    (hi - lo) / hi
                })
                .fold(0.0, f64::max)
        };
        let (flat, vignetted) = (spread(&photo(&frame)), spread(&photo(&bare)));
        eprintln!("photo: spread {flat:.4} corrected, {vignetted:.4} not");
        assert!(
            flat < 0.01 && vignetted > 0.1,
            "photo spread {flat:.4} corrected, {vignetted:.4} not"
        );

        for [x, y] in defects {
            let i = ((y * w + x) * 3) as usize;
            for c in 0..3 {
                let v = one[i + c] as f64 / 65535.0 / LEVEL[c];
                assert!((v - 1.0).abs() < 0.01, "defect ({x}, {y}) colour {c}: {v}");
            }
        }
    }

    #[test]
    fn a_merged_burst_is_corrected_frame_by_frame_before_alignment() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = shading_dng(dir.path());
        let burst = crate::Burst::open(&[&path, &path, &path]).unwrap();
        // Each frame is prepared with its lists 1 and 2 applied, which then leave the frame.
        let options = crate::MergeOptions::default();
        let prepared =
            crate::schedule::prepare::burst_before_merge(gpu(), burst.frames(), &options.develop)
                .unwrap()
                .expect("frames with opcode lists are prepared");
        let frame = &burst.frames()[0];
        let want = reference_mosaic(frame);
        let p = &prepared[0];
        assert!(p.opcodes.list1.is_empty() && p.opcodes.list2.is_empty());
        let np = normalize::Params::new(p.width, p.height, 0, p.black, p.white);
        let got = normalize::reference(&np, &p.mosaic);
        // Equal within the prepared scale's quantization (values above white are clipped).
        let diff = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w.min(1.0)).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 2e-5, "prepared mosaic vs lists 1 and 2: {diff}");

        // The merged photo is flat.
        let engine = crate::Engine::new(&crate::EngineOptions::default()).unwrap();
        let options = crate::MergeOptions {
            develop: crate::Options {
                exposure_ev: Some(0.0),
                tone: crate::Tone::Curve,
                bits: 16,
                ..Default::default()
            },
            ..Default::default()
        };
        let image = engine.merge(&burst, &options).unwrap();
        let spread = (0..3)
            .map(|c| {
                let v = image.data.iter().skip(c).step_by(3).map(|&v| v as f64);
                let (lo, hi) = v.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
                (hi - lo) / hi
            })
            .fold(0.0, f64::max);
        assert!(spread < 0.01, "merged flat field spread {spread:.4}");
    }

    /// A smooth test scene (periods of 20+ pixels, which demosaicing keeps).
    fn scene(x: f64, y: f64, c: usize) -> f64 {
        let t = std::f64::consts::TAU;
        0.4 + 0.25 * (t * x / 23.0 + c as f64).sin() * (t * y / 19.0 + 0.5 * c as f64).cos()
    }

    #[test]
    fn warp_rectilinear_undoes_a_known_distortion_and_matches_the_cpu_reference() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (96u32, 70u32);
        // Barrel distortion with lateral colour (a set per plane) and some tangential terms.
        let sets = [
            [1.0, -0.08, 0.01, 0.0, 0.003, -0.002],
            [0.995, -0.075, 0.01, 0.0, 0.003, -0.002],
            [0.99, -0.07, 0.01, 0.0, 0.003, -0.002],
        ];
        let params = sets
            .iter()
            .fold(P::default().u32(3), |p, k| p.f64s(k))
            .f64s(&[0.52, 0.47]);
        let list3 = list(&[Raw::new(1, params)]);
        // The lens: the sensor at q sees the scene at p where the warp maps p to q, so the warp
        // (output p samples q) gives the scene back. p is found by fixed-point iteration.
        let warp = match &crate::raw::opcodes::parse_list(
            Path::new("t"),
            &list3,
            crate::raw::opcodes::Stage::Rgb,
            (w, h),
        )
        .unwrap()[0]
        {
            Opcode::WarpRectilinear(warp) => warp.clone(),
            op => panic!("{op:?}"),
        };
        let cfa = Cfa::Grbg;
        let mosaic: Vec<u16> = (0..w * h)
            .map(|i| {
                let (qx, qy) = ((i % w) as f64, (i / w) as f64);
                let c = cfa.color_at((i % w) as usize, (i / w) as usize);
                let mut p = [qx, qy];
                for _ in 0..30 {
                    let s = warp_rectilinear::source_of(&warp, c, p[0], p[1]);
                    p = [p[0] + qx - s[0], p[1] + qy - s[1]];
                }
                (BLACK as f64 + scene(p[0], p[1], c) * (WHITE - BLACK) as f64).round() as u16
            })
            .collect();
        let frame = Frame::from_mosaic(w, h, mosaic, cfa, BLACK, WHITE).unwrap();
        let path = dir.path().join("warp.dng");
        save_with(&frame, &path, &[ExtraTag::Undefined(OPCODE_LIST_3, list3)]).unwrap();
        let frame = Frame::open(&path).unwrap();
        assert_eq!(frame.opcodes.list3.len(), 1);

        let (one, cpu) = develop_checked(&frame);

        // Against the undistorted scene (4 px border left out: clamped samples there).
        let rms = |data: &[u16]| -> f64 {
            let mut se = 0.0;
            let mut n = 0;
            for y in 4..h - 4 {
                for x in 4..w - 4 {
                    for c in 0..3 {
                        let v = data[((y * w + x) * 3) as usize + c] as f64 / 65535.0;
                        se += (v - scene(x as f64, y as f64, c)).powi(2);
                        n += 1;
                    }
                }
            }
            (se / n as f64).sqrt()
        };
        let bare = Frame {
            opcodes: Default::default(),
            ..frame.clone()
        };
        // The same mosaic read as X-Trans: its demosaic also produces the rows the warp reaches,
        // and bands give the one-pass pixels.
        let xtrans = frame.clone().with_xtrans(crate::XTrans::FUJIFILM);
        let x = |bands| {
            render(
                gpu(),
                &xtrans,
                Demosaic::Markesteijn,
                Look::Plain,
                16,
                bands,
            )
            .unwrap()
            .data
        };
        let (x_one, x_banded) = (x(None), x(Some(16)));
        assert!(
            max_diff(&x_one, &x_banded) <= 1,
            "X-Trans bands differ: {}",
            max_diff(&x_one, &x_banded)
        );
        let (with, without) = (rms(&one), rms(&plain(&bare, None)));
        // What demosaicing alone leaves: the scene captured without distortion.
        let undistorted: Vec<u16> = (0..w * h)
            .map(|i| {
                let c = cfa.color_at((i % w) as usize, (i / w) as usize);
                let v = scene((i % w) as f64, (i / w) as f64, c);
                (BLACK as f64 + v * (WHITE - BLACK) as f64).round() as u16
            })
            .collect();
        eprintln!("warp: GPU vs CPU develop {} / 65535", max_diff(&one, &cpu));
        let baseline = rms(&plain(
            &Frame::from_mosaic(w, h, undistorted, cfa, BLACK, WHITE).unwrap(),
            None,
        ));
        // The corrected image is as close to the scene as an undistorted capture developed the
        // same way (measured: 0.0103 corrected, 0.0110 undistorted — the warp's bilinear
        // resampling smooths a little demosaic error — and 0.0408 uncorrected).
        assert!(
            with < 1.1 * baseline && with * 3.0 < without,
            "rms vs scene: {with:.4} corrected, {without:.4} not, {baseline:.4} undistorted"
        );
    }
}

/// The real OpcodeList2 of a LinearRaw DNG, applied by the entry point the LinearRaw path calls.
#[cfg(test)]
mod linear_raw_tests {
    use std::path::Path;

    use super::*;
    use crate::gpu::testing::gpu;
    use crate::raw::opcodes::{parse_list, Stage, OPCODE_LIST_2};
    use crate::stages::testing::{kodak, read_rgb16f};
    use crate::stages::{pack_rgb, unpack_rgb};

    /// The bytes of `tag` in the first SubIFD of a classic TIFF (enough for this file; the DNG
    /// reader proper is `raw::dng`).
    fn sub_ifd_tag(data: &[u8], tag: u16) -> Option<Vec<u8>> {
        let le = data.get(..2)? == b"II";
        let u16_at = |o: usize| {
            data.get(o..o + 2).map(|b| {
                if le {
                    u16::from_le_bytes([b[0], b[1]])
                } else {
                    u16::from_be_bytes([b[0], b[1]])
                }
            })
        };
        let u32_at = |o: usize| {
            data.get(o..o + 4).map(|b| {
                let b = [b[0], b[1], b[2], b[3]];
                if le {
                    u32::from_le_bytes(b)
                } else {
                    u32::from_be_bytes(b)
                }
            })
        };
        let entry = |ifd: usize, want: u16| -> Option<(u32, usize)> {
            (0..u16_at(ifd)? as usize).find_map(|i| {
                let e = ifd + 2 + 12 * i;
                (u16_at(e)? == want).then(|| Some((u32_at(e + 4)?, e + 8)))?
            })
        };
        let ifd0 = u32_at(4)? as usize;
        let (_, sub) = entry(ifd0, 330)?;
        let sub = u32_at(sub)? as usize;
        let (count, at) = entry(sub, tag)?;
        let offset = if count <= 4 { at } else { u32_at(at)? as usize };
        data.get(offset..offset + count as usize)
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn lg_g4_map_polynomials_apply_per_plane_to_rgb_as_their_cpu_twin() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/real/raw/lg_g4_linear_raw_lossy_jpeg.dng");
        let data = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (the shared real files are needed)", path.display())
        });
        let bytes = sub_ifd_tag(&data, OPCODE_LIST_2).expect("the LG G4 DNG has an OpcodeList2");
        let (w, h) = (600u32, 338u32);
        let list2 = parse_list(&path, &bytes, Stage::Linear, (w, h)).unwrap();
        // One cubic per plane over the whole image (what Adobe Camera Raw wrote).
        assert_eq!(list2.len(), 3);
        for (plane, op) in list2.iter().enumerate() {
            match op {
                Opcode::MapPolynomial { area, coefficients } => {
                    assert_eq!(
                        (area.plane, area.planes, area.bottom, area.right),
                        (plane as u32, 1, h as i64, w as i64)
                    );
                    assert_eq!(coefficients.len(), 4);
                }
                op => panic!("{op:?}"),
            }
        }
        let mut frame =
            Frame::from_mosaic(w, h, vec![0; (w * h) as usize], crate::Cfa::Rggb, 0.0, 1.0)
                .unwrap();
        frame.opcodes.list2 = list2;

        // A real photo as the f16 RGBA image, a band of rows 40..300.
        let (kw, _, px) = kodak("kodim19");
        let (y0, rows) = (40u32, 260u32);
        let rgb: Vec<[f32; 3]> = (0..rows * w)
            .map(|i| unpack_rgb(pack_rgb(px[((i / w + y0) * kw + i % w) as usize])))
            .collect();
        let gpu = gpu();
        let words: Vec<u32> = rgb.iter().flat_map(|&c| pack_rgb(c)).collect();
        let buf = gpu.storage_init("rgb", bytemuck::cast_slice(&words));
        gpu.run("list 2 on rgb", |enc| {
            record_list2_on_rgb(gpu, enc, &frame, &buf, y0, rows)
        })
        .unwrap();
        let got = read_rgb16f(gpu, "list 2 on rgb", &buf, (rows * w) as u64);

        let mut want = rgb.clone();
        let band = Band::new(w, rows, y0, Layout::Rgba16f);
        for op in &frame.opcodes.list2 {
            let Opcode::MapPolynomial { area, coefficients } = op else {
                unreachable!()
            };
            let p =
                map_polynomial::Params::new(area, coefficients, band, h, ToRaw::IDENTITY).unwrap();
            map_polynomial::reference(&p, want.as_flattened_mut(), 3);
        }
        let diff = crate::stages::testing::max_abs_diff(got.as_flattened(), want.as_flattened());
        assert!(diff < 2e-3, "max |gpu - cpu| = {diff}");
        // Each plane took its own curve.
        let changed = |c: usize| {
            got.iter()
                .zip(&rgb)
                .map(|(a, b)| (a[c] - b[c]).abs())
                .fold(0.0f32, f32::max)
        };
        assert!((0..3).all(|c| changed(c) > 0.01));
    }
}
