"""Writes the JPEG XL tiles of the LinearRaw test in engine/src/raw/dng/linear_raw/tests.rs:
a 24×20 RGB image of 16-bit samples (x·7 + y·13 + c·101) mod 4096 + 100 in 16×16 tiles, padded
past the image's edge with 0xdead, each tile a lossless JPEG XL (libjxl through imagecodecs:
`python3 -m pip install imagecodecs numpy`)."""
import imagecodecs
import numpy as np

W, H, T = 24, 20, 16
for ty in range(2):
    for tx in range(2):
        tile = np.full((T, T, 3), 0xDEAD, dtype=np.uint16)
        for y in range(T):
            for x in range(T):
                gx, gy = tx * T + x, ty * T + y
                if gx < W and gy < H:
                    for c in range(3):
                        tile[y, x, c] = (gx * 7 + gy * 13 + c * 101) % 4096 + 100
        data = imagecodecs.jpegxl_encode(tile, lossless=True)
        assert (imagecodecs.jpegxl_decode(data) == tile).all()
        open(f"tile{ty * 2 + tx}.jxl", "wb").write(data)
