#!/usr/bin/env python3
"""CPU peers of burstpipe's burst merge on the same burst as bench_merge (frameKK.png 16-bit
mosaics, truth.png, burst.json), and ONE table with burstpipe's rows (--ours ours.jsonl):
ms, ms per megapixel per frame, ratio to the OpenCV NL-means row, PSNR against the clean truth.

Peers (what a user could pick on the same raw burst, OpenCV only):
  * OpenCV NL-means multi-frame: per frame cvtColor Bayer -> RGB (edge-aware, 16-bit), levels,
    sRGB 8-bit, then cv2.fastNlMeansDenoisingColoredMulti on a temporal window of 7 frames
    (the reference in its middle: the window must be odd, so one of the 8 frames is left out).
    The search window (21 px) covers the burst's motion, so no explicit alignment is needed.
  * OpenCV ECC align + average: per frame cvtColor Bayer -> RGB (float), cv2.findTransformECC
    (Euclidean: shift + rotation) of its half-size gray against the reference's, cv2.warpAffine,
    mean of the 8 frames, sRGB.
  * OpenCV develop of frame 0 only: the no-merge baseline.
Every peer is timed from the 16-bit mosaics in memory to the finished sRGB image (file reading
excluded), like burstpipe's merge + develop rows; warm-up, then median.

    python3 benches/peers_merge.py DIR --ours DIR/ours.jsonl [--runs 3] [--warmup 1] [--json F]
"""

import argparse
import json
import os
import statistics
import time

import cv2
import numpy as np


def srgb(x):
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def psnr(a, truth, border):
    """PSNR (dB) of a [0, 1] RGB image against the [0, 1] truth, border excluded (as cpsnr)."""
    a = a[border:-border, border:-border].astype(np.float64)
    b = truth[border:-border, border:-border]
    return 10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-20))


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts), min(ts), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ours", help="bench_merge --json output")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--nlm-h", type=float, default=16.0,
                    help="NL-means strength h (default 16: the best whole-photo PSNR of 16, 24 "
                         "and 28 on this burst); 0 = tune on four crops (biased towards larger h)")
    ap.add_argument("--json", help="write the peer rows here (JSON lines)")
    a = ap.parse_args()

    meta = json.load(open(os.path.join(a.dir, "burst.json")))
    n, black, white, border = meta["frames"], meta["black"], meta["white"], meta["border"]
    ref = meta["reference"]
    mosaics = [cv2.imread(os.path.join(a.dir, f"frame{k:02d}.png"), cv2.IMREAD_UNCHANGED)
               for k in range(n)]
    truth = cv2.cvtColor(cv2.imread(os.path.join(a.dir, "truth.png"), cv2.IMREAD_UNCHANGED),
                         cv2.COLOR_BGR2RGB).astype(np.float64) / 65535.0
    h, w = mosaics[0].shape
    mp = w * h / 1e6
    scale = 1.0 / (white - black)

    # OpenCV names Bayer patterns by the second row: pick RGGB's code by PSNR on the reference.
    def lin(m, code):
        rgb = cv2.cvtColor(m, code).astype(np.float32)
        return (rgb - black) * scale

    code = max((cv2.COLOR_BayerRG2RGB, cv2.COLOR_BayerBG2RGB),
               key=lambda c: psnr(srgb(lin(mosaics[ref], c)), truth, border))
    code_ea = {cv2.COLOR_BayerRG2RGB: cv2.COLOR_BayerRG2RGB_EA,
               cv2.COLOR_BayerBG2RGB: cv2.COLOR_BayerBG2RGB_EA}[code]

    def developed8(m):
        return (srgb(lin(m, code_ea)) * 255.0 + 0.5).astype(np.uint8)

    # NL-means: a temporal window of 7 (odd) with the reference in the middle.
    win = n if n % 2 == 1 else n - 1
    order = [k for k in range(n) if k != ref][: win - 1]
    order = order[: win // 2] + [ref] + order[win // 2:]

    def nlm(hh, crop=None):
        frames = [developed8(mosaics[k] if crop is None else mosaics[k][crop]) for k in order]
        return cv2.fastNlMeansDenoisingColoredMulti(frames, win // 2, win, None, hh, hh, 7, 21)

    nlm_h = a.nlm_h
    if not nlm_h:
        # Fair to the peer: its strength is tuned for the best mean PSNR on four 256×256 crops of
        # this burst (one crop alone picks a value that is worse on the whole photo).
        crops = [(slice(y, y + 256), slice(x, x + 256))
                 for y in (h // 4 - 128, 3 * h // 4 - 128) for x in (w // 4 - 128, 3 * w // 4 - 128)]
        nlm_h = max((8, 11, 14, 17, 20, 24),
                    key=lambda hh: np.mean([psnr(nlm(hh, c).astype(np.float64) / 255.0, truth[c],
                                                 border) for c in crops]))

    def ecc_average():
        rgbs = [lin(m, code) for m in mosaics]
        grays = [cv2.resize(r.mean(axis=2), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                 for r in rgbs]
        acc = rgbs[ref].copy()
        crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
        for k in range(n):
            if k == ref:
                continue
            warp = np.eye(2, 3, dtype=np.float32)
            _, warp = cv2.findTransformECC(grays[ref], grays[k], warp, cv2.MOTION_EUCLIDEAN,
                                           crit, None, 5)
            # Half-size gray pixel i is sensor pixels 2i, 2i + 1: x_sensor = 2 x_gray + 0.5.
            full = warp.copy()
            full[:, 2] = 2 * warp[:, 2] - 0.5 * (warp[:, 0] + warp[:, 1]) + 0.5
            acc += cv2.warpAffine(rgbs[k], full, (w, h),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
        return srgb(acc / n)

    peers = [
        (f"OpenCV NL-means multi ({win} frames, h={nlm_h:g})", lambda: nlm(nlm_h), win,
         lambda o: o.astype(np.float64) / 255.0),
        (f"OpenCV ECC align + average ({n} frames)", ecc_average, n, lambda o: o),
        ("OpenCV develop frame 0 only (no merge)", lambda: srgb(lin(mosaics[ref], code_ea)), 1,
         lambda o: o),
    ]
    rows = []
    for name, fn, frames, to01 in peers:
        med, mn, out = timed(fn, a.runs, a.warmup)
        rows.append({"who": "OpenCV", "method": name, "ms": med, "ms_min": mn,
                     "ms_per_mp_frame": med / (mp * frames), "mp": mp, "frames": frames,
                     "runs": a.runs, "psnr_db": psnr(to01(out), truth, border),
                     "threads": cv2.getNumThreads()})
    if a.json:
        with open(a.json, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")

    ours = [json.loads(line) for line in open(a.ours)] if a.ours else []
    base = rows[0]["ms"]
    print(f"burst: {n} frames {w}x{h} ({mp:.2f} MP), {meta['noise']} noise; "
          f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; "
          f"adapter: {ours[0]['adapter'] if ours else '-'}")
    print(f"{'method':<46} {'ms':>9} {'ms/MP/frame':>12} {'x NLM':>7} {'PSNR dB':>8} "
          f"{'H2D B/px':>8} {'D2H B/px':>8}")
    for r in ours + rows:
        p = "-" if r.get("psnr_db") is None else f"{r['psnr_db']:.2f}"
        h2d = f"{r['h2d_bpp']:.2f}" if "h2d_bpp" in r else "-"
        d2h = f"{r['d2h_bpp']:.2f}" if "d2h_bpp" in r else "-"
        print(f"{r['method']:<46} {r['ms']:>9.1f} {r['ms_per_mp_frame']:>12.2f} "
              f"{base / r['ms']:>7.2f} {p:>8} {h2d:>8} {d2h:>8}")
    print("x NLM = OpenCV NL-means time / this row's time (> 1: faster than NL-means); "
          "B/px = host<->device bytes per sensor pixel of the whole call (from the schedule)")


if __name__ == "__main__":
    main()
