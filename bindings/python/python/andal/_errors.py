"""Exceptions raised by andal.

Every exception carries structured attributes (``code`` on all of them, then what the
kind needs) and a message produced by the Rust core, which never contains a NIK, a name
or a birth date. The native module instantiates these classes; they are defined in Python
so that ``InvalidInput`` can also be a ``ValueError``.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "AndalError",
    "InvalidInput",
    "InvalidNik",
    "ConfigError",
    "AuthError",
    "Rejected",
    "Unavailable",
    "ProtocolError",
    "TokenError",
    "JournalError",
]


class AndalError(Exception):
    """Root of every andal error.

    ``code`` is a stable snake_case label (``invalid_input``, ``config``, ``auth``,
    ``rejected``, ``unavailable``, ``protocol``, ...). Kinds added to the Rust core later
    reach Python as ``AndalError`` with their own ``code``.
    """

    code: str

    def __init__(self, message: str, *, code: str = "error", **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        for key, value in extra.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message

    def _fields(self) -> dict[str, Any]:
        return {"code": self.code}

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({self.message!r}, {attrs})"

    def to_dict(self) -> dict[str, Any]:
        """Structured form (for CSV, JSON logs); never contains personal data."""
        return {"error": type(self).__name__, "message": self.message, **self._fields()}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the structured attributes across pickling (multiprocessing, job queues).
        return (_restore, (type(self), self.message, dict(self.__dict__)))


def _restore(cls: type[AndalError], message: str, state: dict[str, Any]) -> AndalError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class InvalidInput(AndalError, ValueError):
    """Input rejected offline: no request was sent and no fee charged.

    ``field`` names the input (``nik``, ``full_name``, ``birth_date``, ``birth_place``) and
    ``reason`` says what is wrong (``empty``, ``too_long``, ``control_character``,
    ``invalid_date``, or for a NIK the ``part`` that is wrong).
    """

    field: str
    reason: str

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_input",
        field: str = "unknown",
        reason: str = "invalid",
        **extra: Any,
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.field = field
        self.reason = reason

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "field": self.field, "reason": self.reason}


class InvalidNik(InvalidInput):
    """The NIK is malformed. ``part`` says which part: ``length``, ``non_digit``,
    ``province``, ``regency``, ``birth_day``, ``birth_month``, ``birth_date`` or
    ``serial``; ``position`` is the count of characters found (``length``) or the 1-based
    position of the first non-digit (``non_digit``), else ``None``."""

    part: str
    position: Optional[int]

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_input",
        field: str = "nik",
        reason: str = "invalid",
        part: str = "unknown",
        position: Optional[int] = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, code=code, field=field, reason=reason, **extra)
        self.part = part
        self.position = position

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "part": self.part, "position": self.position}


class ConfigError(AndalError):
    """The client is misconfigured (``setting`` names it; ``reason`` is ``missing``,
    ``invalid`` or ``insecure_http``)."""

    setting: str
    reason: str

    def __init__(
        self,
        message: str,
        *,
        code: str = "config",
        setting: str = "unknown",
        reason: str = "invalid",
        **extra: Any,
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.setting = setting
        self.reason = reason

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "setting": self.setting, "reason": self.reason}


class _StatusError(AndalError):
    status: int
    problem: str

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int = 0,
        problem: str = "unknown",
        **extra: Any,
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.status = status
        self.problem = problem

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "status": self.status, "problem": self.problem}


class AuthError(_StatusError):
    """API key missing, unknown or not allowed: ``status`` 401/403, ``problem`` is the
    registry's problem code (``unauthorized``, ``forbidden``)."""


class Rejected(_StatusError):
    """The registry refused the request itself (not an outage): ``status`` (400, 409,
    413, ...) and ``problem`` (e.g. ``idempotency_key_reused``)."""


class Unavailable(AndalError):
    """The registry could not answer within the deadline: an honest answer.

    ``cause`` is a stable label (``refused``, ``read_timeout``, ``http_503``,
    ``throttled``, ``breaker_open``, ``deadline_exceeded``, ``load_shed``, ...), ``attempts``
    the requests sent, ``last_failure`` how the last request sent failed (``read_timeout``,
    ``reset``, ...; kept when the check stopped for another reason such as the breaker or
    the retry budget; ``None`` when nothing was sent), ``elapsed`` the seconds spent, ``retry_in`` seconds until the breaker lets a
    probe through when known. When offline answers are configured, ``offline_refusal``
    says why none was given (``no_token``, ``token_too_old``, ``revoked``,
    ``revocation_list_stale``, ``no_trusted_keys``, ...).
    """

    cause: str
    attempts: int
    last_failure: Optional[str]
    elapsed: float
    retry_in: Optional[float]
    offline_refusal: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        code: str = "unavailable",
        cause: str = "unknown",
        attempts: int = 0,
        last_failure: Optional[str] = None,
        elapsed: float = 0.0,
        retry_in: Optional[float] = None,
        offline_refusal: Optional[str] = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.cause = cause
        self.attempts = attempts
        self.last_failure = last_failure
        self.elapsed = elapsed
        self.retry_in = retry_in
        self.offline_refusal = offline_refusal

    def _fields(self) -> dict[str, Any]:
        return {
            **super()._fields(),
            "cause": self.cause,
            "attempts": self.attempts,
            "last_failure": self.last_failure,
            "elapsed": self.elapsed,
            "retry_in": self.retry_in,
            "offline_refusal": self.offline_refusal,
        }


class ProtocolError(AndalError):
    """The registry answered something that is not a valid API v1 response."""


class TokenError(AndalError):
    """A trust document (keyset, revocation list) or token failed verification
    (``reason``: ``bad_signature``, ``expired``, ``unknown_key``, ...)."""

    reason: str

    def __init__(
        self, message: str, *, code: str = "token", reason: str = "invalid", **extra: Any
    ) -> None:
        super().__init__(message, code=code, **extra)
        self.reason = reason

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "reason": self.reason}


class JournalError(AndalError):
    """The offline journal could not be read or written."""
