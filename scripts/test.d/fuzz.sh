#!/usr/bin/env bash
# Fuzzing as part of every test run: every cargo-fuzz target of the project (token, keyset,
# revocation list, journal reader, NIK/query parsers, registry responses) for a bounded
# time each (ANDAL_FUZZ_SECONDS, default 20; as many targets at once as there are cores,
# ANDAL_FUZZ_JOBS). Fails on any crash, panic, leak or timeout and says where libFuzzer
# left the reproducer. Needs a nightly toolchain; without one it says so plainly and
# passes. Installs cargo-fuzz on first use.
#
# Builds go to one shared target dir outside the clone (ANDAL_CACHE, default
# ~/.cache/andal): fuzz-target/. Corpora are kept between runs in fuzz-corpus/, so every
# run starts where the last one stopped. A fresh fuzz folder gets a copy of the
# workspace's Cargo.lock so it fuzzes the dependency versions the tests use.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS="${ANDAL_FUZZ_SECONDS:-20}"
CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED: no nightly toolchain (install with rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (first run only)"
  cargo +nightly install cargo-fuzz --locked --quiet || cargo install cargo-fuzz --locked --quiet || {
    echo "fuzz: FAILED: could not install cargo-fuzz"
    exit 1
  }
fi

export CARGO_TARGET_DIR="$CACHE/fuzz-target"
export CARGO_TERM_COLOR=never
mkdir -p "$CARGO_TARGET_DIR" "$CACHE/fuzz-corpus"
# Release build with debug assertions and overflow checks: an arithmetic overflow on
# hostile input is a finding too. The same flags for build and run (no rebuild).
FLAGS=(--release --debug-assertions)

# folder:max_len target...
SUITES=(
  "crates/andal-token/fuzz:8192 token keyset revocation"
  "crates/andal-journal/fuzz:65536 journal_reader"
  "crates/andal/fuzz:4096 nik_query registry_response"
)

passed=0
failed=0
summary=()
# Targets run side by side, one per core: libFuzzer is single-threaded, so each still gets
# a whole core for its $SECS seconds (the same number of executions as one after the
# other) and the step takes a fraction of the wall time.
JOBS="${ANDAL_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
RUN=()  # "crate target corpus maxlen" of every target that built
for suite in "${SUITES[@]}"; do
  head="${suite%% *}"
  targets="${suite#* }"
  dir="${head%%:*}"
  maxlen="${head##*:}"
  crate="$(dirname "$dir")"
  [ -f "$dir/Cargo.lock" ] || cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
  # Build every target of the folder once (cargo-fuzz runs from the crate root).
  if ! (cd "$crate" && cargo +nightly fuzz build "${FLAGS[@]}" >"$CACHE/fuzz-build.log" 2>&1); then
    tail -n 30 "$CACHE/fuzz-build.log"
    for t in $targets; do
      summary+=("fuzz: $t: BUILD FAILED")
      failed=$((failed + 1))
    done
    continue
  fi
  for t in $targets; do
    corpus="$CACHE/fuzz-corpus/$(basename "$crate")-$t"
    mkdir -p "$corpus"
    RUN+=("$crate $t $corpus $maxlen")
  done
done

fuzz_one() { # crate target corpus maxlen: runs one target, its exit status in $CACHE/fuzz-$t.rc
  local crate=$1 t=$2 corpus=$3 maxlen=$4 rc=0
  rm -f "$CACHE/fuzz-$t.rc"
  (cd "$crate" && cargo +nightly fuzz run "${FLAGS[@]}" "$t" "$corpus" -- \
    -max_total_time="$SECS" -max_len="$maxlen" -timeout=10 -print_final_stats=1) >"$CACHE/fuzz-$t.log" 2>&1 || rc=$?
  echo "$rc" >"$CACHE/fuzz-$t.rc"
}
running=0
for r in "${RUN[@]}"; do
  # shellcheck disable=SC2086
  fuzz_one $r &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

for r in "${RUN[@]}"; do
  read -r crate t corpus _ <<<"$r"
  log="$CACHE/fuzz-$t.log"
  rc="$(cat "$CACHE/fuzz-$t.rc" 2>/dev/null || echo '?')"
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')"
  if [ "$rc" = 0 ]; then
    summary+=("fuzz: $t: ok, ${runs:-?} runs in ${SECS}s, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs")
    passed=$((passed + 1))
  else
    grep -E 'ERROR: libFuzzer|panicked at|SUMMARY|Test unit written to' "$log" | head -n 8
    summary+=("fuzz: $t: FAILED (exit $rc; full log $log; reproducer under $crate/fuzz/artifacts/$t/)")
    failed=$((failed + 1))
  fi
done

printf '%s\n' "${summary[@]}"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
