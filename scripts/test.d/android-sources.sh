#!/usr/bin/env bash
# Android packaging without an Android SDK: stage the AAR's Gradle project with
# `build-aar.sh --sources-only` and check what would go in: no java.net.http anywhere in the
# Kotlin sources (Android has none), the OkHttp transport present, and the dependency
# versions taken from bindings/kotlin/pom.xml. The native build (cargo-ndk) and the Gradle
# build itself need the SDK/NDK and are not run here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"

# The host library and uniffi-bindgen from the workspace run's build (scripts/lib/cargo.sh);
# ANDAL_HOST_BUILT tells build-aar.sh not to build them in a feature set of its own.
# shellcheck disable=SC1091
. scripts/lib/cargo.sh
debug_build
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ANDAL_HOST_BUILT=1 bash bindings/kotlin/android/build-aar.sh --sources-only "$WORK/aar" >/dev/null

fail=0
check() { if eval "$2"; then :; else echo "android-sources: FAILED: $1" >&2; fail=$((fail + 1)); fi; }
SRC="$WORK/aar/src/main/kotlin"
# Code, not prose: a KDoc line may name java.net.http as an alternative on the JVM.
check "no Kotlin code references java.net.http" \
  "! grep -rn 'java\.net\.http' '$SRC' | grep -Ev '^[^:]+:[0-9]+:[[:space:]]*(\*|//|/\*)'"
check "OkHttpTransport.kt is in the AAR" "[ -f '$SRC/id/andal/OkHttpTransport.kt' ]"
check "JavaHttpTransport.kt is left out" "[ ! -e '$SRC/id/andal/JavaHttpTransport.kt' ]"
check "generated bindings are in the AAR" "grep -rqs 'android.system.SystemCleaner' '$SRC'"
pom() { python3 -c 'import sys, xml.etree.ElementTree as ET
print(ET.parse(sys.argv[1]).getroot().find("{http://maven.apache.org/POM/4.0.0}properties/{http://maven.apache.org/POM/4.0.0}" + sys.argv[2]).text.strip())' bindings/kotlin/pom.xml "$1"; }
GRADLE="$WORK/aar/build.gradle.kts"
check "JNA version from the pom" "grep -q 'net.java.dev.jna:jna:$(pom jna.version)@aar' '$GRADLE'"
check "coroutines version from the pom" "grep -q 'kotlinx-coroutines-android:$(pom coroutines.version)\"' '$GRADLE'"
check "OkHttp version from the pom" "grep -q 'com.squareup.okhttp3:okhttp:$(pom okhttp.version)\"' '$GRADLE'"
check "SLF4J version from the pom (compileOnly)" "grep -q 'compileOnly(\"org.slf4j:slf4j-api:$(pom slf4j.version)\")' '$GRADLE'"
check "Kotlin plugin version from the pom" "grep -q 'kotlin.android\") version \"$(pom kotlin.version)\"' '$GRADLE'"
# The native step of the script: the size profile, a cdylib only, no built-in HTTPS.
check "native build uses release-ffi without the built-in HTTPS transport" \
  "grep -q -- '--profile release-ffi' bindings/kotlin/android/build-aar.sh && grep -q -- '--crate-type cdylib --no-default-features' bindings/kotlin/android/build-aar.sh"
if [ $fail -ne 0 ]; then echo "android-sources: $((10 - fail)) passed, $fail failed"; exit 1; fi
echo "android-sources: 10 passed, 0 failed (the SDK/NDK/Gradle build itself is not run here)"
