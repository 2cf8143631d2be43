"""Loads the outage page from disk in headless Chromium and checks it through the DevTools
protocol (CDP over a websocket; no other browser tooling):

* the headline numbers on the page equal the report JSON's (offline, turned away, online,
  confirmed, contradicted, unreconciled; per incident, in the text and in data-value);
* no element sticks out of the page, at a desktop and a phone width and in print layout;
* nothing is fetched: the only request the page makes is its own file:// load, no
  resource timing entries, no CSP violation, no element that could load something;
* a full-page screenshot is kept (PNG) and its path printed.

The network check is tried first on a deliberately bad page (an <img> from loopback): if
it did not catch that, it could not catch anything, and the run fails.

Usage: check_page.py --chromium /usr/bin/chromium --report r.json --page page.html
       --lang id|en --out DIR
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect


class Browser:
    """One headless Chromium with one page, driven over CDP."""

    def __init__(self, chromium: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="andal-chromium-")
        self.proc = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",  # we run as root in CI containers
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        pages: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                break
            time.sleep(0.05)
        if not pages:
            raise SystemExit("chromium has no page target")
        self._conn = connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.ws = self._conn.__enter__()
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def load(self, url: str, width: int, height: int = 900, mobile: bool = False) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise SystemExit(f"page did not load: {url}")
            self.call("Runtime.evaluate", expression="1")
        # Let late requests (if the page tried any) surface as events.
        for _ in range(5):
            self.call("Runtime.evaluate", expression="1")

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append(e["params"]["entry"]["text"])
            if e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
                out.append(str(e["params"]["args"]))
        return out

    def screenshot(self, path: Path, width: int, mobile: bool = False) -> None:
        h = self.eval("Math.ceil(document.documentElement.scrollHeight)")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=int(h),
            deviceScaleFactor=1,
            mobile=mobile,
        )
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self._conn.__exit__(None, None, None)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


# Every visible element's box must lie within the page width (a little slack for
# sub-pixel rounding). Returns offenders as "tag.class: left..right".
OVERFLOW_JS = """
(() => {
  const w = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -0.5 || r.right > w + 0.5) {
      bad.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''}: ${r.left.toFixed(1)}..${r.right.toFixed(1)} > ${w}`);
    }
  }
  if (document.documentElement.scrollWidth > w) bad.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${w}`);
  return bad;
})()
"""

LOADERS_JS = """
(() => ({
  loaders: document.querySelectorAll('script,link,img,iframe,object,embed,video,audio,source,[src],[href],[srcset]').length,
  resources: performance.getEntriesByType('resource').map(e => e.name),
}))()
"""

NUMBERS_JS = """
(() => Array.from(document.querySelectorAll('article.incident')).map(a => {
  const f = {};
  for (const s of a.querySelectorAll('[data-field]')) {
    f[s.dataset.field] = {value: s.dataset.value, text: s.textContent};
  }
  return {id: a.dataset.incident, fields: f,
          headline: a.querySelector('.people').textContent};
}))()
"""


def check_network(b: Browser, url: str, what: str) -> list[str]:
    problems = []
    reqs = [u for u in b.requests() if u != url]
    if reqs:
        problems.append(f"{what}: fetched {reqs}")
    info = b.eval(LOADERS_JS)
    if info["loaders"]:
        problems.append(f"{what}: {info['loaders']} element(s) that load something")
    if info["resources"]:
        problems.append(f"{what}: resources loaded {info['resources']}")
    csp = [e for e in b.console_errors() if "Content Security Policy" in e]
    if csp:
        problems.append(f"{what}: CSP violations {csp}")
    return problems


def digits(s: str) -> int:
    return int(re.sub(r"[^0-9]", "", s))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--report", required=True, type=Path)
    ap.add_argument("--page", required=True, type=Path)
    ap.add_argument("--lang", default="id")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    report = json.loads(args.report.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    b = Browser(args.chromium)
    try:
        # The detector must catch a page that does fetch something.
        bad = args.out / "self-test-fetches.html"
        bad.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png" alt="">')
        b.load(bad.resolve().as_uri(), 800)
        if not check_network(b, bad.resolve().as_uri(), "self-test"):
            problems.append("self-test: a page loading an image was not caught")
        bad.unlink()

        url = args.page.resolve().as_uri()
        for width, mobile in ((1280, False), (390, True)):
            b.load(url, width, mobile=mobile)
            problems += check_network(b, url, f"{width}px")
            problems += [f"{width}px: {o}" for o in b.eval(OVERFLOW_JS)]
        b.call("Emulation.setEmulatedMedia", media="print")
        b.load(url, 794)  # A4 width at 96 dpi
        problems += [f"print: {o}" for o in b.eval(OVERFLOW_JS)]
        b.call("Emulation.setEmulatedMedia", media="")

        b.load(url, 1280)
        if b.eval("document.documentElement.lang") != args.lang:
            problems.append("page language is not " + args.lang)
        shown = {a["id"]: a for a in b.eval(NUMBERS_JS)}
        if len(shown) != len(report["incidents"]):
            problems.append(f"{len(shown)} incidents on the page, {len(report['incidents'])} in the JSON")
        for inc in report["incidents"]:
            a = shown.get(str(inc["id"]))
            if a is None:
                problems.append(f"incident {inc['id']} missing on the page")
                continue
            want = {
                "offline": inc["checks"]["offline"],
                "refused": inc["checks"]["refused"],
                "online": inc["checks"]["online"],
            }
            if inc["checks"]["offline"] or inc["reconciliation"]["confirmed"] or inc["reconciliation"]["contradicted"]:
                want |= {
                    "confirmed": inc["reconciliation"]["confirmed"],
                    "contradicted": inc["reconciliation"]["contradicted"],
                    "unreconciled": inc["reconciliation"]["unreconciled"],
                }
            for name, n in want.items():
                f = a["fields"].get(name)
                if f is None or int(f["value"]) != n or digits(f["text"]) != n:
                    problems.append(f"incident {inc['id']} {name}: page {f}, JSON {n}")
            if str(inc["checks"]["offline"]) not in re.sub(r"[.,]", "", a["headline"]):
                problems.append(f"incident {inc['id']}: headline lacks the offline count: {a['headline']}")
        svg_lines = b.eval("Array.from(document.querySelectorAll('svg .headline')).map(t => t.textContent)")
        if not svg_lines:
            problems.append("the chart has no headline in the picture")
        shot = args.out / f"outage-page-{args.lang}.png"
        b.screenshot(shot, 1280)
        b.load(url, 390, mobile=True)
        phone = args.out / f"outage-page-{args.lang}-phone.png"
        b.screenshot(phone, 390, mobile=True)
        print(f"screenshot: {shot}")
        print(f"screenshot: {phone}")
    finally:
        b.close()

    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"browser check passed: {args.page} ({args.lang}), {len(report['incidents'])} incident(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
