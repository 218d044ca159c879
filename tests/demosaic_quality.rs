//! Demosaic quality on the Kodak set: mean CPSNR over the 24 photos, 10-pixel border excluded, in
//! each of the four Bayer phases, against independent implementations measured on exactly this set
//! (colour-demosaicing 0.2.7: bilinear 30.25 dB, Malvar-He-Cutler 35.79 dB, Menon 2007 39.31 dB;
//! ../shared/data/README).

use burstpipe::{Cfa, Demosaic, Engine, EngineOptions, Frame};
use burstpipe_tests::{cpsnr, kodak, kodak_names, mosaic};

/// Within 0.3 dB of the published figure, as the issue requires.
const TOLERANCE_DB: f64 = 0.3;

fn mean_cpsnr(engine: &Engine, method: Demosaic, cfa: Cfa) -> f64 {
    let names = kodak_names();
    let total: f64 = names
        .iter()
        .map(|name| {
            let img = kodak(name);
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
        .sum();
    total / names.len() as f64
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
