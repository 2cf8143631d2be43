#!/usr/bin/env bash
# Runs the journal reader fuzz target for a bounded time (default 120 s).
# Needs a nightly toolchain and cargo-fuzz: `cargo install cargo-fuzz`.
# Not part of CI. Usage: fuzz/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-120}"
mkdir -p corpus/journal_reader
exec cargo +nightly fuzz run journal_reader corpus/journal_reader -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10
