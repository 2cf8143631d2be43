#!/usr/bin/env bash
# macOS only: build AndalFFI.xcframework (static libraries for iOS devices, the iOS
# simulator and macOS, with the generated header and module map). Package.swift uses it as
# a binary target once it exists. Needs Xcode and: rustup target add aarch64-apple-ios
# aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin
set -euo pipefail
# Mobile builds favour size: the workspace's `release-ffi` profile (fat LTO, one codegen
# unit, opt-level "s", stripped), and only the one crate type needed (`cargo rustc
# --crate-type staticlib`: building the crate's three types at once keeps ~0.6 MB more code
# in each, see docs/benchmarks.md). ANDAL_BUILTIN_HTTPS=0 leaves the built-in HTTPS
# transport out (then every AndalClient needs a transport, e.g. URLSessionTransport()).
FEATURES=()
[ "${ANDAL_BUILTIN_HTTPS:-1}" = 0 ] && FEATURES=(--no-default-features)
cd "$(dirname "$0")"
SWIFT_DIR=$PWD
ROOT="$(cd ../.. && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LIB=libandal_uniffi.a

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin; do
  (cd "$ROOT" && cargo rustc --profile release-ffi --locked -p andal-uniffi --lib \
    --crate-type staticlib "${FEATURES[@]}" --target "$t")
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ios-sim" "$WORK/macos" "$WORK/headers"
lipo -create "$TARGET/aarch64-apple-ios-sim/release-ffi/$LIB" "$TARGET/x86_64-apple-ios/release-ffi/$LIB" \
  -output "$WORK/ios-sim/$LIB"
lipo -create "$TARGET/aarch64-apple-darwin/release-ffi/$LIB" "$TARGET/x86_64-apple-darwin/release-ffi/$LIB" \
  -output "$WORK/macos/$LIB"
cp Sources/AndalFFI/include/AndalFFI.h Sources/AndalFFI/include/module.modulemap "$WORK/headers/"

rm -rf AndalFFI.xcframework
xcodebuild -create-xcframework \
  -library "$TARGET/aarch64-apple-ios/release-ffi/$LIB" -headers "$WORK/headers" \
  -library "$WORK/ios-sim/$LIB" -headers "$WORK/headers" \
  -library "$WORK/macos/$LIB" -headers "$WORK/headers" \
  -output AndalFFI.xcframework
echo "built $SWIFT_DIR/AndalFFI.xcframework"
