#!/usr/bin/env python3
"""Writes a 12 MP (4000x3000) bracket of three JPEGs (-2, 0, +2 EV) made from a Kodak photo
(upscaled, linearized, exposed, clipped, sRGB-encoded) into the folder given, for the fusion
benchmark. Usage: make_bracket_12mp.py OUT_DIR"""
import os
import sys

import cv2
import numpy as np


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    bgr = cv2.imread(os.path.join("assets", "kodak", "kodim21.png"), cv2.IMREAD_COLOR)
    big = cv2.resize(bgr, (4000, 3000), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    lin = np.where(big <= 0.04045, big / 12.92, ((big + 0.055) / 1.055) ** 2.4)
    for i, ev in enumerate([-2, 0, 2]):
        x = np.clip(lin * 2.0**ev, 0, 1)
        s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
        cv2.imwrite(os.path.join(out, f"{i}-ev{ev:+d}.jpg"), np.round(s * 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])


if __name__ == "__main__":
    main()
