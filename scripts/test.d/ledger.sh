#!/usr/bin/env bash
# The fleet ledger against a real PostgreSQL 15 (Debian's package, installed when missing):
# starts a throwaway cluster of its own (data directory under /tmp, run as the `postgres`
# user, loopback only, a free port, TLS on with a CA and a server certificate for the name
# `ledger.test` made for the run), runs the ledger integration tests (crates/andal-ledger)
# and the fleet drill test (crates/andal-cli/tests/fleet.rs: 8 node processes, 50 shipper
# SIGKILLs, one PostgreSQL restart, two reconcilers; over TLS, verify-full with the run's
# CA), and stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck disable=SC1091
. scripts/lib/apt.sh
ensure_debian_packages postgresql openssl

PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PGBIN/initdb" ] || { echo "ledger: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
echo "ledger: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') from $PGBIN"

AS_PG=()
if [ "$(id -u)" -eq 0 ]; then AS_PG=(runuser -u postgres --); fi
WORK="$(mktemp -d /tmp/andal-ledger-pg.XXXXXX)"
chmod 755 "$WORK"
[ ${#AS_PG[@]} -eq 0 ] || chown postgres "$WORK"
stop() {
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# TLS: a CA for this run, the server's certificate (P-256) for `ledger.test` signed by it,
# and another CA that signed nothing (the tests' wrong CA).
new_ca() {
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
    -keyout "$WORK/$1.key" -out "$WORK/$1.crt" -subj "/CN=andal-test-$1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
new_ca ca
new_ca other-ca
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout "$WORK/server.key" -out "$WORK/server.csr" -subj /CN=ledger.test 2>/dev/null
printf 'subjectAltName=DNS:ledger.test\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
  > "$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial \
  -days 2 -extfile "$WORK/server.ext" -out "$WORK/server.crt" 2>/dev/null
chmod 600 "$WORK/server.key"
[ ${#AS_PG[@]} -eq 0 ] || chown postgres "$WORK/server.key" "$WORK/server.crt"
OPTS="-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$WORK/server.crt -c ssl_key_file=$WORK/server.key"

"${AS_PG[@]}" "$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -o "$OPTS" -l "$WORK/server.log" -w start >/dev/null

export ANDAL_LEDGER_TEST_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export ANDAL_LEDGER_TEST_CA="$WORK/ca.crt" ANDAL_LEDGER_TEST_OTHER_CA="$WORK/other-ca.crt"
# The fleet drill restarts the server once mid-run with this command.
export ANDAL_LEDGER_TEST_PG_RESTART="${AS_PG[*]} $PGBIN/pg_ctl -D $WORK/data -o '$OPTS' -l $WORK/server.log -w -m fast restart"
# pg_dump of the server's own version for the personal-data checks.
export ANDAL_PG_DUMP="$PGBIN/pg_dump"
export PATH="$PGBIN:$PATH"

# Only the two PostgreSQL test targets run (the ledger's unit tests ran in the workspace
# run already), as the workspace run built them: their executables are taken from that
# build (a no-op after scripts/test.sh's `cargo test`). Selecting them with `cargo test
# --test ledger --test fleet` instead resolves a slightly different build (build-only
# dependencies without debug info) and recompiled the core and the sandbox.
# --nocapture: a test that skipped (no database) says so, and that must fail here.
cargo test --quiet --workspace --all-features --locked --no-run --message-format=json \
  2>"$WORK/build.log" > "$WORK/build.json" || { cat "$WORK/build.log"; exit 1; }
mapfile -t TESTS < <(python3 - "$WORK/build.json" <<'PY'
import json, os, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") in ("ledger", "fleet") \
            and t.get("kind") == ["test"] and m.get("executable"):
        # cargo test runs a test from its package's directory.
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
PY
)
[ "${#TESTS[@]}" -eq 2 ] || { echo "ledger: expected the ledger and fleet test executables, found ${#TESTS[@]}" >&2; exit 1; }
for t in "${TESTS[@]}"; do
  (cd "${t%%$'\t'*}" && "${t#*$'\t'}" --nocapture) >> "$WORK/test.log" 2>&1 || { cat "$WORK/test.log"; exit 1; }
done
grep -E '^test result|"(acknowledged_offline_decisions|shipper_kills|ship_lag_ms_p99|reconciled_per_second)"' "$WORK/test.log"
[ "$(grep -c '^test result: ok' "$WORK/test.log")" -eq 2 ] || { cat "$WORK/test.log"; exit 1; }
if grep -q '^skipped:' "$WORK/test.log"; then
  grep '^skipped:' "$WORK/test.log" >&2; echo "ledger: a test skipped although PostgreSQL is running" >&2; exit 1
fi
echo "ledger: ok"
