#!/usr/bin/env bash
# macOS only: build AndalFFI.xcframework (static libraries for iOS devices, the iOS
# simulator and macOS, with the generated header and module map). Package.swift uses it as
# a binary target once it exists. Needs Xcode and: rustup target add aarch64-apple-ios
# aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin
set -euo pipefail
# Mobile builds favour size: fat LTO, one codegen unit, opt-level "s" (x86_64 Linux
# measurement: 3.19 MB stripped instead of 3.75 MB with the workspace release profile).
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-fat}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}"
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-symbols}"
cd "$(dirname "$0")"
SWIFT_DIR=$PWD
ROOT="$(cd ../.. && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LIB=libandal_uniffi.a

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin; do
  (cd "$ROOT" && cargo build --release --locked -p andal-uniffi --target "$t")
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ios-sim" "$WORK/macos" "$WORK/headers"
lipo -create "$TARGET/aarch64-apple-ios-sim/release/$LIB" "$TARGET/x86_64-apple-ios/release/$LIB" \
  -output "$WORK/ios-sim/$LIB"
lipo -create "$TARGET/aarch64-apple-darwin/release/$LIB" "$TARGET/x86_64-apple-darwin/release/$LIB" \
  -output "$WORK/macos/$LIB"
cp Sources/AndalFFI/include/AndalFFI.h Sources/AndalFFI/include/module.modulemap "$WORK/headers/"

rm -rf AndalFFI.xcframework
xcodebuild -create-xcframework \
  -library "$TARGET/aarch64-apple-ios/release/$LIB" -headers "$WORK/headers" \
  -library "$WORK/ios-sim/$LIB" -headers "$WORK/headers" \
  -library "$WORK/macos/$LIB" -headers "$WORK/headers" \
  -output AndalFFI.xcframework
echo "built $SWIFT_DIR/AndalFFI.xcframework"
