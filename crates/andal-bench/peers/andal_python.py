"""Outage-benchmark peer: Andal's Python binding with its default policies.

One ``andal.Client`` shared by the worker threads (network calls release the GIL),
deadline 5 s. Attempts come from the answer's provenance or from ``Unavailable.attempts``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import andal

import _pace


def main() -> None:
    args = _pace.parse_args()
    client = andal.Client(
        args.url,
        args.partner,
        args.api_key,
        deadline=args.deadline_s,
        allow_insecure_http=True,
    )

    def check(person: Dict[str, Any]) -> Tuple[str, Optional[int], Optional[float]]:
        try:
            d = client.verify(
                nik=person["nik"],
                full_name=person["full_name"],
                birth_date=person["birth_date"],
            )
        except andal.Unavailable as e:
            return f"error:{e.cause}", e.attempts, e.retry_in
        except andal.AndalError as e:
            return f"error:{e.code}", None, None
        outcome = "ok" if d.verdict == andal.Verdict.MATCH else "mismatch"
        return outcome, d.provenance.attempts, None

    try:
        _pace.run(args, check)
    finally:
        client.close()


if __name__ == "__main__":
    main()
