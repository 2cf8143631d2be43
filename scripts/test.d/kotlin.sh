#!/usr/bin/env bash
# Kotlin/JVM bindings: build the UniFFI cdylib and the sandbox, generate the Kotlin sources,
# run the JUnit suite (against sandboxes the tests start), then the JVM service example in
# examples/kotlin against a sandbox started here. Maven downloads its dependencies into
# ~/.m2 on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"

command -v mvn >/dev/null || { echo "kotlin.sh: mvn not found (install Maven 3.8+ and a JDK 17+)" >&2; exit 1; }

# The pom builds these too; building here first keeps cargo's output out of Maven's, lets
# the example's sandbox start before Maven runs, and reuses the workspace run's build
# (scripts/lib/cargo.sh).
# shellcheck disable=SC1091
. scripts/lib/cargo.sh
debug_build

WORK="$(mktemp -d)"
SANDBOX_PID=""
cleanup() {
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

SEED=20251
"$TARGET/debug/andal-sandbox" --sample 5 --seed "$SEED" > "$WORK/people.jsonl"
"$TARGET/debug/andal-sandbox" --port 0 --seed "$SEED" > "$WORK/sandbox.out" 2> "$WORK/sandbox.err" &
SANDBOX_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/sandbox.out" ] && break
  sleep 0.05
done
URL="$(head -n1 "$WORK/sandbox.out")"
[ -n "$URL" ] || { echo "kotlin.sh: the sandbox printed no URL" >&2; cat "$WORK/sandbox.err" >&2; exit 1; }

cd "$ROOT/bindings/kotlin"
rm -rf target/surefire-reports
status=0
mvn -B -q -Dstyle.color=never test exec:java@run-example -Dandal.skipCargo=true \
  -Dandal.example.url="$URL" -Dandal.example.people="$WORK/people.jsonl" || status=$?

# Surefire's results (quiet mode prints only failures).
python3 - target/surefire-reports <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
for path in sorted(glob.glob(sys.argv[1] + "/TEST-*.xml")):
    r = ET.parse(path).getroot()
    n, fl, er, sk = (int(r.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    t, f, e, s = t + n, f + fl, e + er, s + sk
    print(f"Tests run: {n}, Failures: {fl}, Errors: {er}, Skipped: {sk}, Time elapsed: {r.get('time')} s - in {r.get('name')}")
print(f"Tests run: {t}, Failures: {f}, Errors: {e}, Skipped: {s}")
print(f"kotlin: {t - f - e - s} passed, {f + e} failed, {s} skipped")
PY
[ $status -eq 0 ] || exit $status

# The jar as a JVM service gets it: `mvn install` bundles the shipping build of the library
# (profile release-ffi, cdylib only) under JNA's linux-x86-64/ folder; a separate project
# that names only the Maven coordinates runs one check with it.
(cd "$ROOT" && cargo rustc --quiet --locked --profile release-ffi -p andal-uniffi --lib --crate-type cdylib)
mvn -B -q -Dstyle.color=never install -DskipTests -Dandal.skipCargo=true
JAR="$ROOT/bindings/kotlin/target/andal-0.1.0.jar"
SO_BYTES="$(python3 -c 'import sys, zipfile
try: print(zipfile.ZipFile(sys.argv[1]).getinfo("linux-x86-64/libandal_uniffi.so").file_size)
except KeyError: pass' "$JAR")"
[ -n "$SO_BYTES" ] || { echo "kotlin: the jar lacks linux-x86-64/libandal_uniffi.so" >&2; exit 1; }
# The size target of the FFI library with the built-in HTTPS transport (docs/benchmarks.md).
if [ "$SO_BYTES" -ge 3000000 ]; then
  echo "kotlin: libandal_uniffi.so is $SO_BYTES bytes, over the 3 MB target" >&2; exit 1
fi
echo "kotlin: jar bundles linux-x86-64/libandal_uniffi.so ($SO_BYTES bytes)"
mvn -B -q -Dstyle.color=never -f "$ROOT/bindings/kotlin/consumer-test/pom.xml" package exec:java \
  -Dsandbox.url="$URL" -Dsandbox.people="$WORK/people.jsonl"
echo "kotlin: consumer project (by coordinates only) passed"
