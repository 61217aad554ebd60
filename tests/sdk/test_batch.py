"""Batch runs against the in-process mock on its virtual clock (``lib.batch``, ``lib.manifest``).

The subprocess run that is killed with SIGKILL and resumed is in ``test_batch_subprocess.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashscope_mock.testing import MockDashScope, mock_dashscope
from dashscope_openapi import limits
from dashscope_video import AsyncClient
from dashscope_video.lib.batch import BatchReport, arun_batch
from dashscope_video.lib.batch_state import BatchState
from dashscope_video.lib.manifest import ManifestError, read_manifest

URL = "https://example.com/"
FAILING_CODE = "InvalidImage.NoHumanFace"


def url_job(n: int, model: str) -> dict[str, Any]:
    if model == "videoretalk":
        return {
            "model": model,
            "input": {"video_url": f"{URL}v{n}.mp4", "audio_url": f"{URL}a{n}.mp3"},
            "name": f"j{n}",
        }
    job: dict[str, Any] = {"model": model, "input": {"image_url": f"{URL}i{n}.png", "audio_url": f"{URL}a{n}.mp3"}}
    if model == "liveportrait":
        job["parameters"] = {"video_fps": 25}
    return {**job, "name": f"j{n}"}


def twenty_jobs() -> list[dict[str, Any]]:
    models = itertools.cycle(["liveportrait", "emo-v1", "videoretalk", "liveportrait"])
    return [url_job(n, next(models)) for n in range(20)]


def write_jsonl(path: Path, jobs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs), encoding="utf-8")
    return path


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=3) as instance:
        yield instance


def run(mock: MockDashScope, manifest: Path, out: Path, **options: Any) -> BatchReport:
    """The batch on the mock's virtual clock: each of the SDK's sleeps lets the mock's media work finish (with media
    checks on it runs for real), then moves the clock."""

    async def sleep(seconds: float) -> None:
        await mock.backend.drain()
        mock.advance(seconds)

    async def main() -> BatchReport:
        async with AsyncClient(
            mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=sleep
        ) as client:
            return await arun_batch(client, manifest, out, **options)

    return asyncio.run(main())


def in_flight_peaks(mock: MockDashScope) -> tuple[int, dict[str, int]]:
    """The most tasks in flight at once (submit to end, on the mock's clock), overall and per model."""
    tasks = [(t.submit_at, t.end_at, t.model) for t in _tasks(mock)]
    assert all(end is not None for _, end, _ in tasks), "every task ended"
    overall, per_model = 0, {}
    for start, _, _model in tasks:
        alive = [(s, e, m) for s, e, m in tasks if s <= start < e]
        overall = max(overall, len(alive))
        for name in {m for _, _, m in alive}:
            per_model[name] = max(per_model.get(name, 0), sum(1 for _, _, m in alive if m == name))
    return overall, per_model


class _Task:
    def __init__(self, data: dict[str, Any]) -> None:
        self.submit_at: float = data["submit_at"]
        self.end_at: float | None = data.get("end_at")
        self.model: str = data["model"]
        self.status: str = data["status"]
        self.code: str | None = data.get("code")


def _tasks(mock: MockDashScope) -> list[_Task]:
    with mock.client() as http:
        return [_Task(item) for item in http.get("/_mock/tasks").json()["data"]]


def submits(mock: MockDashScope) -> list[Any]:
    return [entry for entry in mock.requests("createVideoSynthesis") if entry.status == 200]


def test_twenty_jobs_within_the_limits_with_a_scenario_failing_some(mock: MockDashScope, tmp_path: Path) -> None:
    mock.scenario("liveportrait", FAILING_CODE, times=3)
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs())
    report = run(mock, manifest, tmp_path / "out", concurrency=3)

    failed = [r for r in report.results if r.state == "failed"]
    assert len(failed) == 3 and {r.code for r in failed} == {FAILING_CODE}
    assert all(r.model == "liveportrait" and r.message for r in failed)
    succeeded = [r for r in report.results if r.state == "succeeded"]
    assert len(succeeded) == 17 and not report.ok
    for result in succeeded:
        assert Path(str(result.output)).read_bytes()[4:8] == b"ftyp"  # an MP4 was downloaded
    assert len(submits(mock)) == 20  # one submit per job
    overall, per_model = in_flight_peaks(mock)
    assert overall <= 3
    assert per_model["videoretalk"] <= limits()["concurrency"]["videoretalk"] == 1
    assert overall == 3  # the cap was used, not just respected


def test_a_rerun_skips_what_is_done_and_retry_failed_resubmits_exactly_the_failed(
    mock: MockDashScope, tmp_path: Path
) -> None:
    mock.scenario("liveportrait", FAILING_CODE, times=2)
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs()[:8])
    first = run(mock, manifest, tmp_path / "out")
    failed = {r.name for r in first.results if r.state == "failed"}
    assert len(failed) == 2 and len(submits(mock)) == 8

    again = run(mock, manifest, tmp_path / "out")
    assert again.results == first.results and len(submits(mock)) == 8  # nothing submitted again

    retried = run(mock, manifest, tmp_path / "out", retry_failed=True)
    assert retried.ok
    assert len(submits(mock)) == 10  # exactly the two failed jobs
    resubmitted = {r.name for r in retried.results if r.task_id not in {f.task_id for f in first.results}}
    assert resubmitted == failed


def test_a_changed_line_is_a_new_job(mock: MockDashScope, tmp_path: Path) -> None:
    jobs = twenty_jobs()[:2]
    manifest = write_jsonl(tmp_path / "jobs.jsonl", jobs)
    assert run(mock, manifest, tmp_path / "out").ok
    jobs[1]["input"]["audio_url"] = f"{URL}other.mp3"
    write_jsonl(manifest, jobs)
    assert run(mock, manifest, tmp_path / "out").ok
    assert len(submits(mock)) == 3


def test_a_lost_submit_answer_is_settled_from_the_task_list(mock: MockDashScope, tmp_path: Path) -> None:
    """A crash between a submit and its recorded answer: the task it created is adopted, not submitted again."""
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs()[:2])
    jobs = read_manifest(manifest)
    out = tmp_path / "out"
    with mock.client(headers=mock.headers) as http:
        baseline = ""
        state = BatchState(out)
        record = state.add(jobs[0].key, jobs[0].line, jobs[0].name, jobs[0].model)
        state.begin_submit(record.key, baseline)  # the submit below "landed" but its answer was never recorded
        state.close()
        body = {"model": jobs[0].model, "input": dict(jobs[0].inputs), "parameters": jobs[0].parameters}
        landed = http.post(
            "/api/v1/services/aigc/image2video/video-synthesis/", json=body, headers={"X-DashScope-Async": "enable"}
        ).json()["output"]["task_id"]
    report = run(mock, manifest, out)
    assert report.ok
    assert report.results[0].task_id == landed
    assert len(submits(mock)) == 2  # the landed one and the second job's: none twice


def test_a_submit_that_never_landed_is_sent_once_on_resume(mock: MockDashScope, tmp_path: Path) -> None:
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs()[:1])
    job = read_manifest(manifest)[0]
    state = BatchState(tmp_path / "out")
    state.add(job.key, job.line, job.name, job.model)
    state.begin_submit(job.key, "")
    state.close()
    assert run(mock, manifest, tmp_path / "out").ok
    assert len(submits(mock)) == 1


def test_bad_manifests_name_the_line_and_field_before_anything_is_sent(mock: MockDashScope, tmp_path: Path) -> None:
    lines = [
        json.dumps({"model": "liveportrait", "input": {"image_url": "missing.png", "audio_url": f"{URL}a.mp3"}}),
        json.dumps(
            {
                "model": "liveportrait",
                "input": {"image_url": f"{URL}i.png", "audio_url": f"{URL}a.mp3"},
                "parameters": {"video_fps": 99, "video_fsp": 24},
            }
        ),
        "{not json",
        json.dumps({"model": "emo", "input": {}}),
        json.dumps({"model": "videoretalk", "input": {"video_url": f"{URL}v.mp4"}}),
        json.dumps(
            {"model": "liveportrait", "input": {"image_url": f"{URL}i.png", "audio_url": f"{URL}a.mp3"}, "ratio": "3:4"}
        ),
    ]
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        run(mock, manifest, tmp_path / "out")
    problems = caught.value.problems
    assert problems == [
        "line 1: input.image_url: no such file: " + str(tmp_path / "missing.png"),
        "line 2: parameters: Additional properties are not allowed ('video_fsp' was unexpected)",
        "line 2: parameters.video_fps: 99 is greater than the maximum of 30",
        "line 3: not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "line 4: model: 'emo' is not one of liveportrait, emo-v1, videoretalk",
        "line 5: input: 'audio_url' is a required property",
        "line 6: ratio: only emo-v1 jobs take a ratio, one of 1:1, 3:4",
    ]
    assert mock.requests() == []  # nothing was sent
    assert not (tmp_path / "out").exists()


def test_a_csv_manifest_converts_cells_to_the_schemas_types(tmp_path: Path) -> None:
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "model,name,input.image_url,input.audio_url,input.face_bbox,input.ext_bbox,parameters.video_fps,"
        "parameters.paste_back\n"
        f"liveportrait,a,{URL}i.png,{URL}a.mp3,,,25,false\n"
        f'emo-v1,b,{URL}i.png,{URL}a.mp3,"1,2,3,4","0,0,9,9",,\n',
        encoding="utf-8",
    )
    first, second = read_manifest(manifest)
    assert first.parameters == {"video_fps": 25, "paste_back": False} and first.name == "a"
    assert second.inputs["face_bbox"] == [1, 2, 3, 4] and not second.needs_detection


def test_local_files_with_media_checks_on(tmp_path: Path) -> None:
    """A small set with real media: local files are uploaded once per model, checked by the mock, and resumed
    without uploading again."""
    from tests.media import factory

    image = tmp_path / "face.png"
    image.write_bytes(factory.image_bytes(factory.canvas(640, 704, (64, 52))))
    audio = tmp_path / "voice.wav"
    audio.write_bytes(factory.wav_bytes(3.0))
    video = tmp_path / "talk.mp4"
    video.write_bytes(factory.video_bytes(3.0))
    jobs = [
        {"model": "liveportrait", "input": {"image_url": "face.png", "audio_url": "voice.wav"}, "name": "lp"},
        {"model": "emo-v1", "input": {"image_url": "face.png", "audio_url": "voice.wav"}, "name": "emo"},
        {"model": "videoretalk", "input": {"video_url": "talk.mp4", "audio_url": "voice.wav"}, "name": "vr"},
    ]
    manifest = write_jsonl(tmp_path / "jobs.jsonl", jobs)
    with mock_dashscope(seed=1, media_checks=True) as mock:
        report = run(mock, manifest, tmp_path / "out", concurrency=2)
        assert report.ok, report.results
        uploads = len(mock.requests("postObject"))
        assert run(mock, manifest, tmp_path / "out").ok
        assert len(mock.requests("postObject")) == uploads  # resumed: nothing uploaded again
    assert {p.name for p in (tmp_path / "out").glob("*.mp4")} == {"lp.mp4", "emo.mp4", "vr.mp4"}


def test_the_cli_reports_each_job_and_retry_failed_resubmits_only_those(
    mock: MockDashScope, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dashscope_video import cli

    mock.scenario("emo-v1", "InvalidFile.FacePose", times=1)
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs()[:4])
    argv = ["--api-key", mock.key, "--base-url", mock.base_url, "--quiet", "batch", str(manifest), "--json"]

    def batch(*extra: str) -> tuple[int, list[dict[str, Any]]]:
        code = cli.main([*argv, *extra], async_transport=mock.async_transport(), clock=_VirtualClock(mock))
        return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    code, results = batch()
    assert code == cli.EXIT_TASK
    assert [r["state"] for r in results] == ["succeeded", "failed", "succeeded", "succeeded"]
    assert results[1]["code"] == "InvalidFile.FacePose" and results[1]["model"] == "emo-v1"
    assert (tmp_path / "jobs-out" / "j0.mp4").is_file()  # the default output folder sits next to the manifest
    code, results = batch("--retry-failed")
    assert code == cli.EXIT_OK and all(r["state"] == "succeeded" for r in results)
    assert len(submits(mock)) == 5


class _VirtualClock:
    """The mock's clock as the SDK's ``Clock``: sleeping moves it."""

    def __init__(self, mock: MockDashScope) -> None:
        self.mock = mock

    def monotonic(self) -> float:
        return float(self.mock.backend.now())

    def sleep(self, seconds: float) -> None:
        self.mock.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.mock.advance(seconds)
        await asyncio.sleep(0)
