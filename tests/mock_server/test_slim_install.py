"""A slim install (``pip install '.[serve]'``: no PyAV, OpenCV, NumPy, Pillow or dlib) serves with media checks off.

Each test runs Python in a subprocess where the media packages cannot be found, as in the slim container image:
every finder of ``sys.meta_path`` is wrapped so that ``import av`` fails with ``ModuleNotFoundError`` and
``importlib.util.find_spec("av")`` answers ``None``. The mock, in process and as ``dashscope-mock serve`` (the console
script's entry, ``_entry.main``), must work there without touching them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dashscope_mock import _entry, cli

HANG_GUARD = 120.0  # seconds
MEDIA = ("av", "cv2", "numpy", "PIL", "dlib", "face_recognition_models")

# Run before anything else in the child: hides the media packages from every import system finder.
HIDE_MEDIA = f"""
import sys

HIDDEN = {MEDIA!r}


class _Hide:
    def __init__(self, finder):
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        find = getattr(self._finder, "find_spec", None)
        return None if find is None else find(name, path, target)

    def __getattr__(self, attribute):
        return getattr(self._finder, attribute)


sys.meta_path[:] = [_Hide(finder) for finder in sys.meta_path]
for _name in list(sys.modules):
    if _name.partition(".")[0] in HIDDEN:
        del sys.modules[_name]
"""

IN_PROCESS = """
import importlib.util, json, sys
from dashscope_mock import SUBMIT_PATH
from dashscope_mock._entry import missing_mock_modules
from dashscope_mock.cli import _media_available
from dashscope_mock.testing import mock_dashscope

body = {
    "model": "liveportrait",
    "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
}
with mock_dashscope(media_checks=False) as mock:
    with mock.client(headers=mock.headers) as http:
        submitted = http.post(SUBMIT_PATH, json=body)
        task_id = submitted.json()["output"]["task_id"]
        mock.advance(60.0)
        done = http.get(f"/api/v1/tasks/{task_id}").json()
loaded = sorted({name.partition(".")[0] for name in sys.modules} & set(HIDDEN))
print(json.dumps({
    "status": done["output"]["task_status"],
    "usage": done.get("usage"),
    "loaded": loaded,
    "media_spec": [importlib.util.find_spec(name) is not None for name in HIDDEN],
    "media_available": _media_available(),
    "missing": missing_mock_modules(),
}))
"""


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(HIDE_MEDIA + body, encoding="utf-8")
    return path


def test_the_mock_runs_a_liveportrait_task_without_the_media_packages(tmp_path: Path) -> None:
    script = _script(tmp_path, "in_process.py", IN_PROCESS)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=HANG_GUARD, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["media_spec"] == [False] * len(MEDIA)  # the environment is slim indeed
    assert seen["status"] == "SUCCEEDED"
    assert seen["usage"] == {"video_duration": 5.0, "video_ratio": "standard"}
    assert seen["loaded"] == []
    assert seen["media_available"] is False
    assert seen["missing"] == []  # serving needs none of the media packages


def _serve(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    argv = ["dashscope-mock", "serve", "--port", "0", *args]
    script = _script(
        tmp_path,
        "serve.py",
        f"sys.argv = {argv!r}\nfrom dashscope_mock._entry import main\nraise SystemExit(main())\n",
    )
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _port(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line.rstrip("\n"))
        match = re.search(r"dashscope-mock: http://127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1)), lines
    raise AssertionError("serve ended before announcing its links:\n" + "\n".join(lines))


def _serves_liveportrait(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer sk-slim", "X-DashScope-Async": "enable"}
    body = {
        "model": "liveportrait",
        "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
    }
    with httpx.Client(base_url=base, timeout=HANG_GUARD) as http:
        submitted = http.post("/api/v1/services/aigc/image2video/video-synthesis/", json=body, headers=headers)
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["output"]["task_id"]
        deadline = time.monotonic() + HANG_GUARD
        while True:
            answer = http.get(f"/api/v1/tasks/{task_id}", headers=headers).json()
            if answer["output"]["task_status"] not in {"PENDING", "RUNNING"} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert answer["output"]["task_status"] == "SUCCEEDED", answer


def test_serve_starts_and_serves_without_the_media_packages(tmp_path: Path) -> None:
    """Media checks default to off where the media packages are missing: ``serve`` needs no ``--media-checks``."""
    for args in ((), ("--media-checks", "off")):
        process = _serve(tmp_path, *args)
        try:
            port, lines = _port(process)
            assert not any("Traceback" in line for line in lines), lines
            _serves_liveportrait(port)
        finally:
            process.kill()
            process.wait()


@pytest.mark.parametrize("absent", _entry.MEDIA_MODULES)
def test_media_checks_default_to_off_without_any_of_the_media_modules(
    absent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` defaults to media checks on only where every module of the media stack is found."""
    assert cli._media_available()  # this environment has the `mock` extra
    assert set(_entry.MEDIA_MODULES) == set(MEDIA) and set(_entry.MOCK_MODULES) > set(_entry.SERVE_MODULES)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == absent else find_spec(name, *a))
    assert not cli._media_available()
    assert _entry.missing_media_modules() == [absent]
    assert _entry.missing_mock_modules() == []  # serving still starts


def test_media_checks_asked_for_without_the_media_packages_are_refused_at_start(tmp_path: Path) -> None:
    process = _serve(tmp_path, "--media-checks", "on")
    try:
        _, stderr = process.communicate(timeout=HANG_GUARD)
    finally:
        process.kill()
    assert process.returncode == 2
    assert "media checks need the media packages" in stderr and "--media-checks off" in stderr
    assert "Traceback" not in stderr
