#!/usr/bin/env python3
"""Fuse every bracket of a folder (one sub-folder per bracket, its exposures as JPEG/PNG/TIFF)
with burstpipe (default, --no-align), enfuse and OpenCV MergeMertens; print a Markdown table of
MEF-SSIM (and times) and write contact.png: per bracket a row of its exposures then the four
fusions, each scaled to 200 px high, labelled.

usage: compare.py BRACKETS_DIR OUT_DIR --bin BURSTPIPE --scorer MEF_SSIM_PY"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import time

import cv2
import numpy as np

EXTS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("brackets")
    ap.add_argument("out")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--scorer", required=True)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("mef_ssim", a.scorer)
    M = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(M)
    enfuse = shutil.which("enfuse")
    methods = ["burstpipe", "burstpipe --no-align", "enfuse", "OpenCV"]
    print("| bracket | size | " + " | ".join(methods) + " | time default / --no-align |")
    print("|---|---|" + "---|" * len(methods) + "---|")
    rows, sums = [], {m: [] for m in methods}
    for name in sorted(os.listdir(a.brackets)):
        d = os.path.join(a.brackets, name)
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(EXTS))
        if len(files) < 2:
            continue
        outs = {m: os.path.join(a.out, f"{name}-{i}.png") for i, m in enumerate(methods)}
        t_al, r = timed([a.bin, "fuse", *files, "-o", outs[methods[0]], "--bits", "8"])
        assert r.returncode == 0, r.stderr
        t_na, r = timed([a.bin, "fuse", *files, "--no-align", "-o", outs[methods[1]], "--bits", "8"])
        assert r.returncode == 0, r.stderr
        if enfuse:
            tif = outs["enfuse"][:-4] + ".tif"
            r = subprocess.run([enfuse, "-o", tif, *files], capture_output=True, text=True)
            if r.returncode == 0:
                cv2.imwrite(outs["enfuse"], cv2.imread(tif))
        imgs = [cv2.imread(f) for f in files]
        fused = cv2.createMergeMertens(1.0, 1.0, 1.0).process(imgs)
        cv2.imwrite(outs["OpenCV"], np.round(np.clip(fused, 0, 1) * 255).astype(np.uint8))
        seq = np.stack([M.read_grey(f) for f in files])
        cells = []
        for m in methods:
            if os.path.exists(outs[m]):
                s = M.mef_ms_ssim(seq, M.read_grey(outs[m]))[0]
                sums[m].append(s)
                cells.append(f"{s:.4f}")
            else:
                cells.append("missing")
        h, w = imgs[0].shape[:2]
        print(f"| {name} | {w}×{h}, {len(files)} exp. | " + " | ".join(cells)
              + f" | {t_al:.2f} s / {t_na:.2f} s ({t_al / t_na:.2f}×) |", flush=True)
        rows.append((name, imgs, [(m, outs[m]) for m in methods]))
    means = [f"{np.mean(sums[m]):.4f}" if sums[m] else "-" for m in methods]
    print("| mean | | " + " | ".join(means) + " | |")
    sheet_rows = []
    for name, imgs, fusions in rows:
        tiles = [(os.path.basename(str(i)), im) for i, im in enumerate(imgs)]
        tiles += [(m, cv2.imread(p)) for m, p in fusions if os.path.exists(p)]
        line = []
        for label, im in tiles:
            im = cv2.resize(im, (int(im.shape[1] * 200 / im.shape[0]), 200), interpolation=cv2.INTER_AREA)
            cv2.putText(im, f"{name[:14]} {label}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
            line.append(im)
        sheet_rows.append(np.hstack(line))
    width = max(r.shape[1] for r in sheet_rows)
    sheet = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in sheet_rows])
    cv2.imwrite(os.path.join(a.out, "contact.png"), sheet)


if __name__ == "__main__":
    main()
