//! Demosaic quality on the Kodak set: mean CPSNR over the 24 photos, 10-pixel border excluded, in
//! each of the four Bayer phases, against independent implementations measured on exactly this set
//! (colour-demosaicing 0.2.7: bilinear 30.25 dB, Malvar-He-Cutler 35.79 dB, Menon 2007 39.31 dB;
//! ../shared/data/README).

use burstpipe::{Cfa, Demosaic, Engine, EngineOptions, Frame};
use burstpipe_tests::{cpsnr, kodak, kodak_names, mosaic, photo2, Rgb, PHOTOS2};

/// Within 0.3 dB of the published figure, as the issue requires.
const TOLERANCE_DB: f64 = 0.3;

fn mean_cpsnr(engine: &Engine, method: Demosaic, cfa: Cfa) -> f64 {
    let names = kodak_names();
    set_cpsnr(engine, method, cfa, &names, kodak)
}

fn set_cpsnr<S: AsRef<str>>(
    engine: &Engine,
    method: Demosaic,
    cfa: Cfa,
    names: &[S],
    load: fn(&str) -> Rgb,
) -> f64 {
    let each = each_cpsnr(engine, method, cfa, names, load);
    each.iter().sum::<f64>() / each.len() as f64
}

/// CPSNR of every photo of a set, 10-px border excluded.
fn each_cpsnr<S: AsRef<str>>(
    engine: &Engine,
    method: Demosaic,
    cfa: Cfa,
    names: &[S],
    load: fn(&str) -> Rgb,
) -> Vec<f64> {
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            let img = load(name);
            let frame = Frame::from_mosaic(
                img.width,
                img.height,
                mosaic(&img, cfa, 65535.0),
                cfa,
                0.0,
                65535.0,
            )
            .expect("valid mosaic");
            let out = engine.demosaic(&frame, method, 16).expect("demosaic runs");
            let db = cpsnr(&img, &out.data, 65535.0, 10);
            if std::env::var("PER_IMAGE").is_ok() {
                eprintln!("{name} {method:?} {}: {db:.2}", cfa.name());
            }
            db
        })
        .collect()
}

fn engine() -> Engine {
    Engine::new(&EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bilinear_reaches_published_cpsnr_in_all_phases() {
    let engine = engine();
    for cfa in Cfa::ALL {
        let db = mean_cpsnr(&engine, Demosaic::Bilinear, cfa);
        eprintln!("bilinear {}: {db:.2} dB", cfa.name());
        assert!(
            db >= 30.25 - TOLERANCE_DB,
            "bilinear {}: {db:.2} dB < 30.25 - {TOLERANCE_DB}",
            cfa.name()
        );
    }
}

#[test]
fn mhc_reaches_published_cpsnr_in_all_phases() {
    let engine = engine();
    for cfa in Cfa::ALL {
        let db = mean_cpsnr(&engine, Demosaic::Mhc, cfa);
        eprintln!("mhc {}: {db:.2} dB", cfa.name());
        assert!(
            db >= 35.79 - TOLERANCE_DB,
            "MHC {}: {db:.2} dB < 35.79 - {TOLERANCE_DB}",
            cfa.name()
        );
    }
}

/// The high-quality method must reach Menon 2007 as measured by an independent implementation
/// (39.31 dB) and beat our own MHC by at least 3 dB, in every phase.
#[test]
fn rcd_reaches_menon_2007_and_beats_mhc_by_3_db_in_all_phases() {
    let engine = engine();
    for cfa in Cfa::ALL {
        let rcd = mean_cpsnr(&engine, Demosaic::Rcd, cfa);
        let mhc = mean_cpsnr(&engine, Demosaic::Mhc, cfa);
        eprintln!("rcd {}: {rcd:.2} dB (mhc {mhc:.2} dB)", cfa.name());
        assert!(
            rcd >= 39.31,
            "RCD {}: {rcd:.2} dB < Menon 2007's 39.31",
            cfa.name()
        );
        assert!(
            rcd >= mhc + 3.0,
            "RCD {}: {rcd:.2} dB is not 3 dB above MHC's {mhc:.2}",
            cfa.name()
        );
    }
}

/// The second set (assets/photos2: real photos of other content than Kodak's — low-saturation
/// portraits and animals, a strongly saturated still life, microscopy, a launch, a deep-sky
/// field, fine grey textures): RCD must keep its lead over MHC there, on average and on every
/// photo (no fall-back to MHC level), in two phases. Measured (RGGB / GBRG): bilinear 29.88 /
/// 29.87, MHC 34.17 / 34.16, RCD 37.52 / 37.52 dB; the smallest per-photo lead is 0.84 dB
/// (hubble: faint, saturated points on black). Asserted: the measured margins rounded down.
#[test]
fn rcd_beats_mhc_on_the_second_photo_set() {
    let engine = engine();
    for cfa in [Cfa::Rggb, Cfa::Gbrg] {
        let each = |m| each_cpsnr(&engine, m, cfa, &PHOTOS2, photo2);
        let (bilinear, mhc, rcd) = (
            each(Demosaic::Bilinear),
            each(Demosaic::Mhc),
            each(Demosaic::Rcd),
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (b, m, r) = (mean(&bilinear), mean(&mhc), mean(&rcd));
        eprintln!(
            "photos2 {}: bilinear {b:.2} dB, mhc {m:.2} dB, rcd {r:.2} dB",
            cfa.name()
        );
        assert!(m > b + 4.0, "MHC {m:.2} vs bilinear {b:.2}");
        assert!(
            r > m + 3.0,
            "RCD {r:.2} vs MHC {m:.2}: less than 3 dB ahead"
        );
        for ((name, r), m) in PHOTOS2.iter().zip(&rcd).zip(&mhc) {
            assert!(
                r > &(m + 0.8),
                "{name}: RCD {r:.2} dB falls back to MHC's {m:.2}"
            );
        }
    }
}
