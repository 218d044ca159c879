#!/usr/bin/env python3
"""Peer demosaicers on the same mosaic as bench_develop: OpenCV (cv2.cvtColor Bayer -> RGB:
bilinear, edge-aware, VNG) and LibRaw through rawpy (LINEAR and AHD), timed on this CPU.

    python3 benches/peers.py DIR [--runs 7] [--warmup 2] [--ours DIR/ours.jsonl] [--json FILE]

DIR is bench_develop's --out folder: mosaic.png (16-bit single channel), mosaic.json (size, CFA,
levels) and truth.png (16-bit linear RGB, when the mosaic was made from a photo). A minimal
uncompressed DNG of the mosaic is written there for LibRaw. Times are wall clock of the call only
(the input is already in memory, the output stays in memory), warm-up then median of N.
With --ours, bench_develop's JSON lines are merged and ONE table is printed, with each method's
time relative to OpenCV bilinear (16-bit, default threads).
"""

import argparse
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np
import rawpy
import tifffile


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return statistics.median(samples), min(samples)


def psnr16(a, b, border=8):
    a = a[border:-border, border:-border].astype(np.float64)
    b = b[border:-border, border:-border].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return 10 * np.log10(65535.0**2 / max(mse, 1e-12))


# OpenCV names a Bayer pattern by the 2nd and 3rd pixels of its second row, so the code for a
# CFA is not its name; the right one is chosen by PSNR against the truth when it is known.
CV_CANDIDATES = {
    "rggb": ("BayerRG", "BayerBG"),
    "bggr": ("BayerBG", "BayerRG"),
    "grbg": ("BayerGR", "BayerGB"),
    "gbrg": ("BayerGB", "BayerGR"),
}

CFA_DNG = {"rggb": (0, 1, 1, 2), "bggr": (2, 1, 1, 0), "grbg": (1, 0, 2, 1), "gbrg": (1, 2, 0, 1)}


def write_dng(path, mosaic, cfa, black, white):
    """A minimal uncompressed, single-strip CFA DNG that LibRaw opens."""
    h, w = mosaic.shape
    srgb_to_xyz_inv = [  # XYZ -> linear sRGB (ColorMatrix1: XYZ -> camera, camera = sRGB)
        (3.2406, -1.5372, -0.4986),
        (-0.9689, 1.8758, 0.0415),
        (0.0557, -0.2040, 1.0570),
    ]
    cm = []
    for row in srgb_to_xyz_inv:
        for v in row:
            cm += [int(round(v * 10000)), 10000]
    extratags = [
        (254, "I", 1, 0, True),  # NewSubfileType: main image
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, CFA_DNG[cfa], True),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "burstpipe bench", True),  # UniqueCameraModel
        (50714, "H", 1, int(black), True),  # BlackLevel
        (50717, "H", 1, int(white), True),  # WhiteLevel
        (50721, "q", 9, tuple(cm), True),  # ColorMatrix1 (SRATIONAL)
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    ]
    # tifffile has no SRATIONAL dtype code 'q'; pass it as dtype 10 (SRATIONAL) explicitly.
    extratags = [(c, 10 if d == "q" else d, n, v, o) for c, d, n, v, o in extratags]
    tifffile.imwrite(
        path,
        mosaic,
        photometric=32803,  # CFA
        planarconfig="contig",
        rowsperstrip=h,
        compression=None,
        metadata=None,
        extratags=extratags,
        software=False,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--ours", help="bench_develop JSON lines to merge into one table")
    ap.add_argument("--json", help="write the peers' JSON lines here")
    args = ap.parse_args()

    meta = json.load(open(os.path.join(args.dir, "mosaic.json")))
    cfa = meta["cfa"]
    black, white = meta["black"][0], meta["white"]
    mosaic = cv2.imread(os.path.join(args.dir, "mosaic.png"), cv2.IMREAD_UNCHANGED)
    if mosaic is None or mosaic.dtype != np.uint16 or mosaic.ndim != 2:
        sys.exit("peers.py: mosaic.png must be a 16-bit single-channel image")
    h, w = mosaic.shape
    mp = w * h / 1e6
    truth_path = os.path.join(args.dir, "truth.png")
    truth = None
    if os.path.exists(truth_path):
        truth = cv2.cvtColor(cv2.imread(truth_path, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)

    # Plain demosaic output on the 16-bit scale with black at 0: comparable with the truth.
    def rescale(rgb16):
        if black == 0 and white == 65535:
            return rgb16
        v = (rgb16.astype(np.float32) - black) * (65535.0 / (white - black))
        return np.clip(np.rint(v), 0, 65535).astype(np.uint16)

    first, second = CV_CANDIDATES[cfa]
    code_name = first
    if truth is not None:
        scores = {
            n: psnr16(rescale(cv2.cvtColor(mosaic, getattr(cv2, f"COLOR_{n}2RGB"))), truth)
            for n in (first, second)
        }
        code_name = max(scores, key=scores.get)
    bilinear = getattr(cv2, f"COLOR_{code_name}2RGB")
    ea = getattr(cv2, f"COLOR_{code_name}2RGB_EA")
    vng = getattr(cv2, f"COLOR_{code_name}2RGB_VNG")
    mosaic8 = (mosaic >> 8).astype(np.uint8)

    threads = cv2.getNumThreads()
    print(f"peers: OpenCV {cv2.__version__} ({threads} threads by default, code {code_name}), "
          f"rawpy {rawpy.__version__} / LibRaw {'.'.join(map(str, rawpy.libraw_version))} "
          f"(OpenMP: {rawpy.flags.get('OPENMP') if rawpy.flags else 'unknown'}), numpy {np.__version__}; "
          f"{w}x{h} = {mp:.2f} MP, {args.warmup} warm-up + median of {args.runs}", file=sys.stderr)

    rows = []

    def add(method, fn, n_threads, timing, quality=None):
        med, mn = timed(fn, args.warmup, args.runs)
        out = fn()
        psnr = None
        if truth is not None and quality is not None:
            psnr = psnr16(quality(out), truth)
        rows.append({
            "who": "peer", "method": method, "ms": med, "ms_min": mn, "ms_per_mp": med / mp,
            "mp": mp, "runs": args.runs, "psnr_db": psnr, "threads": n_threads, "timing": timing,
        })

    cpu = "wall clock of the call, data in memory"
    for n in sorted({threads, 1}, reverse=True):
        cv2.setNumThreads(n)
        add(f"OpenCV bilinear 16-bit ({n} thr)", lambda: cv2.cvtColor(mosaic, bilinear), n, cpu, rescale)
    cv2.setNumThreads(threads)
    add(f"OpenCV bilinear 8-bit ({threads} thr)", lambda: cv2.cvtColor(mosaic8, bilinear), threads, cpu,
        lambda o: rescale(o.astype(np.uint16) * 257))
    add(f"OpenCV edge-aware 16-bit ({threads} thr)", lambda: cv2.cvtColor(mosaic, ea), threads, cpu, rescale)
    add(f"OpenCV VNG 8-bit only ({threads} thr)", lambda: cv2.cvtColor(mosaic8, vng), threads, cpu,
        lambda o: rescale(o.astype(np.uint16) * 257))

    dng = os.path.join(args.dir, "mosaic.dng")
    write_dng(dng, mosaic, cfa, black, white)
    omp = bool(rawpy.flags and rawpy.flags.get("OPENMP"))
    for name, algo in (("linear", rawpy.DemosaicAlgorithm.LINEAR), ("AHD", rawpy.DemosaicAlgorithm.AHD),
                       ("DCB", rawpy.DemosaicAlgorithm.DCB)):
        raw = rawpy.imread(dng)
        kw = dict(demosaic_algorithm=algo, output_bps=16, no_auto_bright=True, gamma=(1, 1),
                  output_color=rawpy.ColorSpace.raw, use_camera_wb=False, use_auto_wb=False,
                  user_wb=[1.0, 1.0, 1.0, 1.0], user_flip=0, half_size=False)
        add(f"LibRaw {name} (dcraw_process, 16-bit)", lambda: raw.postprocess(**kw),
            os.cpu_count() if omp else 1, "wall clock of postprocess() on the opened file (decode excluded)",
            lambda o: o)
        raw.close()

    rawtherapee_rows(args, dng, mp, truth, rows)

    lines = "".join(json.dumps(r) + "\n" for r in rows)
    if args.json:
        with open(args.json, "w") as f:
            f.write(lines)

    ours = []
    adapter = None
    if args.ours:
        for line in open(args.ours):
            r = json.loads(line)
            if r["who"] == "pieces" or (r["who"] == "prototype" and "kernel only" in r["method"]):
                continue
            adapter = r.get("adapter", adapter)
            ours.append(r)
    base = next(r for r in rows if r["method"].startswith("OpenCV bilinear 16-bit") and r["threads"] == threads)
    print()
    if adapter:
        print(f"adapter: {adapter};  CPU: {os.cpu_count()} cores ({cpu_name()}); load average {load()}")
    print(f"{w}x{h} RGGB mosaic ({mp:.2f} MP) from {os.path.basename(meta.get('source', '?'))}; "
          f"median of {args.runs} after {args.warmup} warm-up; ratio = time / OpenCV bilinear 16-bit "
          f"({threads} thr), > 1 is slower")
    print(f"{'method':<62} {'ms':>8} {'min ms':>8} {'ms/MP':>7} {'ratio':>6} {'PSNR dB':>8}")
    for r in ours + rows:
        psnr = "-" if r.get("psnr_db") is None else f"{r['psnr_db']:.2f}"
        print(f"{r['method']:<62} {r['ms']:>8.1f} {r.get('ms_min', float('nan')):>8.1f} {r['ms_per_mp']:>7.2f} "
              f"{r['ms_per_mp'] / base['ms_per_mp']:>6.1f} {psnr:>8}")
    print("burstpipe rows: wall clock of the public call incl. u16 upload, kernels, download, unpack;")
    print("OpenCV rows: cvtColor only;")
    print("LibRaw rows: postprocess() only. PSNR: plain demosaics vs the linear truth, 8 px border excluded.")


# A processing profile that selects the demosaicer and leaves everything else neutral: no
# sharpening (capture or output), no noise reduction, no CA correction or false-colour steps, no
# auto exposure, linear output (RawTherapee still converts to its working/output colour space).
PP3 = """[Version]
AppVersion=5.9
Version=346

[Exposure]
Auto=false
Compensation=0
HighlightCompr=0
Black=0
Brightness=0
Contrast=0
Saturation=0
CurveMode=Standard
Curve=0;
Curve2=0;

[HLRecovery]
Enabled=false

[Sharpening]
Enabled=false

[PostDemosaicSharpening]
Enabled=false

[Directional Pyramid Denoising]
Enabled=false

[Impulse Denoising]
Enabled=false

[Defringing]
Enabled=false

[Color Management]
InputProfile=(camera)
OutputProfile=RTv4_sRGB
OutputProfileIntent=Relative

[RAW]
CA=false
CAAvoidColourshift=false
HotPixelFilter=false
DeadPixelFilter=false

[RAW Bayer]
Method={method}
Border=4
CcSteps=0
LineDenoise=0
GreenEqThreshold=0
DCBIterations=0
DCBEnhance=false
"""


def rawtherapee_rows(args, dng, mp, truth, rows):
    """rawtherapee-cli (apt-get install rawtherapee) on the same DNG: AMaZE and RCD. Timed as a
    process (start, decode, the whole neutral pipeline, 16-bit TIFF write): an upper bound of the
    demosaic's own cost, so the time of the same profile with the cheapest method (fast) is
    printed too; the difference is the demosaicer."""
    import shutil
    import subprocess
    exe = shutil.which("rawtherapee-cli")
    if exe is None:
        print("peers: rawtherapee-cli not found (apt-get install rawtherapee): no RawTherapee rows", file=sys.stderr)
        return
    version = subprocess.run([exe, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    runs = max(1, min(args.runs, 3))
    for label, method in (("fast", "fast"), ("AMaZE", "amaze"), ("RCD", "rcd")):
        pp3 = os.path.join(args.dir, f"rt-{method}.pp3")
        with open(pp3, "w") as f:
            f.write(PP3.format(method=method))
        out = os.path.join(args.dir, f"rt-{method}.tif")
        cmd = [exe, "-q", "-Y", "-t", "-b16", "-p", pp3, "-o", out, "-c", dng]

        def run():
            subprocess.run(cmd, check=True, capture_output=True)

        med, mn = timed(run, 1, runs)
        rows.append({
            "who": "peer", "method": f"RawTherapee {label} ({version.split(',')[1].strip()}, rawtherapee-cli process)",
            "ms": med, "ms_min": mn, "ms_per_mp": med / mp, "mp": mp, "runs": runs, "psnr_db": None,
            "threads": os.cpu_count(), "timing": "wall clock of the rawtherapee-cli process (decode, pipeline, TIFF write)",
        })


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def load():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
