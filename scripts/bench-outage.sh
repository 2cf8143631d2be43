#!/usr/bin/env bash
# Side-by-side outage benchmark (issue 7; docs/benchmarks-outage.md).
#
# Ensures a Python venv (${ANDAL_CACHE:-$HOME/.cache/andal}/bench-venv) has `requests`,
# `pybreaker` and the `andal` package (a release wheel built from bindings/python), then
# runs
#   cargo run --release -p andal-bench -- [ARGS...]
# Markdown goes to stdout, JSON to target/andal-outage-bench.json (--json PATH; with
# --degraded, target/andal-degraded-bench.json).
#
#   scripts/bench-outage.sh                 # the full script (~60 s per contender)
#   scripts/bench-outage.sh --quick         # scaled ×0.25, a smoke test
#   scripts/bench-outage.sh --contenders andal-rust,naive-rust,requests-pybreaker
#   scripts/bench-outage.sh --degraded      # degraded registry: random 503 at 10-100 %,
#                                           # answers slowed to 0.9x/1.1x the attempt
#                                           # timeout; every contender per scenario (~6 min;
#                                           # JSON to target/andal-degraded-bench.json)
#   scripts/bench-outage.sh --degraded --scenarios err30,err100 --quick
#
# ANDAL_BENCH_NO_PYTHON=1 skips the venv set-up (Rust contenders only then make sense);
# ANDAL_BENCH_REBUILD=1 reinstalls the andal package; ANDAL_BENCH_VENV picks the venv.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"
# A venv of its own next to the development one (scripts/test.d/python.sh's
# $CACHE/venv, which holds an editable debug build): here `andal` is installed
# non-editable from bindings/python, a release wheel as users get it, and the development
# venv is left alone.
VENV="${ANDAL_BENCH_VENV:-$CACHE/bench-venv}"
PYTHON_BIN="${PYTHON:-python3}"

if [ "${ANDAL_BENCH_NO_PYTHON:-0}" != 1 ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$CACHE"
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  PY="$VENV/bin/python"
  if ! "$PY" -c 'import requests, pybreaker' >/dev/null 2>&1; then
    "$PY" -m pip install -q 'requests>=2.31,<3' 'pybreaker>=1.2,<2'
  fi
  # Built (release profile, via maturin's PEP 517 backend) when missing or when asked.
  if [ "${ANDAL_BENCH_REBUILD:-0}" = 1 ] || ! "$PY" -c 'import andal' >/dev/null 2>&1; then
    "$PY" -m pip install -q --force-reinstall --no-deps ./bindings/python
  fi
  "$PY" -c 'import andal, pybreaker, requests, sys; print("python", sys.version.split()[0], "andal", andal.__version__, "requests", requests.__version__, file=sys.stderr)'
  export ANDAL_BENCH_PYTHON="$PY"
fi

exec cargo run --quiet --release -p andal-bench -- "$@"
