"""Result types: plain, immutable Python values built from the Rust core's answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ._errors import AndalError, ProtocolError

__all__ = [
    "Verdict",
    "FieldMatch",
    "FieldResults",
    "Provenance",
    "Decision",
    "BatchResult",
    "BreakerSettings",
    "RetrySettings",
    "BreakerHealth",
    "Health",
    "OutageReport",
    "FallbackPolicy",
    "TrustStatus",
    "ReconcileItem",
    "ReconcileReport",
]


class Verdict(str, enum.Enum):
    """Overall verdict, as the registry gives it. Compares equal to its label."""

    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    INACTIVE_RECORD = "inactive_record"

    def __str__(self) -> str:
        return self.value


class FieldMatch(str, enum.Enum):
    """One field's result, in the registry's wording (SESUAI / TIDAK SESUAI)."""

    SESUAI = "SESUAI"
    TIDAK_SESUAI = "TIDAK_SESUAI"
    NOT_CHECKED = "NOT_CHECKED"

    def __str__(self) -> str:
        return self.value


def _enum(cls: Any, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise ProtocolError(
            f"unknown {cls.__name__} value from the core", code="protocol"
        ) from None


@dataclass(frozen=True)
class FieldResults:
    """Field-by-field results."""

    nik: FieldMatch
    full_name: FieldMatch
    birth_date: FieldMatch
    birth_place: FieldMatch

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> FieldResults:
        return cls(
            nik=_enum(FieldMatch, d["nik"]),
            full_name=_enum(FieldMatch, d["full_name"]),
            birth_date=_enum(FieldMatch, d["birth_date"]),
            birth_place=_enum(FieldMatch, d["birth_place"]),
        )

    def to_dict(self) -> Dict[str, str]:
        return {
            "nik": self.nik.value,
            "full_name": self.full_name.value,
            "birth_date": self.birth_date.value,
            "birth_place": self.birth_place.value,
        }

    def mismatched(self) -> list[str]:
        """Names of the fields that did not match (TIDAK SESUAI)."""
        return [k for k, v in self.to_dict().items() if v == FieldMatch.TIDAK_SESUAI.value]


@dataclass(frozen=True)
class Provenance:
    """Where the answer came from.

    ``source`` is ``"online"`` (``request_id``, ``registry_time``, ``attempts`` set) or
    ``"offline"`` (``token_id``, ``key_id``, ``token_age_secs``,
    ``revocation_staleness_secs``, ``online_failure``, ``journal_seq`` set). Details the
    core adds later land in ``extra``.
    """

    source: str
    request_id: Optional[str] = None
    registry_time: Optional[str] = None
    attempts: Optional[int] = None
    token_id: Optional[str] = None
    key_id: Optional[str] = None
    token_age_secs: Optional[int] = None
    revocation_staleness_secs: Optional[int] = None
    online_failure: Optional[str] = None
    journal_seq: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> Provenance:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        kwargs = {k: v for k, v in d.items() if k in known}
        extra = {k: v for k, v in d.items() if k not in known}
        return cls(extra=extra, **kwargs)

    @property
    def is_offline(self) -> bool:
        return self.source == "offline"

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if k != "extra" and getattr(self, k) is not None
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True, repr=False)
class Decision:
    """The outcome of one check. Carries the NIK only masked; ``repr`` shows no
    personal data."""

    verdict: Verdict
    fields: FieldResults
    provenance: Provenance
    nik_masked: str
    attestation: Optional[str]
    elapsed_ms: int

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> Decision:
        try:
            return cls(
                verdict=_enum(Verdict, d["verdict"]),
                fields=FieldResults._from_json(d["fields"]),
                provenance=Provenance._from_json(d["provenance"]),
                nik_masked=str(d["nik_masked"]),
                attestation=d.get("attestation"),
                elapsed_ms=int(d["elapsed_ms"]),
            )
        except (KeyError, TypeError) as e:
            raise ProtocolError(
                f"decision from the core lacks {e}", code="protocol"
            ) from None

    @property
    def is_match(self) -> bool:
        """True for an online or offline match."""
        return self.verdict is Verdict.MATCH

    @property
    def is_offline(self) -> bool:
        """True when answered from offline evidence."""
        return self.provenance.is_offline

    @property
    def source(self) -> str:
        """``"online"`` or ``"offline"``."""
        return self.provenance.source

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready form (masked NIK only)."""
        return {
            "verdict": self.verdict.value,
            "fields": self.fields.to_dict(),
            "provenance": self.provenance.to_dict(),
            "nik_masked": self.nik_masked,
            "attestation": self.attestation,
            "elapsed_ms": self.elapsed_ms,
            "is_match": self.is_match,
            "is_offline": self.is_offline,
        }

    def __repr__(self) -> str:
        f = self.fields
        return (
            f"Decision(verdict={self.verdict.value!r}, nik={self.nik_masked!r}, "
            f"fields=(nik={f.nik.value}, full_name={f.full_name.value}, "
            f"birth_date={f.birth_date.value}, birth_place={f.birth_place.value}), "
            f"source={self.provenance.source!r}, elapsed_ms={self.elapsed_ms})"
        )


@dataclass(frozen=True)
class BatchResult:
    """One row of ``Client.verify_many``: either a ``decision`` or an ``error``."""

    index: int
    decision: Optional[Decision] = None
    error: Optional[AndalError] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def verdict(self) -> Optional[Verdict]:
        return self.decision.verdict if self.decision is not None else None

    def unwrap(self) -> Decision:
        """The decision, or raise the row's error."""
        if self.error is not None:
            raise self.error
        assert self.decision is not None
        return self.decision

    def to_row(self) -> Dict[str, str]:
        """Flat columns for CSV output: verdict, fields, source, error, error_detail.
        Contains no personal data (no NIK, name or birth date)."""
        if self.decision is not None:
            d = self.decision
            return {
                "verdict": d.verdict.value,
                "fields": ";".join(f"{k}={v}" for k, v in d.fields.to_dict().items()),
                "source": d.provenance.source,
                "error": "",
                "error_detail": "",
            }
        err = self.error
        assert err is not None
        detail = {k: v for k, v in err.to_dict().items() if k not in ("error", "message")}
        return {
            "verdict": "",
            "fields": "",
            "source": "",
            "error": type(err).__name__,
            "error_detail": ";".join(f"{k}={v}" for k, v in detail.items() if v is not None),
        }

    def __repr__(self) -> str:
        if self.decision is not None:
            return f"BatchResult(index={self.index}, decision={self.decision!r})"
        return f"BatchResult(index={self.index}, error={self.error!r})"


def _secs(v: Any) -> Optional[float]:
    """A serde `Duration` ({"secs", "nanos"}) or a number, as seconds."""
    if v is None:
        return None
    if isinstance(v, Mapping):
        return float(v.get("secs", 0)) + float(v.get("nanos", 0)) / 1e9
    return float(v)


@dataclass(frozen=True)
class BreakerSettings:
    """Circuit-breaker settings for :class:`andal.Client` (``None``: the core's default).

    Durations are in seconds; rates in percent.
    """

    count_window: Optional[int] = None
    minimum_number_of_calls: Optional[int] = None
    failure_rate_threshold: Optional[float] = None
    slow_call_duration_threshold: Optional[float] = None
    slow_call_rate_threshold: Optional[float] = None
    wait_duration_in_open: Optional[float] = None
    permitted_calls_in_half_open: Optional[int] = None


@dataclass(frozen=True)
class RetrySettings:
    """Retry settings for :class:`andal.Client` (``None``: the core's default).

    ``max_attempts`` counts the first attempt; ``base`` and ``cap`` (seconds) shape the
    full-jitter exponential backoff. Retries also stop when the deadline would pass or
    the retry budget is spent, whatever ``max_attempts`` says.
    """

    max_attempts: Optional[int] = None
    base: Optional[float] = None
    cap: Optional[float] = None


@dataclass(frozen=True)
class BreakerHealth:
    """Breaker snapshot: ``state`` (``closed``, ``open``, ``half_open``, ``forced_open``,
    ``disabled``), rates in percent (``None`` below the minimum number of calls), counts,
    and seconds until a probe is admitted (open only)."""

    state: str
    failure_rate: Optional[float]
    slow_call_rate: Optional[float]
    calls: int
    failed: int
    slow: int
    not_permitted: int
    time_until_half_open: Optional[float]


@dataclass(frozen=True)
class Health:
    """A client's resilience state: upstream ``host``, ``breaker`` and the retry tokens
    left (``retry_budget_balance``)."""

    host: str
    breaker: BreakerHealth
    retry_budget_balance: float
    extra: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> Health:
        b = d["breaker"]
        breaker = BreakerHealth(
            state=str(b["state"]),
            failure_rate=b.get("failure_rate"),
            slow_call_rate=b.get("slow_call_rate"),
            calls=int(b.get("calls", 0)),
            failed=int(b.get("failed", 0)),
            slow=int(b.get("slow", 0)),
            not_permitted=int(b.get("not_permitted", 0)),
            time_until_half_open=_secs(b.get("time_until_half_open")),
        )
        extra = {k: v for k, v in d.items() if k not in ("host", "breaker", "retry_budget_balance")}
        return cls(
            host=str(d["host"]),
            breaker=breaker,
            retry_budget_balance=float(d.get("retry_budget_balance", 0.0)),
            extra=extra,
        )


class OutageReport:
    """The client's outage record: when each outage began and ended, what failed
    (refused, timeouts, TLS, HTTP 5xx, throttling), how many checks were answered online,
    offline or refused during it, and how offline decisions were reconciled.

    ``to_dict()`` is the documented JSON form (``docs/outage-record.md``); ``summary``
    a plain-text digest for operators. Contains no personal data.
    """

    __slots__ = ("_data", "_json", "_summary")

    def __init__(self, json_text: str, summary: str) -> None:
        import json

        self._json = json_text
        self._data: Dict[str, Any] = json.loads(json_text)
        self._summary = summary

    @property
    def summary(self) -> str:
        return self._summary

    @property
    def generated_at(self) -> str:
        return str(self._data.get("generated_at", ""))

    @property
    def incidents(self) -> List[Dict[str, Any]]:
        """Kept incidents, oldest first (``started_at``, ``ended_at``, ``ongoing``,
        ``duration_ms``, ``causes``, ``checks``, ...)."""
        return list(self._data.get("incidents", []))

    @property
    def totals(self) -> Dict[str, Any]:
        return dict(self._data.get("totals", {}))

    @property
    def ongoing(self) -> bool:
        """True while an outage is open."""
        return self._data.get("current", {}).get("open_incident") is not None

    def to_dict(self) -> Dict[str, Any]:
        import copy

        return copy.deepcopy(self._data)

    def to_json(self) -> str:
        return self._json

    def __repr__(self) -> str:
        return (
            f"OutageReport(generated_at={self.generated_at!r}, "
            f"incidents={len(self.incidents)}, ongoing={self.ongoing})"
        )


@dataclass(frozen=True)
class FallbackPolicy:
    """When an offline attestation token may answer for an unavailable registry
    (``None``: the core's default). Durations in seconds.

    Defaults: offline answers allowed once trust roots and a journal are configured,
    tokens up to 30 days old, a revocation list required and at most 24 h old, 60 s of
    clock leeway. A registry verdict (mismatch, not found, inactive) is never overridden
    offline.
    """

    allow_offline: Optional[bool] = None
    max_token_age: Optional[float] = None
    max_revocation_staleness: Optional[float] = None
    require_revocation_list: Optional[bool] = None
    leeway: Optional[float] = None
    #: Fields that must match for an offline ``match``: ``"nik"``, ``"full_name"``,
    #: ``"birth_date"`` (default: all three).
    required_fields: Optional[Sequence[str]] = None
    #: Online failures that permit a fallback: ``"breaker_open"``, ``"deadline_exceeded"``,
    #: ``"retry_budget_exhausted"``, ``"transport_failure"``, ``"server_error"``,
    #: ``"throttled"``, ``"load_shed"`` (default: all).
    triggers: Optional[Sequence[str]] = None


@dataclass(frozen=True)
class TrustStatus:
    """The trust state held for offline answers: pinned ``roots``, verified issuer
    ``keys``, issue times (Unix seconds) and the revocation list's age; the ``issuer``
    documents are bound to, and why the last keyset / revocation list was refused
    (``"rollback"``: older than one already held; ``"wrong_issuer"``), if one was."""

    roots: int
    keys: int
    keyset_issued_at: Optional[int]
    revocations_issued_at: Optional[int]
    revocations_age_secs: Optional[int]
    revocations_overdue: bool
    issuer: Optional[str] = None
    keyset_refused: Optional[str] = None
    revocations_refused: Optional[str] = None

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> TrustStatus:
        return cls(
            roots=int(d.get("roots", 0)),
            keys=int(d.get("keys", 0)),
            keyset_issued_at=d.get("keyset_issued_at"),
            revocations_issued_at=d.get("revocations_issued_at"),
            revocations_age_secs=d.get("revocations_age_secs"),
            revocations_overdue=bool(d.get("revocations_overdue", False)),
            issuer=d.get("issuer"),
            keyset_refused=(d.get("keyset_refused") or {}).get("reason"),
            revocations_refused=(d.get("revocations_refused") or {}).get("reason"),
        )


@dataclass(frozen=True)
class ReconcileItem:
    """One journaled offline decision re-checked online.

    ``outcome`` is ``confirmed``, ``contradicted`` (``reason``: ``mismatch``,
    ``revoked``, ``not_found``, ``inactive``) or ``still_pending`` (``cause``: why the
    registry could not answer yet).
    """

    journal_seq: int
    token_id: str
    nik_masked: str
    decided_at: int
    offline_verdict: Verdict
    outcome: str
    reason: Optional[str] = None
    cause: Optional[str] = None

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> ReconcileItem:
        o = d.get("outcome", {})
        return cls(
            journal_seq=int(d["journal_seq"]),
            token_id=str(d["token_id"]),
            nik_masked=str(d["nik_masked"]),
            decided_at=int(d["decided_at"]),
            offline_verdict=_enum(Verdict, d["offline_verdict"]),
            outcome=str(o.get("outcome", "unknown")),
            reason=o.get("reason"),
            cause=o.get("cause"),
        )


@dataclass(frozen=True)
class ReconcileReport:
    """What ``Client.reconcile()`` found: counts and one item per examined decision."""

    examined: int
    confirmed: int
    contradicted: int
    still_pending: int
    previously_resolved: int
    items: List[ReconcileItem]

    @classmethod
    def _from_json(cls, d: Mapping[str, Any]) -> ReconcileReport:
        return cls(
            examined=int(d.get("examined", 0)),
            confirmed=int(d.get("confirmed", 0)),
            contradicted=int(d.get("contradicted", 0)),
            still_pending=int(d.get("still_pending", 0)),
            previously_resolved=int(d.get("previously_resolved", 0)),
            items=[ReconcileItem._from_json(i) for i in d.get("items", [])],
        )
