"""Metrics of every client in this process, read back (series: docs/metrics.md).

The native module installs an in-process recorder when it is imported, so every client
built afterwards publishes its series there: ``metrics_snapshot()`` returns them as typed
values, ``metrics_prometheus()`` as a Prometheus text page an application can serve.
Logs: Andal's ``tracing`` events arrive in Python's ``logging`` under loggers ``andal.*``
(``andal.check``, ``andal.client``, ``andal.resilience``, ``andal.offline``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import _andal

@dataclass(frozen=True)
class MetricSample:
    """One series at the time of the snapshot."""

    name: str
    labels: Dict[str, str]
    #: ``"counter"``, ``"gauge"`` or ``"histogram"``.
    kind: str
    #: Counter total or gauge value; for a histogram, the sum of observations.
    value: float
    #: Histogram only: number of observations (0 otherwise).
    count: int = 0
    #: Histogram only: cumulative ``(upper bound, observations <= bound)``, ``inf`` last.
    buckets: Tuple[Tuple[float, int], ...] = ()


def metrics_snapshot(name: Optional[str] = None) -> List[MetricSample]:
    """Every series (or those called ``name``), sorted by name then labels."""
    out = []
    for n, labels, kind, value, count, buckets in _andal.metrics_snapshot():
        if name is not None and n != name:
            continue
        out.append(
            MetricSample(
                name=n,
                labels=dict(labels),
                kind=kind,
                value=value,
                count=count,
                buckets=tuple(buckets),
            )
        )
    return out


def metrics_prometheus() -> str:
    """The snapshot in the Prometheus text exposition format (version 0.0.4)."""
    return _andal.metrics_prometheus()
