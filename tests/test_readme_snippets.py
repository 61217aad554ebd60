"""Every Python snippet of README runs (api.md has none: it lists signatures, checked by test_public_surface).

"Testing your app with the mock": its snippets run as a user's test file under ``-W error`` in a folder of its own (no
project configuration), with the helpers they name (``make_a_wav``, ``run_the_code_under_test``) defined as a user
would; ``scripts/check_install.sh`` runs the same file in a fresh venv. "The SDK" and "Works with the official SDK":
as written, against a served mock in place of ``make mock``'s port. A snippet that drifts from the package fails
here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dashscope_mock import mock_dashscope
from dashscope_mock.plugins import ModelTiming

from .media import factory

ROOT = Path(__file__).parents[1]
SECTION = re.compile(r"^### Testing your app with the mock\n(.*?)^##", re.S | re.M)
SNIPPET = re.compile(r"```python\n(.*?)```", re.S)
QUICK = {model: ModelTiming(0.0, (("RUNNING", 0.2),)) for model in ("liveportrait", "videoretalk")}
HELPERS = """
import wave


def make_a_wav(folder):
    path = folder / "voice.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(2 * 16000 * 2))
    return path


def run_the_code_under_test(mock):
    from dashscope_video import Client

    with Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance) as client:
        client.tasks.wait(client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3"))
"""


def snippets() -> list[str]:
    found = SECTION.search((ROOT / "README.md").read_text())
    assert found, "README has no section 'Testing your app with the mock'"
    return SNIPPET.findall(found.group(1))


def write_user_suite(folder: Path) -> int:
    """The section's snippets as ``folder/test_readme.py`` (``scripts/check_install.sh`` runs it in a fresh venv);
    how many tests it holds."""
    code = snippets()
    assert len(code) >= 4
    # the snippets' relative paths are the repository's
    body = "\n\n".join(code).replace('"tests/fixtures/', f'"{ROOT}/tests/fixtures/')
    (folder / "test_readme.py").write_text(HELPERS + "\n\n" + body)
    return len(re.findall(r"^def test_", body, re.M))


def run_users_tests(folder: Path, file_name: str) -> subprocess.CompletedProcess[str]:
    """pytest on a user's test file in ``folder``, under ``-W error``, as a user runs it: no project configuration;
    pytest-asyncio (a dev dependency here, not the user's, which warns when unconfigured) left out."""
    command = [sys.executable, "-m", "pytest", "-W", "error", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    return subprocess.run(
        [*command, "-p", "no:asyncio", file_name], cwd=folder, capture_output=True, text=True, check=False
    )


def test_the_sections_snippets_run_as_a_users_tests_under_w_error(tmp_path: Path) -> None:
    tests = write_user_suite(tmp_path)
    done = run_users_tests(tmp_path, "test_readme.py")
    assert done.returncode == 0 and f"{tests} passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]


# ------------------------------------------------------------------------------------- the other Python snippets
def readme_snippet(after_heading: str) -> str:
    """The first Python snippet after ``after_heading`` in README."""
    text = (ROOT / "README.md").read_text()
    found = SNIPPET.search(text, text.index(after_heading))
    assert found, after_heading
    return found.group(1)


def test_the_sdk_snippet_runs_against_a_served_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README "The SDK": as written, with the served mock's port for 8000 and a face and a voice in the folder."""
    code = readme_snippet("## The SDK")
    shutil.copy(ROOT / "tests" / "fixtures" / "face_grace_hopper.jpg", tmp_path / "face.jpg")
    (tmp_path / "voice.mp3").write_bytes(factory.encoded_audio(2.0, "libmp3lame", "mp3"))
    monkeypatch.chdir(tmp_path)
    with mock_dashscope(frozen_clock=False, timings=QUICK) as mock, mock.serve() as base_url:
        exec(compile(code.replace("http://127.0.0.1:8000", base_url), "README: The SDK", "exec"), {})
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_the_official_sdk_snippet_runs_against_a_served_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """README "Works with the official SDK": as written, with the served mock's port and input URLs of the mock's
    media-checks-off mode (any URL)."""
    import dashscope

    for name in ("base_http_api_url", "api_key"):  # the snippet sets both: as they were, after the test
        monkeypatch.setattr(dashscope, name, getattr(dashscope, name, None))
    code = readme_snippet("## Works with the official SDK")
    with mock_dashscope(frozen_clock=False, timings=QUICK) as mock, mock.serve() as base_url:
        namespace: dict[str, Any] = {"url": "https://example.com/face.png", "audio": "https://example.com/a.mp3"}
        exec(compile(code.replace("http://127.0.0.1:8000", base_url), "README: official SDK", "exec"), namespace)
        task_id = namespace["task"].output["task_id"]
        assert mock.requests("getTask") and mock.backend.store.get_task(task_id) is not None
