#!/usr/bin/env bash
# Swift bindings: regenerate the Swift sources, C header and module map from the freshly
# built cdylib into a temp dir and fail if they differ from what is committed under
# bindings/swift/Sources (no Swift toolchain needed). `--update` rewrites the committed copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"

cargo build --quiet --locked -p andal-uniffi -p uniffi-bindgen

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libandal_uniffi.so" \
  --language swift --no-format --out-dir "$TMP/gen" >/dev/null

# The layout of the Swift package: module `Andal` (Swift), module `AndalFFI` (C header).
OUT="$TMP/Sources"
mkdir -p "$OUT/Andal" "$OUT/AndalFFI/include"
cp "$TMP/gen/Andal.swift" "$OUT/Andal/Andal.swift"
cp "$TMP/gen/AndalFFI.h" "$OUT/AndalFFI/include/AndalFFI.h"
cp "$TMP/gen/AndalFFI.modulemap" "$OUT/AndalFFI/include/module.modulemap"

COMMITTED="$ROOT/bindings/swift/Sources"
if [ "${1:-}" = "--update" ]; then
  cp "$OUT/Andal/Andal.swift" "$COMMITTED/Andal/Andal.swift"
  cp "$OUT/AndalFFI/include/AndalFFI.h" "$OUT/AndalFFI/include/module.modulemap" "$COMMITTED/AndalFFI/include/"
  echo "swift: generated sources updated under bindings/swift/Sources"
  exit 0
fi

# Hand-written files: shim.c (gives SwiftPM a source file for the C target) and
# URLSessionTransport.swift.
if diff -r -x shim.c -x URLSessionTransport.swift "$COMMITTED" "$OUT" > "$TMP/diff.txt"; then
  echo "swift: 1 passed, 0 failed (committed Swift sources match the generated ones)"
else
  head -n 40 "$TMP/diff.txt"
  echo "swift: 0 passed, 1 failed (bindings/swift/Sources is stale: run scripts/test.d/swift.sh --update and commit)"
  exit 1
fi
