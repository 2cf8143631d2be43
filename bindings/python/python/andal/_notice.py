"""Notices for the person at the counter: a stable code and a short sentence in Bahasa
Indonesia or English, for every outcome that is not a plain online answer.

Codes (stable; see the Rust docs of ``andal::notice``): ``ANDAL-OFFLINE-ANSWERED``,
``ANDAL-UNAVAILABLE``, ``ANDAL-UNAVAILABLE-QUOTA``, ``ANDAL-CONFIRMED``,
``ANDAL-CONTRADICTED``. The words come from the Rust core; no personal data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Optional, Union

from . import _andal
from ._errors import Unavailable
from ._types import Decision, ReconcileItem

NOTICE_CODES = (
    "ANDAL-OFFLINE-ANSWERED",
    "ANDAL-UNAVAILABLE",
    "ANDAL-UNAVAILABLE-QUOTA",
    "ANDAL-CONFIRMED",
    "ANDAL-CONTRADICTED",
)


@dataclass(frozen=True)
class Notice:
    """A notice, ready to show or print: ``code`` (stable), ``title`` (a few words),
    ``text`` (the sentence for the person and the receipt)."""

    code: str
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


def notice(
    code: str,
    *,
    lang: str = "id",
    zone: str = "WIB",
    since: Optional[datetime.datetime] = None,
) -> Notice:
    """The notice with this code, in ``lang`` (``"id"`` or ``"en"``) and the office's
    ``zone`` (``"WIB"``, ``"WITA"`` or ``"WIT"``). ``since`` (when the outage began, e.g.
    ``client.outage_since()``) is shown by the unavailable codes. Raises ``ValueError``
    for an unknown code, language or zone."""
    ts = None if since is None else since.timestamp()
    c, title, text = _andal.notice(code, lang, zone, ts)
    return Notice(code=c, title=title, text=text)


def notice_for(
    subject: Union[Decision, Unavailable, ReconcileItem, BaseException],
    *,
    lang: str = "id",
    zone: str = "WIB",
    since: Optional[datetime.datetime] = None,
) -> Optional[Notice]:
    """The notice for a decision (``ANDAL-OFFLINE-ANSWERED`` when answered offline), an
    :class:`~andal.Unavailable` error (``ANDAL-UNAVAILABLE`` or ``-QUOTA``), or a
    reconciliation item (``ANDAL-CONFIRMED`` / ``ANDAL-CONTRADICTED``, or
    ``ANDAL-OFFLINE-ANSWERED`` while still pending). ``None`` for a plain online answer and
    for errors that are not an outage (invalid input, rejected, configuration)."""
    if isinstance(subject, Decision):
        if not subject.is_offline:
            return None
        return notice("ANDAL-OFFLINE-ANSWERED", lang=lang, zone=zone)
    if isinstance(subject, Unavailable):
        code = _andal.unavailable_notice_code(subject.cause, subject.last_failure)
        return notice(code, lang=lang, zone=zone, since=since)
    if isinstance(subject, ReconcileItem):
        code = {
            "confirmed": "ANDAL-CONFIRMED",
            "contradicted": "ANDAL-CONTRADICTED",
        }.get(subject.outcome, "ANDAL-OFFLINE-ANSWERED")
        return notice(code, lang=lang, zone=zone)
    return None
