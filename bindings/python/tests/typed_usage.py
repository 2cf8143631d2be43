"""Typed usage of the public API, checked with `mypy --strict` (not a pytest module)."""

from __future__ import annotations

import asyncio
import datetime
from typing import List, Optional

import andal


def one(client: andal.Client) -> Optional[andal.Verdict]:
    try:
        d: andal.Decision = client.verify(
            nik="3316094507990001",
            full_name="Siti Aminah",
            birth_date=datetime.date(1999, 7, 5),
            birth_place=None,
            idempotency_key="tx-1",
            deadline=2.5,
        )
    except andal.InvalidNik as e:
        part: str = e.part
        pos: Optional[int] = e.position
        print(part, pos)
        return None
    except andal.Unavailable as e:
        cause: str = e.cause
        attempts: int = e.attempts
        elapsed: float = e.elapsed
        print(cause, attempts, elapsed, e.retry_in)
        return None
    except (andal.AuthError, andal.Rejected) as e:
        status: int = e.status
        print(status, e.problem)
        return None
    fields: andal.FieldResults = d.fields
    ok: bool = d.is_match and not d.is_offline and fields.full_name is andal.FieldMatch.SESUAI
    print(ok, d.provenance.request_id, d.to_dict(), d.nik_masked, d.elapsed_ms)
    return d.verdict


def many(client: andal.Client) -> List[str]:
    rows: List[andal.Row] = [
        {"nik": "3316094507990001", "full_name": "Siti", "birth_date": "1999-07-05"},
        ("3316094507990001", "Siti", datetime.date(1999, 7, 5)),
    ]
    results: List[andal.BatchResult] = client.verify_many(rows, concurrency=4, progress=False)
    out: List[str] = []
    for r in results:
        if r.ok:
            out.append(r.unwrap().verdict.value)
        elif r.error is not None:
            out.append(r.error.code)
    return out


async def concurrent(client: andal.Client) -> List[andal.Decision]:
    return list(
        await asyncio.gather(
            client.verify_async(nik="3316094507990001", full_name="Siti", birth_date="1999-07-05")
        )
    )


async def native_async(url: str) -> List[str]:
    async with andal.AsyncClient(url, "demo-bank", "key", allow_insecure_http=True) as client:
        d: andal.Decision = await client.verify(
            nik="3316094507990001", full_name="Siti Aminah", birth_date="1999-07-05"
        )
        rows = [{"nik": "3316094507990001", "full_name": "Siti", "birth_date": "1999-07-05"}]
        ordered: List[andal.BatchResult] = await client.verify_many(rows, concurrency=16)
        labels = [r.to_row()["verdict"] for r in ordered]
        async for r in client.as_completed(rows, concurrency=4):
            labels.append(str(r.index))
        status: andal.TrustStatus = await client.refresh_trust()
        report: andal.ReconcileReport = await client.reconcile()
        health: andal.Health = client.health()
        print(d.verdict, status.keys, report.examined, health.breaker.state)
        return labels


def nik() -> str:
    n = andal.Nik.parse("3316094507990001")
    day: int = n.birth_day
    return f"{n!r} {n.sex} {n.regency_code} {day} {n.region()['regency']} {andal.normalize_name('x')}"


def offline(url: str, root: str, token: str) -> int:
    with andal.Client(url, "bank-a", "key", trust_roots=[root], journal="j.journal",
                      journal_key=andal.generate_journal_key(),
                      fallback=andal.FallbackPolicy(max_token_age=86400.0)) as c:
        status: andal.TrustStatus = c.refresh_trust()
        d = c.verify(nik="3316094507990001", full_name="Siti", birth_date="1999-07-05", token=token)
        report: andal.ReconcileReport = c.reconcile()
        items: List[andal.ReconcileItem] = report.items
        refusal: Optional[str] = andal.Unavailable("x").offline_refusal
        print(status.keys, d.is_offline, d.provenance.journal_seq, len(items), refusal)
        return report.confirmed


def main() -> None:
    with andal.Client("https://registry.example", "bank-a", "key", deadline=5.0) as client:
        print(one, many, concurrent, client.partner_id, nik())


async def behind_private_ca(url: str) -> bool:
    # The async client takes the blocking client's TLS and proxy arguments.
    async with andal.AsyncClient(
        url, "bank-a", "key",
        ca_bundle="/etc/bank/registry-ca.pem",
        client_cert="/etc/bank/client.pem",
        client_key="/etc/bank/client.key",
        platform_verifier=False,
        proxy="http://egress.bank.internal:3128",
    ) as client:
        d = await client.verify(nik="3316094507990001", full_name="Siti", birth_date="1999-07-05")
        return d.is_match
