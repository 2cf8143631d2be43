#!/usr/bin/env bash
# Python bindings: set up a venv (reused between runs), build and install the `andal`
# package from bindings/python, then run pytest (against the sandbox) and mypy --strict
# on the examples and a typed usage file. Idempotent; works from a fresh clone with only
# the Rust and Python toolchains. Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"
VENV="$CACHE/venv"
PYTHON_BIN="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$CACHE"
  "$PYTHON_BIN" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

# Tools: install once, upgrade only when missing (keeps warm runs offline-fast).
if ! python -c 'import maturin, pytest, mypy' >/dev/null 2>&1; then
  python -m pip install -q --upgrade pip
  python -m pip install -q 'maturin>=1.9.4,<2' 'pytest>=7' 'mypy>=1.8'
fi

# Build the sandbox the tests run against, and the extension (debug profile: on 2 cores
# it compiles in a fraction of the release time, and the tests measure concurrency, not
# raw speed). `maturin develop` sets PYO3_BUILD_EXTENSION_MODULE and reuses the shared
# cargo target dir, so a warm run only relinks.
cargo build -q -p andal-sandbox
(cd bindings/python && maturin develop --quiet)
python -c 'import andal, sys; print("andal", andal.__version__, "on Python", sys.version.split()[0])'

cd "$ROOT/bindings/python"
python -m pytest -q tests

cd "$ROOT"
python -m mypy --strict --no-error-summary \
  examples/python/counter.py examples/python/overnight_batch.py \
  bindings/python/tests/typed_usage.py bindings/python/bench/overhead.py
python -m mypy.stubtest andal --allowlist bindings/python/stubtest-allowlist.txt
echo "python: pytest, mypy --strict and stubtest passed"
