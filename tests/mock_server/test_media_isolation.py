"""Media work in child processes is isolated per task and leaves nothing behind (``services.media_runner``,
``services.workdirs``): kill -9 of one media child fails only the task it was working on (``InternalError.Algo``)
while its neighbours succeed on their own children; no work folder and no partial result remain; a graceful
SIGTERM removes the work folders of the work in flight; folders of dead processes are swept. No timing is asserted:
the waits only poll a condition under a generous deadline (``HANG_GUARD``) so a broken engine fails instead of
hanging.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
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

from dashscope_mock import Backend, MockConfig

from ..media import factory
from ..services import free_port
from .test_replicas import HANG_GUARD, MockProcess

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
HEADERS = {"Authorization": "Bearer sk-isolation"}
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


class _Gate:
    """Counts the input requests that arrived; every request waits until ``release`` is set."""

    def __init__(self) -> None:
        self.arrived = 0
        self.changed = threading.Condition()
        self.release = threading.Event()

    def arrive(self) -> None:
        with self.changed:
            self.arrived += 1
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.arrived >= count, HANG_GUARD), f"{self.arrived} of {count}"


class _HeldInputs(http.server.SimpleHTTPRequestHandler):
    gate: _Gate

    def do_GET(self) -> None:
        self.gate.arrive()
        self.gate.release.wait(HANG_GUARD)
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        return None


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a killed child hung up mid-download: expected here


@pytest.fixture
def held_inputs(tmp_path: Path) -> Iterator[tuple[str, _Gate]]:
    """A loopback server of a real face image and a short WAV that holds every request until its gate opens."""
    served = tmp_path / "inputs"
    served.mkdir()
    (served / "face.png").write_bytes(factory.image_bytes(factory.face_rgb()))
    (served / "voice.wav").write_bytes(factory.wav_bytes(2.0))
    (served / "long.wav").write_bytes(factory.wav_bytes(30.0))  # seconds of rendering
    gate = _Gate()
    handler = type("Handler", (_HeldInputs,), {"gate": gate})
    server = _QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gate
    finally:
        gate.release.set()
        server.shutdown()
        server.server_close()


def _host_work(files: Path) -> Path:
    """Where this host's media work folders live under a mock's files folder."""
    return files / "work" / socket.gethostname()


def _folders(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.is_dir()) if root.is_dir() else []


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _media_children(parent: int) -> set[int]:
    """The spawned multiprocessing children of ``parent`` (not its resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"--multiprocessing-fork" in command:
            found.add(int(entry.name))
    return found


def _submit(base: str, media: str, audio: str = "voice.wav") -> str:
    body = {"model": "liveportrait", "input": {"image_url": f"{media}/face.png", "audio_url": f"{media}/{audio}"}}
    answer = httpx.post(base + SUBMIT, json=body, headers={**HEADERS, "X-DashScope-Async": "enable"}, timeout=30)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["output"]["task_id"]
    return task_id


def _output(base: str, task_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/v1/tasks/{task_id}", headers=HEADERS, timeout=30)
    assert answer.status_code == 200, answer.text
    output: dict[str, Any] = answer.json()["output"]
    return output


def _statuses(base: str, ids: list[str]) -> list[str]:
    return [str(_output(base, task_id)["task_status"]) for task_id in ids]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _serve(files: Path, workers: int) -> MockProcess:
    args = ("--media-checks", "on", "--media-workers", str(workers), "--upload-dir", str(files))
    return MockProcess(free_port(), *args)


def test_a_killed_media_child_fails_only_its_own_task_and_leaves_nothing(
    tmp_path: Path, held_inputs: tuple[str, _Gate]
) -> None:
    media, gate = held_inputs
    files = tmp_path / "files"
    server = _serve(files, workers=4)
    try:
        # Left by a process killed earlier, after this one started: the sweep when a job starts removes it.
        orphan = _host_work(files) / f"{_dead_pid()}-liveportrait-orphan"
        orphan.mkdir(parents=True)
        (orphan / "image").write_bytes(b"left behind")
        ids = [_submit(server.base, media) for _ in range(4)]
        gate.wait_for(8)  # every task's child is downloading its two inputs, held
        children = _media_children(server.process.pid)
        assert len(children) == 4, children
        victim = min(children)
        os.kill(victim, signal.SIGKILL)

        # The victim's task fails at once; its neighbours are still held, untouched.
        _wait_for(lambda: "FAILED" in _statuses(server.base, ids), "the killed child's task to fail")
        outputs = [_output(server.base, task_id) for task_id in ids]
        failed = [output for output in outputs if output["task_status"] == "FAILED"]
        assert len(failed) == 1, outputs
        assert failed[0]["code"] == "InternalError.Algo"
        assert [output["task_status"] for output in outputs].count("RUNNING") == 3, outputs

        gate.release.set()
        _wait_for(lambda: all(status in TERMINAL for status in _statuses(server.base, ids)), "every task to end")
        outputs = [_output(server.base, task_id) for task_id in ids]
        succeeded = [output["task_id"] for output in outputs if output["task_status"] == "SUCCEEDED"]
        assert len(succeeded) == 3, outputs
        assert _folders(_host_work(files)) == [], "work folders left behind (the victim's, or the orphan)"
        assert sorted(path.name for path in (files / "results").iterdir()) == sorted(f"{t}.mp4" for t in succeeded)

        # Four tasks at once again: the three living children are reused (models load once), a new one replaces
        # the dead.
        gate.release.clear()
        arrived = gate.arrived
        more = [_submit(server.base, media) for _ in range(4)]
        gate.wait_for(arrived + 8)
        after = _media_children(server.process.pid)
        assert len(after) == 4 and after & children == children - {victim}, (children, after)
        gate.release.set()
        _wait_for(lambda: all(status in TERMINAL for status in _statuses(server.base, more)), "the next tasks")
        assert _statuses(server.base, more) == ["SUCCEEDED"] * 4
    finally:
        gate.release.set()
        server.stop()


def test_a_child_killed_mid_render_leaves_no_partial_result(tmp_path: Path, held_inputs: tuple[str, _Gate]) -> None:
    media, gate = held_inputs
    gate.release.set()
    files = tmp_path / "files"
    server = _serve(files, workers=2)
    try:
        ids = [_submit(server.base, media, "long.wav") for _ in range(2)]
        rendering: list[Path] = []

        def a_render_runs() -> bool:
            for path in _host_work(files).glob("*/partial-*.mp4"):
                with contextlib.suppress(FileNotFoundError):  # done meanwhile
                    if path.stat().st_size:
                        rendering.append(path)
            return bool(rendering)

        _wait_for(a_render_runs, "a render under way")
        victim = int(rendering[0].parent.name.split("-")[0])  # the work folder names its process
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: all(status in TERMINAL for status in _statuses(server.base, ids)), "every task to end")
        outputs = [_output(server.base, task_id) for task_id in ids]
        assert sorted((output["task_status"], output.get("code")) for output in outputs) == [
            ("FAILED", "InternalError.Algo"),
            ("SUCCEEDED", None),
        ], outputs
        succeeded = next(output["task_id"] for output in outputs if output["task_status"] == "SUCCEEDED")
        assert sorted(path.name for path in (files / "results").iterdir()) == [f"{succeeded}.mp4"]
        assert _folders(_host_work(files)) == []
    finally:
        server.stop()


def test_a_graceful_stop_removes_the_work_folders_of_work_in_flight(
    tmp_path: Path, held_inputs: tuple[str, _Gate]
) -> None:
    media, gate = held_inputs
    files = tmp_path / "files"
    server = _serve(files, workers=2)
    try:
        for _ in range(2):
            _submit(server.base, media)
        gate.wait_for(4)
        assert len(_folders(_host_work(files))) == 2  # one per task in flight, under the mock's files folder
        os.killpg(server.process.pid, signal.SIGTERM)  # as a terminal or a service manager stops it
        server.process.wait(timeout=HANG_GUARD)  # uvicorn shuts down, then ends by the signal it got (-15)
        assert _folders(_host_work(files)) == []
        assert _media_children(server.process.pid) == set()
    finally:
        gate.release.set()
        server.kill()


def test_work_folders_of_dead_processes_are_swept_at_start(tmp_path: Path) -> None:
    files = tmp_path / "files"
    work = _host_work(files)
    dead = work / f"{_dead_pid()}-emo-v1-k2x9"
    (dead / "nested").mkdir(parents=True)
    (dead / "nested" / "audio").write_bytes(b"x" * 1000)
    alive = work / f"{os.getppid()}-liveportrait-a1b2"  # a live process's: in use
    own = work / f"{os.getpid()}-liveportrait-c3d4"
    unknown = work / "notes"  # not named by a pid: not the sweep's to judge
    for folder in (alive, own, unknown):
        folder.mkdir(parents=True)
    backend = Backend(MockConfig(media_checks=False, upload_dir=str(files)))
    try:
        assert _folders(work) == sorted(folder.name for folder in (alive, own, unknown))
    finally:
        backend.close()


def test_media_work_folders_are_named_after_their_process(tmp_path: Path) -> None:
    from dashscope_mock.media import MediaKit

    work = tmp_path / "work"
    folder = MediaKit(work_root=work).workdir("liveportrait")
    assert folder.parent == work and folder.name.startswith(f"{os.getpid()}-liveportrait-")


def test_a_partial_result_never_lands_where_the_result_goes(tmp_path: Path) -> None:
    from dashscope_mock.media import Prepared

    folder = tmp_path / "work" / "1-liveportrait-abcd"
    folder.mkdir(parents=True)
    out = tmp_path / "results" / "task.mp4"
    seen: list[Path] = []

    def dies_midway(path: Path) -> None:
        seen.append(path)
        path.write_bytes(b"half a video")
        raise RuntimeError("the encoder crashed")

    broken = Prepared("liveportrait", 1.0, "1:1", folder, dies_midway)
    with pytest.raises(RuntimeError):
        broken.render(out)
    assert not out.exists(), "a partial result was written where the result goes"
    assert seen[0].parent == folder  # written in the work folder, removed with it
    broken.close()
    assert not folder.exists()

    def completes(path: Path) -> None:
        path.write_bytes(b"a whole video")

    folder.mkdir()
    prepared = Prepared("liveportrait", 1.0, "1:1", folder, completes)
    assert prepared.render(out) == out and out.read_bytes() == b"a whole video"
    assert sorted(path.name for path in out.parent.iterdir()) == ["task.mp4"]
    prepared.close()
