#!/usr/bin/env bash
# Run each fuzz target for a bounded time (default 60 s each).
# Needs nightly and cargo-fuzz:  cargo install cargo-fuzz
# Usage: crates/andal-token/fuzz/run.sh [seconds-per-target]
# Not part of CI.
set -euo pipefail
SECS="${1:-60}"
cd "$(dirname "$0")/.."
for t in token keyset revocation; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzzing $t for ${SECS}s"
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$SECS" -max_len=8192
done
