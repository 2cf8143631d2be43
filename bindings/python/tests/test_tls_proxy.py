"""TLS and proxy keyword arguments of ``andal.Client`` and ``andal.AsyncClient`` (the
TLS handshakes themselves, private CA and mutual TLS, are tested in Rust:
crates/andal/tests/tls_options.rs for the blocking transport, async_tls_options.rs for
the async one)."""

from __future__ import annotations

import asyncio
import base64
import select
import socket
import threading
from pathlib import Path
from typing import Any, Dict, List, Type, Union
from urllib.parse import urlsplit

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

# A P-256 key (`openssl genpkey`) that is not CA_PEM's key.
OTHER_KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1R0Z/4Dmc6+ffrSx
bog4xAFingK5vPbwfVNDvJv1+lOhRANCAATfUNyjVtEgQOR7LVOez0iylF475m8M
Xr6uppPQmy+EZy26/27oe1h3F/fljgRExgFxo5XIDb45wV+o9gCHMxNZ
-----END PRIVATE KEY-----
"""

AnyClient = Union[andal.Client, andal.AsyncClient]
ClientType = Type[AnyClient]


@pytest.fixture(params=[andal.Client, andal.AsyncClient], ids=["sync", "async"])
def client_type(request: Any) -> ClientType:
    """Both clients take the same TLS and proxy arguments with the same validation."""
    t: ClientType = request.param
    return t


@pytest.fixture
def make(client_type: ClientType) -> Any:
    def make(url: str, **kw: Any) -> AnyClient:
        return client_type(url, PARTNER, API_KEY, allow_insecure_http=True, **kw)

    return make


@pytest.fixture
def config_error(make: Any) -> Any:
    def config_error(url: str, **kw: Any) -> andal.ConfigError:
        with pytest.raises(andal.ConfigError) as info:
            make(url, **kw)
        return info.value

    return config_error


def test_unusable_tls_files_are_config_errors_naming_the_setting(
    tmp_path: Path, config_error: Any
) -> None:
    url = "https://registry.example"
    missing = tmp_path / "nope.pem"
    assert config_error(url, ca_bundle=missing).setting == "ca_bundle"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    assert config_error(url, ca_bundle=garbage).setting == "ca_bundle"
    # Truncated PEM (no END line).
    truncated = tmp_path / "truncated.pem"
    truncated.write_text(CA_PEM[:200])
    assert config_error(url, ca_bundle=truncated).setting == "ca_bundle"
    # A key file without a certificate, and a key without its certificate.
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert config_error(url, client_cert=key).setting == "client_cert"
    assert config_error(url, client_key=key).setting == "client_key"


def test_a_key_that_does_not_match_the_certificate_is_refused_up_front(
    tmp_path: Path, config_error: Any
) -> None:
    # Refused when the client is made, not at the first handshake.
    cert = tmp_path / "cert.pem"
    cert.write_text(CA_PEM)
    key = tmp_path / "key.pem"
    key.write_text(OTHER_KEY_PEM)
    err = config_error("https://registry.example", client_cert=cert, client_key=key)
    assert err.setting == "client_key"
    assert "does not match" in str(err)


def test_private_key_contents_never_appear_in_errors(
    tmp_path: Path, config_error: Any
) -> None:
    secret = "c2VjcmV0LWtleS1tYXRlcmlhbA"
    key = tmp_path / "key.pem"
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{secret}\n")  # no END line
    cert = tmp_path / "cert.pem"
    cert.write_text(CA_PEM)
    err = config_error("https://registry.example", client_cert=cert, client_key=key)
    assert secret not in str(err) and secret not in repr(err)


def test_ca_bundle_and_platform_verifier_exclude_each_other(
    tmp_path: Path, make: Any, config_error: Any
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CA_PEM)
    make("https://registry.example", ca_bundle=ca).close()  # alone, it is accepted
    err = config_error("https://registry.example", ca_bundle=ca, platform_verifier=True)
    assert err.setting == "platform_verifier"


def test_a_bad_proxy_url_is_a_config_error_without_the_password(config_error: Any) -> None:
    err = config_error("https://registry.example", proxy="::: hunter2 :::")
    assert err.setting == "proxy"
    assert "hunter2" not in str(err)
    err = config_error("https://registry.example", proxy="ftp://u:hunter2@127.0.0.1:21")
    assert err.setting == "proxy"
    assert "hunter2" not in str(err)


class _Proxy:
    """A loopback HTTP proxy: CONNECT tunnels, and absolute-form requests (``GET
    http://host:port/path``) forwarded in origin form; then bytes are piped both ways.
    Records each request line and its ``Proxy-Authorization`` header."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests: List[str] = []
        self.auth: List[str] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            first, rest = head.split(b"\r\n", 1)
            line = first.decode()
            self.requests.append(line)
            for header in rest.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
                name, _, value = header.decode().partition(":")
                if name.strip().lower() == "proxy-authorization":
                    self.auth.append(value.strip())
            method, target, version = line.split(" ", 2)
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                forward = b""
            elif target.startswith("http://"):
                url = urlsplit(target)
                host, port = url.hostname or "", str(url.port or 80)
                path = url.path + (f"?{url.query}" if url.query else "")
                forward = f"{method} {path or '/'} {version}\r\n".encode() + rest
            else:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                return
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                if forward:
                    upstream.sendall(forward)
                else:
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


def _verify(client: AnyClient, person: Dict[str, Any]) -> andal.Decision:
    kw = dict(nik=person["nik"], full_name=person["full_name"], birth_date=person["birth_date"])
    if isinstance(client, andal.AsyncClient):
        async_client = client

        async def main() -> andal.Decision:
            async with async_client:
                return await async_client.verify(**kw)

        return asyncio.run(main())
    with client:
        return client.verify(**kw)


def test_checks_go_through_the_proxy_with_its_credentials(
    sandbox: Any, person: Dict[str, Any], make: Any, client_type: ClientType
) -> None:
    proxy = _Proxy()
    try:
        # "p@ss" percent-encoded in the URL, sent decoded in Basic credentials.
        d = _verify(make(sandbox.url, proxy=f"http://teller:p%40ss@127.0.0.1:{proxy.port}"), person)
        assert d.is_match
        host_port = sandbox.url.split("://", 1)[1].rstrip("/")
        assert proxy.requests, "the check did not go through the proxy"
        if client_type is andal.Client:
            # ureq tunnels every request, plain http included.
            assert proxy.requests[0] == f"CONNECT {host_port} HTTP/1.1"
        else:
            # hyper tunnels https; plain http (the sandbox) goes in absolute form.
            method, target, _ = proxy.requests[0].split(" ", 2)
            assert target.startswith(f"http://{host_port}/"), proxy.requests[0]
        assert proxy.auth[:1] == ["Basic " + base64.b64encode(b"teller:p@ss").decode()]
    finally:
        proxy.close()


@pytest.mark.parametrize("cls", [andal.Client, andal.AsyncClient])
def test_every_keyword_argument_is_documented(cls: ClientType) -> None:
    import inspect

    doc = inspect.getdoc(cls) or ""
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    missing = [p for p in params if f"{p}:" not in doc]
    assert not missing, f"undocumented in {cls.__name__}'s docstring: {missing}"
