#!/usr/bin/env python3
"""Overnight batch: verify a CSV of participants, write the results to another CSV.

Input columns: ``nik``, ``full_name``, ``birth_date`` (YYYY-MM-DD), optionally
``birth_place`` and ``token`` (an attestation token); any other column (e.g. ``participant_id``) is copied through. Output:
those other columns, ``row``, ``nik_masked``, ``verdict``, ``fields``, ``source``,
``error``, ``error_detail``. The output holds no raw NIK, name or birth date.

    python examples/python/overnight_batch.py --url http://127.0.0.1:PORT \\
        --allow-insecure-http --partner-id demo-bank --api-key sandbox-demo-bank-key \\
        --in participants.csv --out results.csv --key-prefix run-2026-11-28

With ``--key-prefix`` every row is sent with the idempotency key ``PREFIX-ROW``: running
the same file again (after a crash or Ctrl-C) is not charged twice for the rows already
checked. Rows are written as they complete, in input order; Ctrl-C stops at once and
leaves the rows done so far in the output.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from typing import Dict, Iterator, List, Optional

import andal

PERSONAL = ("nik", "full_name", "birth_date", "birth_place")
RESULT_COLUMNS = ["row", "nik_masked", "verdict", "fields", "source", "error", "error_detail"]


def read_rows(path: str, key_prefix: Optional[str]) -> List[Dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if key_prefix:
        for i, row in enumerate(rows, start=1):
            row.setdefault("idempotency_key", f"{key_prefix}-{i}")
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a CSV of participants.")
    ap.add_argument("--url", default=os.environ.get("ANDAL_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--partner-id", default=os.environ.get("ANDAL_PARTNER_ID", "demo-bank"))
    ap.add_argument("--api-key", default=os.environ.get("ANDAL_API_KEY", ""))
    ap.add_argument("--allow-insecure-http", action="store_true",
                    help="allow http:// (the local sandbox only)")
    ap.add_argument("--in", dest="input", required=True, help="input CSV")
    ap.add_argument("--out", dest="output", required=True, help="output CSV")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=5.0, help="seconds per check")
    ap.add_argument("--key-prefix", help="idempotency key prefix (re-runs not charged twice)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    rows = read_rows(args.input, args.key_prefix)
    passthrough = [c for c in (rows[0].keys() if rows else []) if c not in PERSONAL + ("idempotency_key", "token")]
    tally: Counter[str] = Counter()

    client = andal.Client(
        args.url,
        args.partner_id,
        args.api_key,
        deadline=args.deadline,
        allow_insecure_http=args.allow_insecure_http,
    )
    with open(args.output, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=passthrough + RESULT_COLUMNS)
        writer.writeheader()
        results: Iterator[andal.BatchResult] = client.iter_verify(
            rows, concurrency=args.concurrency, progress=not args.no_progress
        )
        try:
            for result in results:
                src = rows[result.index]
                line: Dict[str, object] = {c: src.get(c, "") for c in passthrough}
                line["row"] = result.index + 1
                line["nik_masked"] = andal.mask_nik(src.get("nik") or "")
                line.update(result.to_row())
                writer.writerow(line)
                tally[result.verdict.value if result.verdict else f"error:{type(result.error).__name__}"] += 1
        except KeyboardInterrupt:
            out.flush()
            done = sum(tally.values())
            print(f"\ninterrupted: {done}/{len(rows)} rows written to {args.output}", file=sys.stderr)
            sys.stderr.flush()
            # Do not wait for the checks still in flight (each ends within its deadline).
            os._exit(130)
    client.close()

    summary = ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
    print(f"{len(rows)} rows -> {args.output}: {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
