"""Notices for the counter: stable codes, Bahasa Indonesia and English, no personal data."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import andal
from conftest import API_KEY, PARTNER, Sandbox, start_sandbox


@pytest.fixture
def own_sandbox(sandbox_bin: Path) -> Iterator[Sandbox]:
    # A private registry, so that this test's outage and reconciliation do not depend on
    # what other tests did to the session sandbox.
    sb = start_sandbox(sandbox_bin)
    try:
        yield sb
    finally:
        sb.stop()


def _kw(p: Dict[str, Any]) -> Dict[str, Any]:
    return dict(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])


def test_every_code_in_both_languages() -> None:
    assert andal.NOTICE_CODES[0] == "ANDAL-OFFLINE-ANSWERED"
    for code in andal.NOTICE_CODES:
        ind = andal.notice(code)
        en = andal.notice(code, lang="en", zone="WIT")
        assert ind.code == en.code == code
        assert ind.text != en.text and ind.title and en.title
        assert str(ind).startswith(code + ": ")
    since = datetime.datetime(2026, 11, 29, 9, 15, tzinfo=datetime.timezone.utc)
    n = andal.notice("ANDAL-UNAVAILABLE", zone="WITA", since=since)
    assert "sejak 29 November 2026, 17.15 WITA" in n.text
    with pytest.raises(ValueError):
        andal.notice("ANDAL-NOPE")
    with pytest.raises(ValueError):
        andal.notice("ANDAL-UNAVAILABLE", zone="CET")


def test_notices_follow_the_outcome(
    own_sandbox: Sandbox, people: List[Dict[str, Any]], tmp_path: Path
) -> None:
    faults = own_sandbox
    p = people[7]
    with andal.Client(
        faults.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=1.5, attempt_timeout=0.5,
        breaker=andal.BreakerSettings(minimum_number_of_calls=3, wait_duration_in_open=0.2),
        trust_roots=[faults.root_key()], trust_cache_dir=tmp_path / "trust",
        journal=tmp_path / "offline.journal", journal_key=andal.generate_journal_key(),
    ) as c:
        c.refresh_trust()
        online = c.verify(**_kw(p))
        assert andal.notice_for(online) is None, "a plain online answer needs no notice"
        assert c.outage_since() is None

        token = faults.mint_token(p["nik"])
        faults.set_fault({"kind": "error", "status": 503, "rate": 1.0})
        d = c.verify(**_kw(p), token=token)
        n = andal.notice_for(d)
        assert n is not None and n.code == "ANDAL-OFFLINE-ANSWERED"
        assert "otomatis" in n.text
        en = andal.notice_for(d, lang="en")
        assert en is not None and "automatically" in en.text

        with pytest.raises(andal.Unavailable) as info:
            c.verify(**_kw(p))
        since = c.outage_since()
        assert since is not None and since.tzinfo is not None
        turned_away = andal.notice_for(info.value, since=since, zone="WIT")
        assert turned_away is not None and turned_away.code == "ANDAL-UNAVAILABLE"
        assert "sejak" in turned_away.text and "WIT" in turned_away.text
        for text in (n.text, turned_away.text):
            assert p["nik"] not in text and p["full_name"] not in text

        faults.clear_fault()
        c.reset_breaker()
        done = c.reconcile()
        item = done.items[0]
        confirmed = andal.notice_for(item)
        assert confirmed is not None and confirmed.code == "ANDAL-CONFIRMED"
    assert andal.notice_for(andal.InvalidInput("bad")) is None
