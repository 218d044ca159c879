//! Really large frames on the device's real limits: a 100 MP (12288 × 8192) Bayer mosaic, written
//! as a DNG, decoded, developed and saved, and a bracket of three 100 MP exposures fused — no
//! forced band limits, so the bands are the ones the adapter's binding limit asks for. Host memory
//! is counted by a counting global allocator (peak live bytes of this process's Rust heap; on
//! lavapipe the "device" memory is the driver's own host allocations, outside it) and reported
//! with the process's peak RSS. The bars: developing holds at most 3× the raw frame's decoded
//! size (the u16 mosaic), file read and photo written included; fusing holds at most 3× one
//! exposure beyond the bracket itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use burstpipe::{Cfa, Engine, EngineOptions, Frame, Options};

/// The global allocator with live and peak byte counts.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new);
        if !q.is_null() {
            // Old and new block are both live during the copy.
            add(new);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Restart the peak at the bytes live now.
fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// The process's peak resident set (VmHWM), bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

const W: u32 = 12288;
const H: u32 = 8192;
const MB: f64 = 1e6;

/// A 12-bit Bayer mosaic of a smooth scene with fine texture (so the demosaic has edges to
/// work on), `ev` stops brighter than the base exposure, clipped at white.
fn mosaic(ev: f32) -> Frame {
    let cfa = Cfa::Rggb;
    let gain = ev.exp2();
    let mut m = vec![0u16; W as usize * H as usize];
    for (y, row) in m.chunks_mut(W as usize).enumerate() {
        let fy = y as f32 / H as f32;
        for (x, v) in row.iter_mut().enumerate() {
            let fx = x as f32 / W as f32;
            let base = [0.6 * fx + 0.05, 0.5 * fy + 0.1, 0.3 * (1.0 - fx) + 0.05];
            let texture = 1.0 + 0.25 * ((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos());
            let c = cfa.color_at(x, y);
            let lin = (base[c] * texture * gain * 0.25).min(1.0);
            *v = (256.0 + lin * 3839.0) as u16;
        }
    }
    Frame::from_mosaic(W, H, m, cfa, 256.0, 4095.0).expect("a valid mosaic")
}

#[test]
fn a_100_mp_frame_develops_within_three_times_its_decoded_size() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let decoded = W as usize * H as usize * 2;
    let bar = 3 * decoded;
    let engine = Engine::new(&EngineOptions::default()).unwrap();
    println!(
        "adapter {}: largest binding {} MiB, largest buffer {} MiB",
        engine.adapter().name,
        engine.adapter().max_storage_binding >> 20,
        engine.adapter().max_buffer_size >> 20
    );
    let raw = dir.path().join("huge.dng");
    let t = std::time::Instant::now();
    mosaic(0.0)
        .save_dng_with(&raw, burstpipe::DngCompression::Uncompressed)
        .unwrap();
    println!(
        "wrote {} ({:.0} s)",
        raw.display(),
        t.elapsed().as_secs_f64()
    );

    // Develop: decode, develop (real limits, default options: RCD, fusion tone mapping, 16
    // bits) and write the PNG band by band.
    reset_peak();
    let t = std::time::Instant::now();
    let frame = Frame::open(&raw).unwrap();
    let after_decode = peak();
    let out = dir.path().join("huge.png");
    let ignore = &mut |_, _, _: &str| std::ops::ControlFlow::Continue(());
    let size = engine
        .develop_to_file(&frame, &Options::default(), &out, ignore)
        .unwrap();
    assert_eq!(size, (W, H));
    drop(frame);
    let develop_peak = peak();
    println!(
        "develop: {:.0} s; host heap peak {:.0} MB after decode, {:.0} MB with develop and save (bar {:.0} MB = 3 × {:.0} MB decoded); peak RSS {:.0} MB",
        t.elapsed().as_secs_f64(),
        after_decode as f64 / MB,
        develop_peak as f64 / MB,
        bar as f64 / MB,
        decoded as f64 / MB,
        peak_rss() as f64 / MB
    );
    let check = burstpipe::Image::open(&out).unwrap();
    assert_eq!((check.width, check.height, check.bits), (W, H, 16));
    drop(check);
    assert!(
        develop_peak <= bar,
        "developing a 100 MP frame took {:.0} MB of host heap, over 3× its decoded size ({:.0} MB)",
        develop_peak as f64 / MB,
        bar as f64 / MB
    );
}

/// One 100 MP test at a time: each holds gigabytes (lavapipe's "device" memory is host memory).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An 8-bit sRGB-encoded exposure of the scene of [`mosaic`], `ev` stops from the base.
fn exposure(ev: f32) -> burstpipe::Image {
    let gain = ev.exp2();
    let mut data = vec![0u16; W as usize * H as usize * 3];
    for (y, row) in data.chunks_mut(W as usize * 3).enumerate() {
        let fy = y as f32 / H as f32;
        for (x, px) in row.chunks_mut(3).enumerate() {
            let fx = x as f32 / W as f32;
            let base = [0.6 * fx + 0.05, 0.5 * fy + 0.1, 0.3 * (1.0 - fx) + 0.05];
            let texture = 1.0 + 0.25 * ((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos());
            for c in 0..3 {
                let lin = (base[c] * texture * gain * 0.25).min(1.0);
                px[c] = (lin.powf(1.0 / 2.2) * 255.0).round() as u16;
            }
        }
    }
    burstpipe::Image {
        width: W,
        height: H,
        bits: 8,
        data,
        exif: Default::default(),
    }
}

#[test]
fn a_bracket_of_three_100_mp_exposures_fuses_within_three_times_one_exposure() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let engine = Engine::new(&EngineOptions::default()).unwrap();
    let bracket: Vec<burstpipe::Image> = [-2.0, 0.0, 2.0].into_iter().map(exposure).collect();
    let inputs: usize = bracket.iter().map(|i| i.data.len() * 2).sum();
    // One exposure as the library holds it (16-bit words): what the fusion's own memory is
    // measured against, beyond the bracket the caller holds.
    let one = W as usize * H as usize * 3 * 2;
    reset_peak();
    let t = std::time::Instant::now();
    let options = burstpipe::FuseOptions {
        // Alignment needs the whole image in one binding (not banded yet): a tripod bracket.
        align: false,
        ..Default::default()
    };
    let fused = engine.fuse(&bracket, &options).unwrap();
    assert_eq!((fused.width, fused.height), (W, H));
    let own = peak() - inputs;
    println!(
        "fuse: {:.0} s; host heap peak {:.0} MB beyond the bracket's {:.0} MB (bar {:.0} MB = 3 × one {:.0} MB exposure); peak RSS {:.0} MB",
        t.elapsed().as_secs_f64(),
        own as f64 / MB,
        inputs as f64 / MB,
        3.0 * one as f64 / MB,
        one as f64 / MB,
        peak_rss() as f64 / MB
    );
    // The middle of the frame, where the base exposure is well exposed, keeps its level.
    let i = ((H / 2 * W + W / 2) * 3) as usize;
    assert!(fused.data[i..i + 3].iter().all(|&v| v > 0 && v < 255));
    assert!(
        own <= 3 * one,
        "fusing took {:.0} MB of host heap beyond its inputs",
        own as f64 / MB
    );
}
