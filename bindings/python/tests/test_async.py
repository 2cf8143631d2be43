"""``andal.AsyncClient``: native awaitables on the core's async client (asyncio.run; no
pytest plugin needed)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Awaitable, Dict, List, Optional, TypeVar

import pytest

import andal
from conftest import API_KEY, PARTNER

T = TypeVar("T")


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def _client(url: str, **extra: Any) -> andal.AsyncClient:
    return andal.AsyncClient(url, PARTNER, API_KEY, allow_insecure_http=True, **extra)


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def os_threads() -> int:
    """OS threads of this process (Linux), whatever created them."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")


def test_verify_gives_the_same_decision_as_the_sync_client(
    sandbox: Any, people: List[Dict[str, Any]]
) -> None:
    p = people[0]

    async def main() -> andal.Decision:
        async with _client(sandbox.url) as c:
            d = await c.verify(**_kw(p), birth_place=p.get("birth_place"))
            assert not c.closed
        assert c.closed
        return d

    d = run(main())
    with andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True) as sync:
        s = sync.verify(**_kw(p), birth_place=p.get("birth_place"))
    assert isinstance(d, andal.Decision)
    assert (d.verdict, d.fields, d.nik_masked, d.source) == (s.verdict, s.fields, s.nik_masked, "online")
    assert d.is_match and d.provenance.attempts == 1


def test_errors_are_the_sync_clients_exceptions(sandbox: Any, people: List[Dict[str, Any]]) -> None:
    p = people[1]

    async def main() -> None:
        async with _client(sandbox.url) as c:
            with pytest.raises(andal.InvalidNik) as bad:
                await c.verify(nik="3316", full_name="X", birth_date="2000-01-01")
            assert bad.value.part == "length" and isinstance(bad.value, ValueError)

            c.force_open_breaker()
            with pytest.raises(andal.Unavailable) as down:
                await c.verify(**_kw(p))
            assert down.value.cause == "breaker_open" and down.value.attempts == 0
            assert c.health().breaker.state == "forced_open"
            c.reset_breaker()
            assert (await c.verify(**_kw(p))).is_match

        with pytest.raises(RuntimeError, match="closed"):
            await c.verify(**_kw(p))

    run(main())


def test_a_thousand_checks_in_flight_on_one_loop(sandbox: Any, people: List[Dict[str, Any]]) -> None:
    """1,000 concurrent ``await client.verify(...)`` on one event loop: all decided, and
    the process gains no thread per check (the core's runtime has two workers)."""
    rows = [people[i % len(people)] for i in range(1000)]

    async def main() -> tuple[List[andal.Decision], int, int]:
        async with _client(sandbox.url, deadline=30.0, attempt_timeout=30.0) as c:
            await c.verify(**_kw(rows[0]))  # runtime and pool started
            before = os_threads()
            peak = [before]
            done = asyncio.Event()

            async def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], os_threads())
                    await asyncio.sleep(0.005)

            sampler = asyncio.ensure_future(sample())
            decisions = await asyncio.gather(*(c.verify(**_kw(p)) for p in rows))
            done.set()
            await sampler
            return decisions, before, peak[0]

    decisions, before, peak = run(main())
    assert len(decisions) == 1000 and all(d.is_match for d in decisions)
    assert [d.nik_masked for d in decisions] == [andal.mask_nik(p["nik"]) for p in rows]
    # A thread per check would add ~1,000; the bound leaves room for the runtime's
    # occasional blocking-pool helper threads.
    assert peak - before <= 8, (before, peak)


class _Counting(andal.AsyncClient):
    """Counts the checks in flight, to see the batch's concurrency limit hold."""

    in_flight = 0
    most = 0

    async def verify(self, **kw: Any) -> andal.Decision:
        type(self).in_flight += 1
        type(self).most = max(type(self).most, type(self).in_flight)
        try:
            return await super().verify(**kw)
        finally:
            type(self).in_flight -= 1


def test_verify_many_keeps_input_order_limit_and_row_errors(
    sandbox: Any, people: List[Dict[str, Any]]
) -> None:
    rows: List[Any] = [_kw(p) for p in people[:40]]
    rows[3] = {**rows[3], "nik": "12"}  # invalid NIK
    rows[7] = ("only", "two")  # malformed row
    rows[9] = (people[9]["nik"], people[9]["full_name"], people[9]["birth_date"])

    async def main() -> tuple[List[andal.BatchResult], List[int]]:
        async with _Counting(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True) as c:
            ordered = await c.verify_many(rows, concurrency=5)
            seen = [r.index async for r in c.as_completed(iter(rows), concurrency=5)]
        return ordered, seen

    ordered, seen = run(main())
    assert [r.index for r in ordered] == list(range(40))
    assert sorted(seen) == list(range(40))
    assert 1 < _Counting.most <= 5
    assert isinstance(ordered[3].error, andal.InvalidNik)
    assert isinstance(ordered[7].error, andal.InvalidInput) and ordered[7].error.reason == "malformed_row"
    assert all(r.ok and r.unwrap().is_match for i, r in enumerate(ordered) if i not in (3, 7))
    with pytest.raises(ValueError):
        run(_client(sandbox.url).verify_many(rows, concurrency=0))


def test_cancelling_the_task_cancels_the_check(faults: Any, people: List[Dict[str, Any]]) -> None:
    """A check hung on the registry is cancelled at once with its task (not at its 5 s
    deadline), and the client keeps working."""
    p = people[2]

    async def main() -> Optional[andal.Decision]:
        async with _client(faults.url, deadline=5.0, attempt_timeout=5.0) as c:
            faults.set_fault({"kind": "hang"})
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.verify(**_kw(p)), timeout=0.2)
            assert loop.time() - started < 2.0
            # The Rust future is dropped when the cancellation reaches the runtime (a
            # moment later): the outage record then counts the check as cancelled.
            for _ in range(200):
                if c.outage_report().totals["checks"]["cancelled"] == 1:
                    break
                await asyncio.sleep(0.01)
            assert c.outage_report().totals["checks"]["cancelled"] == 1
            assert c.health().breaker.calls == 0  # the permit was released, not recorded
            faults.clear_fault()
            return await c.verify(**_kw(p))

    d = run(main())
    assert d is not None and d.is_match


def test_offline_answer_then_reconcile_and_refresh(
    faults: Any, people: List[Dict[str, Any]], tmp_path: Path
) -> None:
    p = people[5]

    async def main() -> None:
        async with _client(
            faults.url,
            deadline=1.5,
            attempt_timeout=0.5,
            trust_roots=[faults.root_key()],
            trust_cache_dir=tmp_path / "trust",
            journal=tmp_path / "offline.journal",
            journal_key=andal.generate_journal_key(),
        ) as c:
            status = await c.refresh_trust()
            assert status.roots == 1 and status.keys >= 1
            assert c.trust_status() == status
            token = faults.mint_token(p["nik"])

            faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
            d = await c.verify(**_kw(p), token=token)
            assert d.is_offline and d.is_match and d.provenance.journal_seq == 3
            pending = await c.reconcile()
            assert (pending.examined, pending.still_pending) == (1, 1)

            faults.clear_fault()
            c.reset_breaker()
            done = await c.reconcile()
            assert (done.examined, done.confirmed) == (1, 1)
            assert sum(i["checks"]["offline"] for i in c.outage_report().incidents) == 1

    run(main())


def test_events_reach_the_callback_from_the_runtime_threads(faults: Any, person: Dict[str, Any]) -> None:
    events: List[Dict[str, Any]] = []
    threads = set()

    def on_event(e: Dict[str, Any]) -> None:
        events.append(e)
        threads.add(threading.get_ident())

    async def main() -> None:
        async with _client(
            faults.url,
            on_event=on_event,
            retry=andal.RetrySettings(max_attempts=2, base=0.01, cap=0.02),
        ) as c:
            faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
            with pytest.raises(andal.Unavailable):
                await c.verify(**_kw(person))

    run(main())
    assert "retry_scheduled" in [e["kind"] for e in events]
    assert threads and threading.get_ident() not in threads
