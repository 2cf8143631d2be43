#!/usr/bin/env bash
# Rust crates: every crate meant for crates.io packages (`cargo package`, dependency order,
# versioned path dependencies, files inside the crate, no placeholder URLs). `--no-verify`
# keeps it fast: the workspace tests already compile the same sources; this catches what
# only packaging sees (a missing version, an include_str! outside the crate, a publish
# blocker in the manifest).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"

# Publishable = no `publish = false` in the manifest.
mapfile -t PUBLISHABLE < <(cargo metadata --no-deps --locked --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] is None:
        print(p["name"] + "-" + p["version"] + " " + p["name"])')
CRATES=()
for line in "${PUBLISHABLE[@]}"; do CRATES+=("${line#* }"); done
[ ${#CRATES[@]} -gt 0 ] || { echo "crates-package: no publishable crate found" >&2; exit 1; }
ARGS=()
for c in "${CRATES[@]}"; do ARGS+=(-p "$c"); done

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
# --allow-dirty: a local run with uncommitted edits still checks them.
if ! cargo package --no-verify --allow-dirty "${ARGS[@]}" > "$LOG" 2>&1; then
  cat "$LOG" >&2
  echo "crates-package: 0 passed, 1 failed (cargo package)" >&2
  exit 1
fi

# What is published must not carry placeholder URLs; warnings other than the known
# "top-level tests/examples are not in the package" one are failures.
status=0
for line in "${PUBLISHABLE[@]}"; do
  c="${line#* }"
  crate="$TARGET/package/${line%% *}.crate"
  [ -f "$crate" ] || { echo "crates-package: $crate missing" >&2; status=1; continue; }
  if tar -xzOf "$crate" --wildcards '*/Cargo.toml' | grep -q 'example\.invalid'; then
    echo "crates-package: $c's published manifest names example.invalid" >&2
    status=1
  fi
done
if grep '^warning:' "$LOG" | grep -v 'is not included in the published package' | grep -q .; then
  grep -A3 '^warning:' "$LOG" | grep -v 'is not included in the published package' >&2
  echo "crates-package: cargo package warned (see above)" >&2
  status=1
fi
[ $status -eq 0 ] || { echo "crates-package: 0 passed, 1 failed"; exit 1; }
echo "crates-package: ${#CRATES[@]} passed, 0 failed (${CRATES[*]})"
