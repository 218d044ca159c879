#!/bin/sh
# Fusion of three 12 MP JPEGs: burstpipe vs enfuse vs OpenCV MergeMertens, same inputs, same
# machine, one run each, wall time of the whole command (decode + fuse + encode).
# Needs: python3 with opencv-python-headless and numpy, enfuse (apt-get install enfuse), and a
# release build: cargo build --release -p burstpipe-cli. Run from the repository root.
set -e
dir=${TMPDIR:-/tmp}/burstpipe-fusion-bench
bin=${CARGO_TARGET_DIR:-target}/release/burstpipe
python3 benches/fusion/make_bracket_12mp.py "$dir"
set -- "$dir"/0-ev-2.jpg "$dir"/1-ev+0.jpg "$dir"/2-ev+2.jpg
now() { date +%s.%N; }
# --no-align: enfuse and MergeMertens do not align either.
t0=$(now); "$bin" fuse --no-align "$@" -o "$dir/burstpipe.jpg"; t1=$(now)
echo "burstpipe: $(echo "$t1 - $t0" | bc) s"
t0=$(now); enfuse --exposure-weight=1 --saturation-weight=1 --contrast-weight=1 -o "$dir/enfuse.jpg" "$@" 2>/dev/null; t1=$(now)
echo "enfuse $(enfuse --version 2>/dev/null | head -n1 | awk '{print $2}'): $(echo "$t1 - $t0" | bc) s"
t0=$(now); python3 benches/fusion/opencv_mertens.py "$dir/opencv.jpg" "$@"; t1=$(now)
echo "opencv (python process): $(echo "$t1 - $t0" | bc) s"
