"""Metrics snapshot and the logging bridge from Python."""

from __future__ import annotations

import logging
from typing import Any, Dict

import pytest

import andal


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def _value(host: str, provenance: str, outcome: str) -> float:
    for s in andal.metrics_snapshot("andal_checks_total"):
        if s.labels == {"host": host, "provenance": provenance, "outcome": outcome}:
            return s.value
    raise AssertionError(f"no series for {provenance}/{outcome} on {host}")


def test_snapshot_counts_checks_by_outcome(client: andal.Client, person: Dict[str, Any]) -> None:
    host = client.health().host
    before = _value(host, "online", "match")
    refused_before = _value(host, "none", "unavailable")
    assert client.verify(**_kw(person)).is_match
    client.force_open_breaker()
    with pytest.raises(andal.Unavailable):
        client.verify(**_kw(person))
    client.reset_breaker()
    assert _value(host, "online", "match") == before + 1
    assert _value(host, "none", "unavailable") == refused_before + 1

    durations = [
        s
        for s in andal.metrics_snapshot("andal_check_duration_seconds")
        if s.labels == {"host": host, "provenance": "online"}
    ]
    assert len(durations) == 1 and durations[0].kind == "histogram"
    d = durations[0]
    assert d.count >= 1 and d.buckets[-1] == (float("inf"), d.count)
    state = andal.metrics_snapshot("andal_breaker_state")
    assert any(s.labels["host"] == host and s.kind == "gauge" for s in state)
    # The same numbers as a Prometheus page; no personal data anywhere in it.
    page = andal.metrics_prometheus()
    assert "# TYPE andal_checks_total counter" in page
    assert person["nik"] not in page and person["full_name"] not in page


def test_tracing_events_reach_python_logging(
    client: andal.Client, person: Dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="andal"):
        client.force_open_breaker()
        with pytest.raises(andal.Unavailable):
            client.verify(**_kw(person))
        client.reset_breaker()
    andal_records = [r for r in caplog.records if r.name.startswith("andal")]
    assert andal_records, [r.name for r in caplog.records]
    # The breaker's transition to forced open is a warning of `andal::resilience`.
    assert any(
        r.name == "andal.resilience" and r.levelno == logging.WARNING for r in andal_records
    ), [(r.name, r.levelname, r.getMessage()) for r in andal_records]
    assert all(person["nik"] not in r.getMessage() for r in andal_records)


def test_library_debug_records_stay_out_of_python_logging(
    client: andal.Client, person: Dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Andal's own records reach `logging` at every level; those of the libraries under
    # it (ureq, rustls, tracing's span records) only from WARNING up: they are a dozen
    # per check and cost the check time even when logging drops them.
    with caplog.at_level(logging.DEBUG):
        assert client.verify(**_kw(person)).is_match
    chatter = [r.name for r in caplog.records if not r.name.startswith("andal") and r.levelno < logging.WARNING]
    assert chatter == []
