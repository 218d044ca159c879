#!/usr/bin/env bash
# One command for the develop benchmark: burstpipe (demosaic, develop) and its CPU peers
# (OpenCV, LibRaw) on the same 12 MP mosaic, same machine, same
# run; ends with ONE table: method, ms, ms/MP, ratio vs OpenCV bilinear, PSNR.
#
#   bash benches/run.sh [OUT_DIR] [extra bench_develop args, e.g. --runs 11 --raw photo.dng]
#
# Environment: RUNS (default 7), WARMUP (default 2), PYTHON (default python3), CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
out="${1:-${TMPDIR:-/tmp}/burstpipe-bench}"
shift || true
runs="${RUNS:-7}"
warmup="${WARMUP:-2}"
mkdir -p "$out"

build_release -p burstpipe-benches --bin bench_develop

need_python "cv2, rawpy, numpy, tifffile" opencv-python-headless rawpy numpy tifffile

machine_line
echo "== burstpipe (bench_develop)" >&2
"$target/release/bench_develop" --out "$out" --runs "$runs" --warmup "$warmup" \
    --json "$out/ours.jsonl" "$@" | tee "$out/ours.txt" | grep -v '^{' >&2
echo "== peers (peers.py)" >&2
"$py" "$root/benches/peers.py" "$out" --runs "$runs" --warmup "$warmup" \
    --ours "$out/ours.jsonl" --json "$out/peers.jsonl" | tee "$out/table.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bash benches/run.sh $out${*:+ $*}   (RUNS=$runs WARMUP=$warmup)"
echo "files: $out/{mosaic.png,mosaic.dng,truth.png,ours.jsonl,peers.jsonl,table.txt}"
