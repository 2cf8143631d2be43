"""Shared driver of the outage-benchmark peers (see docs/benchmarks-outage.md).

Protocol with the harness (`andal-outage-bench`): print ``{"ready": true}``, wait for one
line on stdin (t = 0, the harness starts its fault timeline then), run checks at a steady
pace from N worker threads until the script's duration has passed, print one JSON line
per check ``{"t_start_ms", "duration_ms", "outcome", "attempts"}`` and ``{"done": true}``.

Pacing: worker ``w`` has slots at ``w * interval + k * interval * workers``; a worker still
busy with a check skips the slots it missed (it starts at the next one).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

#: A check: takes a person (dict with nik, full_name, birth_date, birth_place), returns
#: (outcome, attempts or None, breaker's seconds until a probe or None). Outcome: "ok",
#: "mismatch" or "error:<class>".
Check = Callable[[Dict[str, Any]], Tuple[str, Optional[int], Optional[float]]]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--api-key", required=True)
    p.add_argument("--partner", required=True)
    p.add_argument("--people", required=True, help="JSON file: list of sample people")
    p.add_argument("--duration-ms", type=int, required=True)
    p.add_argument("--interval-ms", type=int, default=50)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--deadline-s", type=float, default=5.0)
    return p.parse_args(argv)


def run(args: argparse.Namespace, check: Check) -> None:
    with open(args.people, encoding="utf-8") as f:
        people: List[Dict[str, Any]] = json.load(f)
    out_lock = threading.Lock()
    counter_lock = threading.Lock()
    counter = [0]

    def emit(obj: Dict[str, Any]) -> None:
        line = json.dumps(obj)
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    emit({"ready": True})
    sys.stdin.readline()
    t0 = time.monotonic()
    interval = args.interval_ms / 1000.0
    period = interval * args.workers
    end = t0 + args.duration_ms / 1000.0

    def worker(w: int) -> None:
        slot = t0 + w * interval
        while slot < end:
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with counter_lock:
                i = counter[0] % len(people)
                counter[0] += 1
            started = time.monotonic()
            try:
                outcome, attempts, retry_in = check(people[i])
            except Exception as e:  # a peer bug must not stop the run
                outcome, attempts, retry_in = f"error:unexpected_{type(e).__name__}", None, None
            took = time.monotonic() - started
            record: Dict[str, Any] = {
                "t_start_ms": (started - t0) * 1000.0,
                "duration_ms": took * 1000.0,
                "outcome": outcome,
                "attempts": attempts,
            }
            if retry_in is not None:
                record["retry_in_ms"] = retry_in * 1000.0
            emit(record)
            now = time.monotonic()
            while slot <= now:
                slot += period

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emit({"done": True})
