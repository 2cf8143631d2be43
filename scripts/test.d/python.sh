#!/usr/bin/env bash
# Python bindings, tested as users install them: build the release abi3 wheel and the sdist
# with maturin (its auditwheel check must pass: a manylinux tag, no external libraries),
# install the wheel into a FRESH venv with no Rust toolchain on PATH, and run the whole
# pytest suite, mypy --strict and stubtest against the installed package (not an editable
# build). Idempotent; works from a fresh clone with only the Rust and Python toolchains.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"

CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"
TOOLS="$CACHE/venv"          # build tools only (maturin), reused between runs
PYTHON_BIN="${PYTHON:-python3}"

if [ ! -x "$TOOLS/bin/python" ]; then
  mkdir -p "$CACHE"
  "$PYTHON_BIN" -m venv "$TOOLS"
fi
if ! "$TOOLS/bin/python" -c 'import maturin' >/dev/null 2>&1; then
  "$TOOLS/bin/python" -m pip install -q --upgrade pip
  "$TOOLS/bin/python" -m pip install -q 'maturin>=1.9.4,<2'
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 1. The sandbox the tests run against (built now, while cargo is still on PATH; the
#    workspace run's build, see scripts/lib/cargo.sh).
# shellcheck disable=SC1091
. scripts/lib/cargo.sh
debug_build
export ANDAL_SANDBOX_BIN="$TARGET/debug/andal-sandbox"

# 2. The artefacts we ship: the release wheel (profile `release`, exactly what a
#    `maturin build --release` in CI publishes) and the sdist. `--auditwheel check` fails
#    the build if the wheel is not manylinux-compliant instead of repairing it silently.
"$TOOLS/bin/maturin" build --quiet --release --locked --auditwheel check \
  -m bindings/python/Cargo.toml --out "$WORK/dist" >"$WORK/maturin.log" 2>&1 \
  || { cat "$WORK/maturin.log" >&2; echo "python: maturin build failed" >&2; exit 1; }
"$TOOLS/bin/maturin" sdist -m bindings/python/Cargo.toml --out "$WORK/dist" \
  >>"$WORK/maturin.log" 2>&1 \
  || { cat "$WORK/maturin.log" >&2; echo "python: maturin sdist failed" >&2; exit 1; }
WHEEL="$(ls "$WORK"/dist/andal-*.whl)"
SDIST="$(ls "$WORK"/dist/andal-*.tar.gz)"
case "$(basename "$WHEEL")" in
  *-cp310-abi3-manylinux*x86_64*.whl) ;;
  *) echo "python: unexpected wheel tag: $(basename "$WHEEL") (want cp310-abi3-manylinux)" >&2; exit 1 ;;
esac
# The sdist must be buildable on its own: it carries the whole workspace subset it needs.
tar -tzf "$SDIST" > "$WORK/sdist.txt"
grep -q '/crates/andal/data/wilayah/regions-2025.tsv$' "$WORK/sdist.txt" \
  || { echo "python: the sdist lacks the core crate's data" >&2; exit 1; }
echo "python: built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB) and $(basename "$SDIST")"

# 3. A fresh venv per run, with cargo/rustc/rustup removed from PATH: what a user without
#    Rust gets from `pip install andal-*.whl`.
NORUST_PATH=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ]; then continue; fi
  NORUST_PATH="${NORUST_PATH:+$NORUST_PATH:}$d"
done
VENV="$WORK/venv"
"$PYTHON_BIN" -m venv "$VENV"
run() { env -u VIRTUAL_ENV PATH="$VENV/bin:$NORUST_PATH" "$@"; }
run sh -c 'if command -v cargo || command -v rustc; then exit 1; fi' >/dev/null \
  || { echo "python: a Rust toolchain is still on PATH" >&2; exit 1; }
run python -m pip install -q --disable-pip-version-check "$WHEEL" 'pytest>=7' 'mypy>=1.8'

# The package must come from the venv's site-packages, not from the source tree.
cd "$WORK"
run python - "$VENV" <<'PY'
import sys, andal, andal._andal
venv = sys.argv[1]
for mod in (andal, andal._andal):
    assert mod.__file__.startswith(venv), f"{mod.__name__} imported from {mod.__file__}"
print("andal", andal.__version__, "from", andal.__file__, "on Python", sys.version.split()[0])
PY

run python -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests"

cd "$ROOT"
run python -m mypy --strict --no-error-summary --cache-dir "$WORK/mypy" \
  examples/python/counter.py examples/python/overnight_batch.py \
  bindings/python/tests/typed_usage.py bindings/python/bench/overhead.py
run python -m mypy.stubtest andal --allowlist bindings/python/stubtest-allowlist.txt
echo "python: pytest, mypy --strict and stubtest passed against the installed wheel"
