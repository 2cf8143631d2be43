"""GIL release, threads, asyncio, Ctrl-C."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

import pytest

import andal
from conftest import API_KEY, PARTNER, wait_until


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def test_threads_beat_serial_on_slow_registry(faults: Any, people: List[Dict[str, Any]]) -> None:
    faults.set_fault({"kind": "slow", "latency_ms": 100})
    rows = people[:32]
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=10) as c:
        started = time.monotonic()
        for p in rows:
            assert c.verify(**_kw(p)).is_match
        serial = time.monotonic() - started

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda p: c.verify(**_kw(p)), rows))
        threaded = time.monotonic() - started
    assert all(d.is_match for d in results)
    assert serial >= 32 * 0.1
    assert threaded < serial / 3, (threaded, serial)


def test_python_thread_runs_while_a_call_hangs(faults: Any, person: Dict[str, Any]) -> None:
    """A pure-Python thread keeps counting while verify() waits on a hung registry: the
    GIL is released during the network call."""
    faults.set_fault({"kind": "hang"})
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1

    outcome: List[BaseException] = []

    def call() -> None:
        with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True,
                          deadline=1.5, attempt_timeout=1.5) as c:
            try:
                c.verify(**_kw(person))
            except BaseException as e:  # noqa: BLE001 - recorded for the assertion
                outcome.append(e)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the call is now blocked on the hung registry
    assert caller.is_alive()
    counter_thread = threading.Thread(target=count)
    counter_thread.start()
    time.sleep(0.5)
    during = counter[0]
    still_blocked = caller.is_alive()
    stop.set()
    counter_thread.join()
    caller.join(timeout=5)
    assert still_blocked, "the call should still be waiting on the hung registry"
    assert during > 100_000, f"pure-Python thread starved while the call hung ({during})"
    assert len(outcome) == 1 and isinstance(outcome[0], andal.Unavailable)


def test_verify_async_does_not_block_the_loop(faults: Any, people: List[Dict[str, Any]]) -> None:
    faults.set_fault({"kind": "slow", "latency_ms": 200})

    async def main() -> tuple[list[andal.Decision], int, float]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True) as c:
            t = asyncio.create_task(ticker())
            started = time.monotonic()
            decisions = await asyncio.gather(*(c.verify_async(**_kw(p)) for p in people[:8]))
            took = time.monotonic() - started
            stop.set()
            await t
        return list(decisions), ticks, took

    decisions, ticks, took = asyncio.run(main())
    assert all(d.is_match for d in decisions)
    assert took < 8 * 0.2 / 2, took  # concurrent, not one after another
    assert ticks >= 10, ticks  # the loop kept running while checks waited


def test_verify_async_raises_typed_errors(client: andal.Client, person: Dict[str, Any]) -> None:
    async def main() -> None:
        with pytest.raises(andal.InvalidNik):
            await client.verify_async(**{**_kw(person), "nik": "123"})

    asyncio.run(main())


def test_ctrl_c_stops_a_batch_promptly(faults: Any, people: List[Dict[str, Any]]) -> None:
    faults.set_fault({"kind": "hang"})
    rows = [_kw(p) for p in people[:40]]
    seen: List[int] = []
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True,
                      deadline=3.0, attempt_timeout=3.0) as c:
        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            c.verify_many(rows, concurrency=4, progress=lambda d, t, e: seen.append(d))
        took = time.monotonic() - started
        timer.cancel()
    faults.clear_fault()  # lets the in-flight checks end now
    # They end within their deadline; wait so that they do not spill into later tests.
    assert wait_until(
        lambda: not any(t.name.startswith("andal-batch") for t in threading.enumerate()),
        timeout=10,
    )
    assert took < 1.5, took
    assert seen == []  # nothing had completed: every check was hanging
