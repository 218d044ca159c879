#!/usr/bin/env python3
"""Makes the stored exposure-fusion test data in assets/fusion/, once.

There are no real bracketed photos among the assets, so brackets are made from real Kodak photos
the way a camera would shoot them: sRGB decoded to linear light, scaled by 2^EV (-2, 0, +2 EV),
clipped to [0, 1], sRGB-encoded again and stored as 8-bit PNG. A 384x256 centre crop keeps the
files small.

Each bracket is then fused by OpenCV's MergeMertens with the paper's weights (contrast 1,
saturation 1, well-exposedness 1), the images handed over in RGB order so that its grey
conversion (COLOR_RGB2GRAY) sees R, G, B as they are; the result, clipped to [0, 1], is stored as
8-bit PNG: the reference our fusion is compared with (tests/fusion_quality.rs).

Run from the repository root:  pip install opencv-python-headless numpy
                                python3 benches/fusion/make_references.py
"""
import os

import cv2
import numpy as np

NAMES = ["kodim21", "kodim08"]
EVS = [-2, 0, 2]
CROP = (384, 256)


def srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x):
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def main():
    out_dir = os.path.join("assets", "fusion")
    os.makedirs(out_dir, exist_ok=True)
    for name in NAMES:
        bgr = cv2.imread(os.path.join("assets", "kodak", name + ".png"), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        x0, y0 = (w - CROP[0]) // 2, (h - CROP[1]) // 2
        rgb = bgr[y0 : y0 + CROP[1], x0 : x0 + CROP[0], ::-1].astype(np.float64) / 255.0
        linear = srgb_to_linear(rgb)
        bracket = []
        for ev in EVS:
            exposed = np.clip(linear * 2.0**ev, 0.0, 1.0)
            img = np.round(linear_to_srgb(exposed) * 255.0).astype(np.uint8)
            bracket.append(np.ascontiguousarray(img))
            cv2.imwrite(os.path.join(out_dir, f"{name}-ev{ev:+d}.png"), img[:, :, ::-1])
        merge = cv2.createMergeMertens(1.0, 1.0, 1.0)
        fused = merge.process(bracket)
        fused = np.round(np.clip(fused, 0.0, 1.0) * 255.0).astype(np.uint8)
        cv2.imwrite(os.path.join(out_dir, f"{name}-opencv-mertens.png"), fused[:, :, ::-1])
        print(name, "OpenCV", cv2.__version__)


if __name__ == "__main__":
    main()
