#!/usr/bin/env bash
# Build an Android AAR of the Andal Kotlin bindings (needs the Android SDK + NDK, Gradle and
# cargo-ndk; not run in this project's CI). Output: build/aar/build/outputs/aar/andal-release.aar
#
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   cargo install cargo-ndk
#   export ANDROID_HOME=... ANDROID_NDK_HOME=...
#   bindings/kotlin/android/build-aar.sh
#
# `--sources-only DIR` stages the Gradle project (Kotlin sources, build files) into DIR
# without the SDK, NDK or Gradle: scripts/test.d/android-sources.sh checks it.
#
# What goes in:
# - the core built with the `release-ffi` profile (fat LTO, opt-level "s"), as a cdylib only,
#   WITHOUT the built-in HTTPS transport (`--no-default-features`): on Android the app's
#   OkHttp carries the requests (`OkHttpTransport`), with its pinning and proxy settings;
# - the generated bindings in Android mode (android.system.SystemCleaner);
# - the hand-written Kotlin sources except those on `java.net.http` (not on Android);
# - dependency versions read from ../pom.xml (one source of truth with the JVM jar).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT="$(cd ../../.. && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
MIN_SDK="${ANDAL_MIN_SDK:-24}"
POM="$ROOT/bindings/kotlin/pom.xml"

SOURCES_ONLY=""
if [ "${1:-}" = "--sources-only" ]; then
  SOURCES_ONLY=1
  OUT="${2:?--sources-only needs a directory}"
else
  OUT="$HERE/build/aar"
fi

# Versions from the pom's <properties> (the JVM build and the AAR never drift apart).
pom_property() {
  python3 - "$POM" "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
el = ET.parse(sys.argv[1]).getroot().find(f"m:properties/m:{sys.argv[2]}", ns)
if el is None or not (el.text or "").strip():
    sys.exit(f"pom.xml has no <{sys.argv[2]}> property")
print(el.text.strip())
PY
}
KOTLIN_VERSION="$(pom_property kotlin.version)"
COROUTINES_VERSION="$(pom_property coroutines.version)"
JNA_VERSION="$(pom_property jna.version)"
OKHTTP_VERSION="$(pom_property okhttp.version)"
SLF4J_VERSION="$(pom_property slf4j.version)"

rm -rf "$OUT" && mkdir -p "$OUT/src/main/jniLibs" "$OUT/src/main/kotlin/id/andal"

# 1. Kotlin sources generated for Android, from a host build of the same crate (the
#    metadata is the same for every target).
#    ANDAL_HOST_BUILT=1: already built in $TARGET/debug (scripts/test.d/android-sources.sh).
[ -n "${ANDAL_HOST_BUILT:-}" ] || (cd "$ROOT" && cargo build --quiet --locked -p andal-uniffi -p uniffi-bindgen)
printf '[crates.andal_uniffi.bindings.kotlin]\nandroid = true\n' > "$OUT/uniffi-android.toml"
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libandal_uniffi.so" \
  --language kotlin --no-format --config "$OUT/uniffi-android.toml" --out-dir "$OUT/src/main/kotlin" >/dev/null
# Hand-written sources, minus the java.net.http transport (Android has no java.net.http).
# (Not `grep -q`: it exits at the first match, the first grep may then die of SIGPIPE, and
# under `pipefail` the file would count as clean and be copied.)
for f in "$ROOT/bindings/kotlin/src/main/kotlin/id/andal/"*.kt; do
  if grep -v -E '^[[:space:]]*(\*|//|/\*)' "$f" | grep 'java\.net\.http' >/dev/null; then continue; fi
  cp "$f" "$OUT/src/main/kotlin/id/andal/"
done

# 2. A one-module Gradle library around them: JNA as an AAR (it ships libjnidispatch.so).
cat > "$OUT/src/main/AndroidManifest.xml" <<'XML'
<manifest xmlns:android="http://schemas.android.com/apk/res/android">
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
XML
cat > "$OUT/settings.gradle.kts" <<'KTS'
pluginManagement { repositories { google(); mavenCentral(); gradlePluginPortal() } }
dependencyResolutionManagement { repositories { google(); mavenCentral() } }
rootProject.name = "andal"
KTS
cat > "$OUT/build.gradle.kts" <<KTS
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "$KOTLIN_VERSION"
}
android {
    namespace = "id.andal"
    compileSdk = 35
    defaultConfig { minSdk = $MIN_SDK; consumerProguardFiles("consumer-rules.pro") }
    compileOptions { sourceCompatibility = JavaVersion.VERSION_17; targetCompatibility = JavaVersion.VERSION_17 }
    kotlinOptions { jvmTarget = "17" }
}
dependencies {
    api("net.java.dev.jna:jna:$JNA_VERSION@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:$COROUTINES_VERSION")
    api("com.squareup.okhttp3:okhttp:$OKHTTP_VERSION")
    // Slf4jLogSink only: an app that uses it brings SLF4J; others never load the class.
    compileOnly("org.slf4j:slf4j-api:$SLF4J_VERSION")
    implementation("androidx.annotation:annotation:1.9.1")
}
KTS
# JNA looks classes up by name: keep them (and the generated callbacks) through R8.
cat > "$OUT/consumer-rules.pro" <<'PRO'
-keep class com.sun.jna.** { *; }
-keep class id.andal.** { *; }
-dontwarn java.awt.**
PRO

if [ -n "$SOURCES_ONLY" ]; then
  echo "staged the AAR project (sources only) in $OUT"
  exit 0
fi

# 3. Native libraries for the three ABIs: release-ffi, cdylib only, no built-in HTTPS.
declare -A ABI=([arm64-v8a]=aarch64-linux-android [armeabi-v7a]=armv7-linux-androideabi [x86_64]=x86_64-linux-android)
for abi in "${!ABI[@]}"; do
  (cd "$ROOT" && cargo ndk --platform "$MIN_SDK" -t "$abi" rustc --locked --profile release-ffi \
    -p andal-uniffi --lib --crate-type cdylib --no-default-features)
  mkdir -p "$OUT/src/main/jniLibs/$abi"
  cp "$TARGET/${ABI[$abi]}/release-ffi/libandal_uniffi.so" "$OUT/src/main/jniLibs/$abi/"
done

(cd "$OUT" && gradle --quiet assembleRelease)
ls -l "$OUT/build/outputs/aar/"
