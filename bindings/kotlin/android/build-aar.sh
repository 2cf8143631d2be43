#!/usr/bin/env bash
# Build an Android AAR of the Andal Kotlin bindings (not run in CI: needs the Android SDK +
# NDK, Gradle and cargo-ndk). Output: build/aar/outputs/aar/andal-release.aar
#
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   cargo install cargo-ndk
#   export ANDROID_HOME=... ANDROID_NDK_HOME=...
#   bindings/kotlin/android/build-aar.sh
set -euo pipefail
# Mobile builds favour size: fat LTO, one codegen unit, opt-level "s" (x86_64 Linux
# measurement: 3.19 MB stripped instead of 3.75 MB with the workspace release profile).
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-fat}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}"
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-symbols}"
cd "$(dirname "$0")"
HERE=$PWD
ROOT="$(cd ../../.. && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$HERE/build/aar"
MIN_SDK="${ANDAL_MIN_SDK:-24}"

rm -rf "$OUT" && mkdir -p "$OUT/src/main/jniLibs" "$OUT/src/main/kotlin/id/andal"

# 1. Native libraries for the three ABIs (release profile: LTO, stripped).
(cd "$ROOT" && cargo ndk --platform "$MIN_SDK" -t arm64-v8a -t armeabi-v7a -t x86_64 \
  -o "$OUT/src/main/jniLibs" build --release --locked -p andal-uniffi)

# 2. Kotlin sources generated for Android (android.system.SystemCleaner instead of a
#    cleaner thread), from a host build of the same crate (the metadata is the same).
(cd "$ROOT" && cargo build --quiet --locked -p andal-uniffi -p uniffi-bindgen)
printf '[crates.andal_uniffi.bindings.kotlin]\nandroid = true\n' > "$OUT/uniffi-android.toml"
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libandal_uniffi.so" \
  --language kotlin --no-format --config "$OUT/uniffi-android.toml" --out-dir "$OUT/src/main/kotlin"
cp "$ROOT/bindings/kotlin/src/main/kotlin/id/andal/"*.kt "$OUT/src/main/kotlin/id/andal/"

# 3. A one-module Gradle library around them: JNA as an AAR (it ships libjnidispatch.so).
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
    id("org.jetbrains.kotlin.android") version "2.1.0"
}
android {
    namespace = "id.andal"
    compileSdk = 35
    defaultConfig { minSdk = $MIN_SDK; consumerProguardFiles("consumer-rules.pro") }
    compileOptions { sourceCompatibility = JavaVersion.VERSION_17; targetCompatibility = JavaVersion.VERSION_17 }
    kotlinOptions { jvmTarget = "17" }
}
dependencies {
    api("net.java.dev.jna:jna:5.17.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    implementation("androidx.annotation:annotation:1.9.1")
}
KTS
# JNA looks classes up by name: keep them (and the generated callbacks) through R8.
cat > "$OUT/consumer-rules.pro" <<'PRO'
-keep class com.sun.jna.** { *; }
-keep class id.andal.** { *; }
-dontwarn java.awt.**
PRO

(cd "$OUT" && gradle --quiet assembleRelease)
ls -l "$OUT/build/outputs/aar/"
