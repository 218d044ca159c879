#!/usr/bin/env bash
# Real exposure brackets (issue 12): every bracket of ../shared/data/real/brackets fused by
# burstpipe (default: aligned, and --no-align), enfuse (its defaults: Mertens weights 1/0.2/0, no
# alignment) and OpenCV MergeMertens (1, 1, 1), scored with MEF-SSIM (../shared/tools/mef_ssim.py,
# the authors' multi-scale model), one table (also table.md) and one contact sheet PNG.
#
#   bash benches/brackets/compare.sh [OUT_DIR] [BRACKETS_DIR]
#
# Installs what is missing: the Python peers with pip, enfuse with apt-get (as root; otherwise
# its column says missing). Times are wall clock of whole CLI runs (adapter start included).
set -euo pipefail
source "$(dirname "$0")/../common.sh"
out="${1:-${TMPDIR:-/tmp}/burstpipe-brackets}"
brackets="${2:-$root/../shared/data/real/brackets}"

need_python "cv2, numpy, scipy" opencv-python-headless numpy scipy
if ! command -v enfuse >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing enfuse" >&2
    apt-get install -y -qq enfuse >&2 || (apt-get update -qq >&2 && apt-get install -y -qq enfuse >&2) || true
fi
build_release -p burstpipe-cli
machine_line
mkdir -p "$out"
"$py" "$root/benches/brackets/compare.py" "$brackets" "$out" --bin "$target/release/burstpipe" \
    --scorer "$root/../shared/tools/mef_ssim.py" | tee "$out/table.md"
echo "contact sheet: $out/contact.png"
echo "command: bash benches/brackets/compare.sh $out $brackets"
