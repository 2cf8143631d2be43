#!/usr/bin/env bash
# Runs every test of the project from a fresh clone on a machine with only the toolchains.
# Installs what it needs (Python venv packages, Maven dependencies) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Reuse one build directory outside the clone between runs (CI clones afresh each time).
if [ -n "${CI:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$HOME/.cache/andal/target"
fi
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1

step() { printf '\n== %s ==\n' "$*"; }
# Wall time of each step, printed after it and summed up at the end (where CI time goes).
TIMES=()
took() { TIMES+=("$(printf '%5d s  %s' "$((SECONDS - $1))" "$2")"); printf '(%s: %d s)\n' "$2" "$((SECONDS - $1))"; }

step "Rust: format"
cargo fmt --all -- --check

step "Rust: workspace tests (unit, integration, doc)"
t0=$SECONDS
cargo test --workspace --locked --all-features 2>&1 | tee /tmp/andal-cargo-test.log | grep -Ev '^test .* \.\.\. ok$'
grep -q '^test result: ' /tmp/andal-cargo-test.log
took "$t0" "cargo test"

for extra in "$ROOT"/scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$(basename "$extra" .sh)"
  t0=$SECONDS
  bash "$extra"
  took "$t0" "$(basename "$extra" .sh)"
done

step "Time per step"
printf '%s\n' "${TIMES[@]}"
printf '%5d s  total\n' "$SECONDS"

step "All tests passed"
