#!/usr/bin/env python3
"""One check at a BPJS service counter.

A participant hands over their e-KTP; the officer types the NIK, name and birth date
and gets an answer within seconds: match, which field does not match, or an honest
"registry unavailable" (with what failed) instead of a spinner.

    python examples/python/counter.py --url http://127.0.0.1:PORT --allow-insecure-http \\
        --partner-id demo-bank --api-key sandbox-demo-bank-key \\
        --nik 3316094507990001 --name "Siti Aminah" --birth-date 1999-07-05

Exit status: 0 match, 1 no match (mismatch, not found, inactive), 2 registry unavailable,
3 invalid input, 4 configuration or credentials.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Any, Dict, List, Optional

import andal

LABELS = {
    andal.FieldMatch.SESUAI: "SESUAI",
    andal.FieldMatch.TIDAK_SESUAI: "TIDAK SESUAI",
    andal.FieldMatch.NOT_CHECKED: "-",
}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Verify one participant at the counter.")
    ap.add_argument("--url", default=os.environ.get("ANDAL_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--partner-id", default=os.environ.get("ANDAL_PARTNER_ID", "demo-bank"))
    ap.add_argument("--api-key", default=os.environ.get("ANDAL_API_KEY", ""))
    ap.add_argument("--allow-insecure-http", action="store_true",
                    help="allow http:// (the local sandbox only)")
    ap.add_argument("--deadline", type=float, default=5.0, help="seconds (default 5)")
    ap.add_argument("--nik", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    ap.add_argument("--birth-place")
    ap.add_argument("--transaction-id", help="used as idempotency key: a retry is not charged twice")
    ap.add_argument("--token", help="the participant's attestation token (answers offline if the registry is down)")
    ap.add_argument("--trust-root", help="issuer root public key (JWK JSON file) to pin for offline answers")
    ap.add_argument("--trust-cache", help="directory caching the verified keyset and revocation list")
    ap.add_argument("--journal", help="offline journal file (with --journal-key-file)")
    ap.add_argument("--journal-key-file", help="file holding the 32-byte journal key")
    args = ap.parse_args(argv)

    offline: Dict[str, Any] = {}
    if args.trust_root:
        with open(args.trust_root, encoding="utf-8") as f:
            offline["trust_roots"] = [f.read()]
        if args.trust_cache:
            offline["trust_cache_dir"] = args.trust_cache
    if args.journal and args.journal_key_file:
        with open(args.journal_key_file, "rb") as kf:
            offline["journal"] = args.journal
            offline["journal_key"] = kf.read()

    outage_since: Optional[datetime.datetime] = None
    try:
        with andal.Client(
            args.url,
            args.partner_id,
            args.api_key,
            deadline=args.deadline,
            allow_insecure_http=args.allow_insecure_http,
            **offline,
        ) as client:
            if "trust_roots" in offline:
                try:
                    client.refresh_trust()
                except andal.AndalError:
                    pass  # registry down: keep the trust cached earlier, if any
            try:
                decision = client.verify(
                    nik=args.nik,
                    full_name=args.name,
                    birth_date=args.birth_date,
                    birth_place=args.birth_place,
                    idempotency_key=args.transaction_id,
                    token=args.token,
                )
            except andal.Unavailable:
                outage_since = client.outage_since()  # for the participant's notice
                raise
    except andal.InvalidNik as e:
        print(f"NIK tidak valid ({e.part}): {e}. Periksa kembali e-KTP.", file=sys.stderr)
        return 3
    except andal.InvalidInput as e:
        print(f"Data tidak valid ({e.field}): {e}", file=sys.stderr)
        return 3
    except andal.Unavailable as e:
        print(
            f"Registry unavailable ({e.cause}) after {e.attempts} attempt(s), "
            f"{e.elapsed:.1f}s"
            + (f"; no offline answer ({e.offline_refusal})" if e.offline_refusal else "")
            + ". Serve the participant by the manual procedure; nothing was charged twice.",
            file=sys.stderr,
        )
        # What the participant is told (and what goes on the slip), not "server error".
        told = andal.notice_for(e, since=outage_since)
        if told is not None:
            print(f"Untuk peserta: {told}", file=sys.stderr)
        return 2
    except (andal.AuthError, andal.ConfigError) as e:
        print(f"Configuration problem: {e}", file=sys.stderr)
        return 4
    except andal.AndalError as e:
        print(f"Check failed ({e.code}): {e}", file=sys.stderr)
        return 2

    print(f"NIK {decision.nik_masked}: {decision.verdict.value.upper()}"
          f" ({decision.source}, {decision.elapsed_ms} ms)")
    for field, result in decision.fields.to_dict().items():
        print(f"  {field:<12} {LABELS[andal.FieldMatch(result)]}")
    if decision.is_offline:
        print(f"  answered offline from token {decision.provenance.token_id}")
    told = andal.notice_for(decision)
    if told is not None:
        print(f"  untuk peserta: {told}")
    return 0 if decision.is_match else 1


if __name__ == "__main__":
    sys.exit(main())
