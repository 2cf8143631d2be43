#!/usr/bin/env bash
# The Rust example (bank teller: online, then offline during an outage) against the sandbox.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/lib/cargo.sh
debug_build # the workspace run's build (no rebuild in another feature set)
out=$("$(debug_dir)/examples/teller")
echo "$out"
grep -q '^offline: .* match from token' <<<"$out"
grep -q '^reconciled: 1 confirmed' <<<"$out"
grep -q '^  notice: ANDAL-OFFLINE-ANSWERED ' <<<"$out"
grep -q '^  notice: ANDAL-UNAVAILABLE .* sejak .* WIB' <<<"$out"
grep -q ' ANDAL-CONFIRMED: ' <<<"$out"
echo "examples: 1 passed, 0 failed"
