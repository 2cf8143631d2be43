#!/usr/bin/env bash
# Run each fuzz target of the core crate (NIK/query parsers, registry responses) for a
# bounded time (default 60 s each). Needs nightly and cargo-fuzz: cargo install cargo-fuzz
# Usage: crates/andal/fuzz/run.sh [seconds-per-target]
# scripts/test.d/fuzz.sh runs these with every other target on each test run.
set -euo pipefail
SECS="${1:-60}"
cd "$(dirname "$0")/.."
for t in nik_query registry_response; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzzing $t for ${SECS}s"
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$SECS" -max_len=4096
done
