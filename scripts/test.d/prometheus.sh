#!/usr/bin/env bash
# A real Prometheus scrapes `andal drill --quick --metrics`: Prometheus from Debian's
# packages (installed when missing), run on loopback with its own config and data dir (not
# the system service); the test polls Prometheus's HTTP API until a scrape after the drill's
# last check is stored, then asserts that the check counters are there and add up to the
# drill's JSON totals. Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/apt.sh
. scripts/lib/cargo.sh
ensure_debian_packages prometheus curl
PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Two distinct free ports, held together while chosen so they can't be the same one.
read -r METRICS_PORT PROM_PORT < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')

debug_build
ANDAL="$(debug_dir)/andal"

cat > "$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: andal-drill
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
YML
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
PROM_PID=$!
API="http://127.0.0.1:$PROM_PORT/api/v1"

# What Prometheus, its scrape target and the drill said: printed whenever this test fails,
# so a failure on CI can be diagnosed from its output alone.
diagnose() {
  echo "--- prometheus targets:" >&2
  curl -s "$API/targets" 2>&1 | python3 -c '
import json, sys
try:
    for t in json.load(sys.stdin)["data"]["activeTargets"]:
        print(" ", t["scrapeUrl"], t["health"], "last scrape", t["lastScrape"], "error:", t["lastError"] or "-")
except Exception as e:
    print("  (no answer:", e, ")")' >&2 || true
  echo "--- prometheus log (tail):" >&2; tail -n 20 "$WORK/prometheus.log" >&2 || true
  echo "--- drill stderr (tail):" >&2; tail -n 20 "$WORK/drill.err" >&2 || true
  echo "--- drill endpoint: $(curl -s -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" | grep -c '^andal_' || true) andal_ sample lines" >&2
}

# Prometheus must be up (and its port its own) before the drill starts; bounded wait.
for i in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PROM_PID" 2>/dev/null || { echo "prometheus exited at start" >&2; diagnose; exit 1; }
  [ "$i" = 600 ] && { echo "prometheus not ready after 60 s" >&2; diagnose; exit 1; }
  sleep 0.1
done

# The drill keeps its endpoint up after the last check (--metrics-linger) so a scrape sees
# the final counters; it is killed once Prometheus has them.
"$ANDAL" drill --quick --json --out "$WORK/drill" \
  --metrics "127.0.0.1:$METRICS_PORT" --metrics-linger 180 >"$WORK/drill.json" 2>"$WORK/drill.err" &
DRILL=$!
PIDS+=($DRILL)

# The drill's JSON is printed when its checks are done (the endpoint still serves).
for i in $(seq 1 3000); do
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/drill.json" 2>/dev/null && break
  kill -0 "$DRILL" 2>/dev/null || { echo "drill exited early" >&2; diagnose; exit 1; }
  [ "$i" = 3000 ] && { echo "drill not done after 300 s" >&2; diagnose; exit 1; }
  sleep 0.1
done
read -r CHECKS ONLINE OFFLINE REFUSED < <(python3 - "$WORK/drill.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ph = d["phases"]
print(sum(p["checks"] for p in ph), sum(p["online"] for p in ph),
      sum(p["offline"] for p in ph), sum(p["refused"] for p in ph))
PY
)
echo "drill: $CHECKS checks ($ONLINE online, $OFFLINE offline, $REFUSED refused)"

# Each series is read as its last value in the past 10 minutes, so the answer doesn't depend
# on whether the drill's endpoint is still up at the moment of the query.
query() {
  local q
  q=$(printf '%s' "$1" | sed -E 's/(andal_[a-z_]+\{[^}]*\})/last_over_time(\1[10m])/')
  curl -sf --get "$API/query" --data-urlencode "query=$q" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else -1)'
}

# Bounded wait (90 s) for a scrape taken after the last check.
got=-1
for _ in $(seq 1 180); do
  got=$(query 'sum(andal_checks_total{job="andal-drill"})' || echo -1)
  [ "$got" = "$CHECKS" ] && break
  sleep 0.5
done
pass=0 fail=0
check() {
  local what=$1 want=$2 q=$3 v
  v=$(query "$q")
  if [ "$v" = "$want" ]; then echo "ok: $what = $v"; pass=$((pass+1)); else echo "FAIL: $what = $v, drill says $want" >&2; fail=$((fail+1)); fi
}
check "checks" "$CHECKS" 'sum(andal_checks_total{job="andal-drill"})'
check "online checks" "$ONLINE" 'sum(andal_checks_total{job="andal-drill",provenance="online"})'
check "offline checks" "$OFFLINE" 'sum(andal_checks_total{job="andal-drill",provenance="offline"})'
check "refused checks" "$REFUSED" 'sum(andal_checks_total{job="andal-drill",outcome="unavailable"})'
check "time-to-decision observations" "$CHECKS" 'sum(andal_check_duration_seconds_count{job="andal-drill"})'
# The outage opened the breaker at least once.
v=$(query 'sum(andal_breaker_transitions_total{job="andal-drill",to="open"})')
if [ "$v" -ge 1 ]; then echo "ok: breaker opened $v time(s)"; pass=$((pass+1)); else echo "FAIL: breaker never opened ($v)" >&2; fail=$((fail+1)); fi
# Citizen checks' attempts never exceed what the embedded sandbox saw (reconciliation's
# re-checks are counted by the sandbox only).
v=$(query 'sum(andal_check_attempts_total{job="andal-drill"})')
s=$(query 'sum(andal_sandbox_check_requests_total{job="andal-drill"})')
if [ "$v" -gt 0 ] && [ "$v" -le "$s" ]; then echo "ok: attempts $v <= sandbox check requests $s"; pass=$((pass+1)); else
  echo "FAIL: attempts $v, sandbox check requests $s" >&2; fail=$((fail+1)); fi

echo "prometheus: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { diagnose; exit 1; }
