"""Crash runs with media checks on (``python -m bench.soak --only crash-media``), part of ``make soak``.

The load of ``bench.soak`` with real inputs: a face photo (``tests/fixtures/face_grace_hopper.jpg``) and a
``MEDIA_AUDIO_SECONDS`` s WAV tone, served by a threaded ``http.server`` on loopback, so each task downloads, checks
and renders an MP4 in the mock's media workers (``--media-workers`` child processes per server process). Once half of
the tasks are acknowledged, ``kill -9`` of the whole server (process group: supervisor, uvicorn workers, media
children), restart on the same port and state (SQLite; Redis: a real ``redis-server``), then:

- lost: an acknowledged task missing from the store; duplicated: a task id acknowledged (or stored) twice;
- stuck: a task (acknowledged or not) that is not terminal within ``bound`` seconds of the restart, where
  ``bound = lease + lease / 3 + phases + backlog / rate``: the work lease (``x-task-engine.lease_seconds``) a dead
  worker's claim holds, the pool's ticker period (``lease / 3``, ``services/work_pool.py``) before it looks again,
  the model's fast-profile timings (pending + working phases: the minimum life of the last task claimed), and the
  drain of every task that had not ended at the kill or was submitted after it (``backlog``), at the media throughput
  measured in the same run before the kill (``rate``: tasks ended / seconds since the first submit, child start-up
  included). The terms are added although the lease wait and the drain overlap: an upper bound, not an estimate.

Outcomes are counted by status and code; with good inputs every task should succeed (an ``InternalError.Algo`` is a
bug of the mock's media work). On a violation the row carries the stuck tasks, their journal and the server's log.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import io
import math
import re
import signal
import threading
import time
import wave
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dashscope_openapi import load_control_spec
from dashscope_video import PollPolicy

from ._servers import ROOT, free_port
from .soak_load import TERMINAL, Inputs, Load, MockServer, run_load

MODEL = "liveportrait"  # no per-key concurrency limit (x-limits.concurrency: null): the media workers are the limit
FACE = ROOT / "tests" / "fixtures" / "face_grace_hopper.jpg"
MEDIA_AUDIO_SECONDS = 2.0  # liveportrait takes 1 s < duration < 180 s
MEDIA_TASKS = 360
MEDIA_CLIENTS = 20
MEDIA_CONCURRENCY = 5  # tasks in flight per client: 100 in all, many more than the media workers take at once
MEDIA_POLL = PollPolicy(initial_interval=1.0, max_interval=3.0, multiplier=1.5)
MIN_ENDED_FOR_RATE = 10
GRACE_SECONDS = 5.0  # after the bound, before the last look: one listing and one poll of the watcher
WATCH_SECONDS = 2.0
SHOWN = 10  # stuck tasks described in full (with their journal)


# ---------------------------------------------------------------------------------------------- the inputs
class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client that hung up (the killed mock's children) is not news


def tone_wav(seconds: float, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV: a 220 Hz tone swelling at 2 Hz (``tests/media/factory.py``'s ``wav_bytes``)."""

    def sample(index: int) -> int:
        t = index / rate
        return round(0.4 * 32767 * math.sin(2 * math.pi * 220 * t) * (0.55 + 0.45 * math.sin(2 * math.pi * 2 * t)))

    pcm = array.array("h", map(sample, range(round(seconds * rate))))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()


@contextlib.contextmanager
def media_inputs() -> Iterator[tuple[str, str]]:
    """A loopback HTTP server with ``/face.jpg`` and ``/voice.wav``; yields their URLs."""
    files = {"/face.jpg": (FACE.read_bytes(), "image/jpeg"), "/voice.wav": (tone_wav(MEDIA_AUDIO_SECONDS), "audio/wav")}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            found = files.get(self.path)
            if found is None:
                self.send_error(404)
                return
            data, kind = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = _Quiet(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="soak-inputs", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base + "/face.jpg", base + "/voice.wav"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---------------------------------------------------------------------------------------------- the bound
def lease_seconds() -> float:
    return float(load_control_spec()["x-task-engine"]["lease_seconds"])


def phase_seconds() -> float:
    """The model's fast-profile life: pending, then its working phases."""
    from dashscope_mock.plugins import load_registry

    timing = load_registry().video(MODEL).timings["fast"]
    return timing.pending + sum(seconds for _, seconds in timing.phases)


def bound_seconds(backlog: int, rate: float) -> dict[str, float]:
    lease = lease_seconds()
    terms = {"lease": lease, "ticker": lease / 3, "phases": phase_seconds(), "drain": backlog / rate}
    return {**terms, "bound": sum(terms.values())}


# ---------------------------------------------------------------------------------------------- the run
def media_crash_run(
    label: str,
    state: tuple[str, ...],
    *,
    clients: int,
    tasks: int,
    concurrency: int,
    inputs: tuple[str, str],
    log: Path,
    media_workers: int | None = None,
) -> dict[str, Any]:
    extra = ("--media-workers", str(media_workers)) if media_workers else ()
    args = ("--profile", "fast", "--media-checks", "on", "--log-level", "warning", *state, *extra)
    server = MockServer(free_port(), *args, log=log)
    server.start()
    load = Load()
    chosen = Inputs(image=inputs[0], audio=inputs[1], poll=MEDIA_POLL, wait_timeout=3600)  # the watcher judges
    facts: dict[str, Any] = {}

    async def scenario() -> None:
        work = asyncio.create_task(run_load(server.base, clients, tasks, concurrency, load, chosen))
        while len(load.acked) < tasks // 2 and not work.done():  # mid-run: submits, renders and waits in flight
            await asyncio.sleep(0.05)
        before = await asyncio.to_thread(server.tasks)
        facts["acked_before_kill"] = len(load.acked)
        facts["before"] = before
        await asyncio.to_thread(server.kill)  # kill -9, the whole process group
        facts["killed_at"] = time.time()
        await asyncio.sleep(1.0)
        facts["restart_seconds"] = await asyncio.to_thread(server.start)
        restarted = facts["restarted_at"] = time.time()
        rate = _rate(before, facts["killed_at"])
        facts["rate"] = rate
        while not work.done():  # until every client has its tasks' ends, or the bound (+ grace) is past
            await asyncio.wait({work}, timeout=WATCH_SECONDS)
            if work.done() or rate is None:
                continue
            stored = await asyncio.to_thread(server.tasks)
            bound = bound_seconds(_backlog(stored, facts["killed_at"]), rate)["bound"]
            if time.time() > restarted + bound + GRACE_SECONDS:
                facts["gave_up_at"] = time.time()
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
        with contextlib.suppress(asyncio.CancelledError):
            await work

    started = time.monotonic()
    try:
        asyncio.run(scenario())
        stored = server.tasks()
        journal = server.journal()
        row = _verdict(label, load, stored, facts, server, journal)
    finally:
        server.kill(signal.SIGTERM)
    row["seconds"] = time.monotonic() - started
    workers = media_workers or int(load_control_spec()["x-task-engine"]["media_workers"])
    row.update(clients=clients, concurrency=concurrency, media_workers=workers, model=MODEL)
    row["audio_seconds"] = MEDIA_AUDIO_SECONDS
    row["server_log"] = _log_errors(log)
    return row


def _rate(before: list[dict[str, Any]], killed_at: float) -> float | None:
    """Tasks ended per second before the kill, from the first submit (child start-up included)."""
    ended = [t for t in before if t["status"] in TERMINAL and t.get("end_at", killed_at) <= killed_at]
    if len(ended) < MIN_ENDED_FOR_RATE or not before:
        return None
    first = min(float(t["submit_at"]) for t in before)
    return len(ended) / (killed_at - first)


def _backlog(stored: list[dict[str, Any]], killed_at: float) -> int:
    """The tasks the restarted server had to work: not ended at the kill (in flight, or submitted later)."""
    return sum(1 for t in stored if t["status"] not in TERMINAL or float(t.get("end_at", 0)) > killed_at)


def _verdict(
    label: str,
    load: Load,
    stored: list[dict[str, Any]],
    facts: dict[str, Any],
    server: MockServer,
    journal: list[dict[str, Any]],
) -> dict[str, Any]:
    by_id = {t["task_id"]: t for t in stored}
    acked = set(load.acked)
    killed_at, restarted_at = float(facts["killed_at"]), float(facts["restarted_at"])
    at_kill = {t["task_id"]: t["status"] for t in facts["before"]}
    backlog = _backlog(stored, killed_at)
    rate = facts["rate"]
    terms = bound_seconds(backlog, rate) if rate is not None else None
    deadline = restarted_at + terms["bound"] if terms is not None else float("inf")
    stuck = [
        t for t in stored if t["status"] not in TERMINAL or float(t.get("end_at", float("inf"))) > deadline
    ]  # not terminal within the bound (or at all)
    after = [t for t in stored if t["status"] in TERMINAL and float(t["end_at"]) > killed_at]
    ttt = [float(t["end_at"]) - restarted_at for t in after]
    leased = [float(t["end_at"]) - restarted_at for t in after if at_kill.get(t["task_id"]) == "RUNNING"]
    dropped = [e for e in journal if str(e.get("note") or "").startswith("media result dropped")]
    outcomes = Counter(t["status"] + (f" {t['code']}" if t.get("code") else "") for t in stored)
    row: dict[str, Any] = {
        "label": label,
        "submitted": len(load.acked),
        "stored": len(stored),
        "lost": len([task_id for task_id in acked if task_id not in by_id]),
        "duplicated": (len(load.acked) - len(acked)) + (len(stored) - len(by_id)),
        "orphans": len(set(by_id) - acked),
        "unanswered": len([task_id for task_id in acked if task_id in by_id and task_id not in load.finals]),
        "stuck": len(stuck),
        "outcomes": dict(sorted(outcomes.items())),
        "client_finals": dict(Counter(load.finals.values())),
        "client_errors": dict(load.errors),
        "ambiguous_submits": load.ambiguous_submits,
        "acked_before_kill": facts["acked_before_kill"],
        "at_kill": dict(Counter(at_kill.values())),
        "restart_seconds": facts["restart_seconds"],
        "rate_per_second": rate,
        "backlog": backlog,
        "bound": terms,
        "max_after_restart": max(ttt, default=None),
        "max_after_restart_leased": max(leased, default=None),
        "gave_up": "gave_up_at" in facts,
        "results_dropped": len(dropped),
        "server_errors": len([e for e in journal if int(e.get("status") or 0) >= 500]),
    }
    if stuck:
        row["stuck_tasks"] = [
            {**t, "at_kill": at_kill.get(t["task_id"]), "journal": server.journal(t["task_id"])} for t in stuck[:SHOWN]
        ]
        row["stuck_statuses"] = dict(Counter(t["status"] for t in stuck))
    return row


def _log_errors(log: Path) -> dict[str, Any]:
    """The error lines of the server's log (both runs: before and after the kill)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [line for line in lines if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]
    return {"lines": len(lines), "errors": len(errors), "first_errors": errors[:SHOWN]}


def check(name: str, row: dict[str, Any]) -> list[str]:
    """The violated properties of one media crash run."""
    found = [f"{name}: {prop} = {row[prop]}" for prop in ("lost", "duplicated", "stuck") if row.get(prop)]
    if row.get("unanswered") and not row.get("gave_up"):
        found.append(f"{name}: {row['unanswered']} acknowledged tasks without a final status at their client")
    if row.get("bound") is None:
        found.append(f"{name}: no bound: fewer than {MIN_ENDED_FOR_RATE} tasks ended before the kill")
    failed = {k: v for k, v in row["outcomes"].items() if not k.startswith("SUCCEEDED")}
    if failed:
        found.append(f"{name}: not succeeded {failed}")
    if row.get("client_errors"):
        found.append(f"{name}: client errors {row['client_errors']}")
    if row.get("server_errors"):
        found.append(f"{name}: {row['server_errors']} 5xx in the journal")
    return found


def crash_media(
    clients: int, tasks: int, concurrency: int, media_workers: int | None, workdir: Path
) -> list[dict[str, Any]]:
    """Both runs: SQLite state and Redis state, 2 uvicorn workers each."""
    from tests.services import redis_server

    rows = []
    with media_inputs() as inputs:
        common: dict[str, Any] = {
            "clients": clients,
            "tasks": tasks,
            "concurrency": concurrency,
            "inputs": inputs,
            "media_workers": media_workers,
        }
        sqlite = ("--state", f"sqlite:///{workdir / 'crash-media.db'}", "--workers", "2")
        rows.append(media_crash_run("SQLite state, 2 workers", sqlite, log=workdir / "sqlite.log", **common))
        with redis_server() as url:
            redis = ("--state", url, "--workers", "2")
            rows.append(media_crash_run("Redis state, 2 workers", redis, log=workdir / "redis.log", **common))
    return rows
