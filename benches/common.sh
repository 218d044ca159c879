# Sourced by the bench scripts: the repository root, Python and target paths, the release build,
# the Python peers and the machine line, written once.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"

# build_release PACKAGE_ARGS...: cargo build --release with these package / bin arguments.
build_release() {
    echo "== build (release)" >&2
    (cd "$root" && cargo build --release "$@" >&2)
}

# need_python "MODULES" PIP_PACKAGES...: pip-install the packages unless `import MODULES` works.
need_python() {
    local modules="$1"
    shift
    if ! "$py" -c "import $modules" 2>/dev/null; then
        echo "== installing the Python peers" >&2
        "$py" -m pip install --quiet "$@" >&2
    fi
}

# The machine and its load, for the record of a run.
machine_line() {
    echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}
