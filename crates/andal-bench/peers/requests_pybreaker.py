"""Outage-benchmark peer: what a BPJS integrator would otherwise write.

``requests`` with urllib3 ``Retry(total=3, backoff_factor=0.5,
status_forcelist=[502, 503, 504], allowed_methods=None)`` (retry POSTs too), a
``pybreaker.CircuitBreaker()`` with its documented defaults (fail_max=5,
reset_timeout=60) around each call, and ``timeout=5`` per request. One idempotency key
per check (urllib3 resends the same headers on each retry).

Client-side attempts are counted by wrapping urllib3's
``HTTPConnectionPool._make_request`` (one call per request sent, refused connections
included) with a thread-local counter.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Dict, Optional, Tuple

import pybreaker
import requests
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

import _pace

_local = threading.local()
_orig_make_request = urllib3.connectionpool.HTTPConnectionPool._make_request


def _counting_make_request(self: Any, *a: Any, **kw: Any) -> Any:
    _local.attempts = getattr(_local, "attempts", 0) + 1
    return _orig_make_request(self, *a, **kw)


urllib3.connectionpool.HTTPConnectionPool._make_request = _counting_make_request  # type: ignore[method-assign]


def main() -> None:
    args = _pace.parse_args()
    session = requests.Session()
    retry = Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=[502, 503, 504],
        allowed_methods=None,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=max(10, args.workers))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    breaker = pybreaker.CircuitBreaker()  # fail_max=5, reset_timeout=60
    url = args.url.rstrip("/") + "/v1/checks"
    auth = {"Authorization": f"Bearer {args.api_key}"}
    timeout = args.deadline_s

    def post(person: Dict[str, Any]) -> requests.Response:
        body = {
            "nik": person["nik"],
            "full_name": person["full_name"],
            "birth_date": person["birth_date"],
            "birth_place": person.get("birth_place"),
        }
        headers = dict(auth, **{"Idempotency-Key": uuid.uuid4().hex})
        resp = session.post(url, json=body, headers=headers, timeout=timeout)
        resp.raise_for_status()  # 4xx/5xx count as failures for the breaker
        return resp

    def check(person: Dict[str, Any]) -> Tuple[str, Optional[int], Optional[float]]:
        _local.attempts = 0
        try:
            resp = breaker.call(post, person)
            verdict = resp.json().get("verdict")
            outcome = "ok" if verdict == "match" else "mismatch"
        except pybreaker.CircuitBreakerError:
            outcome = "error:breaker_open"
        except requests.exceptions.RetryError as e:
            reason = getattr(e.args[0], "reason", None) if e.args else None
            outcome = "error:" + _status_class(reason)
        except requests.exceptions.HTTPError as e:
            status = e.response.status_code if e.response is not None else 0
            outcome = f"error:http_{status}"
        except requests.exceptions.ConnectTimeout:
            outcome = "error:connect_timeout"
        except (requests.exceptions.ReadTimeout, requests.exceptions.Timeout):
            outcome = "error:timeout"
        except requests.exceptions.ConnectionError as e:
            outcome = "error:" + _conn_class(e)
        except requests.exceptions.RequestException as e:
            outcome = f"error:{type(e).__name__}"
        return outcome, _local.attempts, None

    _pace.run(args, check)


def _status_class(reason: Any) -> str:
    text = str(reason or "")
    for code in ("502", "503", "504"):
        if code in text:
            return f"http_{code}"
    return "retries_exhausted"


def _conn_class(e: Exception) -> str:
    text = str(e).lower()
    if "refused" in text:
        return "refused"
    if "timed out" in text or "timeout" in text:
        return "timeout"
    if "reset" in text or "aborted" in text or "remote end closed" in text:
        return "reset"
    return "connection"


if __name__ == "__main__":
    main()
