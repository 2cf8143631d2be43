"""TLS and proxy keyword arguments of ``andal.Client`` (the TLS handshakes themselves,
private CA and mutual TLS, are tested in Rust: crates/andal/tests/tls_options.rs)."""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

import andal
from conftest import API_KEY, PARTNER

# A self-signed CA certificate (P-256, `openssl req -x509`), made for these tests; its key
# was not kept.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUT8kQudx+VKaQHiUt74zFsd/7UPgwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOQmFuayBBIHRlc3QgQ0EwHhcNMjYxMTI5MTkzODU1WhcNMzYx
MTI2MTkzODU1WjAZMRcwFQYDVQQDDA5CYW5rIEEgdGVzdCBDQTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABAjb0ArA9dC2zpxsNvCUv8zCJRsOTlIWRt4hmejz2v2B
MJW1lghNFaVML+uR6N8J7kDxBBS7+5fyv5FVrDAKVpGjUzBRMB0GA1UdDgQWBBQJ
9qQui01yfZMTQJS55D2be1n76DAfBgNVHSMEGDAWgBQJ9qQui01yfZMTQJS55D2b
e1n76DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDbp5baG+db
JW3T+AMbVklfBhzVyt6MbLyyNfzDkaElIAIgeEosrdAdE5eAHHWCRwIJlj8sULJu
auC5Vd993pmV+kI=
-----END CERTIFICATE-----
"""


def _client(url: str, **kw: Any) -> andal.Client:
    return andal.Client(url, PARTNER, API_KEY, allow_insecure_http=True, **kw)


def _config_error(url: str, **kw: Any) -> andal.ConfigError:
    with pytest.raises(andal.ConfigError) as info:
        _client(url, **kw)
    return info.value


def test_unusable_tls_files_are_config_errors_naming_the_setting(tmp_path: Path) -> None:
    url = "https://registry.example"
    missing = tmp_path / "nope.pem"
    assert _config_error(url, ca_bundle=missing).setting == "ca_bundle"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    assert _config_error(url, ca_bundle=garbage).setting == "ca_bundle"
    # Truncated PEM (no END line).
    truncated = tmp_path / "truncated.pem"
    truncated.write_text(CA_PEM[:200])
    assert _config_error(url, ca_bundle=truncated).setting == "ca_bundle"
    # A key file without a certificate, and a key without its certificate.
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert _config_error(url, client_cert=key).setting == "client_cert"
    assert _config_error(url, client_key=key).setting == "client_key"


def test_private_key_contents_never_appear_in_errors(tmp_path: Path) -> None:
    secret = "c2VjcmV0LWtleS1tYXRlcmlhbA"
    key = tmp_path / "key.pem"
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{secret}\n")  # no END line
    cert = tmp_path / "cert.pem"
    cert.write_text(CA_PEM)
    err = _config_error("https://registry.example", client_cert=cert, client_key=key)
    assert secret not in str(err) and secret not in repr(err)


def test_ca_bundle_and_platform_verifier_exclude_each_other(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CA_PEM)
    _client("https://registry.example", ca_bundle=ca).close()  # alone, it is accepted
    err = _config_error("https://registry.example", ca_bundle=ca, platform_verifier=True)
    assert err.setting == "platform_verifier"


def test_a_bad_proxy_url_is_a_config_error_without_the_password() -> None:
    err = _config_error("https://registry.example", proxy="::: hunter2 :::")
    assert err.setting == "proxy"
    assert "hunter2" not in str(err)


class _TunnelProxy:
    """A loopback HTTP proxy that accepts CONNECT and pipes bytes both ways."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests: List[str] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode()
            self.requests.append(line)
            method, target, _ = line.split(" ", 2)
            if method != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                return
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pair = {conn: upstream, upstream: conn}
                while True:
                    ready, _, _ = select.select(list(pair), [], [], 5)
                    if not ready:
                        return
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        pair[s].sendall(data)

    def close(self) -> None:
        self._stop = True
        self.server.close()


def test_checks_go_through_the_proxy(sandbox: Any, person: Dict[str, Any]) -> None:
    proxy = _TunnelProxy()
    try:
        with _client(sandbox.url, proxy=f"http://127.0.0.1:{proxy.port}") as c:
            d = c.verify(nik=person["nik"], full_name=person["full_name"],
                         birth_date=person["birth_date"])
        assert d.is_match
        host_port = sandbox.url.split("://", 1)[1].rstrip("/")
        assert proxy.requests and proxy.requests[0] == f"CONNECT {host_port} HTTP/1.1"
    finally:
        proxy.close()


def test_every_keyword_argument_is_documented() -> None:
    import inspect

    doc = inspect.getdoc(andal.Client) or ""
    params = [p for p in inspect.signature(andal.Client.__init__).parameters if p != "self"]
    missing = [p for p in params if f"{p}:" not in doc]
    assert not missing, f"undocumented in Client's docstring: {missing}"
