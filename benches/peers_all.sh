#!/usr/bin/env bash
# One table of burstpipe against every peer on the same inputs, same machine, same run (issue 6):
# OpenCV (demosaic, MergeMertens, NL-means), LibRaw via rawpy (linear, AHD), rawtherapee-cli
# (AMaZE, RCD), enfuse, and burstpipe (demosaic, develop, fuse, merge). See peers_all.py for the
# groups and what each row times.
#
#   bash benches/peers_all.sh [OUT_DIR] [extra peers_all.py args, e.g. --mp 12 --runs 3]
#
# Installs what is missing: the Python peers with pip, enfuse and rawtherapee with apt-get (as
# root; otherwise their rows are reported missing). Environment: PYTHON, CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
out="${1:-${TMPDIR:-/tmp}/burstpipe-peers}"
shift || true

need_python "cv2, rawpy, numpy, tifffile" opencv-python-headless rawpy numpy tifffile
missing=""
command -v enfuse >/dev/null || missing="$missing enfuse"
command -v rawtherapee-cli >/dev/null || missing="$missing rawtherapee"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ]; then
    echo "== installing$missing" >&2
    apt-get install -y $missing >&2 || (apt-get update >&2 && apt-get install -y $missing >&2) || true
fi

build_release -p burstpipe-cli -p burstpipe-benches
mkdir -p "$out"
"$py" "$root/benches/peers_all.py" "$out" --bin "$target/release" "$@" | tee "$out/table.txt"
echo "command: bash benches/peers_all.sh $out${*:+ $*}"
