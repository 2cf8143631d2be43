"""Offline answers from attestation tokens, the journal and reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest

import andal
from conftest import API_KEY, PARTNER


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def _client(sb: Any, tmp: Path, key: bytes, **extra: Any) -> andal.Client:
    return andal.Client(
        sb.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.5, attempt_timeout=0.5,
        breaker=andal.BreakerSettings(minimum_number_of_calls=3, wait_duration_in_open=0.2),
        trust_roots=[sb.root_key()], trust_cache_dir=tmp / "trust",
        journal=tmp / "offline.journal", journal_key=key, **extra,
    )


def test_token_answers_offline_then_reconciliation_confirms(
    faults: Any, people: List[Dict[str, Any]], tmp_path: Path
) -> None:
    p = people[5]
    key = andal.generate_journal_key()
    assert isinstance(key, bytes) and len(key) == 32
    with _client(faults, tmp_path, key) as c:
        status = c.refresh_trust()
        assert status.roots == 1 and status.keys >= 1
        assert status.revocations_issued_at is not None
        assert c.trust_status() == status
        token = faults.mint_token(p["nik"])

        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        d = c.verify(**_kw(p), token=token)
        assert d.is_offline and d.is_match and d.source == "offline"
        assert d.provenance.token_id and d.provenance.key_id
        # records 1-2 of the journal are the trust high-water marks (keyset, revocation list)
        assert d.provenance.journal_seq == 3
        assert d.provenance.online_failure

        wrong = c.verify(**{**_kw(p), "full_name": "Nama Lain"}, token=token)
        assert wrong.is_offline and wrong.verdict is andal.Verdict.MISMATCH
        assert wrong.fields.mismatched() == ["full_name"]

        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(p))
        assert info.value.offline_refusal == "no_token"

        pending = c.reconcile()
        assert (pending.examined, pending.still_pending, pending.confirmed) == (2, 2, 0)
        assert all(i.outcome == "still_pending" and i.cause for i in pending.items)

        faults.clear_fault()
        c.reset_breaker()
        done = c.reconcile()
        assert (done.examined, done.confirmed) == (2, 2), done
        assert {i.outcome for i in done.items} == {"confirmed"}
        assert {i.offline_verdict for i in done.items} == {andal.Verdict.MATCH, andal.Verdict.MISMATCH}
        assert all(i.nik_masked == d.nik_masked for i in done.items)
        again = c.reconcile()
        assert (again.examined, again.previously_resolved) == (0, 2)

        report = c.outage_report()
        assert sum(i["checks"]["offline"] for i in report.incidents) == 2

    raw = (tmp_path / "offline.journal").read_bytes()
    assert p["nik"].encode() not in raw and p["full_name"].encode() not in raw


def test_revoked_token_is_contradicted(faults: Any, people: List[Dict[str, Any]], tmp_path: Path) -> None:
    p = people[6]
    with _client(faults, tmp_path, andal.generate_journal_key()) as c:
        c.refresh_trust()
        token = faults.mint_token(p["nik"])
        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        assert c.verify(**_kw(p), token=token).is_offline
        faults.clear_fault()
        faults.revoke(p["nik"])
        c.reset_breaker()
        c.refresh_trust()
        r = c.reconcile()
        assert r.contradicted == 1 and r.items[0].outcome == "contradicted"
        assert r.items[0].reason == "revoked"
        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(p), token=token)
        assert info.value.offline_refusal == "revoked"


def test_offline_configuration_errors(sandbox: Any, tmp_path: Path) -> None:
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True,
                     journal=tmp_path / "j", journal_key=b"short")
    assert info.value.setting == "journal_key"
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, journal=tmp_path / "j")
    assert info.value.setting == "journal"
    with pytest.raises(andal.ConfigError) as info:
        andal.Client(sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, trust_roots=["{}"])
    assert info.value.setting == "trust_roots"


def test_fallback_policy_disabled(faults: Any, people: List[Dict[str, Any]], tmp_path: Path) -> None:
    p = people[7]
    with _client(faults, tmp_path, andal.generate_journal_key(),
                 fallback=andal.FallbackPolicy(allow_offline=False)) as c:
        c.refresh_trust()
        token = faults.mint_token(p["nik"])
        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(p), token=token)
        assert info.value.offline_refusal == "not_allowed"


def test_fallback_policy_fields_and_triggers(
    faults: Any, people: List[Dict[str, Any]], tmp_path: Path
) -> None:
    p = people[8]
    # Only a breaker-open registry may be answered offline: a plain 503 is not enough.
    policy = andal.FallbackPolicy(required_fields=["nik", "birth_date"], triggers=["breaker_open"])
    with _client(faults, tmp_path, andal.generate_journal_key(), fallback=policy) as c:
        c.refresh_trust()
        token = faults.mint_token(p["nik"])
        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(p), token=token)
        assert info.value.offline_refusal == "not_triggered"
    with pytest.raises(andal.ConfigError):
        andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True,
                     fallback=andal.FallbackPolicy(triggers=["whenever"]))
    with pytest.raises(andal.ConfigError):
        andal.Client(faults.url, PARTNER, API_KEY, allow_insecure_http=True,
                     fallback=andal.FallbackPolicy(required_fields=["shoe_size"]))
