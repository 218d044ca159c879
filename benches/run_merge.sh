#!/usr/bin/env bash
# One command for the burst merge benchmark: burstpipe (align, merge, merge + develop) and its
# OpenCV CPU peers (NL-means multi-frame, ECC align + average) on the same synthetic 8-frame
# burst, same machine, same run; ends with ONE table: method, ms, ms/MP/frame, ratio to OpenCV
# NL-means, PSNR against the clean truth, host<->device bytes per pixel.
#
#   bash benches/run_merge.sh [OUT_DIR] [extra bench_merge args, e.g. --size 1536x1152]
#
# Environment: RUNS (default 5), WARMUP (default 1), PEER_RUNS (default 3), PEER_WARMUP (default 1), PYTHON, CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
out="${1:-${TMPDIR:-/tmp}/burstpipe-bench-merge}"
shift || true
runs="${RUNS:-5}"
warmup="${WARMUP:-1}"
peer_runs="${PEER_RUNS:-3}"
peer_warmup="${PEER_WARMUP:-1}"
mkdir -p "$out"

build_release -p burstpipe-benches --bin bench_merge

need_python "cv2, numpy" opencv-python-headless numpy

machine_line
echo "== burstpipe (bench_merge)" >&2
"$target/release/bench_merge" --out "$out" --runs "$runs" --warmup "$warmup" \
    --json "$out/ours.jsonl" "$@" | tee "$out/ours.txt" | grep -v '^{' >&2
echo "== peers (peers_merge.py)" >&2
"$py" "$root/benches/peers_merge.py" "$out" --runs "$peer_runs" --warmup "$peer_warmup" \
    --ours "$out/ours.jsonl" --json "$out/peers.jsonl" | tee "$out/table.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bash benches/run_merge.sh $out${*:+ $*}   (RUNS=$runs WARMUP=$warmup PEER_RUNS=$peer_runs PEER_WARMUP=$peer_warmup)"
echo "files: $out/{frame*.png,truth.png,burst.json,ours.jsonl,peers.jsonl,table.txt}"
