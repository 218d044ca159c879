//! `burstpipe bench` as a process: a tiny workload on every adapter, its JSON, table and chart,
//! and the errors of bad arguments.

use assert_cmd::Command;
use serde_json::Value;

fn burstpipe() -> Command {
    Command::cargo_bin("burstpipe").expect("binary built")
}

const STAGES: [&str; 3] = ["develop", "merge", "fuse"];

#[test]
fn bench_json_times_every_stage_on_every_adapter_and_draws_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = burstpipe()
        .args(["bench", "--json", "--quick", "--sizes", "0.05", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    // The same report is kept next to the chart.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
    assert_eq!(saved, report);
    let adapters = report["adapters"].as_array().expect("adapters");
    assert!(!adapters.is_empty());
    let listed = burstpipe()
        .arg("devices")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8_lossy(&listed).matches("driver:").count();
    assert_eq!(adapters.len(), listed, "every adapter found is benchmarked");

    let mut bars = 0;
    for a in adapters {
        let name = a["name"].as_str().unwrap();
        assert!(!name.is_empty() && !a["backend"].as_str().unwrap().is_empty());
        assert!(a["driver"].is_string() && a["timestamp_queries"].is_boolean());
        assert!(a["error"].is_null(), "{name}: {}", a["error"]);
        let results = a["results"].as_array().unwrap();
        for stage in STAGES {
            let r = results
                .iter()
                .find(|r| r["stage"] == stage)
                .unwrap_or_else(|| panic!("{name}: no {stage} result"));
            assert!(r["error"].is_null(), "{name} {stage}: {}", r["error"]);
            let num = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{stage}: {k}"));
            let (gpu, wall) = (num("gpu_ms"), num("wall_ms"));
            for k in [
                "gpu_ms",
                "wall_ms",
                "ms_per_mp",
                "bytes_per_px",
                "fps",
                "size_mp",
            ] {
                let v = num(k);
                assert!(v.is_finite() && v > 0.0, "{name} {stage}: {k} = {v}");
            }
            // Stage times are parts of the call: they fit in its wall time (1 ms of slack).
            assert!(
                gpu <= wall + 1.0,
                "{name} {stage}: {gpu} ms GPU > {wall} ms wall"
            );
            let want = if a["timestamp_queries"] == true {
                ["gpu-timestamps", "wall-clock"].as_slice()
            } else {
                ["wall-clock"].as_slice()
            };
            assert!(
                want.contains(&r["timing"].as_str().unwrap()),
                "{}",
                r["timing"]
            );
            let frames = r["frames"].as_u64().unwrap();
            assert_eq!(
                frames,
                [1, 8, 3][STAGES.iter().position(|s| *s == stage).unwrap()]
            );
            let steps = r["steps"].as_array().unwrap();
            assert!(!steps.is_empty());
            let sum: f64 = steps.iter().map(|s| s["gpu_ms"].as_f64().unwrap()).sum();
            assert!(
                (sum - gpu).abs() <= 1e-6 * gpu.max(1.0),
                "steps sum to {sum}, total {gpu}"
            );
            for s in steps {
                assert!(s["gpu_ms"].as_f64().unwrap() > 0.0, "{s}");
                assert!(["gpu-timestamps", "wall-clock"].contains(&s["timing"].as_str().unwrap()));
            }
            bars += 1;
        }
    }

    let svg = std::fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches(r#"<g class="bar""#).count(), bars);
    for stage in STAGES {
        assert_eq!(
            svg.matches(&format!(r#"data-stage="{stage}""#)).count(),
            adapters.len(),
            "{stage}"
        );
    }
    assert!(svg.matches(r#"class="step""#).count() >= bars);
}

#[test]
fn bench_table_names_the_adapter_and_its_timing() {
    let dir = tempfile::tempdir().unwrap();
    let out = burstpipe()
        .args([
            "--backend",
            "vulkan",
            "bench",
            "--quick",
            "--sizes",
            "0.05",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for want in [
        "Vulkan", "driver", "timing:", "ms/MP", "B/px", "fps", "develop", "merge", "fuse",
    ] {
        assert!(stdout.contains(want), "'{want}' missing from:\n{stdout}");
    }
}

#[test]
fn bench_refuses_a_missing_adapter_and_absurd_sizes() {
    for (args, expect) in [
        (
            &["--adapter", "99", "bench", "--quick", "--sizes", "0.05"][..],
            "no adapter 99",
        ),
        (&["bench", "--quick", "--sizes", "0"][..], "--sizes 0"),
        (
            &["bench", "--quick", "--sizes", "1e6"][..],
            "between 0 and 200",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = burstpipe()
            .args(args)
            .arg("--out")
            .arg(dir.path())
            .assert()
            .failure();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(expect), "expected '{expect}' in: {stderr}");
        assert!(!dir.path().join("bench.json").exists());
    }
}
