"""One check against the sandbox: verdicts and field results."""

from __future__ import annotations

import datetime
from typing import Any, Dict, List

import andal
from andal import FieldMatch, Verdict


def _date(s: str) -> datetime.date:
    return datetime.date.fromisoformat(s)


def test_match(client: andal.Client, person: Dict[str, Any]) -> None:
    d = client.verify(
        nik=person["nik"],
        full_name=person["full_name"],
        birth_date=_date(person["birth_date"]),
        birth_place=person["birth_place"],
    )
    assert d.verdict is Verdict.MATCH and d.verdict == "match"
    assert d.is_match and not d.is_offline
    assert d.fields.nik is FieldMatch.SESUAI
    assert d.fields.full_name is FieldMatch.SESUAI
    assert d.fields.birth_date is FieldMatch.SESUAI
    assert d.fields.birth_place is FieldMatch.SESUAI
    assert d.fields.mismatched() == []
    assert d.source == "online" and d.provenance.request_id
    assert d.provenance.attempts == 1
    assert d.nik_masked == person["nik"][:4] + "*" * 10 + person["nik"][-2:]
    assert d.elapsed_ms >= 0


def test_match_with_string_date_nik_object_and_name_normalisation(
    client: andal.Client, person: Dict[str, Any]
) -> None:
    d = client.verify(
        nik=andal.Nik.parse(person["nik"]),
        full_name="  " + person["full_name"].lower() + ", S.Kom.",
        birth_date=person["birth_date"],
    )
    assert d.is_match
    assert d.fields.birth_place is FieldMatch.NOT_CHECKED


def test_mismatch_per_field(client: andal.Client, person: Dict[str, Any]) -> None:
    base = dict(
        nik=person["nik"],
        full_name=person["full_name"],
        birth_date=person["birth_date"],
        birth_place=person["birth_place"],
    )
    other_date = (_date(person["birth_date"]) + datetime.timedelta(days=1)).isoformat()
    cases = {
        "full_name": {**base, "full_name": "Nama Yang Lain Sekali"},
        "birth_date": {**base, "birth_date": other_date},
        "birth_place": {**base, "birth_place": "Kota Antah Berantah"},
    }
    for field, kwargs in cases.items():
        d = client.verify(**kwargs)
        assert d.verdict is Verdict.MISMATCH, field
        assert not d.is_match
        assert d.fields.mismatched() == [field]
        assert getattr(d.fields, field) is FieldMatch.TIDAK_SESUAI
        assert d.fields.nik is FieldMatch.SESUAI


def test_not_found(client: andal.Client, person: Dict[str, Any]) -> None:
    nik = person["nik"][:12] + "9999"  # valid structure, serial never issued
    d = client.verify(nik=nik, full_name=person["full_name"], birth_date=person["birth_date"])
    assert d.verdict is Verdict.NOT_FOUND
    assert d.fields.nik is FieldMatch.TIDAK_SESUAI or d.fields.nik is FieldMatch.NOT_CHECKED


def test_inactive_record(client: andal.Client, inactive_people: List[Dict[str, Any]]) -> None:
    p = inactive_people[0]
    d = client.verify(nik=p["nik"], full_name=p["full_name"], birth_date=p["birth_date"])
    assert d.verdict is Verdict.INACTIVE_RECORD


def test_idempotency_key_is_accepted_and_reuse_is_free(
    client: andal.Client, person: Dict[str, Any], sandbox: Any
) -> None:
    kwargs = dict(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    a = client.verify(idempotency_key="py-test-idem-1", **kwargs)
    b = client.verify(idempotency_key="py-test-idem-1", **kwargs)
    assert a.verdict == b.verdict == Verdict.MATCH


def test_to_dict_is_json_ready_and_masked(client: andal.Client, person: Dict[str, Any]) -> None:
    import json

    d = client.verify(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    out = d.to_dict()
    text = json.dumps(out)
    assert out["verdict"] == "match" and out["is_match"] is True
    assert out["fields"]["full_name"] == "SESUAI"
    assert out["provenance"]["source"] == "online"
    assert person["nik"] not in text and person["full_name"] not in text


def test_repr_masks_personal_data(client: andal.Client, person: Dict[str, Any]) -> None:
    d = client.verify(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    for text in (repr(d), str(d), repr(andal.Nik.parse(person["nik"])), str(andal.Nik.parse(person["nik"]))):
        assert person["nik"] not in text
        assert person["full_name"] not in text
        assert person["birth_date"] not in text
    assert d.nik_masked in repr(d)
    assert "sandbox-demo-bank-key" not in repr(client)


def test_per_call_deadline_and_closed_client(sandbox: Any, person: Dict[str, Any]) -> None:
    c = andal.Client(sandbox.url, "demo-bank", "sandbox-demo-bank-key", allow_insecure_http=True)
    with c:
        assert c.verify(
            nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"], deadline=3
        ).is_match
    assert c.closed
    import pytest

    with pytest.raises(RuntimeError):
        c.verify(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])


def test_decisions_are_the_dataclasses_their_constructors_build(
    client: andal.Client, person: Dict[str, Any]
) -> None:
    # The extension fills the frozen dataclasses' fields without calling `__init__`; the
    # result must be indistinguishable from constructing them.
    import dataclasses

    a = client.verify(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    b = client.verify(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    rebuilt = andal.Decision(
        **{f.name: getattr(a, f.name) for f in dataclasses.fields(a)}
    )
    assert rebuilt == a and dataclasses.asdict(rebuilt) == dataclasses.asdict(a)
    p = a.provenance
    assert p == andal.Provenance(
        source="online", request_id=p.request_id, registry_time=p.registry_time, attempts=p.attempts
    )
    assert dataclasses.replace(a.fields) == a.fields
    # Each decision has its own `extra` dict, as `default_factory=dict` gives.
    assert p.extra == {} and p.extra is not b.provenance.extra
    assert dataclasses.replace(a, elapsed_ms=0).elapsed_ms == 0
    try:
        a.elapsed_ms = 1  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("Decision must stay frozen")
