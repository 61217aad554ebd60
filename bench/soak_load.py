"""The soak's load, shared by its parts (``soak``, ``soak_crash``, ``soak_hostile``, ``soak_edge``): a served mock in
a process group of its own (``MockServer``), SDK clients submitting and waiting on tasks (``run_load``) and the
verdict on what they saw against what the server stored (zero lost, zero duplicated, all terminal)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dashscope_video import (
    APIConnectionError,
    AsyncClient,
    DashScopeError,
    PollPolicy,
    QueryLimiter,
    RetryPolicy,
    SystemClock,
    TaskCanceled,
    TaskFailed,
)

from ._servers import BIN, ROOT, free_port

CLIENTS = 50
TASKS = 5_000
CRASH_TASKS = 5_000
FUZZ_CASES = 10_000
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
IMAGE = "https://example.com/portrait.png"
AUDIO = "https://example.com/voice.mp3"
POLL = PollPolicy(initial_interval=0.5, max_interval=1.0, multiplier=1.5)


# ---------------------------------------------------------------------------------------------- the server
class MockServer:
    """``dashscope-mock serve`` in its own process group (so that ``kill -9`` takes the workers too)."""

    def __init__(self, port: int, *args: str, log: Path | None = None) -> None:
        self.port = port
        self.args = args
        self.log = log  # its stderr (appended across restarts); None: discarded
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> float:
        started = time.monotonic()
        command = [str(BIN / "dashscope-mock"), "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        with contextlib.ExitStack() as files:
            stderr = files.enter_context(self.log.open("ab")) if self.log is not None else subprocess.DEVNULL
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
            )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the mock exited with {self.process.returncode}")
            try:
                if httpx.get(self.base + "/_mock/clock", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > timeout:
                raise RuntimeError("the mock did not start")
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def tasks(self) -> list[dict[str, Any]]:
        answer = httpx.get(self.base + "/_mock/tasks", timeout=60)
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    def journal(self, path_contains: str | None = None) -> list[dict[str, Any]]:
        params = {"path_contains": path_contains} if path_contains else None
        answer = httpx.get(self.base + "/_mock/requests", params=params, timeout=60)
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data


@contextlib.contextmanager
def serving(*args: str) -> Iterator[MockServer]:
    server = MockServer(free_port(), *args)
    server.start()
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


# ---------------------------------------------------------------------------------------------- the load
@dataclass
class Load:
    """What the clients saw."""

    acked: list[str] = field(default_factory=list)
    finals: dict[str, str] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    ambiguous_submits: int = 0


@dataclass(frozen=True)
class Inputs:
    """What the clients submit and how they wait."""

    image: str = IMAGE
    audio: str = AUDIO
    poll: PollPolicy = POLL
    wait_timeout: float = 180


async def _client(index: int, base: str, count: int, concurrency: int, load: Load, inputs: Inputs) -> None:
    key = f"sk-soak-{index:03d}"
    client = AsyncClient(
        key,
        base_url=base,
        poll=inputs.poll,
        retry=RetryPolicy(max_retries=5, initial_delay=0.2, max_delay=2.0),
        limiter=QueryLimiter(20, SystemClock()),  # one account per client
        timeout=30,
    )
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            for _attempt in range(120):
                try:
                    submitted = await client.video_synthesis.liveportrait(inputs.image, inputs.audio)
                    break
                except APIConnectionError:  # the server is down (crash run): try again
                    load.ambiguous_submits += 1
                    await asyncio.sleep(0.5)
            else:
                load.errors["submit gave up"] += 1
                return
            task_id = submitted.task_id
            load.acked.append(task_id)
            try:
                task = await client.tasks.wait(submitted, timeout=inputs.wait_timeout)
                load.finals[task_id] = str(task.status)
            except (TaskFailed, TaskCanceled) as exc:
                load.finals[task_id] = "FAILED" if isinstance(exc, TaskFailed) else "CANCELED"
            except DashScopeError as exc:
                load.errors[type(exc).__name__] += 1

    try:
        await asyncio.gather(*(one() for _ in range(count)))
    finally:
        await client.aclose()


async def run_load(
    base: str, clients: int, tasks: int, concurrency: int, load: Load, inputs: Inputs | None = None
) -> None:
    shares = [tasks // clients + (1 if i < tasks % clients else 0) for i in range(clients)]
    chosen = inputs or Inputs()
    await asyncio.gather(*(_client(i, base, n, concurrency, load, chosen) for i, n in enumerate(shares)))


def verdict(label: str, load: Load, server_tasks: list[dict[str, Any]], started: float) -> dict[str, Any]:
    stored = {task["task_id"]: task for task in server_tasks}
    acked = set(load.acked)
    lost = [task_id for task_id in acked if task_id not in stored or task_id not in load.finals]
    not_terminal = [t["task_id"] for t in server_tasks if t["status"] not in TERMINAL]
    not_terminal += [task_id for task_id, status in load.finals.items() if status not in TERMINAL]
    return {
        "label": label,
        "submitted": len(load.acked),
        "stored": len(stored),
        "lost": len(lost),
        "duplicated": len(load.acked) - len(acked),
        "orphans": len(set(stored) - acked),
        "not_terminal": len(not_terminal),
        "statuses": dict(Counter(t["status"] for t in server_tasks)),
        "client_errors": dict(load.errors),
        "ambiguous_submits": load.ambiguous_submits,
        "seconds": time.monotonic() - started,
    }


def load_run(label: str, clients: int, tasks: int, concurrency: int, *args: str) -> dict[str, Any]:
    load = Load()
    with serving("--profile", "fast", "--media-checks", "off", *args) as server:
        started = time.monotonic()
        asyncio.run(run_load(server.base, clients, tasks, concurrency, load))
        result = verdict(label, load, server.tasks(), started)
    result["clients"] = clients
    return result
