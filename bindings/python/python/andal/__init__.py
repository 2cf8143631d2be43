"""Andal: bounded, honest NIK identity checks that keep working when the registry does not.

The checks run in the Rust core (``andal._andal``); this package adds keyword
arguments, typed results, catchable exceptions, batch progress and ``AsyncClient`` for
asyncio.

    import andal
    with andal.Client(url, partner_id, api_key) as client:
        decision = client.verify(nik="...", full_name="...", birth_date=date(1999, 7, 5))
        print(decision.verdict, decision.fields)
"""

from ._andal import Nik, __version__, generate_journal_key, mask_nik, normalize_name
from ._async_client import AsyncClient
from ._client import Client, EventCallback, ProgressArg, Row
from ._metrics import MetricSample, metrics_prometheus, metrics_snapshot
from ._errors import (
    AndalError,
    AuthError,
    ConfigError,
    InvalidInput,
    InvalidNik,
    JournalError,
    ProtocolError,
    Rejected,
    TokenError,
    Unavailable,
)
from ._notice import NOTICE_CODES, Notice, notice, notice_for
from ._types import (
    BatchResult,
    BreakerHealth,
    BreakerSettings,
    Decision,
    FallbackPolicy,
    FieldMatch,
    FieldResults,
    Health,
    OutageReport,
    Provenance,
    ReconcileItem,
    ReconcileReport,
    RetrySettings,
    TrustStatus,
    Verdict,
)

__all__ = [
    "MetricSample",
    "metrics_prometheus",
    "metrics_snapshot",
    "__version__",
    "Client",
    "AsyncClient",
    "Nik",
    "Decision",
    "Verdict",
    "FieldMatch",
    "FieldResults",
    "Provenance",
    "BatchResult",
    "BreakerSettings",
    "RetrySettings",
    "EventCallback",
    "BreakerHealth",
    "Health",
    "OutageReport",
    "Row",
    "ProgressArg",
    "normalize_name",
    "generate_journal_key",
    "FallbackPolicy",
    "TrustStatus",
    "ReconcileItem",
    "ReconcileReport",
    "mask_nik",
    "Notice",
    "NOTICE_CODES",
    "notice",
    "notice_for",
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
