"""andal.Nik and helpers: offline, no sandbox needed."""

from __future__ import annotations

import datetime

import pytest

import andal

NIK = "3316094507990001"


def test_parse_and_accessors() -> None:
    n = andal.Nik.parse(" 3316094507990001 ")
    assert repr(n) == "Nik('3316**********01')"
    assert str(n) == n.masked == "3316**********01"
    assert n.province_code == "33"
    assert n.regency_code == "3316"
    assert n.district_code == "331609"
    assert n.sex == "female"
    assert (n.birth_day, n.birth_month, n.birth_year_2, n.serial) == (5, 7, 99, 1)
    assert n.expose_digits() == NIK
    assert n.embeds_birth_date(datetime.date(1999, 7, 5))
    assert n.embeds_birth_date("1999-07-05")
    assert not n.embeds_birth_date("1999-07-06")
    region = n.region()
    assert region["regency"] == "Kabupaten Blora"
    assert region["province"] == "Jawa Tengah"
    assert andal.Nik(NIK) == n and hash(andal.Nik(NIK)) == hash(n)


@pytest.mark.parametrize(
    "value, part, position",
    [
        ("1234", "length", 4),
        ("33160945079900O1", "non_digit", 15),
        ("9916094507990001", "province", None),
        ("3399094507990001", "regency", None),
        ("3316093507990001", "birth_day", None),
        ("3316094513990001", "birth_month", None),
        ("3316097102990001", "birth_date", None),
        ("3316094507990000", "serial", None),
    ],
)
def test_invalid_nik_parts(value: str, part: str, position: object) -> None:
    with pytest.raises(andal.InvalidNik) as info:
        andal.Nik.parse(value)
    e = info.value
    assert isinstance(e, ValueError)
    assert isinstance(e, andal.InvalidInput) and isinstance(e, andal.AndalError)
    assert e.part == part and e.reason == part and e.field == "nik"
    assert e.position == position
    assert e.code == "invalid_input"
    assert value not in str(e) and value not in repr(e)


def test_helpers() -> None:
    assert andal.normalize_name("  dr. Budi   o'Santoso, S.H., M.Kn.") == "BUDI O SANTOSO"
    assert andal.mask_nik(NIK) == "3316**********01"
    assert andal.mask_nik("garbage") == "****************"
    assert isinstance(andal.__version__, str)


def test_exceptions_pickle_with_their_attributes() -> None:
    import pickle

    with pytest.raises(andal.InvalidNik) as info:
        andal.Nik.parse("1234")
    e = pickle.loads(pickle.dumps(info.value))
    assert type(e) is andal.InvalidNik and isinstance(e, ValueError)
    assert (e.part, e.position, e.field, e.code, str(e)) == (
        "length", 4, "nik", "invalid_input", str(info.value))
    u = pickle.loads(pickle.dumps(andal.Unavailable("down", cause="refused", attempts=2, elapsed=0.1)))
    assert (u.cause, u.attempts, u.elapsed, u.retry_in) == ("refused", 2, 0.1, None)
