#!/usr/bin/env python3
"""Two builds of the `rust_overhead` example against one sandbox, side by side.

    python bindings/python/bench/rust_ab.py SANDBOX_BIN A_BIN B_BIN [--blocks 20] [--per-block 500]

A and B run in alternating blocks of serial `andal::Client::verify` checks (so both see
the same machine load). Per binary: the median of the per-block p50 latencies, and the
CPU time per check (user + system of the whole process, warm-up included, divided by
the checks it made), which counts threads a check starts as well.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
from typing import Any, Dict, List

PARTNER, KEY = "demo-bank", "sandbox-demo-bank-key"
WARM_UP = 10  # checks `rust_overhead` makes before timing


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sandbox")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--per-block", type=int, default=500)
    args = ap.parse_args()
    people = subprocess.run([args.sandbox, "--seed", "7", "--sample", "200"],
                            check=True, capture_output=True, text=True).stdout
    proc = subprocess.Popen([args.sandbox, "--port", "0", "--seed", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    runs: Dict[str, List[Dict[str, Any]]] = {args.a: [], args.b: []}
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        for _ in range(args.blocks):
            for binary in (args.a, args.b):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                out = subprocess.run([binary, url, PARTNER, KEY, str(args.per_block)],
                                     input=people, check=True, capture_output=True, text=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                block = json.loads(out.stdout)
                block["cpu_us_per_check"] = round(cpu / (args.per_block + WARM_UP) * 1e6, 1)
                runs[binary].append(block)
    finally:
        proc.kill()
        proc.wait()
    for binary, blocks in runs.items():
        print(json.dumps({
            "binary": os.path.basename(binary),
            "p50_us": round(statistics.median(b["p50_us"] for b in blocks), 1),
            "cpu_us_per_check": round(statistics.median(b["cpu_us_per_check"] for b in blocks), 1),
            "block_p50s_us": [b["p50_us"] for b in blocks],
        }))


if __name__ == "__main__":
    main()
