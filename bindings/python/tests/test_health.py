"""Resilience state and breaker control from Python."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

import andal
from conftest import API_KEY, PARTNER


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def test_health_and_forced_open_breaker(client: andal.Client, person: Dict[str, Any]) -> None:
    assert client.verify(**_kw(person)).is_match
    h = client.health()
    assert isinstance(h, andal.Health)
    assert h.breaker.state == "closed"
    assert h.host.startswith("127.0.0.1:")
    assert h.retry_budget_balance >= 0
    client.force_open_breaker()
    assert client.health().breaker.state == "forced_open"
    with pytest.raises(andal.Unavailable) as info:
        client.verify(**_kw(person))
    assert info.value.cause == "breaker_open" and info.value.attempts == 0
    client.reset_breaker()
    assert client.health().breaker.state == "closed"
    assert client.verify(**_kw(person)).is_match


def test_breaker_opens_on_a_down_registry(throwaway_sandbox: Any, person: Dict[str, Any]) -> None:
    settings = andal.BreakerSettings(count_window=4, minimum_number_of_calls=4,
                                     failure_rate_threshold=50, wait_duration_in_open=30)
    throwaway_sandbox.set_fault({"kind": "down"})
    with andal.Client(throwaway_sandbox.url, PARTNER, API_KEY, allow_insecure_http=True,
                      deadline=1.0, breaker=settings) as c:
        causes = []
        for _ in range(8):
            with pytest.raises(andal.Unavailable) as info:
                c.verify(**_kw(person))
            causes.append(info.value.cause)
        assert causes[-1] == "breaker_open", causes
        h = c.health()
        assert h.breaker.state == "open"
        assert h.breaker.time_until_half_open is not None and 0 < h.breaker.time_until_half_open <= 30


def test_bad_breaker_settings_are_config_errors(sandbox: Any) -> None:
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True,
                     breaker=andal.BreakerSettings(failure_rate_threshold=250))
    assert info.value.setting == "breaker"


def test_outage_report_records_an_outage(throwaway_sandbox: Any, person: Dict[str, Any]) -> None:
    with andal.Client(throwaway_sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.0) as c:
        assert c.verify(**_kw(person)).source == "online"  # (the small registry may not hold them)
        throwaway_sandbox.set_fault({"kind": "down"})
        for _ in range(3):
            with pytest.raises(andal.Unavailable):
                c.verify(**_kw(person))
        report = c.outage_report()
    assert isinstance(report, andal.OutageReport)
    data = report.to_dict()
    assert data["format_version"] == 1
    assert report.totals["checks"]  # online and refused checks counted
    assert sum(report.totals["attempt_failures"].values()) >= 3
    assert isinstance(report.summary, str) and report.summary
    text = report.to_json() + report.summary + repr(report)
    assert person["nik"] not in text and person["full_name"] not in text


def test_events_and_retry_settings(faults: Any, person: Dict[str, Any]) -> None:
    events: List[Dict[str, Any]] = []
    faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=3.0,
                      retry=andal.RetrySettings(max_attempts=3, base=0.01, cap=0.05),
                      on_event=events.append) as c:
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(person))
    assert info.value.attempts == 3
    kinds = [e["kind"] for e in events]
    assert kinds.count("retry_scheduled") == 2
    assert kinds[-1] == "retry_stopped"
    stopped = events[-1]
    assert stopped["reason"] == "attempts_exhausted" and stopped["failure"] == "http_503"
    assert all(0 <= e["delay"] <= 0.05 for e in events if e["kind"] == "retry_scheduled")
    assert person["nik"] not in repr(events)


def test_raising_event_callback_never_breaks_a_check(client: andal.Client, sandbox: Any,
                                                      person: Dict[str, Any]) -> None:
    def boom(event: Dict[str, Any]) -> None:
        raise RuntimeError("callback bug")

    seen: List[Any] = []
    import sys

    old = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(u.exc_value)
    try:
        with andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, on_event=boom) as c:
            c.force_open_breaker()
            with pytest.raises(andal.Unavailable):
                c.verify(**_kw(person))
            c.reset_breaker()
            assert c.verify(**_kw(person)).is_match
    finally:
        sys.unraisablehook = old
    assert seen and all(isinstance(e, RuntimeError) for e in seen)


def test_bad_retry_settings(sandbox: Any) -> None:
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True,
                     retry=andal.RetrySettings(max_attempts=0))
    assert info.value.setting == "retry"
