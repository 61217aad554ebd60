"""Benchmark 1: throughput and latency of task query (``getTask``) and submit (``createVideoSynthesis``) with wrk,
16 connections, against

- the mock exactly as ``make mock`` serves it (``dashscope-mock serve --host 127.0.0.1 --port P --media-checks on``:
  fast profile, memory state, media checks on with media work in 4 child processes, the per-key query limit on, one
  log line per request),
- Prism mocking the same spec (``prism mock``),
- a bare Starlette route on uvicorn answering the mock's own bytes (``bench.bare_app``): the stack's ceiling,

plus, for information, the mock with media checks off (what ``mock_dashscope()`` and most tests use), and the same
with the fast path off (``DASHSCOPE_MOCK_FAST_PATH=off``: every request through connexion, as before ``fastpath``).

The query limit stays on (20 queries/s per key, as served): task queries rotate over ``KEYS`` keys, each querying its
own task, so no key comes near the limit; every server gets the very same rotation. Submit bodies are a valid
liveportrait request whose inputs point at a closed local port: with media checks on, a submit stores the task and
queues its media work, which the media workers take in turn; each task's media work is one refused download (the
task ends FAILED, ``InvalidParameter.InputDownloadFailed``), so the figure measures the API and not the renderer.
After the submit run the tasks are counted per status: the backlog the media workers had not reached yet.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx

from ._servers import BIN, ROOT, free_port, running
from ._wrk import Prepared, WrkResult, run_wrk

SUBMIT_PATH = "/api/v1/services/aigc/image2video/video-synthesis/"
KEYS = 4096


def submit_body(port: int) -> str:
    """A valid liveportrait body; its inputs point at a closed port of this host."""
    media = f"http://127.0.0.1:{port}"
    body = {"model": "liveportrait", "input": {"image_url": f"{media}/face.png", "audio_url": f"{media}/voice.mp3"}}
    return json.dumps(body, separators=(",", ":"))


def submit_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable", "Content-Type": "application/json"}


@dataclass
class Workload:
    """What every server is sent: the task-query rotation and the submit request."""

    queries: list[Prepared]
    body: str
    get_bytes: bytes = b""
    post_bytes: bytes = b""


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    start: Callable[[int, Workload], AbstractContextManager[Any]]
    prefill: bool = False
    backlog: bool = False  # count the tasks per status after the submit run (media checks on: the queue's backlog)


def mock_command(port: int, *extra: str) -> list[str]:
    return [str(BIN / "dashscope-mock"), "serve", "--host", "127.0.0.1", "--port", str(port), *extra]


def make_mock_command(port: int) -> list[str]:
    """Exactly what ``make mock PORT=<port>`` runs (Makefile: ``--host $(HOST) --port $(PORT) --media-checks on``);
    everything else at the CLI's defaults (fast profile, memory state, 4 media workers, query limit on, log level
    info)."""
    return mock_command(port, "--media-checks", "on")


def _mock(*extra: str, env: dict[str, str] | None = None) -> Callable[[int, Workload], AbstractContextManager[Any]]:
    def start(port: int, _work: Workload) -> AbstractContextManager[Any]:
        command = mock_command(port, *extra) if extra else make_mock_command(port)
        return running(command, ready_url=f"http://127.0.0.1:{port}/_mock/clock", env=env)

    return start


def _prism(port: int, _work: Workload) -> AbstractContextManager[Any]:
    command = [str(ROOT / "node_modules/.bin/prism"), "mock", "-p", str(port), "-h", "127.0.0.1"]
    return running([*command, str(ROOT / "openapi/dashscope-video.yaml")], ready_url=f"http://127.0.0.1:{port}/")


def _bare(port: int, work: Workload) -> AbstractContextManager[Any]:
    command = [str(BIN / "uvicorn"), "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port)]
    env = {"BARE_GET_BODY": work.get_bytes.decode(), "BARE_POST_BODY": work.post_bytes.decode()}
    return running(
        [*command, "--log-level", "warning", "--no-access-log"],
        ready_url=f"http://127.0.0.1:{port}/",
        env=env,
    )


SERVERS = (
    Server("mock", "mock (as `make mock` serves it)", _mock(), prefill=True, backlog=True),
    Server("mock_media_off", "mock, media checks off", _mock("--media-checks", "off"), prefill=True),
    Server(
        "mock_connexion",
        "mock, media checks off, fast path off (connexion only)",
        _mock("--media-checks", "off", env={"DASHSCOPE_MOCK_FAST_PATH": "off"}),
        prefill=True,
    ),
    Server("prism", "Prism 5 (`prism mock`)", _prism),
    Server("bare", "bare Starlette route (ceiling)", _bare),
)


def prefill(base: str, work: Workload, keys: int) -> None:
    """One task per key (the query rotation), then wait until they all ended; keep the mock's bytes for the bare
    route."""
    queries = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for index in range(keys):
            key = f"sk-bench-{index:05d}"
            answer = client.post(SUBMIT_PATH, content=work.body, headers=submit_headers(key))
            answer.raise_for_status()
            if not work.post_bytes:
                work.post_bytes = answer.content
            task_id = answer.json()["output"]["task_id"]
            queries.append(Prepared("GET", f"/api/v1/tasks/{task_id}", {"Authorization": f"Bearer {key}"}))
        deadline = time.monotonic() + 30
        while True:  # the fast profile ends a task within 2.5 s
            last = client.get(queries[-1].path, headers=queries[-1].headers)
            if last.json()["output"]["task_status"] in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not work.get_bytes:
            work.get_bytes = client.get(queries[0].path, headers=queries[0].headers).content
    if not work.queries:
        work.queries = queries
    else:  # later servers query their own tasks with the same keys, in the same order
        work.queries[:] = queries


def measure(
    servers: tuple[Server, ...] = SERVERS,
    *,
    seconds: float = 10,
    warmup: float = 2,
    connections: int = 16,
    keys: int = KEYS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    work = Workload(queries=[], body=submit_body(free_port()))
    results: dict[str, Any] = {}
    for server in servers:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with server.start(port, work):
            if server.prefill:
                prefill(url, work, keys)
            elif not work.queries:
                raise RuntimeError("the first server must be a mock (it provides the tasks and bytes)")
            figures: dict[str, Any] = {}
            for op in ("get", "submit"):
                if warmup > 0:
                    _run(url, op, work, warmup, connections)
                result = _run(url, op, work, seconds, connections)
                figures[op] = result.as_dict()
                log(
                    f"  {server.name:15s} {op:6s} {result.requests_per_second:9.0f} req/s  p50 {result.p50_ms:6.2f} ms"
                    f"  p99 {result.p99_ms:6.2f} ms  non-2xx {result.non_2xx}  errors {result.errors}"
                )
            if server.backlog:
                figures["backlog"] = statuses(url)
                log(f"  {server.name:15s} tasks per status when the submit run ended: {figures['backlog']}")
            results[server.name] = {"label": server.label, **figures}
    results["_workload"] = {
        "keys": keys,
        "connections": connections,
        "seconds": seconds,
        "get_bytes": len(work.get_bytes),
        "post_bytes": len(work.post_bytes),
        "body": work.body,
    }
    return results


def statuses(base: str) -> dict[str, int]:
    """How many tasks the mock holds, per status (``GET /_mock/tasks``)."""
    answer = httpx.get(f"{base}/_mock/tasks", timeout=120)
    answer.raise_for_status()
    return dict(Counter(str(row["status"]) for row in answer.json()["data"]))


def _run(url: str, op: str, work: Workload, seconds: float, connections: int) -> WrkResult:
    if op == "get":
        return run_wrk(url, requests=work.queries, connections=connections, seconds=seconds)
    return run_wrk(
        url + SUBMIT_PATH,
        method="POST",
        body=work.body,
        headers=submit_headers("sk-bench-submit"),
        connections=connections,
        seconds=seconds,
    )


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``mock / prism`` and ``mock / bare`` for req/s (higher is better) per operation."""
    out: dict[str, dict[str, float]] = {}
    for name in ("mock", "mock_media_off", "mock_connexion"):
        if name not in results:
            continue
        for op in ("get", "submit"):
            mine = results[name][op]["requests_per_second"]
            row = out.setdefault(f"{name}.{op}", {})
            for peer in ("prism", "bare"):
                if peer in results:
                    row[f"vs_{peer}"] = mine / results[peer][op]["requests_per_second"]
    return out


def iter_rows(results: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, value in results.items():
        if name.startswith("_"):
            continue
        for op in ("get", "submit"):
            yield name, op, value[op]
