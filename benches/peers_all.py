#!/usr/bin/env python3
"""Every peer next to burstpipe on the same inputs, on this machine, in one run, as ONE table of
ms/MP and ratios to ours (issue 6). Run through benches/peers_all.sh, which installs the peers and
builds the release binaries; or directly:

    python3 benches/peers_all.py OUT_DIR [--bin target/release] [--mp 12] [--runs 3] [--warmup 1]
                                 [--merge-size 2304x1728] [--merge-runs 1]

Groups (each with its own burstpipe reference row, ratio = row's ms/MP / the reference's; > 1 is
slower than ours):
  demosaic, in memory   one 12 MP RGGB mosaic made from kodim23 (bench_develop): OpenCV cvtColor
                        bilinear / edge-aware / VNG (peers.py) vs Engine::demosaic bilinear/MHC/RCD
  develop, in memory    the same mosaic: LibRaw dcraw_process linear / AHD via rawpy (peers.py)
                        vs Engine::develop (RCD, auto exposure, fusion tone)
  develop, process      the same mosaic as a DNG, file to 16-bit TIFF: rawtherapee-cli AMaZE and
                        RCD (.pp3 profiles) vs `burstpipe develop`
  fusion, process       one 3-exposure 12 MP JPEG bracket from kodim21 (fusion/make_bracket_12mp.py),
                        files to JPEG: enfuse, OpenCV MergeMertens (Python process) vs `burstpipe fuse`
  fusion, in memory     OpenCV MergeMertens.process() on that bracket vs Engine::fuse (GPU time
                        less the bracket alignment, which MergeMertens does not do) on the
                        12 MP 16-bit bracket of `burstpipe bench` (same size, kodim23)
  merge, in memory      one 8-frame burst (bench_merge's 4 MP: a Wiener merge is not banded yet
                        and lavapipe's 128 MiB bindings hold one up to about 8 MP): OpenCV NL-means multi and ECC
                        align + average (peers_merge.py) vs Engine::merge (align, merge, develop);
                        ms/MP per frame
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PP3 = "[RAW Bayer]\nMethod={method}\n"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$", " ".join(map(str, cmd)))
    return subprocess.run(list(map(str, cmd)), check=True, text=True, **kw)


def time_process(cmd, runs, warmup):
    """Median wall time of a whole process, ms (decode, work and encode included)."""
    for _ in range(warmup):
        subprocess.run(cmd, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples)


def jsonl(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release"))
    ap.add_argument("--mp", type=float, default=12.0, help="megapixels of the develop and fusion inputs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--merge-size", default="2304x1728")
    ap.add_argument("--merge-runs", type=int, default=1)
    ap.add_argument("--adapter", default="0", help="burstpipe adapter index")
    ap.add_argument("--bench-json", help="a `burstpipe bench` report of this size to reuse instead of running it")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    py = sys.executable
    burstpipe = os.path.join(args.bin, "burstpipe")
    w = int(round((args.mp * 1e6 * 4 / 3) ** 0.5 / 16)) * 16
    h = int(round(w * 0.75 / 16)) * 16
    rows = []  # (group, method, ms, mp, note)
    notes = []

    def add(group, method, ms, mp, frames=1):
        rows.append({"group": group, "method": method, "ms": ms, "ms_per_mp": ms / (mp * frames)})

    # Demosaic and develop in memory: bench_develop and peers.py on one mosaic.
    d = os.path.join(out, "develop")
    os.makedirs(d, exist_ok=True)
    run([os.path.join(args.bin, "bench_develop"), "--out", d, "--size", f"{w}x{h}",
         "--runs", args.runs, "--warmup", args.warmup, "--json", os.path.join(d, "ours.jsonl")],
        stdout=subprocess.DEVNULL)
    run([py, os.path.join(ROOT, "benches", "peers.py"), d, "--runs", args.runs, "--warmup", args.warmup,
         "--json", os.path.join(d, "peers.jsonl")], stdout=subprocess.DEVNULL)
    mp = w * h / 1e6
    for r in jsonl(os.path.join(d, "ours.jsonl")):
        if r.get("who") != "burstpipe":
            continue
        group = "develop, in memory" if "develop" in r["method"] else "demosaic, in memory"
        add(group, r["method"], r["ms"], r["mp"])
    for r in jsonl(os.path.join(d, "peers.jsonl")):
        group = "develop, in memory" if r["method"].startswith("LibRaw") else "demosaic, in memory"
        add(group, r["method"], r["ms"], r["mp"])

    # Develop as processes: the DNG peers.py wrote, to a 16-bit TIFF.
    dng = os.path.join(d, "mosaic.dng")
    add("develop, process", "burstpipe develop (RCD, DNG -> 16-bit TIFF)",
        time_process([burstpipe, "--adapter", args.adapter, "develop", dng, "-o", os.path.join(d, "ours.tif")],
                     args.runs, args.warmup), mp)
    if shutil.which("rawtherapee-cli"):
        for method, name in (("amaze", "AMaZE"), ("rcd", "RCD")):
            pp3 = os.path.join(d, f"{method}.pp3")
            open(pp3, "w").write(PP3.format(method=method))
            try:
                ms = time_process(["rawtherapee-cli", "-Y", "-t", "-b16", "-o", os.path.join(d, f"rt-{method}.tif"),
                                   "-p", pp3, "-c", dng], args.runs, args.warmup)
                add("develop, process", f"rawtherapee-cli {name} (DNG -> 16-bit TIFF)", ms, mp)
            except subprocess.CalledProcessError as e:
                notes.append(f"rawtherapee-cli {name} failed: {e}")
    else:
        notes.append("rawtherapee-cli not installed (apt-get install rawtherapee): its rows are missing")

    # Fusion as processes on one JPEG bracket.
    f = os.path.join(out, "fusion")
    run([py, os.path.join(ROOT, "benches", "fusion", "make_bracket_12mp.py"), f], cwd=ROOT)
    bracket = [os.path.join(f, n) for n in ("0-ev-2.jpg", "1-ev+0.jpg", "2-ev+2.jpg")]
    fmp = 4000 * 3000 / 1e6
    # --no-align: enfuse and MergeMertens do not align either; the aligned default is the next row.
    add("fusion, process", "burstpipe fuse --no-align (3 JPEG -> JPEG)",
        time_process([burstpipe, "--adapter", args.adapter, "fuse", "--no-align", *bracket, "-o", os.path.join(f, "ours.jpg")],
                     args.runs, args.warmup), fmp)
    add("fusion, process", "burstpipe fuse, aligned (the default)",
        time_process([burstpipe, "--adapter", args.adapter, "fuse", *bracket, "-o", os.path.join(f, "ours-aligned.jpg")],
                     args.runs, args.warmup), fmp)
    if shutil.which("enfuse"):
        add("fusion, process", "enfuse 1/1/1 weights (3 JPEG -> JPEG)",
            time_process(["enfuse", "--exposure-weight=1", "--saturation-weight=1", "--contrast-weight=1",
                          "-o", os.path.join(f, "enfuse.jpg"), *bracket], args.runs, args.warmup), fmp)
    else:
        notes.append("enfuse not installed (apt-get install enfuse): its row is missing")
    cv_script = os.path.join(ROOT, "benches", "fusion", "opencv_mertens.py")
    add("fusion, process", "OpenCV MergeMertens (python process, 3 JPEG -> JPEG)",
        time_process([py, cv_script, os.path.join(f, "opencv.jpg"), *bracket], args.runs, args.warmup), fmp)
    fusion_only = []
    for _ in range(args.runs):
        p = run([py, cv_script, os.path.join(f, "opencv.jpg"), *bracket], capture_output=True)
        fusion_only.append(float(re.search(r"fusion ([0-9.]+) s", p.stdout).group(1)) * 1e3)
    add("fusion, in memory", "OpenCV MergeMertens.process() (8-bit in, float out)", statistics.median(fusion_only), fmp)

    # burstpipe bench (in memory, profiled): the fuse row, and its table for the record.
    b = os.path.join(out, "bench")
    if args.bench_json:
        report = json.load(open(args.bench_json))
    else:
        with open(os.path.join(out, "bench.txt"), "w") as t:
            run([burstpipe, "--adapter", args.adapter, "bench", "--quick", "--sizes", f"{args.mp:g}", "--out", b],
                stdout=t)
        report = json.load(open(os.path.join(b, "bench.json")))
    for a in report["adapters"]:
        for r in a["results"]:
            if abs(r["width"] * r["height"] / 1e6 - args.mp) > 0.1 * args.mp:
                continue
            if r["stage"] == "fuse" and r.get("error") is None:
                bmp = r["width"] * r["height"] / 1e6
                # The bench's fuse aligns the bracket first (the default); MergeMertens does not:
                # its peer is the fusion stages alone, by the device's own time.
                align = sum(s["gpu_ms"] for s in r.get("steps", []) if s["name"] == "bracket alignment")
                add("fusion, in memory", "burstpipe Engine::fuse (16-bit), GPU time less alignment",
                    r["gpu_ms"] - align, bmp)
                add("fusion, in memory", "burstpipe Engine::fuse, aligned (the default), wall", r["wall_ms"], bmp)
            elif r.get("error"):
                notes.append(f"burstpipe bench {r['stage']} at {args.mp:g} MP: {r['error']}")

    # Burst merge in memory.
    m = os.path.join(out, "merge")
    run([os.path.join(args.bin, "bench_merge"), "--out", m, "--size", args.merge_size,
         "--runs", args.merge_runs, "--warmup", 0, "--json", os.path.join(m, "ours.jsonl")], stdout=subprocess.DEVNULL)
    run([py, os.path.join(ROOT, "benches", "peers_merge.py"), m, "--runs", args.merge_runs, "--warmup", 0,
         "--json", os.path.join(m, "peers.jsonl")], stdout=subprocess.DEVNULL)
    for r in jsonl(os.path.join(m, "ours.jsonl")) + jsonl(os.path.join(m, "peers.jsonl")):
        if "merge" in r["method"] or "NL-means" in r["method"] or "ECC" in r["method"] or "align" in r["method"]:
            add("merge, in memory", r["method"], r["ms"], r["mp"], r.get("frames", 8))

    refs = {
        "demosaic, in memory": "burstpipe demosaic RCD",
        "develop, in memory": "burstpipe develop RCD",
        "develop, process": "burstpipe develop",
        "fusion, process": "burstpipe fuse",
        "fusion, in memory": "burstpipe Engine::fuse",
        "merge, in memory": "burstpipe merge",
    }
    adapter = next((f"{a['name']} ({a['backend']})" for a in report["adapters"]), "?")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"burstpipe on {adapter}; CPU {cpu}, {os.cpu_count()} cores; load {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"inputs: develop {w}x{h} ({mp:.2f} MP) mosaic; fusion 3 x 4000x3000 JPEG; merge 8 x {args.merge_size}; "
          f"median of {args.runs} (merge {args.merge_runs}) after {args.warmup} warm-up")
    print(f"{'group':<20} {'method':<62} {'ms':>9} {'ms/MP':>9} {'x ours':>7}")
    for group, ref_name in refs.items():
        g = [r for r in rows if r["group"] == group]
        ref = next((r for r in g if r["method"].startswith(ref_name)), None)
        for r in g:
            ratio = f"{r['ms_per_mp'] / ref['ms_per_mp']:.2f}" if ref else "-"
            print(f"{group:<20} {r['method'][:62]:<62} {r['ms']:>9.1f} {r['ms_per_mp']:>9.2f} {ratio:>7}")
    print("x ours: the row's ms/MP over the group's first burstpipe row named in peers_all.py (> 1: slower than ours).")
    print("merge ms/MP is per frame. On a software adapter (lavapipe) burstpipe and the CPU peers share the same cores.")
    for n in notes:
        print("note:", n)
    json.dump({"rows": rows, "notes": notes}, open(os.path.join(out, "peers_all.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
