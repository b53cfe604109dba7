"""The report of an eval run of three encoders on two data sets, opened in headless Chromium:
every image loads and the summary table is on the first screen (1280 x 800).

Chromium is driven through its DevTools protocol over `--remote-debugging-pipe` (JSON
messages ending in NUL on file descriptors 3 and 4), so no browser package or websocket
client is needed. `make test` installs Debian's chromium as root where it is missing
(scripts/setup.sh); elsewhere this test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from procmem.cli import main

EXE = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(EXE is None, reason=(
    "headless Chromium is not installed: `make test` installs it as root (scripts/setup.sh); "
    "or run `apt-get install chromium`"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH, HEIGHT = 1280, 800


class Browser:
    """A headless Chromium and its DevTools protocol over a pipe."""

    def __init__(self, profile):
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def fds():  # the child reads commands on 3 and answers on 4
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.proc = subprocess.Popen([EXE, *FLAGS, f"--user-data-dir={profile}",
                                      "--remote-debugging-pipe", "about:blank"],
                                     preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._id, self._buf, self.events = 0, b"", []

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._read())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self._in)
        os.close(self._out)


CHECK = """JSON.stringify({
  images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
  summary: document.querySelector('#summary table').getBoundingClientRect().toJSON(),
  height: window.innerHeight, scrollY: window.scrollY})"""


def test_report_in_chromium(tmp_path, data_root, learned_export):
    run = tmp_path / "run"
    data = ["--dataset", "digits", "--dataset", "faces", "--per-class", "12"]
    for enc in (learned_export, "random:vit_tiny_patch16_224:32:0", "pixels:8:2"):
        assert main(["eval", "knn", *data, "--encoder", enc, "--out", str(run),
                     "--data-root", str(data_root), "--quiet"]) == 0
    assert main(["eval", "report", str(run)]) == 0
    browser = Browser(tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send("Page.enable", session)
        browser.send("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT,
                     deviceScaleFactor=1, mobile=False)
        browser.send("Page.navigate", session, url=(run / "report.html").resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        state = json.loads(browser.send("Runtime.evaluate", session, expression=CHECK,
                                        returnByValue=True)["result"]["value"])
    finally:
        browser.close()
    assert len(state["images"]) == 12  # neighbours + confusion, 3 encoders x 2 sets
    assert all(ok for _, ok in state["images"]), [src for src, ok in state["images"] if not ok]
    box = state["summary"]
    assert state["scrollY"] == 0 and 0 <= box["top"] and box["bottom"] <= state["height"], box
