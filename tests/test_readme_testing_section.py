"""README's "Testing your app with the mock": every Python snippet of the section runs, as a user's test file under
``-W error`` in a folder of its own (no project configuration), with the helpers its snippets name
(``make_a_wav``, ``run_the_code_under_test``) defined as a user would. A snippet that drifts from the package fails
here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
SECTION = re.compile(r"^### Testing your app with the mock\n(.*?)^##", re.S | re.M)
SNIPPET = re.compile(r"```python\n(.*?)```", re.S)
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


def test_the_sections_snippets_run_as_a_users_tests_under_w_error(tmp_path: Path) -> None:
    tests = write_user_suite(tmp_path)
    command = [sys.executable, "-m", "pytest", "-W", "error", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    done = subprocess.run(
        [*command, "-p", "no:asyncio", "test_readme.py"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and f"{tests} passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]
