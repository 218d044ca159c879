#!/usr/bin/env python3
"""OpenCV MergeMertens on a bracket, for the fusion benchmark: reads the files, fuses with the
paper's weights (1, 1, 1), writes an 8-bit JPEG, and prints the time of the fusion alone and of
the whole run. Usage: opencv_mertens.py OUT.jpg IN1 IN2 ..."""
import sys
import time

import cv2
import numpy as np

t0 = time.perf_counter()
images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in sys.argv[2:]]
t1 = time.perf_counter()
fused = cv2.createMergeMertens(1.0, 1.0, 1.0).process(images)
t2 = time.perf_counter()
cv2.imwrite(sys.argv[1], np.round(np.clip(fused, 0, 1) * 255).astype(np.uint8))
t3 = time.perf_counter()
print(f"opencv {cv2.__version__}: fusion {t2 - t1:.2f} s, whole run {t3 - t0:.2f} s, "
      f"{cv2.getNumThreads()} threads")
