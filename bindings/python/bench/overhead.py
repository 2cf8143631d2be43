#!/usr/bin/env python3
"""Per-call cost of the Python binding vs the Rust client, against the same sandbox.

Starts `andal-sandbox` (seed 7), then times serial checks of the same people through
(1) `andal.Client.verify` and (2) `andal::Client::verify` in Rust (the `rust_overhead`
example of this crate), plus offline calls that never touch the network (`Nik.parse`,
an invalid NIK raising `InvalidNik`). The difference of (1) and (2) is the binding's
overhead per call (argument conversion, GIL release/re-acquire, result construction).
Also times `verify_many` with 8 threads.

    python bindings/python/bench/overhead.py [--rounds 2000] [--release] [--baseline DIR]

`--baseline DIR` also times `Client.verify` of another build of the package (installed
with `pip install --target DIR <wheel>`, e.g. the previous commit's) in a subprocess
against the same sandbox, in the same run. Rust, this build and the baseline run in
alternating blocks (`--blocks`), so that all see the same machine load; each figure is
the median of the per-block medians.

Build the extension with the same profile (`maturin develop --release`) for a fair
comparison with `--release`.
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


def target_dir() -> Path:
    env = os.environ.get("CARGO_TARGET_DIR")
    return Path(env) if env else REPO / "target"


def timed(fn: Callable[[int], object], rounds: int) -> Dict[str, float]:
    samples: List[float] = []
    for i in range(rounds):
        t = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t) * 1e6)
    samples.sort()
    return {
        "calls": rounds,
        "mean_us": round(statistics.fmean(samples), 1),
        "p50_us": round(samples[len(samples) // 2], 1),
        "p99_us": round(samples[min(len(samples) - 1, len(samples) * 99 // 100)], 1),
    }


def worker(url: str, people: List[Dict[str, Any]], rounds: int) -> Dict[str, float]:
    """Time serial `Client.verify` calls of the imported `andal` (the baseline's, when run
    with `--worker` and the baseline on PYTHONPATH)."""
    with andal.Client(url, PARTNER, KEY, allow_insecure_http=True) as client:
        def py_verify(i: int) -> object:
            p = people[i % len(people)]
            return client.verify(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])

        timed(py_verify, 10)  # warm-up
        return timed(py_verify, rounds)


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
        results: Dict[str, Any] = {"profile": subdir, "python": sys.version.split()[0]}

        # Alternate blocks (Rust, this build, baseline build) so that all of them see the
        # same machine load; report the median of the per-block medians.
        per_block = max(1, args.rounds // args.blocks)
        blocks: Dict[str, List[Dict[str, float]]] = {"rust_verify": [], "python_verify": []}
        if args.baseline:
            blocks["baseline_python_verify"] = []
        env = dict(os.environ, PYTHONPATH=os.path.abspath(args.baseline or "."))
        for _ in range(args.blocks):
            rust = subprocess.run([str(rust_bin), url, PARTNER, KEY, str(per_block)],
                                  input=people_jsonl, check=True, capture_output=True, text=True)
            blocks["rust_verify"].append(json.loads(rust.stdout))
            blocks["python_verify"].append(worker(url, people, per_block))
            if args.baseline:
                base = subprocess.run([sys.executable, __file__, "--worker", url, "--rounds", str(per_block)],
                                      input=people_jsonl, env=env, check=True, capture_output=True, text=True)
                blocks["baseline_python_verify"].append(json.loads(base.stdout))
        for name, runs in blocks.items():
            results[name] = {
                "calls": sum(r["calls"] for r in runs),
                "blocks": len(runs),
                "p50_us": round(statistics.median(r["p50_us"] for r in runs), 1),
                "block_p50s_us": [r["p50_us"] for r in runs],
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

        # Medians: the means carry the machine's scheduling noise (long tails).
        py, rs = results["python_verify"]["p50_us"], results["rust_verify"]["p50_us"]
        results["binding_overhead_p50_us"] = round(py - rs, 1)
        if args.baseline:
            results["baseline_overhead_p50_us"] = round(results["baseline_python_verify"]["p50_us"] - rs, 1)
        print(json.dumps(results, indent=2))
    finally:
        proc.kill()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
