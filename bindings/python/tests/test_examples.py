"""The examples in examples/python run against the sandbox, so they never rot."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from conftest import API_KEY, PARTNER, REPO, wait_until

EXAMPLES = REPO / "examples" / "python"


def _run(script: str, *args: str, timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def _conn(url: str) -> List[str]:
    return ["--url", url, "--partner-id", PARTNER, "--api-key", API_KEY, "--allow-insecure-http"]


def test_counter_match_mismatch_invalid(sandbox: Any, person: Dict[str, Any]) -> None:
    who = ["--nik", person["nik"], "--name", person["full_name"], "--birth-date", person["birth_date"]]
    r = _run("counter.py", *_conn(sandbox.url), *who, "--birth-place", person["birth_place"])
    assert r.returncode == 0, r.stderr
    assert "MATCH" in r.stdout and "SESUAI" in r.stdout
    assert person["nik"] not in r.stdout and person["full_name"] not in r.stdout

    r = _run("counter.py", *_conn(sandbox.url), *who[:3], "Orang Lain", *who[4:])
    assert r.returncode == 1 and "MISMATCH" in r.stdout and "TIDAK SESUAI" in r.stdout

    r = _run("counter.py", *_conn(sandbox.url), "--nik", "12345", *who[2:])
    assert r.returncode == 3 and "length" in r.stderr


def test_counter_registry_down(throwaway_sandbox: Any, person: Dict[str, Any]) -> None:
    throwaway_sandbox.set_fault({"kind": "down"})
    started = time.monotonic()
    r = _run("counter.py", *_conn(throwaway_sandbox.url), "--deadline", "2",
             "--nik", person["nik"], "--name", person["full_name"], "--birth-date", person["birth_date"])
    assert r.returncode == 2, r.stderr
    assert "unavailable" in r.stderr.lower()
    assert "Untuk peserta: ANDAL-UNAVAILABLE" in r.stderr and "WIB" in r.stderr
    assert time.monotonic() - started < 10


def _write_input(path: Path, people: List[Dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["participant_id", "nik", "full_name", "birth_date"])
        for i, p in enumerate(people):
            w.writerow([f"P{i:04d}", p["nik"], p["full_name"], p["birth_date"]])
        w.writerow(["P9998", "3316", "Nama", "2000-01-01"])
        w.writerow(["P9999", people[0]["nik"], "Orang Lain", people[0]["birth_date"]])


def test_overnight_batch(sandbox: Any, people: List[Dict[str, Any]], tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_input(src, people[:30])
    charged = lambda: sandbox.accounting()["partners"][PARTNER]["accesses_charged"]  # noqa: E731
    before = charged()
    args = [*_conn(sandbox.url), "--in", str(src), "--out", str(out), "--key-prefix", f"pytest-{time.time_ns()}"]
    r = _run("overnight_batch.py", *args)
    assert r.returncode == 0, r.stderr
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 32
    assert [row["participant_id"] for row in rows[:30]] == [f"P{i:04d}" for i in range(30)]
    assert all(row["verdict"] == "match" for row in rows[:30])
    assert rows[30]["error"] == "InvalidNik" and rows[30]["verdict"] == ""
    assert rows[31]["verdict"] == "mismatch" and "full_name=TIDAK_SESUAI" in rows[31]["fields"]
    assert set(rows[0]) >= {"row", "nik_masked", "verdict", "fields", "source", "error", "error_detail"}
    text = out.read_text()
    for p in people[:30]:
        assert p["nik"] not in text and p["full_name"] not in text
    first = charged() - before
    assert first == 31  # the invalid row never reached the registry

    # Same file, same key prefix: replays, not charged again.
    r = _run("overnight_batch.py", *args)
    assert r.returncode == 0, r.stderr
    assert charged() - before == first


def test_overnight_batch_ctrl_c(faults: Any, people: List[Dict[str, Any]], tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_input(src, people[:20])
    faults.set_fault({"kind": "hang"})
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "overnight_batch.py"), *_conn(faults.url),
         "--in", str(src), "--out", str(out), "--deadline", "30", "--concurrency", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert wait_until(out.exists, timeout=10)  # the batch has started
    time.sleep(0.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - started < 2.0
    assert proc.returncode == 130, err
    assert "interrupted: 0/22" in err
    assert out.read_text().startswith("participant_id,row,")


def test_counter_answers_offline_with_a_token(faults: Any, people: List[Dict[str, Any]], tmp_path: Path) -> None:
    import json

    import andal

    p = people[9]
    (tmp_path / "root.jwk").write_text(json.dumps(faults.root_key()))
    (tmp_path / "journal.key").write_bytes(andal.generate_journal_key())
    token = faults.mint_token(p["nik"])
    args = [*_conn(faults.url), "--deadline", "1.5",
            "--nik", p["nik"], "--name", p["full_name"], "--birth-date", p["birth_date"],
            "--token", token, "--trust-root", str(tmp_path / "root.jwk"),
            "--trust-cache", str(tmp_path / "trust"),
            "--journal", str(tmp_path / "offline.journal"),
            "--journal-key-file", str(tmp_path / "journal.key")]
    r = _run("counter.py", *args)  # registry up: online, trust cached
    assert r.returncode == 0 and "(online" in r.stdout, r.stderr
    faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
    r = _run("counter.py", *args)  # registry failing: answered from the token
    assert r.returncode == 0, r.stderr
    assert "(offline" in r.stdout and "answered offline from token" in r.stdout
    assert "untuk peserta: ANDAL-OFFLINE-ANSWERED" in r.stdout
    r = _run("counter.py", *[a for a in args if a != token and a != "--token"])
    assert r.returncode == 2 and "no offline answer (no_token)" in r.stderr
