"""The drift report (``realservice.drift``): recordings of the stand-in with planted drift name every planted item
with its severity and nothing else; recordings of the project's own mock give an empty report."""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock import mock_dashscope
from dashscope_mock.http.serving import serve_in_thread
from dashscope_mock.realservice.drift import Report, build_report, run
from dashscope_mock.realservice.proxy import Proxy
from dashscope_mock.realservice.recording import Recorder, RecordingError, load_recordings
from dashscope_mock.testing import MockDashScope

from .conftest import HEADERS, KEY, LIVEPORTRAIT, Loop, proxied, run_task
from .standin import DRIFT, SUBMIT

# Polls past the stand-in's 3 s (and its 40 s when slower): every status is seen, and a slow RUNNING is measured.
LONG = (0.0, 0.6, 1.5, 3.5, 10.0, 20.0, 30.0, 41.0, 45.0)
NOFACE: dict[str, Any] = copy.deepcopy(LIVEPORTRAIT)
NOFACE["input"]["image_url"] = "https://example.com/noface.png"
SPEC_LINE = re.compile(r"^openapi/dashscope-video\.yaml:\d+$")

# What each planted item looks like in the report: (kind, a word of the message).
PLANTED: dict[str, tuple[str, str]] = {
    "extra_field": ("field", "output.trace_code"),
    "changed_message": ("message", "Invalid API key."),
    "no_usage": ("required", "usage.video_duration"),
    "queued": ("task_status", "'QUEUED'"),
    "html_500": ("shape", "not JSON"),
    "slower": ("timing", "RUNNING"),
    "new_code": ("code", "InvalidImage.FaceUnseen"),
}


def _exercise(loop: Loop) -> None:
    """What every drift test records: a task to its end, a failing one, a refused key, a task list."""
    run_task(loop, copy.deepcopy(LIVEPORTRAIT), LONG)
    run_task(loop, copy.deepcopy(NOFACE), LONG)
    with loop.client() as client:
        assert client.get("/api/v1/tasks/unknown-1", headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
        client.get("/api/v1/tasks")


def _recorded(directory: Path, drift: frozenset[str]) -> Report:
    with proxied(directory, drift=drift) as loop:
        _exercise(loop)
    return build_report(load_recordings(directory), profile="fast")


def _planted_item(finding: dict[str, Any]) -> str | None:
    for item, (kind, word) in PLANTED.items():
        if finding["kind"] == kind and word in finding["message"]:
            return item
    return None


def test_every_planted_item_is_known() -> None:
    assert set(PLANTED) == set(DRIFT)


@pytest.mark.parametrize("item", sorted(DRIFT))
def test_a_planted_item_is_reported_alone_with_its_severity(tmp_path: Path, item: str) -> None:
    report = _recorded(tmp_path, frozenset({item})).as_json()
    findings = report["findings"]
    assert findings, f"{item} was not reported"
    assert {_planted_item(f) for f in findings} == {item}, json.dumps(findings, indent=1)
    assert {f["severity"] for f in findings} == {DRIFT[item]}
    for finding in findings:
        assert SPEC_LINE.match(finding["spec_line"]), finding
        assert finding["recordings"] and all(name.endswith(".json") for name in finding["recordings"])
    assert report["summary"][DRIFT[item]] == len(findings) == report["summary"]["total"]


def test_all_planted_items_at_once_are_each_reported_with_their_severity(tmp_path: Path) -> None:
    findings = _recorded(tmp_path, frozenset(DRIFT)).as_json()["findings"]
    items = {_planted_item(f) for f in findings}
    assert items == set(DRIFT), json.dumps(findings, indent=1)
    for finding in findings:
        assert finding["severity"] == DRIFT[str(_planted_item(finding))]
        assert SPEC_LINE.match(finding["spec_line"])


def test_the_stand_in_without_drift_gives_an_empty_report(tmp_path: Path) -> None:
    report = _recorded(tmp_path, frozenset())
    assert report.findings == (), report.as_markdown()


# ---------------------------------------------------------------------------------------------------- the mock itself
def _mock_session(mock: MockDashScope, loop_url: str) -> None:
    """Through the proxy to the mock: a task to SUCCEEDED, a scripted FAILED one, a detect, a policy, an unknown
    task, a refused key."""
    plain = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=loop_url, headers=plain, timeout=30) as client:

        def task(body: dict[str, Any]) -> list[str]:
            task_id = client.post(SUBMIT, json=body, headers=HEADERS).json()["output"]["task_id"]
            seen, at = [], 0.0
            for offset in (0.0, 0.3, 1.0, 2.0, 3.0):
                mock.advance(offset - at)
                at = offset
                seen.append(client.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"])
            return seen

        assert task(copy.deepcopy(LIVEPORTRAIT))[-1] == "SUCCEEDED"
        mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
        assert task(copy.deepcopy(LIVEPORTRAIT))[-1] == "FAILED"
        detect = {"model": "liveportrait-detect", "input": {"image_url": "https://example.com/portrait.jpg"}}
        answer = client.post("/api/v1/services/aigc/image2video/face-detect", json=detect)
        assert answer.status_code == 200, answer.text
        policy = client.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"})
        assert policy.status_code == 200, policy.text
        unknown = client.get("/api/v1/tasks/0b5e3c1e-0000-4000-8000-000000000000")
        assert unknown.json()["output"]["task_status"] == "UNKNOWN"
        refused = client.get("/api/v1/tasks/whatever", headers={"Authorization": "Bearer sk-wrong"})
        assert refused.status_code == 401


@pytest.fixture(params=["kept", "hashed"])
def mock_recordings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Recordings of the mock through the proxy, inputs kept or hashed (replayed with placeholder URLs)."""
    with mock_dashscope(keys=frozenset({KEY}), profile="fast") as mock:
        proxy = Proxy(
            "http://127.0.0.1",
            recorder=Recorder(tmp_path, upstream="http://127.0.0.1", inputs=request.param),
            clock=mock.clock.now,
            wall=mock.clock.now,
            transport=mock.async_transport(),
        )
        with serve_in_thread(proxy, lifespan="on") as url:
            _mock_session(mock, url)
    yield tmp_path


def test_the_projects_own_mock_as_the_upstream_gives_an_empty_report(mock_recordings: Path) -> None:
    recordings = load_recordings(mock_recordings)
    assert sorted(r.operation for r in recordings) == sorted(
        ["createVideoSynthesis", "createVideoSynthesis", "detectFace", "getUploadPolicy", "getTask", "getTask"]
    )
    report = build_report(recordings, profile="fast")
    assert report.findings == (), report.as_markdown()
    assert report.as_json()["summary"]["total"] == 0
    assert "No drift" in report.as_markdown()


def test_the_mocks_recordings_against_the_realistic_profile_differ_only_in_timings(mock_recordings: Path) -> None:
    findings = build_report(load_recordings(mock_recordings), profile="realistic").as_json()["findings"]
    assert findings and {(f["severity"], f["kind"]) for f in findings} == {("info", "timing")}


def _edit(recording: Path, change: Any) -> None:
    data = json.loads(recording.read_text())
    change(data)
    recording.write_text(json.dumps(data))


def _first_task(directory: Path) -> Path:
    return next(r.path for r in load_recordings(directory) if r.kind == "task")


def test_a_status_order_the_mock_does_not_go_through_is_a_warning_from_the_mock(mock_recordings: Path) -> None:
    def regress(data: dict[str, Any]) -> None:
        data["polls"][1] = {
            "offset_seconds": data["polls"][1]["offset_seconds"],
            "status": 200,
            "task_status": "RUNNING",
        }
        data["polls"][2] = {
            "offset_seconds": data["polls"][2]["offset_seconds"],
            "status": 200,
            "task_status": "PENDING",
        }

    _edit(_first_task(mock_recordings), regress)
    findings = build_report(load_recordings(mock_recordings), profile="fast").as_json()["findings"]
    assert [(f["severity"], f["kind"], f["source"]) for f in findings] == [("warning", "task_status", "mock")]
    assert "PENDING → RUNNING → PENDING → RUNNING → SUCCEEDED" in findings[0]["message"]
    assert SPEC_LINE.match(findings[0]["spec_line"])


def test_a_difference_the_spec_check_names_is_not_repeated_by_the_mock(mock_recordings: Path) -> None:
    """The service accepted a template the spec does not know: a critical request finding, and not also the
    mock's 400 for the same submit."""
    _edit(_first_task(mock_recordings), lambda data: data["request"]["body"]["parameters"].update(template_id="odd"))
    findings = build_report(load_recordings(mock_recordings), profile="fast").as_json()["findings"]
    assert [(f["severity"], f["kind"], f["source"]) for f in findings] == [("critical", "request", "spec")]


def test_a_stored_finding_the_spec_no_longer_supports_is_dropped(mock_recordings: Path) -> None:
    stale = {"severity": "warning", "kind": "field", "message": "undocumented field output.gone", "where": "getTask"}
    _edit(_first_task(mock_recordings), lambda data: data.update(findings=[stale]))
    assert build_report(load_recordings(mock_recordings), profile="fast").findings == ()


def test_a_report_has_a_bound_on_its_recordings(mock_recordings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashscope_mock.realservice.drift.MAX_RECORDINGS", 2)
    with pytest.raises(RecordingError, match="a report compares at most 2"):
        build_report(load_recordings(mock_recordings), profile="fast")


# ---------------------------------------------------------------------------------------------------- outputs
@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("drifted")
    with proxied(directory, drift=frozenset({"extra_field", "slower"})) as loop:
        _exercise(loop)
    return directory


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("warning", 1), ("info", 1), ("never", 0)])
def test_the_exit_code_follows_the_threshold(drifted: Path, fail_on: Any, code: int) -> None:
    assert build_report(load_recordings(drifted), profile="fast").exit_code(fail_on) == code


def test_the_exit_code_of_info_alone(tmp_path: Path) -> None:
    report = _recorded(tmp_path, frozenset({"slower"}))
    assert [report.exit_code(t) for t in ("critical", "warning", "info", "never")] == [0, 0, 1, 0]
    with pytest.raises(ValueError, match="fail_on"):
        report.exit_code("fatal")  # type: ignore[arg-type]


def test_markdown_and_json_name_the_same_findings(drifted: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    markdown, as_json = tmp_path / "drift.md", tmp_path / "drift.json"
    code = run(drifted, profile="fast", fail_on="warning", markdown_path=markdown, json_path=as_json, stream=out)
    assert code == 1
    assert "1 warning, 1 info" in out.getvalue() and str(markdown) in out.getvalue()
    data = json.loads(as_json.read_text())
    text = markdown.read_text()
    assert data["summary"] == {**data["summary"], "critical": 0, "warning": 1, "info": 1, "total": 2}
    assert "## Warning (1)" in text and "## Info (1)" in text and "## Critical" not in text
    for finding in data["findings"]:
        assert finding["message"] in text and finding["spec_line"] in text
        assert all(name in text for name in finding["recordings"])
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(data["findings"])


def test_run_prints_the_markdown_without_a_path_and_refuses_a_bad_directory(drifted: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    assert run(drifted, profile="fast", fail_on="never", stream=out) == 0
    assert out.getvalue().startswith("# Drift report")
    with pytest.raises(RecordingError, match="not a directory of recordings"):
        run(tmp_path / "missing", stream=io.StringIO())


def test_the_report_is_deterministic(drifted: Path) -> None:
    first = build_report(load_recordings(drifted), profile="fast").as_json()
    assert build_report(load_recordings(drifted), profile="fast").as_json() == first
