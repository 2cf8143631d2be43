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

step "Rust: format"
cargo fmt --all -- --check

step "Rust: workspace tests (unit, integration, doc)"
cargo test --workspace --locked --all-features 2>&1 | tee /tmp/andal-cargo-test.log | grep -Ev '^test .* \.\.\. ok$'
grep -q '^test result: ' /tmp/andal-cargo-test.log

for extra in "$ROOT"/scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$(basename "$extra" .sh)"
  bash "$extra"
done

step "All tests passed"
