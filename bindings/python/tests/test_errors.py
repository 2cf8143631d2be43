"""Each exception type, with structured attributes and no personal data in messages."""

from __future__ import annotations

import time
from typing import Any, Dict

import pytest

import andal
from conftest import API_KEY, PARTNER


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def test_invalid_nik_before_any_request(client: andal.Client, person: Dict[str, Any], sandbox: Any) -> None:
    before = sandbox.accounting()["v1_requests"]
    bad = person["nik"][:15]
    with pytest.raises(ValueError) as info:
        client.verify(**{**_kw(person), "nik": bad})
    assert isinstance(info.value, andal.InvalidNik)
    assert info.value.part == "length" and info.value.position == 15
    assert bad not in str(info.value)
    assert sandbox.accounting()["v1_requests"] == before  # nothing sent, nothing charged


@pytest.mark.parametrize("value", ["1999-02-30", "05-07-1999", "yesterday"])
def test_bad_birth_date(client: andal.Client, person: Dict[str, Any], value: str) -> None:
    with pytest.raises(andal.InvalidInput) as info:
        client.verify(**{**_kw(person), "birth_date": value})
    e = info.value
    assert not isinstance(e, andal.InvalidNik) and isinstance(e, ValueError)
    assert e.field == "birth_date" and e.reason == "invalid_date"
    assert value not in str(e)


def test_birth_date_of_wrong_type(client: andal.Client, person: Dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        client.verify(**{**_kw(person), "birth_date": 19990705})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name, reason",
    [("   ", "empty"), ("A" * 200, "too_long"), ("Siti\x00Aminah", "control_character")],
)
def test_bad_name(client: andal.Client, person: Dict[str, Any], name: str, reason: str) -> None:
    with pytest.raises(andal.InvalidInput) as info:
        client.verify(**{**_kw(person), "full_name": name})
    assert info.value.field == "full_name" and info.value.reason == reason


def test_unknown_api_key(sandbox: Any, person: Dict[str, Any]) -> None:
    with andal.Client(sandbox.url, PARTNER, "no-such-key", allow_insecure_http=True) as c:
        with pytest.raises(andal.AuthError) as info:
            c.verify(**_kw(person))
    e = info.value
    assert e.status == 401 and e.problem == "unauthorized" and e.code == "auth"
    assert "no-such-key" not in str(e)


def test_suspended_partner_is_forbidden(sandbox: Any, person: Dict[str, Any]) -> None:
    with andal.Client(sandbox.url, "suspended-demo", "sandbox-suspended-key", allow_insecure_http=True) as c:
        with pytest.raises(andal.AuthError) as info:
            c.verify(**_kw(person))
    assert info.value.status == 403 and info.value.problem == "forbidden"


def test_config_errors(sandbox: Any) -> None:
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY)  # http:// without allow_insecure_http
    assert info.value.setting == "allow_insecure_http" and info.value.reason == "insecure_http"
    with pytest.raises(andal.ConfigError) as info:
        andal.Client("ftp://example", PARTNER, API_KEY)
    assert info.value.setting == "base_url"
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, "", API_KEY, allow_insecure_http=True)
    assert info.value.setting == "partner_id" and info.value.reason == "missing"
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=0)
    assert info.value.setting == "deadline"
    with pytest.raises(andal.ConfigError):
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=float("nan"))


def test_bad_idempotency_key(client: andal.Client, person: Dict[str, Any]) -> None:
    with pytest.raises(andal.ConfigError) as info:
        client.verify(**_kw(person), idempotency_key="has spaces and é")
    assert info.value.setting == "idempotency_key"


def test_sandbox_down_is_unavailable_within_deadline(throwaway_sandbox: Any, person: Dict[str, Any]) -> None:
    throwaway_sandbox.set_fault({"kind": "down"})
    with andal.Client(throwaway_sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=2.0) as c:
        started = time.monotonic()
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(person))
        took = time.monotonic() - started
    e = info.value
    assert took < 2.5
    assert e.code == "unavailable" and e.attempts >= 1
    assert e.cause in {"refused", "reset", "deadline_exceeded", "retry_budget_exhausted", "breaker_open"}
    assert 0 <= e.elapsed <= 2.5
    assert person["nik"] not in str(e) and person["nik"] not in repr(e)


def test_hang_is_unavailable_within_deadline(faults: Any, person: Dict[str, Any]) -> None:
    faults.set_fault({"kind": "hang"})
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.0, attempt_timeout=0.5) as c:
        started = time.monotonic()
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(person))
        took = time.monotonic() - started
    assert took < 1.6
    assert info.value.cause in {"read_timeout", "deadline_exceeded", "retry_budget_exhausted", "breaker_open"}


def test_server_errors_are_unavailable(faults: Any, person: Dict[str, Any]) -> None:
    faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.5) as c:
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(person))
    assert info.value.cause in {"http_503", "deadline_exceeded", "retry_budget_exhausted", "breaker_open"}


def test_malformed_body(faults: Any, person: Dict[str, Any]) -> None:
    faults.set_fault({"kind": "malformed_json"})
    with andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.5) as c:
        with pytest.raises((andal.Unavailable, andal.ProtocolError)) as info:
            c.verify(**_kw(person))
    assert isinstance(info.value, andal.AndalError)


def test_error_to_dict_and_hierarchy() -> None:
    for cls in (andal.InvalidInput, andal.InvalidNik, andal.ConfigError, andal.AuthError,
                andal.Rejected, andal.Unavailable, andal.ProtocolError, andal.TokenError,
                andal.JournalError):
        assert issubclass(cls, andal.AndalError)
    assert issubclass(andal.InvalidNik, ValueError)
    e = andal.Unavailable("registry unavailable", cause="breaker_open", attempts=2,
                          last_failure="read_timeout", elapsed=0.5)
    # last_failure added by issue 10: the stop reason no longer hides the upstream failure.
    assert e.to_dict() == {
        "error": "Unavailable", "message": "registry unavailable", "code": "unavailable",
        "cause": "breaker_open", "attempts": 2, "last_failure": "read_timeout", "elapsed": 0.5,
        "retry_in": None, "offline_refusal": None,
    }
