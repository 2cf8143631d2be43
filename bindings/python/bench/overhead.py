#!/usr/bin/env python3
"""Per-call cost of the Python binding vs the Rust client, against the same sandbox.

Starts `andal-sandbox` (seed 7), then times serial checks of the same people through
(1) `andal.Client.verify` and (2) `andal::Client::verify` in Rust (the `rust_overhead`
example of this crate, `Query::parse` included as `Client.verify` parses too), plus
offline calls that never touch the network (`Nik.parse`, an invalid NIK raising
`InvalidNik`). The difference of (1) and (2) is the binding's overhead per call
(argument conversion, GIL release/re-acquire, result construction). Also times
`verify_many` with 8 threads.

    python bindings/python/bench/overhead.py [--rounds 2000] [--release] [--baseline DIR]

`--baseline DIR` also times `Client.verify` of another build of the package (installed
with `pip install --target DIR <wheel>`, e.g. the previous commit's) against the same
sandbox, in the same run.

Each side runs in its own process, in alternating blocks (`--blocks`; the order rotates
from block to block), so that all see the same machine load. Per block and side: wall
time per call (p50) and the calling process's CPU time per call over the timed loop
(`CLOCK_PROCESS_CPUTIME_ID`: `time.process_time_ns()` in Python, `clock_gettime` in
Rust; every thread of the process, user + system). The overhead is the median over the
blocks of the per-block difference to Rust.

The goal (issue 11: Python's overhead over Rust at most 20 us per call) is judged on the
CPU-time difference (see GOAL_NOTE). Build the extension with the same profile
(`maturin develop --release` / `maturin build --release`) for a fair comparison with
`--release`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import andal

REPO = Path(__file__).resolve().parents[3]
PARTNER, KEY = "demo-bank", "sandbox-demo-bank-key"
GOAL_US = 20.0
GOAL_NOTE = (
    "The 20 us goal is judged on cpu_overhead_us: the CPU time per call of the calling "
    "process, Python minus Rust (median of per-block differences). The binding's overhead "
    "is work done in the caller's process (arguments, GIL, result objects), and CPU time "
    "counts that work whatever else runs on the machine. Wall time per call also counts "
    "waiting: for a core (on a shared 2-core machine the sandbox, the client and other "
    "processes queue for the same cores) and for the process to be woken when the "
    "registry's answer arrives; those waits change with the load from one block to the "
    "next by more than the 20 us being judged. wall_overhead_p50_us is what one caller "
    "sees on this machine at this load; it is reported, not judged."
)


def target_dir() -> Path:
    env = os.environ.get("CARGO_TARGET_DIR")
    return Path(env) if env else REPO / "target"


def timed(fn: Callable[[int], object], rounds: int) -> Dict[str, float]:
    """Wall time per call (mean, p50, p99) and this process's CPU time per call
    (`time.process_time_ns()`, every thread) over the timed loop."""
    samples: List[float] = []
    cpu = time.process_time_ns()
    for i in range(rounds):
        t = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t) * 1e6)
    cpu_us = (time.process_time_ns() - cpu) / 1e3 / rounds
    samples.sort()
    return {
        "calls": rounds,
        "mean_us": round(statistics.fmean(samples), 1),
        "p50_us": round(samples[len(samples) // 2], 1),
        "p99_us": round(samples[min(len(samples) - 1, len(samples) * 99 // 100)], 1),
        "cpu_us": round(cpu_us, 1),
    }


def worker(url: str, people: List[Dict[str, Any]], rounds: int) -> Dict[str, float]:
    """Time serial `Client.verify` calls of the imported `andal` (this build's, or the
    baseline's when run with the baseline on PYTHONPATH)."""
    with andal.Client(url, PARTNER, KEY, allow_insecure_http=True) as client:
        def py_verify(i: int) -> object:
            p = people[i % len(people)]
            return client.verify(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])

        for i in range(10):  # warm-up (connection pool), as `rust_overhead` does
            py_verify(i)
        return timed(py_verify, rounds)


def median_diff(a: List[Dict[str, float]], b: List[Dict[str, float]], key: str) -> float:
    """Median over the blocks of a[i][key] - b[i][key] (blocks ran side by side)."""
    return round(statistics.median(x[key] - y[key] for x, y in zip(a, b)), 1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--release", action="store_true", help="build the sandbox and Rust side in release")
    ap.add_argument("--blocks", type=int, default=10, help="alternating measurement blocks")
    ap.add_argument("--baseline", help="directory holding another build of the andal package")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # URL: time this build, print JSON
    args = ap.parse_args()
    if args.worker:
        people_in = [json.loads(line) for line in sys.stdin.read().splitlines()]
        print(json.dumps(worker(args.worker, people_in, args.rounds)))
        return 0
    profile = ["--release"] if args.release else []
    subdir = "release" if args.release else "debug"
    # Two builds: with `--example` selected, cargo builds only that target, not the
    # sandbox's binary.
    subprocess.run(["cargo", "build", "-q", *profile, "-p", "andal-sandbox", "--bin", "andal-sandbox"],
                   cwd=REPO, check=True)
    subprocess.run(["cargo", "build", "-q", *profile, "-p", "andal-python", "--example", "rust_overhead"],
                   cwd=REPO, check=True)
    sandbox_bin = target_dir() / subdir / "andal-sandbox"
    rust_bin = target_dir() / subdir / "examples" / "rust_overhead"

    people_jsonl = subprocess.run([str(sandbox_bin), "--seed", "7", "--sample", "200"],
                                  check=True, capture_output=True, text=True).stdout
    people: List[Dict[str, Any]] = [json.loads(line) for line in people_jsonl.splitlines()]
    proc = subprocess.Popen([str(sandbox_bin), "--port", "0", "--seed", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        results: Dict[str, Any] = {
            "profile": subdir,
            "python": sys.version.split()[0],
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }

        # Every side in its own process, one block each in turn, the order rotating from
        # block to block, so that all see the same machine load (and none always runs
        # right after another).
        per_block = max(1, args.rounds // args.blocks)
        py_cmd = [sys.executable, os.path.abspath(__file__), "--worker", url, "--rounds", str(per_block)]
        this_env = dict(os.environ)
        this_env["PYTHONPATH"] = os.pathsep.join(
            p for p in [str(Path(andal.__file__).resolve().parents[1]), this_env.get("PYTHONPATH")] if p)
        sides: Dict[str, Any] = {
            "rust_verify": ([str(rust_bin), url, PARTNER, KEY, str(per_block)], None),
            "python_verify": (py_cmd, this_env),
        }
        if args.baseline:
            sides["baseline_python_verify"] = (
                py_cmd, dict(os.environ, PYTHONPATH=os.path.abspath(args.baseline)))
        blocks: Dict[str, List[Dict[str, float]]] = {name: [] for name in sides}
        names = list(sides)
        for b in range(args.blocks):
            for name in names[b % len(names):] + names[: b % len(names)]:
                cmd, env = sides[name]
                out = subprocess.run(cmd, input=people_jsonl, env=env, check=True,
                                     capture_output=True, text=True)
                blocks[name].append(json.loads(out.stdout))
        for name, runs in blocks.items():
            results[name] = {
                "calls": sum(r["calls"] for r in runs),
                "blocks": len(runs),
                "p50_us": round(statistics.median(r["p50_us"] for r in runs), 1),
                "cpu_us": round(statistics.median(r["cpu_us"] for r in runs), 1),
                "block_p50s_us": [r["p50_us"] for r in runs],
                "block_cpus_us": [r["cpu_us"] for r in runs],
            }

        with andal.Client(url, PARTNER, KEY, allow_insecure_http=True) as client:

            def bad_nik(i: int) -> object:
                try:
                    return client.verify(nik="3316", full_name="X", birth_date="2000-01-01")
                except andal.InvalidNik as e:
                    return e

            results["python_invalid_nik_raise"] = timed(bad_nik, args.rounds)
            results["python_nik_parse"] = timed(lambda i: andal.Nik.parse(people[i % len(people)]["nik"]), args.rounds)

            rows = [dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])
                    for p in (people * (args.rounds // len(people) + 1))[: args.rounds]]
            t = time.perf_counter()
            batch = client.verify_many(rows, concurrency=8, progress=False)
            took = time.perf_counter() - t
            assert all(r.ok for r in batch)
            results["python_verify_many_8_threads"] = {
                "calls": len(rows), "checks_per_s": round(len(rows) / took, 1)}

        # Medians of per-block differences: the means carry the machine's scheduling
        # noise (long tails), and a block's sides ran next to each other.
        rs = blocks["rust_verify"]
        overhead: Dict[str, Any] = {}
        for name in names[1:]:
            overhead[name] = {
                "cpu_overhead_us": median_diff(blocks[name], rs, "cpu_us"),
                "wall_overhead_p50_us": median_diff(blocks[name], rs, "p50_us"),
            }
        cpu = overhead["python_verify"]["cpu_overhead_us"]
        results["overhead_over_rust"] = overhead
        results["goal"] = {
            "limit_us": GOAL_US,
            "judged_on": "overhead_over_rust.python_verify.cpu_overhead_us",
            "value_us": cpu,
            "met": cpu <= GOAL_US,
            "why": GOAL_NOTE,
        }
        results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(results, indent=2))
        for name, o in overhead.items():
            print(f"{name}: CPU {o['cpu_overhead_us']:+.1f} us/call, wall p50 "
                  f"{o['wall_overhead_p50_us']:+.1f} us/call over Rust "
                  f"(Rust: CPU {results['rust_verify']['cpu_us']} us, wall p50 "
                  f"{results['rust_verify']['p50_us']} us)", file=sys.stderr)
        print(f"goal <= {GOAL_US:.0f} us on CPU: {'met' if cpu <= GOAL_US else 'NOT met'}. "
              + GOAL_NOTE, file=sys.stderr)
    finally:
        proc.kill()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
