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

# shellcheck disable=SC1091
. scripts/lib/cargo.sh
debug_build # libandal_uniffi and uniffi-bindgen, as the workspace run built them

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libandal_uniffi.so" \
  --language swift --no-format --out-dir "$TMP/gen" >/dev/null
# UniFFI 0.32 names error cases in UpperCamelCase (no option): rename them to Swift's
# lowerCamelCase where UniFFI spells them; strict, fails on any unexpected shape.
python3 scripts/lib/swift_error_cases.py "$TMP/gen/Andal.swift"

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

# Package.swift must work as a dependency: the native library is a binaryTarget, and
# `unsafeFlags` (which SwiftPM refuses in dependencies) appears only on the opt-in
# ANDAL_LIB_DIR development path.
python3 - "$ROOT/bindings/swift/Package.swift" <<'PY' || exit 1
import re, sys
# Code only: comments may mention unsafeFlags.
text = re.sub(r"//[^\n]*", "", open(sys.argv[1]).read())
dev = re.search(r"if let libDir = localLibDir \{(.*?)\n\} else", text, re.S)
problems = []
if not dev or "unsafeFlags" not in dev.group(1):
    problems.append("the ANDAL_LIB_DIR development branch is not where expected")
elif text.count("unsafeFlags") != dev.group(1).count("unsafeFlags"):
    problems.append("unsafeFlags outside the ANDAL_LIB_DIR branch")
if '.binaryTarget(name: "AndalFFI", path: "AndalFFI.xcframework")' not in text:
    problems.append("no binaryTarget(path:) for AndalFFI.xcframework")
if ".binaryTarget(name: \"AndalFFI\", url: releaseURL, checksum: releaseChecksum)" not in text:
    problems.append("no binaryTarget(url:checksum:) for releases")
for p in problems:
    print("swift: Package.swift: " + p, file=sys.stderr)
if problems:
    print("swift: 0 passed, 1 failed (Package.swift)")
    sys.exit(1)
PY

# No Swift compiler here: the hand-written Swift, the XCTests and the Swift guide must at
# least name error cases that exist (e.g. `AndalError.invalidInput`, not `.InvalidInput`).
if ! python3 scripts/lib/swift_error_cases.py --check-uses "$OUT/Andal/Andal.swift" \
  "$COMMITTED"/Andal/URLSessionTransport.swift "$COMMITTED"/Andal/Errors.swift \
  "$COMMITTED"/Andal/OSLogSink.swift \
  "$ROOT"/bindings/swift/Tests/AndalTests/*.swift "$ROOT/docs/kotlin-swift.md"; then
  echo "swift: 1 passed, 1 failed (hand-written Swift names error cases that do not exist)"
  exit 1
fi

# Hand-written files: shim.c (gives SwiftPM a source file for the C target),
# URLSessionTransport.swift, Errors.swift and OSLogSink.swift.
if diff -r -x shim.c -x URLSessionTransport.swift -x Errors.swift -x OSLogSink.swift "$COMMITTED" "$OUT" > "$TMP/diff.txt"; then
  echo "swift: 3 passed, 0 failed (Package.swift usable as a dependency; hand-written Swift names existing error cases; committed Swift sources match the generated ones)"
else
  head -n 40 "$TMP/diff.txt"
  echo "swift: 2 passed, 1 failed (bindings/swift/Sources is stale: run scripts/test.d/swift.sh --update and commit)"
  exit 1
fi
