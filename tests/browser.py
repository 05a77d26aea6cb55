"""Real headless chromium driven over the DevTools protocol: open a page, record every request it makes
and every console or load error, screenshot it whole, and read its DOM."""

from __future__ import annotations

import base64
import itertools
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from websockets.sync.client import connect

from tests.programs import chromium_or_skip, stop

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
WIDTH = 1280


@dataclass
class Visit:
    """What a page did when opened."""

    requests: list[str] = field(default_factory=list)  # every URL the page asked for (itself included)
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    html: str = ""  # the DOM after loading


class Browser:
    """One chromium process and its first tab."""

    def __init__(self, ws_url: str):
        self._ws = connect(ws_url, max_size=None, open_timeout=30)
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events meanwhile are kept)."""
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv(timeout=60))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._events.append(msg)

    def _wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self._events):
            self._events.append(json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def visit(self, page: Path | str, screenshot: Path | None = None) -> Visit:
        """Open ``page`` (a file, or a URL); record what it requested and what went wrong; screenshot the whole
        page."""
        url = page if isinstance(page, str) else page.resolve().as_uri()
        return self.act(lambda: self.call("Page.navigate", url=url), screenshot)

    def act(self, action: Callable[[], object], screenshot: Path | None = None) -> Visit:
        """Do something that loads a page (navigate, submit a form, click a link), wait for the load, and
        record the page as :meth:`visit` does."""
        self._events.clear()
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900, deviceScaleFactor=1, mobile=False)
        action()
        self._wait_for("Page.loadEventFired")
        self.call("Runtime.evaluate", expression="1")  # flush events raised during load
        visit = Visit()
        for e in self._events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                visit.errors.append(f"load failed: {params.get('errorText')}")
            elif method == "Runtime.exceptionThrown":
                visit.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                visit.errors.append(f"console: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                visit.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        visit.html = self.call("Runtime.evaluate", expression="document.documentElement.outerHTML",
                               returnByValue=True)["result"]["value"]
        if screenshot is not None:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=int(min(size["height"], 16000)),
                      deviceScaleFactor=1, mobile=False)
            shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        return visit

    def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value in the page last visited."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        """Close the connection."""
        self._ws.close()


@contextmanager
def browser(profile: Path) -> Iterator[Browser]:
    """A headless chromium with a fresh profile, driven over its DevTools port (127.0.0.1, chosen by it)."""
    profile.mkdir(parents=True, exist_ok=True)
    log = profile / "chromium.log"  # a file, not a pipe: chromium must never block on its own output
    with open(log, "wb") as err:
        proc = subprocess.Popen([chromium_or_skip(), *FLAGS, f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", "about:blank"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/",
                                      log.read_text(errors="replace"))):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.1)
        port = found.group(1)
        with urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as resp:
            tab = next(t for t in json.load(resp) if t["type"] == "page")
        b = Browser(tab["webSocketDebuggerUrl"])
        try:
            yield b
        finally:
            b.close()
    finally:
        stop(proc)
