"""The validating, recording proxy against a stand-in upstream (``standin``): what it forwards, what it finds,
what it writes, and what it refuses."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from dashscope_mock.http.serving import serve_in_thread
from dashscope_mock.realservice.proxy import VIOLATIONS_HEADER, Proxy, default_upstream
from dashscope_mock.realservice.recording import RecordingError, load_recordings

from .conftest import HEADERS, KEY, LIVEPORTRAIT, proxied, run_task
from .standin import SUBMIT, result_mp4


def _wait_for_result(directory: Path) -> dict[str, object]:
    """The task recording once the proxy has described its result (fetched in the background, real time)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = [r for r in load_recordings(directory) if r.kind == "task"]
        if tasks and "result" in tasks[0].data:
            return dict(tasks[0].data)
        time.sleep(0.05)
    raise AssertionError("the result was never described")


def test_a_task_is_recorded_as_a_timeline_with_its_result_described(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop:
        seen = run_task(loop, LIVEPORTRAIT)
        recording = _wait_for_result(tmp_path)
    assert seen == ["PENDING", "PENDING", "RUNNING", "SUCCEEDED"]
    polls = recording["polls"]
    assert isinstance(polls, list)
    assert [(p["offset_seconds"], p["task_status"]) for p in polls] == [
        (0.0, "PENDING"),
        (0.6, "PENDING"),
        (1.5, "RUNNING"),
        (3.5, "SUCCEEDED"),
    ]
    assert recording["request"]["body"] == LIVEPORTRAIT  # type: ignore[index]
    end = recording["end"]
    assert end["task_status"] == "SUCCEEDED"  # type: ignore[index]
    video_url = end["body"]["output"]["results"]["video_url"]  # type: ignore[index]
    assert "?" not in video_url and video_url.endswith(".mp4")  # the signed query string is stripped
    result = recording["result"]
    assert result["video_codec"] == "h264" and "mp4" in result["container"]  # type: ignore[index]
    assert (result["width"], result["height"]) == (128, 160)  # type: ignore[index]
    assert result["duration_seconds"] == pytest.approx(1.0, abs=0.15)  # type: ignore[index]
    assert "findings" not in recording  # the stand-in without drift answers as the spec says


def test_the_caller_gets_the_upstream_answer_unchanged(tmp_path: Path) -> None:
    with proxied(tmp_path, drift=frozenset({"extra_field"})) as loop, loop.client() as client:
        task_id = client.post(SUBMIT, json=LIVEPORTRAIT).json()["output"]["task_id"]
        through = client.get(f"/api/v1/tasks/{task_id}")
        direct = httpx.get(f"{loop.upstream}/api/v1/tasks/{task_id}", headers=HEADERS)
    assert through.status_code == direct.status_code == 200
    assert {k: v for k, v in through.json().items() if k != "request_id"} == {
        k: v for k, v in direct.json().items() if k != "request_id"
    }
    assert through.headers["content-type"] == direct.headers["content-type"]
    violations = json.loads(through.headers[VIOLATIONS_HEADER])
    assert violations == [{"severity": "warning", "kind": "field", "message": "undocumented field output.trace_code"}]


def test_an_answer_that_breaks_the_spec_is_logged_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with (
        proxied(tmp_path, drift=frozenset({"html_500"})) as loop,
        loop.client() as client,
        caplog.at_level(logging.WARNING, logger="dashscope_mock"),
    ):
        answer = client.get("/api/v1/tasks")
    assert answer.status_code == 500 and answer.headers["content-type"] == "text/html"
    assert "<h1>500" in answer.text  # forwarded as it came
    assert "proxy: listTasks: critical shape: HTTP 500: the answer is not JSON" in caplog.text
    [recording] = load_recordings(tmp_path)
    assert recording.data["response"]["body"]["text"].startswith("<html>")
    assert [f.kind for f in recording.findings()] == ["shape"]


def test_keys_and_signatures_never_reach_a_recording(tmp_path: Path) -> None:
    canary = "sk-canary-0123456789abcdef"
    with proxied(tmp_path) as loop, loop.client() as client:
        client.get("/api/v1/tasks/whatever", headers={"Authorization": f"Bearer {canary}"})
        client.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"})
        run_task(loop, LIVEPORTRAIT)
        _wait_for_result(tmp_path)
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert canary not in written and KEY not in written
    assert "sk-…cdef" in written  # the key as the mock shows keys
    for secret in ("c3RhbmRpbi1zaWduYXR1cmU=", "LTAIstandinKeyId", "eyJleHBpcmF0aW9uIjoi", "Signature=", "LTAIstandin"):
        assert secret not in written


def test_the_oss_form_post_goes_through_the_proxy_to_the_host_the_policy_named(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        policy = client.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"}).json()
        host = policy["data"]["upload_host"]
        assert host == f"{loop.url}/_upload/0"
        posted = httpx.post(host, data={"key": "dashscope-instant/x/face.png"}, files={"file": b"png"})
    assert posted.status_code == 204
    operations = [r.operation for r in load_recordings(tmp_path)]
    assert operations == ["getUploadPolicy", "postObject"]


def test_only_the_public_api_is_forwarded(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        for path in ("/_mock/clock", "/admin", "/_upload/7"):
            answer = client.get(path)
            assert answer.status_code == 404 and answer.json()["code"] == "NotFound"
            assert "x-request-id" in answer.headers
    assert load_recordings(tmp_path) == []


@pytest.mark.parametrize(
    ("upstream", "why"),
    [
        ("http://dashscope.aliyuncs.com", "only a loopback upstream may be plain http"),
        ("ftp://127.0.0.1", "is not an http(s) URL"),
        ("https://dashscope.aliyuncs.com/api/v1", "give the base URL only"),
    ],
)
def test_an_upstream_that_is_not_one_https_service_is_refused(upstream: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        Proxy(upstream)


def test_the_default_upstream_is_the_regions_documented_url() -> None:
    assert default_upstream("cn-beijing") == "https://dashscope.aliyuncs.com"
    assert default_upstream("ap-southeast-1") == "https://dashscope-intl.aliyuncs.com"
    with pytest.raises(ValueError, match="region 'mars-1' is not one of the spec's servers"):
        default_upstream("mars-1")


def test_a_recording_directory_past_its_budget_stops_recording_and_keeps_proxying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with proxied(tmp_path, max_bytes=3000) as loop, loop.client() as client:
        with caplog.at_level(logging.WARNING, logger="dashscope_mock"):
            answers = [client.get(f"/api/v1/tasks/unknown-{n}") for n in range(10)]
        assert loop.proxy.recorder is not None and loop.proxy.recorder.stopped
    assert [a.json()["output"]["task_status"] for a in answers] == ["UNKNOWN"] * 10
    assert caplog.text.count("recording stopped") == 1
    assert 0 < len(load_recordings(tmp_path)) < 10
    assert sum(path.stat().st_size for path in tmp_path.iterdir()) <= 3000


def test_a_corrupt_or_foreign_recording_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        client.get("/api/v1/tasks/unknown")
    [recording] = load_recordings(tmp_path)
    data = json.loads(recording.path.read_text())
    recording.path.write_text(json.dumps({**data, "version": 2}))
    with pytest.raises(RecordingError, match=rf"{recording.path.name}: version: 2 is not a version this mock reads"):
        load_recordings(tmp_path)
    del data["response"]["status"]
    recording.path.write_text(json.dumps(data))
    with pytest.raises(RecordingError, match=rf"{recording.path.name}: response: 'status' is a required property"):
        load_recordings(tmp_path)
    recording.path.write_text("{not json")
    with pytest.raises(RecordingError, match=rf"{recording.path.name}: not JSON"):
        load_recordings(tmp_path)


def test_a_cookie_the_upstream_sets_never_reaches_another_callers_request(tmp_path: Path) -> None:
    """The proxy keeps no cookie jar: one caller's session cookie is not sent upstream with another's requests."""
    received: list[str | None] = []

    async def upstream(scope: dict[str, object], receive: object, send: Callable[[object], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])  # type: ignore[call-overload]
        received.append(headers.get(b"cookie", b"").decode() or None)
        body = b'{"request_id": "r", "output": {"task_id": "t", "task_status": "UNKNOWN"}}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"set-cookie", b"session=alice; Path=/")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    with serve_in_thread(upstream) as url:
        proxy = Proxy(url)
        with serve_in_thread(proxy, lifespan="on") as through:
            for caller in ("sk-alice", "sk-bob"):
                answer = httpx.get(f"{through}/api/v1/tasks/t", headers={"Authorization": f"Bearer {caller}"})
                assert answer.headers["set-cookie"] == "session=alice; Path=/"  # passed on to its caller, unchanged
    assert received == [None, None]


def test_record_media_keeps_the_result_file_beside_its_recording(tmp_path: Path) -> None:
    with proxied(tmp_path, record_media=True) as loop:
        run_task(loop, LIVEPORTRAIT)
        recording = _wait_for_result(tmp_path)
    kept = tmp_path / str(recording["result"]["file"])  # type: ignore[index]
    assert kept.suffix == ".mp4" and kept.read_bytes() == result_mp4()
    assert recording["result"]["size_bytes"] == len(result_mp4())  # type: ignore[index]


def test_an_upload_through_the_proxy_reaches_the_mocks_oss_form(tmp_path: Path) -> None:
    """The OSS form post is streamed on with its Content-Length (the upload host refuses a chunked form): the SDK's
    upload through the proxy in front of the project's own mock gives an oss:// URL."""
    from dashscope_mock import mock_dashscope
    from dashscope_video import Client

    face = tmp_path / "face.png"
    face.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with mock_dashscope(media_checks=False) as mock, mock.serve() as upstream:
        proxy = Proxy(upstream)
        with serve_in_thread(proxy, lifespan="on") as url, Client(api_key=mock.key, base_url=url) as client:
            uploaded = client.uploads.upload(face, "liveportrait")
    assert uploaded.startswith("oss://")
