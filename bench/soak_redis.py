"""Soak part 6d (``python -m bench.soak --only redis-kill``; ~20 s): Redis killed under load.

One ``dashscope-mock serve --state redis://`` (media checks off, query limit off) on a ``redis-server`` with
``appendonly yes`` / ``appendfsync everysec``; ``THREADS`` clients submit and query in a loop; after ``BEFORE``
seconds Redis is killed -9, stays down ``DOWN`` seconds, and is started again on the same folder (its AOF); the load
goes on ``AFTER`` seconds. Properties (the README's promise and x-redis of openapi/mock-control.yaml): 0
``text/plain`` answers, 0 5xx other than the 503 ``ModelServingError``, every answer while Redis was down within
``BOUND`` seconds, and 0 acknowledged tasks lost among those acknowledged more than one second before the kill
(everysec may lose the last second; those are counted apart).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ._servers import free_port, running
from .throughput import mock_command

THREADS = 8
BEFORE, DOWN, AFTER = 4.0, 3.0, 4.0
BOUND = 2.5  # seconds: one Redis timeout (1 s) plus the one the event loop may be in, plus slack
KEY = "sk-soak-redis-1"
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
BODY = {"model": "liveportrait", "input": {"image_url": "https://e.com/a.png", "audio_url": "https://e.com/a.mp3"}}


def _redis(port: int, folder: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""]
    command += ["--appendonly", "yes", "--appendfsync", "everysec"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return process
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class _Load:
    def __init__(self, base: str) -> None:
        self.base = base
        self.stop = threading.Event()
        self.acked: list[tuple[str, float]] = []  # task id, monotonic time acknowledged
        self.answers: list[tuple[float, float, int, str]] = []  # start, seconds, status, content type
        self.errors = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    if random.random() < 0.5 or not self.acked:
                        answer = client.post(SUBMIT, json=BODY, headers={**headers, "X-DashScope-Async": "enable"})
                        if answer.status_code == 200:
                            with self.lock:
                                self.acked.append((answer.json()["output"]["task_id"], time.monotonic()))
                    else:
                        task_id = random.choice(self.acked)[0]
                        answer = client.get(f"/api/v1/tasks/{task_id}", headers=headers)
                except httpx.HTTPError:
                    self.errors += 1
                    continue
                kind = answer.headers.get("content-type", "")
                with self.lock:
                    self.answers.append((started, time.monotonic() - started, answer.status_code, kind))


def redis_kill_run() -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="dashscope-soak-redis-")
    redis_port, port = free_port(), free_port()
    url = f"redis://127.0.0.1:{redis_port}/0"
    server = _redis(redis_port, folder)
    try:
        command = mock_command(port, "--state", url, "--media-checks", "off", "--rate-limit", "off")
        with running(command, ready_url=f"http://127.0.0.1:{port}/_mock/health"):
            load = _Load(f"http://127.0.0.1:{port}")
            with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
                runs = [pool.submit(load.run) for _ in range(THREADS)]
                time.sleep(BEFORE)
                server.send_signal(signal.SIGKILL)
                server.wait()
                killed = time.monotonic()
                time.sleep(DOWN)
                server = _redis(redis_port, folder)
                back = time.monotonic()
                time.sleep(AFTER)
                load.stop.set()
                for run in runs:
                    run.result()
            return _figures(load, killed, back)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(Path(folder), ignore_errors=True)


def _figures(load: _Load, killed: float, back: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    safe = [task_id for task_id, at in load.acked if at < killed - 1.0]
    last_second = [task_id for task_id, at in load.acked if killed - 1.0 <= at < killed]
    with httpx.Client(base_url=load.base, timeout=30) as client:

        def unknown(task_id: str) -> bool:
            return bool(
                client.get(f"/api/v1/tasks/{task_id}", headers=headers).json()["output"]["task_status"] == "UNKNOWN"
            )

        lost = sum(unknown(task_id) for task_id in safe)
        lost_last_second = sum(unknown(task_id) for task_id in last_second)
    down = [row for row in load.answers if killed <= row[0] < back]
    return {
        "answers": len(load.answers),
        "answers_while_down": len(down),
        "status_503_while_down": sum(row[2] == 503 for row in down),
        "max_seconds_while_down": max((row[1] for row in down), default=0.0),
        "p99_seconds_while_down": sorted(row[1] for row in down)[int(0.99 * (len(down) - 1))] if down else 0.0,
        "text_plain": sum(row[3].startswith("text/plain") for row in load.answers),
        "other_5xx": sum(row[2] >= 500 and row[2] != 503 for row in load.answers),
        "acknowledged": len(load.acked),
        "acknowledged_before_last_second": len(safe),
        "lost": lost,
        "lost_of_last_second": lost_last_second,
        "acknowledged_in_last_second": len(last_second),
        "socket_errors": load.errors,
        "down_seconds": back - killed,
    }


def check(row: dict[str, Any]) -> list[str]:
    violations = []
    if row["text_plain"]:
        violations.append(f"redis-kill: {row['text_plain']} text/plain answers")
    if row["other_5xx"]:
        violations.append(f"redis-kill: {row['other_5xx']} 5xx answers other than 503")
    if row["lost"]:
        violations.append(f"redis-kill: {row['lost']} acknowledged tasks lost (AOF everysec)")
    if row["max_seconds_while_down"] > BOUND:
        violations.append(f"redis-kill: an answer took {row['max_seconds_while_down']:.2f} s while Redis was down")
    return violations
