#!/usr/bin/env python3
"""Demosaic quality of independent implementations on the same two photo sets as
tests/demosaic_quality.rs: Kodak (assets/kodak, 24) and the second set (assets/photos2, 8).

    python3 benches/demosaic_peers.py [--burstpipe target/release/burstpipe] [--cfa rggb]

Each photo (8-bit sRGB values, used as they are, as demosaicing benchmarks do) is sampled through
the CFA at 16 bits (v·257) and demosaiced by
  - colour-demosaicing (pip install colour-demosaicing): bilinear, Malvar 2004, Menon 2007, on
    the mosaic as floats;
  - LibRaw through rawpy (pip install rawpy tifffile): the mosaic written as a linear DNG (black
    0, white 65535) and developed with dcraw_process, raw colour, linear 16-bit, unit white
    balance, no scaling of the maximum: LINEAR, VNG, PPG, AHD, DCB, DHT, AAHD (AMaZE and LMMSE
    are in LibRaw's GPL demosaic packs, which rawpy's wheels do not include);
  - with --burstpipe, our CLI (`burstpipe demosaic`): bilinear, mhc, rcd.
Mean CPSNR per set, 10-px border excluded (the tests' measure); --per-image prints every photo.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import rawpy
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import write_dng  # noqa: E402  (the bench's minimal CFA DNG writer)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PHOTOS2 = ["astronaut", "chelsea", "coffee", "ihc", "rocket", "hubble", "gravel", "grass"]
CFA_INDEX = {"rggb": "RGGB", "bggr": "BGGR", "grbg": "GRBG", "gbrg": "GBRG"}


def sets():
    kodak = [os.path.join(ROOT, "assets/kodak", f"kodim{i:02}.png") for i in range(1, 25)]
    photos2 = [os.path.join(ROOT, "assets/photos2", f"{n}.png") for n in PHOTOS2]
    return {"Kodak (24)": kodak, "photos2 (8)": photos2}


def cpsnr(truth, test, border=10):
    """truth, test: float arrays on [0, 1]."""
    d = truth[border:-border, border:-border] - test[border:-border, border:-border]
    return 10 * np.log10(1.0 / np.mean(d * d))


def mosaic16(rgb8, pattern):
    h, w, _ = rgb8.shape
    idx = {"R": 0, "G": 1, "B": 2}
    m = np.zeros((h, w), np.uint16)
    for k, ch in enumerate(pattern):
        y, x = k // 2, k % 2
        m[y::2, x::2] = rgb8[y::2, x::2, idx[ch]].astype(np.uint16) * 257
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burstpipe", help="path to the burstpipe binary (adds our methods)")
    ap.add_argument("--cfa", default="rggb", choices=sorted(CFA_INDEX))
    ap.add_argument("--per-image", action="store_true")
    args = ap.parse_args()

    import colour_demosaicing as cd

    pattern = CFA_INDEX[args.cfa]
    colour_methods = {
        "colour-demosaicing bilinear": cd.demosaicing_CFA_Bayer_bilinear,
        "colour-demosaicing Malvar 2004": cd.demosaicing_CFA_Bayer_Malvar2004,
        "colour-demosaicing Menon 2007": cd.demosaicing_CFA_Bayer_Menon2007,
    }
    libraw = ["LINEAR", "VNG", "PPG", "AHD", "DCB", "DHT", "AAHD"]
    ours = ["bilinear", "mhc", "rcd"] if args.burstpipe else []
    results = {}  # method -> set -> [db]
    tmp = tempfile.mkdtemp(prefix="demosaic-peers-")
    for set_name, files in sets().items():
        for path in files:
            name = os.path.splitext(os.path.basename(path))[0]
            rgb8 = np.asarray(Image.open(path).convert("RGB"))
            truth = rgb8.astype(np.float64) / 255.0
            m = mosaic16(rgb8, pattern)

            def record(method, out01):
                db = cpsnr(truth, np.clip(out01, 0.0, 1.0))
                results.setdefault(method, {}).setdefault(set_name, []).append(db)
                if args.per_image:
                    print(f"{set_name} {name} {method}: {db:.2f}", file=sys.stderr)

            for method, fn in colour_methods.items():
                record(method, fn(m.astype(np.float64) / 65535.0, pattern))
            dng = os.path.join(tmp, f"{name}.dng")
            write_dng(dng, m, args.cfa, 0, 65535)
            for algo in libraw:
                with rawpy.imread(dng) as raw:
                    out = raw.postprocess(
                        demosaic_algorithm=getattr(rawpy.DemosaicAlgorithm, algo), output_bps=16,
                        no_auto_bright=True, gamma=(1, 1), output_color=rawpy.ColorSpace.raw,
                        use_camera_wb=False, use_auto_wb=False, user_wb=[1.0, 1.0, 1.0, 1.0],
                        user_flip=0, half_size=False, adjust_maximum_thr=0.0, user_black=0,
                        user_sat=65535)
                record(f"LibRaw {algo}", out.astype(np.float64) / 65535.0)
            if ours:
                mpath = os.path.join(tmp, f"{name}-mosaic.png")
                Image.fromarray(m).save(mpath)
                for method in ours:
                    opath = os.path.join(tmp, f"{name}-{method}.png")
                    subprocess.run([args.burstpipe, "demosaic", mpath, "--cfa", args.cfa, "--method", method,
                                    "-o", opath], check=True, capture_output=True)
                    import cv2  # 16-bit RGB PNG reading (PIL reads 16-bit RGB poorly)
                    out = cv2.cvtColor(cv2.imread(opath, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
                    record(f"burstpipe {method}", out.astype(np.float64) / 65535.0)

    names = list(sets())
    print(f"mean CPSNR (dB), {args.cfa.upper()}, 10-px border excluded; colour-demosaicing "
          f"{cd.__version__}, rawpy {rawpy.__version__} / LibRaw {'.'.join(map(str, rawpy.libraw_version))}")
    print(f"{'method':<34}" + "".join(f"{n:>14}" for n in names))
    for method, per_set in results.items():
        print(f"{method:<34}" + "".join(f"{np.mean(per_set[n]):>14.2f}" for n in names))


if __name__ == "__main__":
    main()
