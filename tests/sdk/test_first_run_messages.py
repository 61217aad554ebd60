"""What a new user reads on a first run: batch progress, a missing key, a refused connection, a bad manifest line and
the mock's install hint must each say something true and useful (never ``None``, never the library's own words on
the command line)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock import _entry
from dashscope_mock.testing import MockDashScope, mock_dashscope
from dashscope_video import AsyncClient, Client, JobResult, cli, errors, read_manifest
from dashscope_video._cli_batch import BatchDisplay
from dashscope_video.lib.batch import BatchProgress, arun_batch
from dashscope_video.lib.manifest import ManifestError

URL = "https://example.com/"


def liveportrait_job(n: int) -> dict[str, Any]:
    return {"model": "liveportrait", "input": {"image_url": f"{URL}i{n}.png", "audio_url": f"{URL}a{n}.mp3"}}


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- 3. batch progress
def progress_of(job: JobResult) -> BatchProgress:
    return BatchProgress(total=2, done=0, failed=0, running=1, queued=1, elapsed=3.0, eta_seconds=None, changed=job)


@pytest.mark.parametrize(
    ("state", "task_id", "code", "message", "expected"),
    [
        ("submitted", "t-1", None, None, "submitted t-1"),
        ("queued", None, None, None, "queued"),
        ("submitting", None, None, None, "submitting"),
        ("failed", "t-2", "InvalidFile.FacePose", "The face is turned away.", "InvalidFile.FacePose: The face is"),
        ("unknown", None, None, "its submit may have landed", "unknown its submit may have landed"),
        ("failed", None, "TaskCanceled", None, "failed TaskCanceled"),
    ],
)
def test_the_progress_line_off_a_terminal_says_the_jobs_state_and_never_none(
    state: Any, task_id: str | None, code: str | None, message: str | None, expected: str
) -> None:
    stream = io.StringIO()  # not a terminal: one line per change
    job = JobResult(1, "ann", "liveportrait", state, task_id, None, code, message)
    BatchDisplay(stream, enabled=True)(progress_of(job))
    line = stream.getvalue()
    assert "None" not in line, line
    assert expected in line and line.startswith("[     3s] line 1 ann (liveportrait) ")


def test_an_interrupted_batch_reports_each_job_with_its_task_id(tmp_path: Path) -> None:
    """Ctrl-C cancels the run while the jobs are in flight: each job's last line names its task."""
    manifest = write_jsonl(tmp_path / "jobs.jsonl", [json.dumps(liveportrait_job(n)) for n in range(3)])
    stream = io.StringIO()

    async def main(mock: MockDashScope) -> None:
        run = asyncio.current_task()
        assert run is not None

        async def sleep(seconds: float) -> None:
            if len([e for e in mock.requests("createVideoSynthesis") if e.status == 200]) == 3:
                run.cancel()  # what asyncio.run does on Ctrl-C
            mock.advance(seconds)

        async with AsyncClient(mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=sleep) as c:
            await arun_batch(c, manifest, tmp_path / "out", on_progress=BatchDisplay(stream, enabled=True))

    with mock_dashscope(seed=4) as mock:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(main(mock))
        with mock.client() as http:
            task_ids = [task["task_id"] for task in http.get("/_mock/tasks").json()["data"]]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "None" not in stream.getvalue(), lines
    assert all(" submitted " in line for line in lines), lines
    assert all(any(task_id in line for task_id in task_ids) for line in lines), lines


# ------------------------------------------------------------------------------------------- 4. missing key
@pytest.mark.parametrize("command", [["status", "some-task"], ["batch", "jobs.jsonl"]])
def test_the_cli_names_its_own_option_when_the_key_is_missing(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "jobs.jsonl", [json.dumps(liveportrait_job(1))])
    assert cli.main(command) == cli.EXIT_AUTH
    said = capsys.readouterr().err
    assert "--api-key" in said and "DASHSCOPE_API_KEY" in said, said
    assert "api_key=" not in said, said


def test_the_library_still_speaks_python_when_the_key_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError, match=r"api_key=\.\.\. or set DASHSCOPE_API_KEY"):
        Client()


# ------------------------------------------------------------------------------------------- 5. connection errors
def refusing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def test_a_connection_error_names_scheme_host_and_port_but_no_secret() -> None:
    base_url = "http://user:hunter2@127.0.0.1:8123"
    client = Client("sk-secretkey", base_url=base_url, transport=httpx.MockTransport(refusing), sleep=lambda s: None)
    with client, pytest.raises(errors.APIConnectionError) as caught:
        client.tasks.list(status="RUNNING")
    said = str(caught.value)
    assert "http://127.0.0.1:8123/api/v1/tasks" in said, said
    for secret in ("hunter2", "user", "sk-secretkey", "status=", "RUNNING", "?"):
        assert secret not in said, (secret, said)


def test_a_default_port_is_named_too_and_a_signed_links_query_is_not(tmp_path: Path) -> None:
    signed = "https://results.example.com/v/1.mp4?Expires=1&OSSAccessKeyId=LTAIkey&Signature=abc"
    client = Client("sk-test", base_url=URL, transport=httpx.MockTransport(refusing), sleep=lambda s: None)
    with client, pytest.raises(errors.APIConnectionError) as caught:
        client.tasks.download(signed, tmp_path / "v.mp4")
    said = str(caught.value)
    assert "https://results.example.com:443/v/1.mp4" in said, said
    assert "Signature" not in said and "LTAIkey" not in said, said


# ------------------------------------------------------------------------------------------- 6. manifest extent
def test_a_bad_manifest_says_how_many_lines_are_fine(tmp_path: Path) -> None:
    lines = [json.dumps(liveportrait_job(n)) for n in range(20)]
    lines[4] = "{not json"
    lines[11] = json.dumps({**liveportrait_job(11), "parameters": {"video_fps": 99, "video_fsp": 1}})
    with pytest.raises(ManifestError) as caught:
        read_manifest(write_jsonl(tmp_path / "jobs.jsonl", lines))
    said = str(caught.value)
    assert "2 of 20 lines have problems; the other 18 are valid" in said, said
    assert len(caught.value.problems) == 3  # line 12 has two
    assert (caught.value.lines_read, caught.value.lines_with_problems) == (20, 2)


def test_one_bad_line_of_one_and_every_line_bad(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"1 of 2 lines has problems; the other 1 is valid"):
        read_manifest(write_jsonl(tmp_path / "one.jsonl", [json.dumps(liveportrait_job(1)), "[]"]))
    with pytest.raises(ManifestError, match=r"2 of 2 lines have problems; none is valid"):
        read_manifest(write_jsonl(tmp_path / "all.jsonl", ["[]", "{oops"]))


def test_the_cli_shows_the_extent_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps(liveportrait_job(n)) for n in range(3)] + ["{not json"]
    manifest = write_jsonl(tmp_path / "jobs.jsonl", lines)
    with mock_dashscope(seed=5) as mock:
        argv = ["--api-key", mock.key, "--base-url", mock.base_url, "batch", str(manifest)]
        assert cli.main(argv, async_transport=mock.async_transport()) == cli.EXIT_USAGE
        assert mock.requests() == []
    assert "1 of 4 lines has problems; the other 3 are valid" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- 7. install hint
def test_the_install_hint_gives_forms_that_install_without_an_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_entry, "installed_from", lambda: None)
    hint = _entry.install_hint()
    assert "pip install '.[mock]'" in hint  # from a checkout
    assert "pip install 'dashscope-portrait-video[mock] @ file:///" in hint  # from anywhere, by path
    assert "pip install 'dashscope-portrait-video[mock]'" in hint  # the name form, for an index that has it


@pytest.mark.parametrize("editable", [True, False])
def test_the_install_hint_names_the_checkout_this_install_came_from(
    editable: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_entry, "installed_from", lambda: (tmp_path, editable))
    expected = f"pip install -e '{tmp_path}[mock]'" if editable else f"pip install '{tmp_path}[mock]'"
    assert expected in _entry.install_hint()


def test_the_mock_command_without_the_extra_prints_the_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_entry, "missing_mock_modules", lambda: ["connexion"])
    assert _entry.main(["serve"]) == 1
    said = capsys.readouterr().err
    assert _entry.install_hint() in said and "missing: connexion" in said
    error = _entry.mock_extra_error(ModuleNotFoundError("No module named 'connexion'", name="connexion"))
    assert error is not None and _entry.install_hint() in str(error)
