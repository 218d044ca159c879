#!/usr/bin/env bash
# Side by side on real camera files (issue 11): every raw of ../shared/data/real/raw developed by
# burstpipe (default look, and --tone curve), LibRaw (rawpy's default postprocess) and
# rawtherapee-cli (its default profile), into one contact sheet PNG, plus a table of mean / max
# CIEDE2000 on the ColorChecker shots (../shared/tools/colorchecker.py --grey-wb) and what failed.
#
#   bash benches/real/compare.sh [OUT_DIR] [RAW_DIR]
#
# Installs what is missing: the Python peers with pip, rawtherapee with apt-get (as root;
# otherwise its column says missing). Environment: PYTHON, CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/../common.sh"
out="${1:-${TMPDIR:-/tmp}/burstpipe-real}"
raws="${2:-$root/../shared/data/real/raw}"

need_python "cv2, rawpy, numpy, colour, PIL" opencv-python-headless rawpy numpy colour-science pillow
if ! command -v rawtherapee-cli >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing rawtherapee" >&2
    apt-get install -y rawtherapee >&2 || (apt-get update >&2 && apt-get install -y rawtherapee >&2) || true
fi
build_release -p burstpipe-cli
mkdir -p "$out"
"$py" "$root/benches/real/compare.py" "$raws" "$out" --bin "$target/release/burstpipe" \
    --charts "$root/../shared/data/real/charts" --scorer "$root/../shared/tools/colorchecker.py" |
    tee "$out/table.txt"
echo "contact sheet: $out/contact.png"
echo "command: bash benches/real/compare.sh $out $raws"
