"""A Server-Sent Events reader for tests over a real server."""

from __future__ import annotations

import json
import threading

import httpx


class StreamReader(threading.Thread):
    """Reads a Server-Sent Events stream on a thread: each frame's data (JSON), id and event name, in order."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.events: list[dict] = []
        self.ids: list[str] = []
        self.names: list[str] = []  # each frame's `event:` name ("message" when it has none)
        self.connected = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=30)) as c, c.stream("GET", self.url, headers=self.headers) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            self.connected.set()
            current: dict[str, str] = {}
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if line == "":
                    if "data" in current:
                        self.events.append(json.loads(current["data"]))
                        self.ids.append(current.get("id", ""))
                        self.names.append(current.get("event", "message"))
                    current = {}
                elif not line.startswith(":") and ":" in line:
                    k, _, v = line.partition(":")
                    current[k] = v.lstrip()

    def frames(self, name: str) -> list[dict]:
        return [e for e, n in zip(self.events, self.names, strict=True) if n == name]
