#!/usr/bin/env bash
# Interoperability of Andal's tokens with an independent JOSE implementation (joserfc, in
# the venv scripts/test.d/python.sh uses), both directions:
#   - tokens signed by joserfc (EdDSA and the RFC 9864 name Ed25519, ES256, aud as a
#     string, typ with the application/ prefix) verify in Andal; tampered ones do not;
#   - tokens Andal issues (andal-token feature `issue`) verify in joserfc.
# Exit status is non-zero on any mismatch; the last line is a plain count.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. scripts/lib/cargo.sh

CACHE="${ANDAL_CACHE:-$HOME/.cache/andal}"
VENV="$CACHE/venv"
PYTHON_BIN="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$CACHE"
  "$PYTHON_BIN" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import joserfc' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install -q 'joserfc>=1.1,<2'
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

debug_build # the workspace run's build, with andal-token's `issue` feature
JOSE_INTEROP="$(debug_dir)/examples/jose_interop"
"$JOSE_INTEROP" issue "$WORK"

# (joserfc warns that the name EdDSA is deprecated by RFC 9864: both names are tested.)
"$VENV/bin/python" -W ignore::Warning - "$WORK" <<'PY' > "$WORK/python.out"
import base64, hashlib, json, os, sys
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey

work = sys.argv[1]
NOW, ISS, AUD = 1_767_225_600, "andal-interop", "bank-1"
FIELDS = {"nik": "3174015708900001", "name": "SITI AMINAH", "birth_date": "1990-08-17"}
ALGS = ["EdDSA", "Ed25519", "ES256"]

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def digest(field, salt, value):
    # SHA-256("andal-field-v1" 0 field 0 salt 0 value), docs/tokens.md
    return hashlib.sha256(b"andal-field-v1\0" + field.encode() + b"\0" + salt + b"\0" + value.encode()).digest()

def claims(jti, aud):
    dig = {}
    for i, (f, v) in enumerate(FIELDS.items()):
        salt = bytes([i + 1]) * 16
        dig[f] = {"salt": b64(salt), "digest": b64(digest(f, salt, v))}
    return {"iss": ISS, "aud": aud, "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 86400,
            "jti": jti, "status": "active_match", "dig": dig}

# Direction 1: joserfc signs, Andal verifies (the Rust side reads py-*.token).
ed = OKPKey.generate_key("Ed25519", parameters={"kid": "py-ed"})
es = ECKey.generate_key("P-256", parameters={"kid": "py-es"})
cases = [
    ("py-eddsa", ed, "EdDSA", "andal-attestation+jwt", [AUD]),
    ("py-ed25519-alg", ed, "Ed25519", "andal-attestation+jwt", [AUD]),
    ("py-es256", es, "ES256", "andal-attestation+jwt", [AUD]),
    ("py-aud-string", ed, "EdDSA", "andal-attestation+jwt", AUD),
    ("py-typ-application", es, "ES256", "application/andal-attestation+jwt", [AUD]),
    ("py-wrong-aud-bad", ed, "EdDSA", "andal-attestation+jwt", "someone-else"),
]
for name, key, alg, typ, aud in cases:
    header = {"alg": alg, "typ": typ, "kid": key.kid}
    token = jws.serialize_compact(header, json.dumps(claims(name, aud)).encode(), key, algorithms=ALGS)
    with open(os.path.join(work, name + ".token"), "w") as f:
        f.write(token)
    with open(os.path.join(work, name + ".jwk.json"), "w") as f:
        json.dump(key.as_dict(private=False), f)
# A tampered one must be refused.
t = open(os.path.join(work, "py-eddsa.token")).read().split(".")
payload = json.loads(base64.urlsafe_b64decode(t[1] + "=="))
payload["aud"] = ["mallory", AUD]
t[1] = b64(json.dumps(payload).encode())
with open(os.path.join(work, "py-tampered-bad.token"), "w") as f:
    f.write(".".join(t))
with open(os.path.join(work, "py-tampered-bad.jwk.json"), "w") as f:
    json.dump(ed.as_dict(private=False), f)

# Direction 2: Andal issued, joserfc verifies.
for name in ["eddsa", "es256"]:
    jwk = json.load(open(os.path.join(work, f"andal-{name}.jwk.json")))
    key = OKPKey.import_key(jwk) if jwk["kty"] == "OKP" else ECKey.import_key(jwk)
    token = open(os.path.join(work, f"andal-{name}.token")).read().strip()
    try:
        obj = jws.deserialize_compact(token, key, algorithms=ALGS)
        c = json.loads(obj.payload)
        ok = (obj.protected["typ"] == "andal-attestation+jwt" and c["iss"] == ISS
              and AUD in c["aud"] and c["status"] == "active_match"
              and all(base64.urlsafe_b64decode(c["dig"][f]["digest"] + "=")
                      == digest(f, base64.urlsafe_b64decode(c["dig"][f]["salt"] + "=="), v)
                      for f, v in FIELDS.items()))
        print(("ok" if ok else "FAIL") + f" andal-{name} in joserfc" + ("" if ok else ": claims"))
    except Exception as e:  # noqa: BLE001
        print(f"FAIL andal-{name} in joserfc: {type(e).__name__}")
    # ... and a flipped signature bit is refused by joserfc.
    h, p, s = token.split(".")
    sig = bytearray(base64.urlsafe_b64decode(s + "=="))
    sig[0] ^= 1
    try:
        jws.deserialize_compact(f"{h}.{p}.{b64(bytes(sig))}", key, algorithms=ALGS)
        print(f"FAIL andal-{name}-tampered in joserfc: accepted")
    except Exception:  # noqa: BLE001
        print(f"ok andal-{name}-tampered in joserfc (rejected)")
PY

set +e
"$JOSE_INTEROP" verify "$WORK" > "$WORK/rust.out"
set -e
cat "$WORK/python.out" "$WORK/rust.out"
passed=$(cat "$WORK/python.out" "$WORK/rust.out" | awk '/^ok /{n++} END {print n+0}')
failed=$(cat "$WORK/python.out" "$WORK/rust.out" | awk '/^FAIL /{n++} END {print n+0}')
echo "jose-interop: $passed passed, $failed failed"
# 4 joserfc checks of Andal tokens + 7 Andal checks of joserfc tokens.
[ "$failed" -eq 0 ] && [ "$passed" -eq 11 ]
