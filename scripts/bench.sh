#!/usr/bin/env bash
# Every micro-benchmark in one run, side by side, then the release cdylib size.
# The outage benchmark (side by side with naive and Python peers) is scripts/bench-outage.sh.
# Figures go to docs/benchmarks.md by hand, with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-/tmp/andal-bench.log}
cargo bench -p andal-resilience -p andal -p andal-token -p andal-journal --bench '*' -- \
  --warm-up-time 1 --measurement-time 4 2>&1 | tee "$log" | grep -E '^[a-z_/0-9 -]+$|time:|thrpt:' || true

echo
echo "== FFI cdylib size (andal-uniffi, profile release-ffi, stripped) =="
dir="${CARGO_TARGET_DIR:-target}/release-ffi"
for variant in "default:" "no built-in HTTPS:--no-default-features"; do
  name=${variant%%:*}; flags=${variant#*:}
  # shellcheck disable=SC2086
  cargo build -q --profile release-ffi -p andal-uniffi $flags
  cp "$dir/libandal_uniffi.so" /tmp/libandal_uniffi.stripped.so && strip /tmp/libandal_uniffi.stripped.so
  ls -l /tmp/libandal_uniffi.stripped.so | awk -v n="$name" '{printf "%s: %.2f MB (%d bytes)\n", n, $5/1e6, $5}'
done
