#!/usr/bin/env python3
"""Rebuild this folder from scikit-image's bundled sample photos (pip install scikit-image).

PNG sources are kept as they are (cropped to even sizes); JPEG sources are box-downsampled by 2
first, which undoes their 4:2:0 chroma subsampling (at half size every pixel has its own chroma),
so no demosaicer is flattered by chroma that the JPEG already smoothed.
"""
import os
import numpy as np
import skimage.data as d
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
photos = {
    "astronaut": (d.astronaut(), False),
    "chelsea": (d.chelsea(), False),
    "coffee": (d.coffee(), False),
    "ihc": (d.immunohistochemistry(), False),
    "rocket": (d.rocket(), True),
    "hubble": (d.hubble_deep_field(), True),
    # Real photographs of textures, grey (no saturation at all, fine detail everywhere).
    "gravel": (d.gravel(), False),
    "grass": (d.grass(), False),
}
for name, (img, jpeg) in photos.items():
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3].astype(np.float64)
    if jpeg:
        h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
        img = img[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    img = np.clip(np.round(img[:h, :w]), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(here, f"{name}.png"), optimize=True)
    # Saturation (mean HSV-style chroma / value) and detail (mean |gradient| of luma).
    f = img.astype(np.float64) / 255
    sat = np.mean((f.max(2) - f.min(2)) / np.maximum(f.max(2), 1e-3))
    y = f @ [0.299, 0.587, 0.114]
    det = np.mean(np.abs(np.diff(y, axis=0))) + np.mean(np.abs(np.diff(y, axis=1)))
    print(f"{name}: {w}x{h}, saturation {sat:.2f}, detail {det:.3f}")
