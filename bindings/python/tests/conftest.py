"""Fixtures: a real `andal-sandbox` process on loopback, shared by the session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import andal

REPO = Path(__file__).resolve().parents[3]
SEED = 7
PARTNER = "demo-bank"
API_KEY = "sandbox-demo-bank-key"


def _target_dir() -> Path:
    env = os.environ.get("CARGO_TARGET_DIR")
    if env:
        return Path(env) if os.path.isabs(env) else REPO / env
    return REPO / "target"


@pytest.fixture(scope="session")
def sandbox_bin() -> Path:
    """Build (if needed) and locate the sandbox binary."""
    explicit = os.environ.get("ANDAL_SANDBOX_BIN")
    if explicit:
        return Path(explicit)
    if shutil.which("cargo") is None:
        pytest.skip("cargo not found: cannot build andal-sandbox")
    subprocess.run(
        ["cargo", "build", "-q", "-p", "andal-sandbox"], cwd=REPO, check=True
    )
    path = _target_dir() / "debug" / "andal-sandbox"
    assert path.exists(), f"sandbox binary not found at {path}"
    return path


@dataclass
class Sandbox:
    url: str
    proc: "subprocess.Popen[str]"

    def _admin(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def set_fault(self, fault: Dict[str, Any]) -> None:
        self._admin("PUT", "/admin/fault", fault)

    def clear_fault(self) -> None:
        self._admin("DELETE", "/admin/fault")

    def root_key(self) -> Dict[str, Any]:
        """The issuer's root public key (JWK) to pin."""
        key: Dict[str, Any] = self._admin("GET", "/admin/root-key")
        return key

    def mint_token(self, nik: str, partner: str = PARTNER) -> str:
        """An attestation token as a citizen's wallet would hold it."""
        return str(self._admin("POST", "/admin/tokens", {"nik": nik, "partner": partner})["token"])

    def revoke(self, nik: str) -> None:
        self._admin("POST", "/admin/revocations", {"nik": nik})

    def accounting(self) -> Any:
        return self._admin("GET", "/admin/accounting")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def start_sandbox(binary: Path, seed: int = SEED, people: Optional[int] = None) -> Sandbox:
    args = [str(binary), "--port", "0", "--seed", str(seed)]
    if people is not None:
        args += ["--people", str(people)]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"sandbox did not print its URL (got {line!r})")
    return Sandbox(url=line, proc=proc)


@pytest.fixture(scope="session")
def sandbox(sandbox_bin: Path) -> Iterator[Sandbox]:
    sb = start_sandbox(sandbox_bin)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def faults(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, with any fault cleared after the test."""
    try:
        yield sandbox
    finally:
        sandbox.clear_fault()


@pytest.fixture
def throwaway_sandbox(sandbox_bin: Path) -> Iterator[Sandbox]:
    """A private sandbox for faults that cannot be cleared over HTTP (``down``)."""
    sb = start_sandbox(sandbox_bin, people=1000)
    try:
        yield sb
    finally:
        sb.stop()


def _sample(binary: Path, n: int, inactive: bool = False) -> List[Dict[str, Any]]:
    args = [str(binary), "--seed", str(SEED), "--sample", str(n)]
    if inactive:
        args.append("--inactive")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def people(sandbox_bin: Path) -> List[Dict[str, Any]]:
    """Active synthetic people of the seed-7 registry."""
    return _sample(sandbox_bin, 64)


@pytest.fixture(scope="session")
def inactive_people(sandbox_bin: Path) -> List[Dict[str, Any]]:
    return _sample(sandbox_bin, 2, inactive=True)


@pytest.fixture(scope="session")
def person(people: List[Dict[str, Any]]) -> Dict[str, Any]:
    return people[0]


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[andal.Client]:
    with andal.Client(
        sandbox.url, PARTNER, API_KEY, allow_insecure_http=True, deadline=5.0
    ) as c:
        yield c


def wait_until(pred: Any, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


PYTHON = sys.executable
