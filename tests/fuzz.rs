//! The fuzzer's fixed CI budget over the shared seeds (see `burstpipe_tests::fuzz`), the
//! regression cases of crashes it found, and the size limits checked before allocating.

use std::time::Duration;

use burstpipe_tests::fuzz::{self, CountingAlloc, Plan};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per CI run: a few thousand, under a minute in a debug build on two cores.
const CI_CASES: u64 = 3000;

/// The CI budget; `BURSTPIPE_FUZZ_CASES`, `_SEED`, `_FIRST` (first case number) and `_OUT`
/// (reproducer folder) make it a longer run of the same checks without a release build of the
/// benches (`benches` has the `fuzz` binary for that).
#[test]
fn mutated_raws_decode_or_fail_cleanly() {
    let _serial = fuzz::serial();
    let seeds = fuzz::seeds().unwrap_or_else(|e| panic!("{e}"));
    let env = |name: &str| std::env::var(name).ok();
    let cases = env("BURSTPIPE_FUZZ_CASES").map_or(CI_CASES, |v| v.parse().unwrap());
    let seed = env("BURSTPIPE_FUZZ_SEED").map_or(1, |v| v.parse().unwrap());
    let first = env("BURSTPIPE_FUZZ_FIRST").map_or(0, |v| v.parse().unwrap());
    let out = env("BURSTPIPE_FUZZ_OUT").map_or_else(
        || std::env::temp_dir().join(format!("burstpipe-fuzz-{}", std::process::id())),
        Into::into,
    );
    let report = fuzz::run(
        &seeds,
        &Plan {
            seed,
            first,
            cases,
            seconds: None,
            case_time: Duration::from_secs(30),
            out,
            progress: (cases > CI_CASES).then_some(Duration::from_secs(30)),
        },
    );
    eprintln!("{}", report.summary());
    assert_eq!(report.cases, cases);
    assert!(report.failures.is_empty(), "{}", report.summary());
}

/// `BURSTPIPE_FUZZ_REPLAY=FILE` runs one reproducer through the same checks (for debugging a
/// failure); without it, the committed regression files in tests/data/fuzz.
#[test]
fn reproducers_decode_or_fail_cleanly() {
    let _serial = fuzz::serial();
    let files: Vec<std::path::PathBuf> = match std::env::var_os("BURSTPIPE_FUZZ_REPLAY") {
        Some(f) => vec![f.into()],
        None => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fuzz");
            let mut v: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "bin"))
                .collect();
            v.sort();
            v
        }
    };
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let outcome = fuzz::run_case(&f.display().to_string(), &bytes);
        eprintln!("{}: {outcome:?}", f.display());
        assert!(
            !matches!(outcome, fuzz::Outcome::Failure(_)),
            "{}: {outcome:?}",
            f.display()
        );
    }
}

/// `bytes` with the first value of `tag` set to `value` in every IFD that has `tag` and whose
/// PhotometricInterpretation is `photometric` (32803 CFA, 34892 LinearRaw).
fn with_tag(bytes: &[u8], photometric: u64, tag: u16, value: u64) -> Vec<u8> {
    let t = fuzz::tiff::Tiff::parse(bytes).expect("a TIFF seed");
    let mut out = bytes.to_vec();
    let mut done = 0;
    for ifd in &t.ifds {
        let photo = ifd.entries.iter().find(|e| e.tag == 262);
        if photo.map(|e| t.values(bytes, e).first().copied()) != Some(Some(photometric)) {
            continue;
        }
        for e in ifd.entries.iter().filter(|e| e.tag == tag) {
            // Widen SHORT to LONG in place so the value fits (both fit in the entry's field).
            if e.typ == 3 && e.count == 1 {
                t.put(&mut out, e.at + 2, 2, 4);
            }
            let size = if e.typ == 3 && e.count > 1 { 2 } else { 4 };
            t.put(&mut out, e.value_at, size, value);
            done += 1;
        }
    }
    assert!(done > 0, "no tag {tag} in a photometric {photometric} IFD");
    out
}

fn shared(rel: &str) -> Vec<u8> {
    let p = fuzz::shared_data().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{} is needed: {e}", p.display()))
}

/// Headers claiming absurd sizes give the error for them before any pixel buffer exists: no
/// single allocation larger than twice the file plus 1 MiB (rawloader copies the file once).
#[test]
fn absurd_declared_sizes_are_errors_without_allocating() {
    let _serial = fuzz::serial();
    let nef = fuzz::synth::nef();
    let dng = fuzz::synth::opcode_dng();
    let linear = shared("real/raw/lg_g4_linear_raw_lossy_jpeg.dng");
    let lj92 = shared("real/raw/canon_powershot_g2_colorchecker_lj92.dng");
    let huge = |b: &[u8], photo, w, h| with_tag(&with_tag(b, photo, 256, w), photo, 257, h);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("nef 100000²", huge(&nef, 32803, 100_000, 100_000), "limits"),
        (
            "nef 20000² in 9 KB",
            huge(&nef, 32803, 20_000, 20_000),
            "decode",
        ),
        ("dng 100000²", huge(&dng, 32803, 100_000, 100_000), "limits"),
        ("dng 20000²", huge(&dng, 32803, 20_000, 20_000), "decode"),
        (
            "linear raw 100000²",
            huge(&linear, 34892, 100_000, 100_000),
            "limits",
        ),
        (
            "linear raw 20000²",
            huge(&linear, 34892, 20_000, 20_000),
            "decode",
        ),
        (
            "lj92 dng 60000²",
            huge(&lj92, 32803, 60_000, 60_000),
            "limits",
        ),
        // An image of 2000×1500 in one tile declared 60000×60000, whose lossless JPEG says so
        // too: far more samples than the tile's bytes can code.
        (
            "lj92 dng one huge tile",
            {
                let b = huge(&lj92, 32803, 2000, 1500);
                let mut b = with_tag(&with_tag(&b, 32803, 322, 60_000), 32803, 323, 60_000);
                let sof = b
                    .windows(2)
                    .position(|w| w == [0xFF, 0xC3])
                    .expect("an SOF3 marker");
                b[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60000, 60000
                b
            },
            "decode",
        ),
    ];
    for (what, bytes, kind) in cases {
        let limit = 2 * bytes.len() as u64 + (1 << 20);
        let start = std::time::Instant::now();
        let (result, over) =
            fuzz::with_alloc_limit(limit, || burstpipe::Frame::from_bytes(what, &bytes));
        let err = result.err().unwrap_or_else(|| panic!("{what}: decoded"));
        let got = match &err {
            burstpipe::Error::Limits { .. } => "limits",
            burstpipe::Error::Decode { .. } => "decode",
            _ => "other",
        };
        assert_eq!(got, kind, "{what}: {err}");
        assert!(
            err.to_string().contains(what),
            "{what}: the error names the file: {err}"
        );
        assert_eq!(over, 0, "{what}: allocated {over} bytes at once ({err})");
        eprintln!("{what}: {err} ({:?})", start.elapsed());
    }
}

/// The synthetic seeds decode, so their mutants reach the pixel decoders: the NEF through
/// rawloader (96×64 less the D1's crop of 12 on the right and top), the opcode DNG through our
/// reader with its ActiveArea and DefaultCrop (30×24).
#[test]
fn synthetic_seeds_decode() {
    let _serial = fuzz::serial();
    let f = burstpipe::Frame::from_bytes("s.nef", &fuzz::synth::nef()).unwrap();
    assert_eq!((f.width(), f.height()), (84, 52));
    let f = burstpipe::Frame::from_bytes("s.dng", &fuzz::synth::opcode_dng()).unwrap();
    assert_eq!((f.width(), f.height()), (30, 24));
}

/// The Nikon case: a truncated uncompressed NEF made rawloader's packed decoder panic on
/// every missing row inside its rayon workers. Now the strips are checked against the file first:
/// every truncation is a clean "truncated" error and rawloader never runs into the missing rows.
#[test]
fn truncated_nef_is_a_clean_error_before_the_decoder() {
    let _serial = fuzz::serial();
    let nef = fuzz::synth::nef();
    let pixels = 96 * 64 * 3 / 2; // the 12-bit pixels end the file
    for keep in [0.0, 0.1, 0.5, 0.9, 0.999] {
        let cut = nef.len() - pixels + (pixels as f64 * keep) as usize;
        let err = burstpipe::Frame::from_bytes("cut.nef", &nef[..cut]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("cut.nef")
                && msg.contains("truncated")
                && !msg.contains("raw decoder failed"),
            "{keep}: {msg}"
        );
    }
}

/// Found by the long run (a synthetic-kodim05 mutant: SamplesPerPixel's count set to 8 048 142;
/// a NEF mutant: ImageWidth's count to 958 728): the tiff crate reserved room for a tag's
/// declared count before reading it, 257 MB for a 2.9 MB file. Now no tag may reserve more values
/// than the file has bytes. Every tag the readers look at, with lying counts, on both synthetic
/// seeds: no allocation beyond twice the file plus 1 MiB, and no panic.
#[test]
fn lying_tag_counts_allocate_nothing_big() {
    let _serial = fuzz::serial();
    for seed in [fuzz::synth::nef(), fuzz::synth::opcode_dng()] {
        let t = fuzz::tiff::Tiff::parse(&seed).unwrap();
        for e in t.entries() {
            for count in [8_048_142u64, 0xFFFF_FFFF, 1 << 24] {
                let mut bytes = seed.clone();
                t.put(&mut bytes, e.count_at, 4, count);
                let limit = 2 * bytes.len() as u64 + (1 << 20);
                let (result, over) = fuzz::with_alloc_limit(limit, || {
                    std::panic::catch_unwind(|| burstpipe::Frame::from_bytes("c.raw", &bytes))
                });
                assert!(result.is_ok(), "tag {} count {count}: a panic", e.tag);
                assert_eq!(
                    over, 0,
                    "tag {} count {count}: one allocation of {over} bytes",
                    e.tag
                );
            }
        }
    }
}

/// Found by the long run (run seed 2, cases 30391 and 34546): the G2's CRW with the offset of a
/// CIFF record (the one at byte 2 751 826) changed, so SensorInfo is read from other bytes and
/// claims a sensor of hundreds of megapixels; rawloader's metadata-only pass failed on the file
/// and its real decode allocated 386 MB and 930 MB. The sensor size is now read from the CIFF
/// heap and checked before rawloader runs.
#[test]
fn crw_with_a_moved_sensor_info_allocates_nothing_big() {
    let _serial = fuzz::serial();
    let seed = shared("real/raw/canon_powershot_g2_colorchecker.CRW");
    for offset in [4u32, 7] {
        let mut bytes = seed.clone();
        bytes[2_751_826 + 6..][..4].copy_from_slice(&offset.to_le_bytes());
        let limit = 2 * bytes.len() as u64 + (1 << 20);
        let (result, over) = fuzz::with_alloc_limit(limit, || {
            std::panic::catch_unwind(|| burstpipe::Frame::from_bytes("moved.crw", &bytes))
        });
        let err = result
            .expect("no panic")
            .expect_err("a moved SensorInfo decodes");
        assert_eq!(
            over, 0,
            "offset {offset}: one allocation of {over} bytes ({err})"
        );
    }
}
