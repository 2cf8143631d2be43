"""``andal.Client``: the Pythonic face of the Rust client."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Type,
    Union,
)

from . import _andal
from ._andal import Nik
from ._errors import AndalError, InvalidInput
from ._types import (
    BatchResult,
    BreakerSettings,
    Decision,
    FallbackPolicy,
    Health,
    OutageReport,
    ReconcileReport,
    RetrySettings,
    TrustStatus,
)

__all__ = ["Client", "Row", "ProgressArg", "EventCallback"]

DateLike = Union[datetime.date, str]
NikLike = Union[str, Nik]
#: A batch row: a mapping with ``nik``, ``full_name``, ``birth_date`` and optionally
#: ``birth_place`` / ``idempotency_key``, or a tuple ``(nik, full_name, birth_date[,
#: birth_place])``.
Row = Union[Mapping[str, Any], Sequence[Any]]
#: ``True``: a progress line on stderr when it is a terminal; ``False``: none; a text
#: stream: always write progress there; a callable: called as ``fn(done, total, errors)``.
ProgressArg = Union[bool, IO[str], Callable[[int, Optional[int], int], None]]
#: Receives resilience events as dicts with a ``kind`` (``state_transition``,
#: ``call_rejected``, ``retry_scheduled``, ``retry_stopped``, ``retry_budget_exhausted``)
#: and its details; never personal data.
EventCallback = Callable[[Dict[str, Any]], None]


def _nik_digits(nik: NikLike) -> str:
    return nik.expose_digits() if isinstance(nik, Nik) else nik


class Client:
    """An identity-check client for one registry (or the sandbox).

    Thread-safe: share one per registry. Use it as a context manager, or call
    :meth:`close`. Network calls release the GIL, so threads and asyncio run on while a
    check waits.

    >>> with andal.Client(url, "demo-bank", key, allow_insecure_http=True) as client:
    ...     d = client.verify(nik="3316...", full_name="Siti", birth_date="1999-07-05")

    Args:
        base_url: The registry's base URL (``https://...``; ``http://`` only with
            ``allow_insecure_http``).
        partner_id: Your partner id at the registry (sent with every check).
        api_key: Your API key (sent as a bearer token; never logged).
        deadline: Total time per check in seconds, retries included (default 5.0).
            A check answers or raises within it.
        attempt_timeout: Time per HTTP attempt in seconds (default 2.0).
        allow_insecure_http: Allow an ``http://`` base URL (the sandbox, tests). Off by
            default.
        max_response_bytes: Largest registry response accepted, in bytes (default
            256 KiB); a larger one is a failure, not a crash.
        breaker: Circuit-breaker settings (:class:`BreakerSettings`); ``None``: the
            core's defaults.
        retry: Retry settings (:class:`RetrySettings`); ``None``: the core's defaults.
        count_throttling_as_failure: Count HTTP 429 from the registry as a breaker
            failure (default ``False``: one partner over its own quota should not open
            the breaker; it is still retried after ``Retry-After``).
        on_event: Called with each resilience event as a dict (``kind`` plus details,
            never personal data) on the checking thread; keep it quick. An exception in
            it goes to ``sys.unraisablehook`` and never breaks a check.
        trust_roots: Pinned issuer root keys (JWK JSON strings or dicts) under which
            offline attestation tokens verify. Needed for offline answers.
        trust_cache_dir: Directory where the verified keyset and revocation list are
            cached between runs.
        journal: Path of the encrypted journal of offline decisions (with
            ``journal_key``). Needed for offline answers.
        journal_key: The journal's 32-byte key (keep it in your KMS or secret store).
        fallback: When an offline token may answer (:class:`FallbackPolicy`); ``None``:
            the core's defaults.
        ca_bundle: Path of a PEM file of CA certificates to trust *instead of* the public
            WebPKI roots (a bank's private CA in front of the registry). Like
            ``requests``' ``verify="/path/ca.pem"``; verification cannot be turned off.
        client_cert: Path of a PEM client certificate chain for gateways that require
            mutual TLS; the file may also hold the key (like ``requests``' ``cert=``).
        client_key: Path of the client certificate's PEM private key, when not in
            ``client_cert``.
        platform_verifier: Verify the registry's certificate with the operating system's
            verifier and trust store (roots your administrator installed) instead of the
            WebPKI roots. Exclusive with ``ca_bundle``.
        proxy: An HTTP proxy for every request, ``http://[user:password@]host:port``
            (HTTPS goes through a CONNECT tunnel). Like ``requests``' ``proxies=``, but
            one URL; ``HTTPS_PROXY`` and friends are *not* read.

    Raises:
        ConfigError: a setting is invalid (its name is in ``setting``): e.g. an
            unreadable or malformed ``ca_bundle``, a key that does not match
            ``client_cert``, a bad proxy URL.
    """

    def __init__(
        self,
        base_url: str,
        partner_id: str,
        api_key: str,
        *,
        deadline: float = 5.0,
        attempt_timeout: float = 2.0,
        allow_insecure_http: bool = False,
        max_response_bytes: Optional[int] = None,
        breaker: Optional[BreakerSettings] = None,
        retry: Optional[RetrySettings] = None,
        count_throttling_as_failure: bool = False,
        on_event: Optional[EventCallback] = None,
        trust_roots: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
        trust_cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        journal: Optional[Union[str, "os.PathLike[str]"]] = None,
        journal_key: Optional[bytes] = None,
        fallback: Optional[FallbackPolicy] = None,
        ca_bundle: Optional[Union[str, "os.PathLike[str]"]] = None,
        client_cert: Optional[Union[str, "os.PathLike[str]"]] = None,
        client_key: Optional[Union[str, "os.PathLike[str]"]] = None,
        platform_verifier: bool = False,
        proxy: Optional[str] = None,
    ) -> None:
        self._native = _andal.NativeClient(
            base_url,
            partner_id,
            api_key,
            **_native_options(
                deadline=deadline,
                attempt_timeout=attempt_timeout,
                allow_insecure_http=allow_insecure_http,
                max_response_bytes=max_response_bytes,
                breaker=breaker,
                retry=retry,
                count_throttling_as_failure=count_throttling_as_failure,
                on_event=on_event,
                trust_roots=trust_roots,
                trust_cache_dir=trust_cache_dir,
                journal=journal,
                journal_key=journal_key,
                fallback=fallback,
                ca_bundle=ca_bundle,
                client_cert=client_cert,
                client_key=client_key,
                platform_verifier=platform_verifier,
                proxy=proxy,
            ),
        )
        self._deadline = float(deadline)

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._native.base_url

    @property
    def partner_id(self) -> str:
        return self._native.partner_id

    @property
    def deadline(self) -> float:
        """Total deadline per check, in seconds."""
        return self._deadline

    @property
    def closed(self) -> bool:
        return self._native.closed

    def health(self) -> Health:
        """A snapshot of the breaker and retry budget (for a status page or health
        endpoint)."""
        return Health._from_json(json.loads(self._native.health()))

    def refresh_trust(self) -> TrustStatus:
        """Fetch the issuer keyset and revocation list, verify them under the pinned
        ``trust_roots`` and cache them (``trust_cache_dir``). Call it at start-up and
        periodically while the registry is up."""
        return TrustStatus._from_json(json.loads(self._native.refresh_trust()))

    def trust_status(self) -> TrustStatus:
        """The trust state held now (no network)."""
        return TrustStatus._from_json(json.loads(self._native.trust_status()))

    def reconcile(self) -> ReconcileReport:
        """Re-check every journaled offline decision online: confirmed, contradicted
        (e.g. revoked, mismatch) or still pending. Idempotent; run it when the registry
        is back."""
        return ReconcileReport._from_json(json.loads(self._native.reconcile()))

    def outage_since(self) -> Optional[datetime.datetime]:
        """When the outage going on now began (UTC), ``None`` when none is: the "since
        when" of an ``ANDAL-UNAVAILABLE`` notice (``andal.notice_for(err, since=...)``)."""
        t = self._native.outage_since()
        return None if t is None else datetime.datetime.fromtimestamp(t, datetime.timezone.utc)

    def outage_report(self) -> OutageReport:
        """The outage record of this client (incidents, causes, checks served or
        refused during each): what operators and auditors read."""
        json_text, summary = self._native.outage_report()
        return OutageReport(json_text, summary)

    def force_open_breaker(self) -> None:
        """Open the breaker by hand (e.g. announced registry maintenance): checks fail
        fast with ``Unavailable(cause="breaker_open")`` until :meth:`reset_breaker`."""
        self._native.force_open_breaker()

    def disable_breaker(self) -> None:
        """Admit every call; measure nothing."""
        self._native.disable_breaker()

    def reset_breaker(self) -> None:
        """Back to a closed breaker with an empty window."""
        self._native.reset_breaker()

    def close(self) -> None:
        """Release the client. Checks already running finish; new ones raise
        ``RuntimeError``."""
        self._native.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<andal.Client {self.base_url} partner={self.partner_id!r}{state}>"

    # -- one check ---------------------------------------------------------------------

    def verify(
        self,
        *,
        nik: NikLike,
        full_name: str,
        birth_date: DateLike,
        birth_place: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        deadline: Optional[float] = None,
        token: Optional[str] = None,
    ) -> Decision:
        """Check one person. Returns a :class:`Decision` or raises an
        :class:`~andal.AndalError` subclass within the deadline.

        The input is validated offline first (``InvalidInput`` / ``InvalidNik``: no
        request, no fee). Pass ``idempotency_key`` (e.g. your transaction id) so that a
        retry after a crash is not charged twice. ``deadline`` overrides the client's for
        this call. ``token``: the participant's signed attestation token, which may
        answer offline when the registry cannot (if trust roots, a journal and the
        fallback policy allow it); the decision then says ``is_offline``.
        """
        # `_nik_digits` inlined: this is the per-call path (see bench/overhead.py).
        return self._native.verify(
            nik.expose_digits() if isinstance(nik, Nik) else nik,
            full_name,
            birth_date,
            birth_place,
            idempotency_key,
            None if deadline is None else float(deadline),
            token,
        )

    async def verify_async(
        self,
        *,
        nik: NikLike,
        full_name: str,
        birth_date: DateLike,
        birth_place: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        deadline: Optional[float] = None,
        token: Optional[str] = None,
    ) -> Decision:
        """Like :meth:`verify`, without blocking the event loop (runs in a worker
        thread with the GIL released). Cancelling the awaiting task stops waiting at
        once; the check itself ends within its deadline."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None,
            lambda: self.verify(
                nik=nik,
                full_name=full_name,
                birth_date=birth_date,
                birth_place=birth_place,
                idempotency_key=idempotency_key,
                deadline=deadline,
                token=token,
            ),
        )

    # -- batches -----------------------------------------------------------------------

    def verify_many(
        self,
        rows: Iterable[Row],
        *,
        concurrency: int = 8,
        progress: ProgressArg = True,
        deadline: Optional[float] = None,
    ) -> List[BatchResult]:
        """Check many people with ``concurrency`` threads; results come back in input
        order, one :class:`BatchResult` per row holding a decision or the row's error
        (errors never stop the batch).

        ``Ctrl-C`` stops promptly: no new check starts and ``KeyboardInterrupt`` reaches
        the caller within a fraction of a second; the checks already in flight (at most
        ``concurrency``) end within their deadline.
        """
        return list(
            self.iter_verify(rows, concurrency=concurrency, progress=progress, deadline=deadline)
        )

    def iter_verify(
        self,
        rows: Iterable[Row],
        *,
        concurrency: int = 8,
        progress: ProgressArg = True,
        deadline: Optional[float] = None,
    ) -> Iterator[BatchResult]:
        """Streaming form of :meth:`verify_many`: yields results in input order as they
        become available, holding at most ``2 * concurrency`` rows in memory ahead of the
        output (for files too big to keep whole)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        total = len(rows) if hasattr(rows, "__len__") else None  # type: ignore[arg-type]
        bar = _Progress.create(progress, total)
        source = enumerate(rows)
        window = concurrency * 2
        pending: Set[Future[BatchResult]] = set()
        ready: dict[int, BatchResult] = {}
        next_out = 0
        exhausted = False
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="andal-batch")
        try:
            while True:
                while not exhausted and len(pending) + len(ready) < window:
                    try:
                        index, row = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(pool.submit(self._one_row, index, row, deadline))
                if not pending and not ready:
                    break
                if pending:
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for fut in done:
                        result = fut.result()
                        ready[result.index] = result
                        bar.advance(result.ok)
                    bar.render()
                while next_out in ready:
                    yield ready.pop(next_out)
                    next_out += 1
        finally:
            # On Ctrl-C (or the consumer stopping early): start nothing new, do not wait.
            pool.shutdown(wait=False, cancel_futures=True)
            bar.close()

    def _one_row(self, index: int, row: Row, deadline: Optional[float]) -> BatchResult:
        try:
            args = _row_args(row)
            return BatchResult(index, decision=self.verify(deadline=deadline, **args))
        except AndalError as e:
            return BatchResult(index, error=e)
        except (TypeError, ValueError) as e:
            return BatchResult(index, error=_malformed_row(index, e))


def _native_options(
    *,
    deadline: float,
    attempt_timeout: float,
    allow_insecure_http: bool,
    max_response_bytes: Optional[int],
    breaker: Optional[BreakerSettings],
    retry: Optional[RetrySettings],
    count_throttling_as_failure: bool,
    on_event: Optional[EventCallback],
    trust_roots: Optional[Sequence[Union[str, Mapping[str, Any]]]],
    trust_cache_dir: Optional[Union[str, "os.PathLike[str]"]],
    journal: Optional[Union[str, "os.PathLike[str]"]],
    journal_key: Optional[bytes],
    fallback: Optional[FallbackPolicy],
    ca_bundle: Optional[Union[str, "os.PathLike[str]"]],
    client_cert: Optional[Union[str, "os.PathLike[str]"]],
    client_key: Optional[Union[str, "os.PathLike[str]"]],
    platform_verifier: bool,
    proxy: Optional[str],
) -> Dict[str, Any]:
    """The keyword arguments of the native constructors (``NativeClient`` and
    ``NativeAsyncClient`` take the same) for the public constructors' options."""
    return dict(
        deadline=float(deadline),
        attempt_timeout=float(attempt_timeout),
        allow_insecure_http=bool(allow_insecure_http),
        max_response_bytes=max_response_bytes,
        breaker=None if breaker is None else dataclasses.asdict(breaker),
        count_throttling_as_failure=bool(count_throttling_as_failure),
        retry=None if retry is None else dataclasses.asdict(retry),
        on_event=on_event,
        trust_roots=None
        if trust_roots is None
        else [r if isinstance(r, str) else json.dumps(dict(r)) for r in trust_roots],
        trust_cache_dir=None if trust_cache_dir is None else os.fspath(trust_cache_dir),
        journal_path=None if journal is None else os.fspath(journal),
        journal_key=None if journal_key is None else bytes(journal_key),
        fallback=None if fallback is None else dataclasses.asdict(fallback),
        ca_bundle=None if ca_bundle is None else os.fspath(ca_bundle),
        client_cert=None if client_cert is None else os.fspath(client_cert),
        client_key=None if client_key is None else os.fspath(client_key),
        platform_verifier=bool(platform_verifier),
        proxy=proxy,
    )


def _malformed_row(index: int, e: Exception) -> InvalidInput:
    """The error of a batch row that is not a mapping or tuple of the expected shape (names
    the exception type only: its message may quote the row)."""
    return InvalidInput(f"row {index}: {type(e).__name__}", field="row", reason="malformed_row")


def _row_args(row: Row) -> dict[str, Any]:
    if isinstance(row, Mapping):
        missing = [k for k in ("nik", "full_name", "birth_date") if not row.get(k)]
        if missing:
            raise InvalidInput(
                f"row lacks {missing[0]}", field=missing[0], reason="empty"
            )
        args = {
            "nik": row["nik"],
            "full_name": row["full_name"],
            "birth_date": row["birth_date"],
            "birth_place": row.get("birth_place") or None,
        }
        if row.get("idempotency_key"):
            args["idempotency_key"] = row["idempotency_key"]
        if row.get("token"):
            args["token"] = row["token"]
        return args
    if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
        raise TypeError("row must be a mapping or a tuple")
    if not 3 <= len(row) <= 4:
        raise InvalidInput("row must have 3 or 4 columns", field="row", reason="malformed_row")
    return {
        "nik": row[0],
        "full_name": row[1],
        "birth_date": row[2],
        "birth_place": (row[3] or None) if len(row) == 4 else None,
    }


class _Progress:
    """A one-line progress display rewritten in place (``\\r``), at most 10 times a second."""

    def __init__(
        self,
        stream: Optional[IO[str]],
        callback: Optional[Callable[[int, Optional[int], int], None]],
        total: Optional[int],
    ) -> None:
        self.stream = stream
        self.callback = callback
        self.total = total
        self.done = 0
        self.errors = 0
        self.started = time.monotonic()
        self.last = 0.0
        self.width = 0

    @classmethod
    def create(cls, progress: ProgressArg, total: Optional[int]) -> _Progress:
        if progress is True:
            err = sys.stderr
            tty = err is not None and hasattr(err, "isatty") and err.isatty()
            return cls(err if tty else None, None, total)
        if progress is False or progress is None:
            return cls(None, None, total)
        if callable(progress):
            return cls(None, progress, total)
        return cls(progress, None, total)

    def advance(self, ok: bool) -> None:
        self.done += 1
        if not ok:
            self.errors += 1
        if self.callback is not None:
            self.callback(self.done, self.total, self.errors)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta = _fmt_secs(left) if left != float("inf") else "?"
            head = f"andal: {self.done}/{self.total} ({pct:5.1f}%)"
            tail = f"ETA {eta}"
        else:
            head = f"andal: {self.done} checked"
            tail = f"{_fmt_secs(elapsed)} elapsed"
        return f"{head}  {rate:7.1f}/s  errors {self.errors}  {tail}"

    def render(self, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        text = self.line()
        pad = " " * max(0, self.width - len(text))
        self.width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()

    def close(self) -> None:
        if self.stream is None:
            return
        self.render(force=True)
        self.stream.write("\n")
        self.stream.flush()


def _fmt_secs(s: float) -> str:
    s = int(s)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"

