//! Hostile raw files through the `burstpipe` binary: a clean error naming the file, a non-zero
//! exit, no panic text on stderr and no output file.

use assert_cmd::Command;
use burstpipe_tests::fuzz::{self, mutate::Rng};

/// The case: truncated and mutated Nikon NEFs printed hundreds of "panicked" lines from
/// rawloader's rayon workers before their error. A synthetic uncompressed NEF (no NEF is in the
/// shared data) cut at several points and with a few header bytes changed: each one is a clean
/// error with not one panic line.
#[test]
fn truncated_and_mutated_nefs_fail_cleanly_without_panic_text() {
    let nef = fuzz::synth::nef();
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<Vec<u8>> = [0.3, 0.6, 0.95]
        .iter()
        .map(|k| nef[..(nef.len() as f64 * k) as usize].to_vec())
        .collect();
    // The pixel rows cut short while the header still claims them all, and the strip offset
    // pushed towards the end of the file: the packed decoder's rows run past the data.
    let t = fuzz::tiff::Tiff::parse(&nef).unwrap();
    let strip = t.entries().find(|e| e.tag == 273).unwrap();
    let mut late = nef.clone();
    t.put(&mut late, strip.value_at, 4, nef.len() as u64 - 100);
    cases.push(late);
    let mut rng = Rng::for_case(7, 0);
    let mutant = fuzz::mutate::mutate(&nef[..nef.len() - 2000], t_of(&nef).as_ref(), &mut rng);
    cases.push(mutant.bytes);
    for (i, bytes) in cases.iter().enumerate() {
        let input = dir.path().join(format!("cut{i}.nef"));
        let output = dir.path().join(format!("cut{i}.jpg"));
        std::fs::write(&input, bytes).unwrap();
        let out = Command::cargo_bin("burstpipe")
            .unwrap()
            .arg("develop")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} developed: {stderr}");
        assert!(
            !stderr.contains("panicked"),
            "case {i}: panic text on stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("cut{i}.nef")),
            "case {i}: the error names the file:\n{stderr}"
        );
        assert!(!output.exists(), "case {i}: an output file was written");
    }
}

fn t_of(bytes: &[u8]) -> Option<fuzz::tiff::Tiff> {
    fuzz::tiff::Tiff::parse(bytes)
}
