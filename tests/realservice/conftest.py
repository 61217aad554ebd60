"""A stand-in upstream served on loopback, and the proxy in front of it (served too), sharing one ``Clock``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dashscope_mock.http.serving import serve_in_thread
from dashscope_mock.realservice.proxy import Proxy
from dashscope_mock.realservice.recording import Recorder

from .standin import SUBMIT, Clock, StandIn

KEY = "sk-standin-valid"
HEADERS = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
LIVEPORTRAIT = {
    "model": "liveportrait",
    "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
    "parameters": {"template_id": "normal"},
}


@dataclass
class Loop:
    clock: Clock
    standin: StandIn
    upstream: str
    proxy: Proxy
    url: str
    recordings: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=HEADERS, timeout=30)


@contextlib.contextmanager
def proxied(recordings: Path, *, drift: frozenset[str] = frozenset(), **recorder: Any) -> Iterator[Loop]:
    """The stand-in (with ``drift``) behind a recording proxy, both served on loopback."""
    clock = Clock()
    standin = StandIn(clock, drift)
    with serve_in_thread(standin) as upstream:
        standin.base = upstream
        proxy = Proxy(
            upstream,
            recorder=Recorder(recordings, upstream=upstream, **recorder),
            violations_header=True,
            clock=clock,
            wall=clock,
        )
        with serve_in_thread(proxy, lifespan="on") as url:
            yield Loop(clock, standin, upstream, proxy, url, recordings)


def run_task(loop: Loop, body: dict[str, Any], offsets: tuple[float, ...] = (0.0, 0.6, 1.5, 3.5)) -> list[str]:
    """Submit through the proxy, then poll once at each offset (seconds after the submit): the statuses seen."""
    seen = []
    with loop.client() as client:
        task_id = client.post(SUBMIT, json=body).json()["output"]["task_id"]
        at = 0.0
        for offset in offsets:
            loop.clock.advance(offset - at)
            at = offset
            seen.append(client.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"])
    return seen
