"""Benchmark 8: face-detect latency while the task engine's queue is full of tasks that never finish.

The mock runs exactly as ``make mock`` serves it (``dashscope-mock serve --media-checks on``: media work in
``--media-workers`` child processes, default 4). A tiny *hanging* server on loopback accepts connections and never
answers; ``TASKS`` liveportrait tasks are submitted with their inputs on it, so the media workers each sit on a
download that never completes (until the 60 s download timeout) and the rest of the tasks wait PENDING in the queue.
face-detect (``liveportrait-detect``, synchronous) downloads a real photograph from a normal loopback HTTP server
and runs the face check on the server itself, outside the queue: its latency is measured over ``CALLS`` sequential
calls with the mock idle (no task at all), then again with the tasks queued, in the same mock process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

from ._servers import ROOT, free_port, in_thread, running
from .throughput import SUBMIT_PATH, make_mock_command, statuses, submit_headers

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"
FACE = ROOT / "tests" / "fixtures" / "face_grace_hopper.jpg"
TASKS = 2_000
CALLS = 200
WARMUP = 10
KEYS = 20
TARGET_P99_MS = 1000.0


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (reads and drops what arrives); at most ``limit``
    connections are held open, later ones are closed at once (counted in ``rejected``)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self.port = 0
        self.accepted = 0
        self.rejected = 0
        self.peak = 0
        self._open: set[asyncio.BaseTransport] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hanging-server", daemon=True)

    def __enter__(self) -> HangingServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hanging server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _protocol(self) -> asyncio.Protocol:
        owner = self

        class Silent(asyncio.Protocol):
            transport: asyncio.BaseTransport | None = None

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if len(owner._open) >= owner.limit:
                    owner.rejected += 1
                    transport.close()
                    return
                self.transport = transport
                owner._open.add(transport)
                owner.accepted += 1
                owner.peak = max(owner.peak, len(owner._open))

            def data_received(self, data: bytes) -> None:
                return None  # the request is read and never answered

            def connection_lost(self, exc: Exception | None) -> None:
                if self.transport is not None:
                    owner._open.discard(self.transport)

        return Silent()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(loop.create_server(self._protocol, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for transport in list(self._open):
                transport.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()


@contextlib.contextmanager
def file_server(payload: bytes, content_type: str = "image/jpeg") -> Iterator[str]:
    """A normal HTTP server on 127.0.0.1 answering ``payload`` on every GET; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _head(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()

        def do_HEAD(self) -> None:
            self._head()

        def do_GET(self) -> None:
            self._head()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with in_thread(server) as url:
        yield url


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _detect(client: httpx.Client, body: dict[str, Any], calls: int) -> dict[str, Any]:
    latencies: list[float] = []
    failed = collections.Counter[str]()
    for _ in range(calls):
        start = time.perf_counter()
        answer = client.post(DETECT_PATH, json=body)
        latencies.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200 or answer.json()["output"].get("pass") is not True:
            failed[f"{answer.status_code} {answer.text[:80]}"] += 1
    return {
        "calls": calls,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": sum(latencies) / len(latencies),
        "max_ms": max(latencies),
        "failed": dict(failed),
    }


def measure(
    *,
    tasks: int = TASKS,
    calls: int = CALLS,
    warmup: int = WARMUP,
    keys: int = KEYS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    payload = FACE.read_bytes()
    with HangingServer() as hanging, file_server(payload) as images:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = make_mock_command(port)
        with running(command, ready_url=f"{url}/_mock/clock"), httpx.Client(base_url=url, timeout=60) as client:
            detect_body = {"model": "liveportrait-detect", "input": {"image_url": f"{images}/face.jpg"}}
            client.headers["Authorization"] = "Bearer sk-bench-detect"
            _detect(client, detect_body, warmup)
            idle = _detect(client, detect_body, calls)
            log(f"  detect, idle mock:          p50 {idle['p50_ms']:7.1f} ms  p99 {idle['p99_ms']:7.1f} ms")
            media = f"http://127.0.0.1:{hanging.port}"
            body = {"model": "liveportrait", "input": {"image_url": f"{media}/face.jpg", "audio_url": f"{media}/a.mp3"}}
            start = time.perf_counter()
            for index in range(tasks):
                key = f"sk-bench-queue-{index % keys:03d}"
                answer = client.post(SUBMIT_PATH, json=body, headers=submit_headers(key))
                if answer.status_code != 200:
                    raise RuntimeError(f"submit {index} answered {answer.status_code}: {answer.text}")
            submit_seconds = time.perf_counter() - start
            time.sleep(1.0)  # the fast profile starts a task 0.5 s after its submit: the workers claim theirs
            before = statuses(url)
            queued = _detect(client, detect_body, calls)
            after = statuses(url)
            log(
                f"  detect, {tasks:,d} tasks queued: p50 {queued['p50_ms']:7.1f} ms  p99 {queued['p99_ms']:7.1f} ms"
                f"  (tasks before {before}, after {after})"
            )
    return {
        "tasks": tasks,
        "keys": keys,
        "warmup": warmup,
        "command": " ".join(["dashscope-mock", *command[1:]]).replace(f"--port {port}", "--port PORT"),
        "image_bytes": len(payload),
        "submit_seconds": submit_seconds,
        "idle": idle,
        "queued": queued,
        "ratio_p50": queued["p50_ms"] / idle["p50_ms"],
        "ratio_p99": queued["p99_ms"] / idle["p99_ms"],
        "statuses_before": before,
        "statuses_after": after,
        "pending_after": after.get("PENDING", 0),
        "hanging": {"accepted": hanging.accepted, "peak_open": hanging.peak, "rejected": hanging.rejected},
    }


def render(data: dict[str, Any], out: list[str], nproc: str) -> None:
    """Section 8 of ``docs/BENCHMARKS.md``."""
    idle, queued = data["idle"], data["queued"]
    tasks = data["tasks"]
    p99 = queued["p99_ms"]
    out += [
        "## 8. Task engine: face-detect latency while tasks with hanging inputs are queued",
        "",
        "Reproduce: `.venv/bin/python -m bench --only engine`. The mock as `make mock` serves it "
        f"(`{data['command']}`: media checks on, media work in 4 child processes at lower CPU priority). A loopback "
        "server that accepts connections and never answers holds the inputs of "
        f"{tasks:,d} liveportrait tasks (submitted over {data['keys']} keys in {data['submit_seconds']:.1f} s, every "
        "submit 200); face-detect (`liveportrait-detect`, synchronous) downloads a real photograph "
        f"(`tests/fixtures/face_grace_hopper.jpg`, {data['image_bytes']:,d} bytes) from a normal loopback server and "
        f"runs the face check; {queued['calls']} sequential calls (keep-alive) per row after {data['warmup']} warm-up "
        "calls, on the same mock process: idle first (no task at all), then with the tasks queued.",
        "",
        "| mock | detect p50 ms | p99 ms | mean ms | max ms | failed calls |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in (("idle (no task)", idle), (f"{tasks:,d} tasks queued on hanging inputs", queued)):
        out.append(
            f"| {label} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['mean_ms']:.1f} | {row['max_ms']:.1f} | "
            f"{sum(row['failed'].values())} |"
        )
    after = ", ".join(f"{status} {count:,d}" for status, count in sorted(data["statuses_after"].items()))
    hanging = data["hanging"]
    out += [
        "",
        f"- Queued / idle: p50 {data['ratio_p50']:.2f}x, p99 {data['ratio_p99']:.2f}x. Target p99 ≤ "
        f"{TARGET_P99_MS / 1000:g} s with {tasks:,d} tasks queued: {p99:.0f} ms {_mark(p99 <= TARGET_P99_MS)}.",
        f"- When the detect measurement ended the mock held: {after} (`GET /_mock/tasks`); "
        f"{data['pending_after']:,d} of the {tasks:,d} still queued (PENDING). The hanging server held "
        f"{hanging['peak_open']} connections at most ({hanging['accepted']} accepted, {hanging['rejected']} "
        "turned away): the media workers each sit on a download that never completes (until the 60 s download "
        "timeout) while the rest wait in the queue; face-detect runs on the server itself, in its own lane.",
        f"- {nproc} CPUs; the hanging and image servers run as threads of the benchmark process.",
        "",
    ]


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def plot(ax: Axes, data: dict[str, Any]) -> None:
    rows = [("idle", data["idle"]), (f"{data['tasks']:,d} queued", data["queued"])]
    xs = list(range(len(rows)))
    ax.bar([x - 0.2 for x in xs], [row["p50_ms"] for _, row in rows], 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], [row["p99_ms"] for _, row in rows], 0.4, label="p99")
    ax.axhline(TARGET_P99_MS, color="red", linestyle="--", label="p99 target (1 s)")
    ax.set_xticks(xs, [label for label, _ in rows])
    ax.set_ylabel(f"face-detect latency, ms ({data['queued']['calls']} sequential calls)")
    ax.set_ylim(bottom=0)
    ax.set_title("face-detect with hanging tasks queued")
    ax.legend()
