"""verify_many: ordering, per-row errors, progress."""

from __future__ import annotations

import io
from typing import Any, Dict, List, Optional, Tuple

import pytest

import andal
from andal import Verdict


def test_batch_ordered_with_errors_captured(client: andal.Client, people: List[Dict[str, Any]]) -> None:
    rows: List[Any] = [dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"]) for p in people[:20]]
    rows.insert(3, {"nik": "123", "full_name": "X", "birth_date": "2000-01-01"})
    rows.insert(7, {"nik": people[0]["nik"], "full_name": people[0]["full_name"], "birth_date": "2000-02-30"})
    rows.insert(9, {"full_name": "no nik"})
    rows.insert(11, (people[1]["nik"], "Orang Lain", people[1]["birth_date"]))
    calls: List[Tuple[int, Optional[int], int]] = []
    results = client.verify_many(rows, concurrency=6, progress=lambda d, t, e: calls.append((d, t, e)))
    assert [r.index for r in results] == list(range(len(rows)))
    assert isinstance(results[3].error, andal.InvalidNik)
    assert isinstance(results[7].error, andal.InvalidInput) and results[7].error.field == "birth_date"
    assert isinstance(results[9].error, andal.InvalidInput) and results[9].error.field == "nik"
    assert results[11].verdict is Verdict.MISMATCH
    errors = {3, 7, 9}
    for r in results:
        assert r.ok == (r.index not in errors)
        if r.ok and r.index != 11:
            assert r.unwrap().is_match
    with pytest.raises(andal.InvalidNik):
        results[3].unwrap()
    assert calls[-1] == (len(rows), len(rows), 3)
    assert [c[0] for c in calls] == list(range(1, len(rows) + 1))
    row = results[3].to_row()
    assert row["error"] == "InvalidNik" and "part=length" in row["error_detail"]
    assert results[0].to_row()["verdict"] == "match"


def test_progress_to_explicit_stream(client: andal.Client, people: List[Dict[str, Any]]) -> None:
    out = io.StringIO()
    rows = [dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"]) for p in people[:10]]
    results = client.verify_many(rows, progress=out)
    assert all(r.ok for r in results)
    text = out.getvalue()
    assert "\r" in text and text.endswith("\n")
    assert "10/10 (100.0%)" in text and "errors 0" in text
    for p in people[:10]:
        assert p["nik"] not in text and p["full_name"] not in text


def test_progress_true_is_silent_when_stderr_is_not_a_terminal(
    client: andal.Client, people: List[Dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    rows = [dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"]) for p in people[:5]]
    assert len(client.verify_many(rows)) == 5
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_generator_input_and_streaming(client: andal.Client, people: List[Dict[str, Any]]) -> None:
    gen = (dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"]) for p in people[:12])
    out = io.StringIO()
    seen = [r.index for r in client.iter_verify(gen, concurrency=3, progress=out)]
    assert seen == list(range(12))
    assert "12 checked" in out.getvalue()


def test_empty_batch_and_bad_concurrency(client: andal.Client) -> None:
    assert client.verify_many([]) == []
    with pytest.raises(ValueError):
        client.verify_many([], concurrency=0)
