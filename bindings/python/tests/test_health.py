"""Resilience state and breaker control from Python."""

from __future__ import annotations

from typing import Any, Dict

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
