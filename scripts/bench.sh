#!/usr/bin/env bash
# Every micro-benchmark in one run, side by side, then the release cdylib size.
# The outage benchmark (side by side with naive and Python peers) is scripts/bench-outage.sh.
# Figures go to docs/benchmarks.md by hand, with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-/tmp/andal-bench.log}
cargo bench -p andal-resilience -p andal -p andal-token -p andal-journal -- \
  --warm-up-time 1 --measurement-time 4 2>&1 | tee "$log" | grep -E '^[a-z_/0-9 -]+$|time:|thrpt:' || true

echo
echo "== release cdylib size (andal-uniffi, stripped) =="
cargo build -q --release -p andal-uniffi
lib="${CARGO_TARGET_DIR:-target}/release/libandal_uniffi.so"
cp "$lib" /tmp/libandal_uniffi.stripped.so && strip /tmp/libandal_uniffi.stripped.so
ls -l /tmp/libandal_uniffi.stripped.so | awk '{printf "%.2f MB (%d bytes)\n", $5/1e6, $5}'
