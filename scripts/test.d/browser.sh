#!/usr/bin/env bash
# The outage page in a real browser: headless Chromium (Debian's package, installed when
# missing) loads the page from disk and scripts/browser/check_page.py checks it over the
# DevTools protocol: headline numbers equal the report JSON's, nothing sticks out of the
# page (desktop, phone, print), nothing is fetched. Pages come from the checked-in drill
# report (tests/fixtures/outage-report-drill.json) in Bahasa Indonesia (WIB) and English
# (WITA). Screenshots are kept under $ANDAL_CACHE/browser (paths printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# shellcheck disable=SC1091
. scripts/lib/apt.sh
# shellcheck disable=SC1091
. scripts/lib/cargo.sh
ensure_debian_packages chromium
CHROMIUM="$(command -v chromium || true)"
[ -x "$CHROMIUM" ] || { echo "chromium not found after install" >&2; exit 1; }

CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"
VENV="$CACHE/browser-venv"
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$CACHE"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import websockets.sync.client' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q 'websockets>=13,<18'
fi

debug_build
ANDAL="$(debug_dir)/andal"
OUT="$CACHE/browser"
mkdir -p "$OUT"
REPORT="$ROOT/tests/fixtures/outage-report-drill.json"

"$ANDAL" report --input "$REPORT" --html "$OUT/outage-page-id.html" --svg "$OUT/outage-timeline-id.svg" >/dev/null
"$ANDAL" report --input "$REPORT" --html "$OUT/outage-page-en.html" --lang en --tz WITA >/dev/null

"$VENV/bin/python" scripts/browser/check_page.py --chromium "$CHROMIUM" --report "$REPORT" \
  --page "$OUT/outage-page-id.html" --lang id --out "$OUT"
"$VENV/bin/python" scripts/browser/check_page.py --chromium "$CHROMIUM" --report "$REPORT" \
  --page "$OUT/outage-page-en.html" --lang en --out "$OUT"
