#!/usr/bin/env python3
"""Develop every raw of a folder with burstpipe (default, --tone curve), LibRaw (rawpy defaults)
and rawtherapee-cli (default profile); write a contact sheet (one row per file, one column per
developer, each image fitted in a cell, failures shown as their error) and print a CIEDE2000
table for the files that have a ColorChecker chart JSON (same stem). See compare.sh."""
import argparse
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import rawpy
from PIL import Image, ImageDraw

CELL = 420


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    err = (p.stderr or p.stdout).strip().splitlines()
    return p.returncode == 0, (err[0] if err else f"exit {p.returncode}")


def develop(tool, raw, png, args):
    if tool.startswith("burstpipe"):
        extra = ["--tone", "curve"] if tool.endswith("curve") else []
        return run([args.bin, "develop", raw, "-o", png, "--bits", "8"] + extra)
    if tool == "LibRaw":
        try:
            with rawpy.imread(raw) as r:
                Image.fromarray(r.postprocess()).save(png)
            return True, ""
        except Exception as e:  # noqa: BLE001 - any failure is a table entry
            return False, f"{type(e).__name__}: {e}"
    if tool == "RawTherapee":
        if not shutil.which("rawtherapee-cli"):
            return False, "rawtherapee-cli missing"
        return run(["rawtherapee-cli", "-Y", "-n", "-o", png, "-c", raw])
    raise ValueError(tool)


def score(png, chart, scorer):
    ok, line = run([sys.executable, scorer, png, chart, "--grey-wb"])
    if not ok:
        return None
    # "dE00 mean M max X chroma-only mean C"
    w = line.split()
    return float(w[2]), float(w[4])


def cell(png, ok, msg):
    img = Image.new("RGB", (CELL, CELL), (40, 40, 40))
    if ok and os.path.exists(png):
        im = Image.open(png).convert("RGB")
        im.thumbnail((CELL, CELL))
        img.paste(im, ((CELL - im.width) // 2, (CELL - im.height) // 2))
    else:
        d = ImageDraw.Draw(img)
        d.text((10, 10), "\n".join(textwrap.wrap("failed: " + msg, 60)), fill=(255, 120, 120))
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raws")
    ap.add_argument("out")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--charts", required=True)
    ap.add_argument("--scorer", required=True)
    args = ap.parse_args()
    tools = ["burstpipe", "burstpipe curve", "LibRaw", "RawTherapee"]
    files = sorted(f for f in os.listdir(args.raws) if not f.startswith("."))
    sheet = Image.new("RGB", (CELL * len(tools), (CELL + 24) * len(files) + 24), (20, 20, 20))
    draw = ImageDraw.Draw(sheet)
    for j, t in enumerate(tools):
        draw.text((j * CELL + 8, 6), t, fill=(255, 255, 255))
    print(f"{'file':44} " + " ".join(f"{t:>22}" for t in tools))
    for i, f in enumerate(files):
        raw = os.path.join(args.raws, f)
        stem = os.path.splitext(f)[0]
        chart = os.path.join(args.charts, stem + ".json")
        if not os.path.exists(chart):  # the LJ92 re-wrap shares the CRW's chart
            base = stem.replace("_lj92", "")
            chart = os.path.join(args.charts, base + ".json")
        y = 24 + i * (CELL + 24)
        draw.text((8, y + 4), f, fill=(255, 255, 255))
        row = []
        for j, t in enumerate(tools):
            png = os.path.join(args.out, f"{stem}.{t.replace(' ', '_')}.png")
            if os.path.exists(png):
                os.remove(png)
            ok, msg = develop(t, raw, png, args)
            sheet.paste(cell(png, ok, msg), (j * CELL, y + 24))
            if not ok:
                row.append("failed")
            elif os.path.exists(chart):
                s = score(png, chart, args.scorer)
                row.append(f"dE00 {s[0]:.2f} max {s[1]:.1f}" if s else "unscored")
            else:
                row.append("ok")
        print(f"{f:44} " + " ".join(f"{r:>22}" for r in row))
    sheet.save(os.path.join(args.out, "contact.png"))


if __name__ == "__main__":
    main()
