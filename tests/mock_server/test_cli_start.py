"""``dashscope-mock serve`` as a real process: it announces its links only once it listens, a busy port is one clear
line and a non-zero exit, and Ctrl-C (SIGINT to the process group, as a terminal sends it) ends it without a
traceback from the server or its media children.

No wall-clock assertion: ``HANG_GUARD`` only turns a hang into a failure."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..media import factory
from ..services import free_port

HANG_GUARD = 120.0  # seconds
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
KEY = "sk-cli-start"
SIGINT_BIT = 1 << (signal.SIGINT - 1)  # in /proc/<pid>/status' SigIgn/SigBlk masks


class Served:
    """``dashscope-mock serve`` in a process group of its own, its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "dashscope_mock.cli", "serve", *args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def line_starting(self, prefix: str) -> str:
        """The first stderr line starting with ``prefix`` (waiting for it); fails if the process ends first."""
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line {prefix!r} in time; so far: {self.lines}") from None
            if line is None:
                raise AssertionError(f"exited ({self.process.wait()}) before {prefix!r}: {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def interrupt(self) -> tuple[int, str]:
        """SIGINT to the whole group, as Ctrl-C in a terminal; the exit status and the whole stderr."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.wait()

    def wait(self) -> tuple[int, str]:
        code = self.process.wait(timeout=HANG_GUARD)
        while (line := self._queue.get(timeout=HANG_GUARD)) is not None:
            self.lines.append(line)
        return code, "\n".join(self.lines)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def served(*args: str) -> Iterator[Served]:
    server = Served(*args)
    try:
        yield server
    finally:
        server.kill()


def _link_port(line: str) -> int:
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    assert match, line
    return int(match.group(1))


# ------------------------------------------------------------------------------------------------ links and the port
def test_a_busy_port_is_one_clear_line_and_a_failure_without_the_links() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "dashscope_mock.cli", "serve", "--port", str(port), "--media-checks", "off"],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
        )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines[0]


def test_the_links_are_printed_once_the_port_takes_connections() -> None:
    port = free_port()
    with served("--port", str(port), "--media-checks", "off") as server:
        server.line_starting("dashscope-mock: dashboard:")
        # At once, no retry: the announcement means the port is listening (requests wait for the app to be ready).
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
        assert httpx.get(f"http://127.0.0.1:{port}/_mock/clock", timeout=HANG_GUARD).status_code == 200


def test_port_0_announces_the_port_it_got() -> None:
    with served("--port", "0", "--media-checks", "off") as server:
        first = _link_port(server.line_starting("dashscope-mock: http://"))
        dashboard = server.line_starting("dashscope-mock: dashboard:")
        assert first != 0 and _link_port(dashboard) == first
        assert httpx.get(f"http://127.0.0.1:{first}/_mock/clock", timeout=HANG_GUARD).status_code == 200


# ------------------------------------------------------------------------------------------------------------ Ctrl-C
class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def inputs(tmp_path: Path) -> Iterator[str]:
    """A loopback server of a real face image and a short WAV (the mock fetches loopback inputs)."""
    (tmp_path / "face.png").write_bytes(factory.image_bytes(factory.face_rgb()))
    (tmp_path / "voice.wav").write_bytes(factory.wav_bytes(2.0))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(tmp_path)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _submit(base: str, media: str) -> str:
    body = {"model": "liveportrait", "input": {"image_url": f"{media}/face.png", "audio_url": f"{media}/voice.wav"}}
    headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
    answer = httpx.post(base + SUBMIT, json=body, headers=headers, timeout=HANG_GUARD)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["output"]["task_id"]
    return task_id


def _status(base: str, task_id: str) -> str:
    answer = httpx.get(f"{base}/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["output"]["task_status"]
    return status


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _answering(base: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(base + "/_mock/clock", timeout=HANG_GUARD).status_code == 200
    return False


def _media_children(parent: int) -> list[int]:
    """The pids of ``parent``'s multiprocessing children running a spawned target (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _signal_mask(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {name} in /proc/{pid}/status")


def _assert_clean_exit(code: int, stderr: str) -> None:
    assert code == 0, stderr
    for sign in ("Traceback", "KeyboardInterrupt", "died"):
        assert sign not in stderr, stderr


def test_ctrl_c_after_media_work_ends_without_a_traceback(inputs: str) -> None:
    port = free_port()
    with served("--port", str(port), "--media-checks", "on") as server:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answering(base), "the mock to answer")  # apart from the links (tested above)
        task_id = _submit(base, inputs)
        _wait_for(lambda: _status(base, task_id) in {"SUCCEEDED", "FAILED"}, "the task to end")
        assert _status(base, task_id) == "SUCCEEDED"
        assert _media_children(server.process.pid), "the task ran in a media child process"
        _assert_clean_exit(*server.interrupt())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from /proc (Linux)")
def test_ctrl_c_while_media_children_start_ends_without_a_traceback(inputs: str) -> None:
    """The moment a Ctrl-C is most likely to find a child unprepared: spawned for the first tasks, it has not yet
    reached its own set-up (``SigIgn`` still lacks SIGINT). The signal is sent on seeing that state, not after a
    chosen delay. Such a child used to die with a KeyboardInterrupt traceback, and its task was recorded FAILED as a
    child death instead of being left to the next process."""
    workers = 4
    port = free_port()
    with served("--port", str(port), "--media-checks", "on", "--media-workers", str(workers)) as server:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answering(base), "the mock to answer")
        for _ in range(workers):
            _submit(base, inputs)
        unprepared: list[int] = []
        prepared: set[int] = set()

        def seen() -> bool:
            for child in _media_children(server.process.pid):
                with contextlib.suppress(OSError):  # a child may end meanwhile
                    if _signal_mask(child, "SigIgn") & SIGINT_BIT:
                        prepared.add(child)
                    else:
                        unprepared.append(child)
            return bool(unprepared) or len(prepared) == workers

        _wait_for(seen, "the media children")
        if not unprepared:
            pytest.skip("every media child had set itself up before it was seen: the window was missed")
        _assert_clean_exit(*server.interrupt())
