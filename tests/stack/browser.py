"""Headless Chromium driven over the DevTools protocol, for pages rendered by JavaScript.

`chromium --dump-dom` stops before ZenML's dashboard finishes drawing a run's graph (it is
laid out in a web worker), so tests read the page's text as it renders, until it shows
what they wait for.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    """One headless Chromium with a throw-away profile; `with Browser() as b: b.text(url)`."""

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._process = subprocess.Popen(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as response:
            targets = json.load(response)
        self._page = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.terminate()
        self._process.wait()
        self._profile.cleanup()

    def text(self, url: str, wait_for: list[str], timeout: float = 60) -> tuple[str, list[str]]:
        """The page's visible text once it contains every `wait_for` (or at the timeout),
        and the links on it."""
        return asyncio.run(self._read(url, wait_for, timeout))

    async def _read(self, url: str, wait_for: list[str], timeout: float):
        import websockets

        async with websockets.connect(self._page, max_size=None) as socket:
            counter = 0

            async def call(method: str, **params):
                nonlocal counter
                counter += 1
                await socket.send(json.dumps({"id": counter, "method": method, "params": params}))
                while True:
                    message = json.loads(await socket.recv())
                    if message.get("id") == counter:
                        return message.get("result", {})

            async def evaluate(expression: str):
                result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
                return result.get("result", {}).get("value")

            await call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            text = ""
            while time.monotonic() < deadline:
                text = await evaluate("document.body ? document.body.innerText : ''") or ""
                if all(needle in text for needle in wait_for):
                    break
                await asyncio.sleep(0.5)
            links = await evaluate("[...document.querySelectorAll('a')].map(a => a.href)") or []
            return text, links
