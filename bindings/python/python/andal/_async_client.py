"""``andal.AsyncClient``: the asyncio face of the Rust core's async client."""

from __future__ import annotations

import asyncio
import json
import os
from types import TracebackType
from typing import (
    Any,
    AsyncIterator,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Type,
    Union,
)

from . import _andal
from ._client import (
    DateLike,
    EventCallback,
    NikLike,
    Row,
    _malformed_row,
    _native_options,
    _nik_digits,
    _row_args,
)
from ._errors import AndalError
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

__all__ = ["AsyncClient"]


class AsyncClient:
    """An identity-check client for asyncio: the same options, results, exceptions,
    events and outage record as :class:`andal.Client`, with native awaitables.

    Checks run in the Rust core on one small shared runtime (two threads for the whole
    process), not in a thread pool: thousands of checks can be in flight on one event
    loop. Cancelling the awaiting task cancels the check itself (its breaker permit is
    released and the outage record counts it as cancelled).

    >>> async with andal.AsyncClient(url, "demo-bank", key) as client:
    ...     d = await client.verify(nik="3316...", full_name="Siti", birth_date="1999-07-05")

    Args:
        The keyword arguments of :class:`andal.Client`, with the same defaults, validation
        and exceptions (``help(andal.Client)`` has the long form):

        base_url: The registry's base URL (``http://`` only with ``allow_insecure_http``).
        partner_id: Your partner id at the registry.
        api_key: Your API key (sent as a bearer token; never logged).
        deadline: Total time per check in seconds, retries included (default 5.0).
        attempt_timeout: Time per HTTP attempt in seconds (default 2.0).
        allow_insecure_http: Allow an ``http://`` base URL (the sandbox, tests).
        max_response_bytes: Largest registry response accepted (default 256 KiB).
        breaker: Circuit-breaker settings (:class:`BreakerSettings`).
        retry: Retry settings (:class:`RetrySettings`).
        count_throttling_as_failure: Count HTTP 429 as a breaker failure.
        on_event: Called with each resilience event as a dict; keep it quick.
        trust_roots: Pinned issuer root keys (JWK) for offline attestation tokens.
        trust_cache_dir: Where the verified keyset and revocation list are cached.
        journal: Path of the encrypted journal of offline decisions.
        journal_key: The journal's 32-byte key.
        fallback: When an offline token may answer (:class:`FallbackPolicy`).
        ca_bundle: Path of a PEM file of CA certificates to trust *instead of* the public
            WebPKI roots (a bank's private CA), like ``requests``' ``verify=path``.
        client_cert: Path of a PEM client certificate chain for mutual TLS; the file may
            also hold the key (like ``requests``' ``cert=``).
        client_key: Path of the client certificate's PEM private key, when not in
            ``client_cert``.
        platform_verifier: Verify the registry's certificate with the operating system's
            verifier and trust store. Exclusive with ``ca_bundle``.
        proxy: An HTTP proxy for every request, ``http://[user:password@]host:port``
            (HTTPS goes through a CONNECT tunnel); ``HTTPS_PROXY`` is *not* read.

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
        self._native = _andal.NativeAsyncClient(
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

    def close(self) -> None:
        """Release the client. Checks already in flight finish; new ones raise
        ``RuntimeError``."""
        self._native.close()

    async def aclose(self) -> None:
        """:meth:`close`, for ``contextlib.aclosing`` and similar."""
        self.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<andal.AsyncClient {self.base_url} partner={self.partner_id!r}{state}>"

    # -- state (no network, no await) --------------------------------------------------

    def health(self) -> Health:
        """A snapshot of the breaker and retry budget."""
        return Health._from_json(json.loads(self._native.health()))

    def trust_status(self) -> TrustStatus:
        """The trust state held now (no network)."""
        return TrustStatus._from_json(json.loads(self._native.trust_status()))

    def outage_report(self) -> OutageReport:
        """The outage record of this client (see :meth:`andal.Client.outage_report`)."""
        json_text, summary = self._native.outage_report()
        return OutageReport(json_text, summary)

    def force_open_breaker(self) -> None:
        """Open the breaker by hand: checks fail fast with
        ``Unavailable(cause="breaker_open")`` until :meth:`reset_breaker`."""
        self._native.force_open_breaker()

    def disable_breaker(self) -> None:
        """Admit every call; measure nothing."""
        self._native.disable_breaker()

    def reset_breaker(self) -> None:
        """Back to a closed breaker with an empty window."""
        self._native.reset_breaker()

    # -- network -----------------------------------------------------------------------

    async def refresh_trust(self) -> TrustStatus:
        """Fetch, verify (under the pinned ``trust_roots``) and cache the issuer keyset
        and revocation list."""
        return TrustStatus._from_json(json.loads(await self._native.refresh_trust()))

    async def reconcile(self) -> ReconcileReport:
        """Re-check every journaled offline decision online (see
        :meth:`andal.Client.reconcile`)."""
        return ReconcileReport._from_json(json.loads(await self._native.reconcile()))

    async def verify(
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
        """Check one person: a :class:`Decision`, or an :class:`~andal.AndalError`
        subclass raised within the deadline (see :meth:`andal.Client.verify`). A
        malformed input raises ``InvalidInput`` / ``InvalidNik`` before any request."""
        decision: Decision = await self._native.verify(
            _nik_digits(nik),
            full_name,
            birth_date,
            birth_place,
            idempotency_key,
            None if deadline is None else float(deadline),
            token,
        )
        return decision

    # -- batches -----------------------------------------------------------------------

    async def verify_many(
        self,
        rows: Iterable[Row],
        *,
        concurrency: int = 32,
        deadline: Optional[float] = None,
    ) -> List[BatchResult]:
        """Check many people, at most ``concurrency`` at a time; one
        :class:`BatchResult` per row, in input order, holding a decision or the row's
        error (errors never stop the batch). Cancelling the call cancels the checks in
        flight."""
        results = [
            r
            async for r in self.as_completed(rows, concurrency=concurrency, deadline=deadline)
        ]
        results.sort(key=lambda r: r.index)
        return results

    async def as_completed(
        self,
        rows: Iterable[Row],
        *,
        concurrency: int = 32,
        deadline: Optional[float] = None,
    ) -> AsyncIterator[BatchResult]:
        """Like :meth:`verify_many`, yielding each result as soon as it is decided
        (``result.index`` says which row). Reads ``rows`` lazily: at most
        ``concurrency`` rows are in flight, so a generator over a huge file is fine.
        Leaving the loop early cancels the checks still in flight."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        source = enumerate(rows)
        pending: Set[asyncio.Task[BatchResult]] = set()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < concurrency:
                    try:
                        index, row = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(asyncio.ensure_future(self._one_row(index, row, deadline)))
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()

    async def _one_row(self, index: int, row: Row, deadline: Optional[float]) -> BatchResult:
        try:
            args = _row_args(row)
            return BatchResult(index, decision=await self.verify(deadline=deadline, **args))
        except AndalError as e:
            return BatchResult(index, error=e)
        except (TypeError, ValueError) as e:
            return BatchResult(index, error=_malformed_row(index, e))
