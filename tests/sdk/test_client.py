"""The SDK against the in-memory fake (``fakes.py``): retries, waiting, uploads, downloads, detection."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

from dashscope_video import Client, PollPolicy, WaitProgress, errors, liveportrait_request
from dashscope_video_client.models import LivePortraitInput, LivePortraitRequest

from .fakes import UPLOAD_HOST, FakeDashScope, after_forwarding, before_forwarding

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"


def remote_request() -> LivePortraitRequest:
    return liveportrait_request("https://x.test/face.png", "https://x.test/voice.mp3")


# ---------------------------------------------------------------------------------------------- submit retries
def test_submit_not_retried_after_a_read_timeout(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(after_forwarding(fake, httpx.ReadTimeout))
    with pytest.raises(errors.APITimeoutError):
        client.submit(remote_request())
    assert len(fake.tasks) == 1  # the service did create it; a retry would have made (and billed) a second one


@pytest.mark.parametrize("status", [500, 503])
def test_submit_not_retried_on_5xx(fake: FakeDashScope, client: Client, status: int) -> None:
    fake.faults.append(lambda r: fake.error(status, "InternalError"))
    with pytest.raises(errors.InternalServerError):
        client.submit(remote_request())
    assert len(fake.requests("POST", SUBMIT)) == 1


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_submit_retried_when_the_request_never_left(
    fake: FakeDashScope, client: Client, error: type[httpx.TransportError]
) -> None:
    fake.faults += [before_forwarding(error), before_forwarding(error)]
    submitted = client.submit(remote_request())
    assert list(fake.tasks) == [submitted.output.task_id]
    assert len(fake.clock.sleeps) == 2


def test_submit_gives_up_after_bounded_connect_retries(fake: FakeDashScope, client: Client) -> None:
    fake.faults += [before_forwarding(httpx.ConnectError)] * 10
    with pytest.raises(errors.APIConnectionError):
        client.submit(remote_request())
    assert len(fake.clock.sleeps) == client.retry.max_retries and not fake.tasks


def test_submit_sends_async_header_and_typed_parameters(fake: FakeDashScope, client: Client) -> None:
    client.submit_liveportrait("https://x.test/a.png", "https://x.test/a.mp3", video_fps=25, template_id="calm")
    entry = fake.requests("POST", SUBMIT)[0]
    assert entry.headers["x-dashscope-async"] == "enable"
    assert "x-dashscope-ossresourceresolve" not in entry.headers
    body = json.loads(entry.body)
    assert body["parameters"]["video_fps"] == 25 and body["parameters"]["template_id"] == "calm"


# ---------------------------------------------------------------------------------------------- other retries
def test_get_retried_on_429_with_retry_after(fake: FakeDashScope, client: Client) -> None:
    task = client.submit(remote_request())
    fake.faults += [
        lambda r: fake.error(429, "Throttling.RateQuota", headers={"Retry-After": "7"}),
        lambda r: fake.error(500, "InternalError"),
    ]
    before = len(fake.clock.sleeps)
    assert client.get(task).output.task_id == task.output.task_id
    sleeps = [s for s in fake.clock.sleeps[before:] if s > 0.06]
    assert sleeps[0] >= 7.0 and len(sleeps) == 2


def test_get_not_retried_on_a_non_retryable_429(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(429, "Throttling.AllocationQuota"))
    with pytest.raises(errors.RateLimitError) as caught:
        client.get("t")
    assert isinstance(caught.value, errors.Throttling) and not caught.value.retryable
    assert len(fake.requests("GET", "/api/v1/tasks/")) == 1


def test_get_retried_on_read_timeout_then_raises(fake: FakeDashScope, client: Client) -> None:
    fake.faults += [after_forwarding(fake, httpx.ReadTimeout)] * 10
    with pytest.raises(errors.APITimeoutError):
        client.get("t")


def test_auth_error(fake: FakeDashScope) -> None:
    bad = Client("sk-wrong", base_url="https://dashscope.test", transport=fake.transport())
    with bad, pytest.raises(errors.AuthenticationError) as caught:
        bad.get("t")
    assert caught.value.code == "InvalidApiKey" and isinstance(caught.value, errors.InvalidApiKey)


def test_cancel_and_list_pages(fake: FakeDashScope, client: Client) -> None:
    ids = [client.submit(remote_request()).output.task_id for _ in range(5)]
    client.cancel(ids[0])
    assert client.get(ids[0]).output.task_status == "CANCELED"
    with pytest.raises(errors.BadRequestError) as caught:
        client.cancel(ids[0])
    assert caught.value.code == "UnsupportedOperation"
    assert client.list(page_size=2).total == 5
    assert [item.task_id for item in client.iter_tasks(page_size=2)] == ids


# ---------------------------------------------------------------------------------------------- wait
def test_wait_polls_with_growing_jittered_intervals(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING"), (10, "RUNNING"), (60, "SUCCEEDED")]
    task = client.submit(remote_request())
    seen: list[WaitProgress] = []
    done = client.wait(task, on_progress=seen.append)
    assert done.output.task_status == "SUCCEEDED"
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    policy = client.poll
    for n, gap in enumerate(gaps):
        nominal = min(policy.max_interval, policy.initial_interval * policy.multiplier**n)
        assert nominal * (1 - policy.jitter) - 1e-9 <= gap <= nominal + 0.06, (n, gap)
    assert max(gaps) <= policy.max_interval + 0.06
    assert seen[-1].status == "SUCCEEDED" and seen[-1].polls == len(times)
    assert {p.status for p in seen} >= {"PENDING", "RUNNING", "SUCCEEDED"}


def test_wait_keeps_polling_through_transient_errors_and_honours_retry_after(
    fake: FakeDashScope, client: Client
) -> None:
    task = client.submit(remote_request())
    fake.faults += [
        lambda r: fake.error(429, "Throttling.RateQuota", headers={"Retry-After": "4"}),
        lambda r: fake.error(503, "ModelUnavailable"),
        before_forwarding(httpx.ConnectError),
        after_forwarding(fake, httpx.ReadTimeout),
    ]
    errors_seen: list[str] = []
    client.wait(task, on_progress=lambda p: errors_seen.append(type(p.error).__name__) if p.error else None)
    assert errors_seen[:2] == ["RateLimitError[Throttling]", "InternalServerError[ModelUnavailable]"]
    polls = fake.requests("GET", "/api/v1/tasks/")
    assert polls[1].at - polls[0].at >= 4.0  # the 429's Retry-After


def test_wait_failed_raises_with_catalogue_code(fake: FakeDashScope, client: Client) -> None:
    fake.next_failure = ("InvalidImage.NoHumanFace", "No human face detected.")
    task = client.submit(remote_request())
    with pytest.raises(errors.TaskFailed) as caught:
        client.wait(task)
    exc = caught.value
    assert exc.code == "InvalidImage.NoHumanFace" and exc.message == "No human face detected."
    assert isinstance(exc, errors.InvalidImage) and exc.request_id == "r-get" and exc.task is not None


def test_wait_unknown_and_canceled(fake: FakeDashScope, client: Client) -> None:
    with pytest.raises(errors.TaskNotFound):
        client.wait("no-such-task")
    task = client.submit(remote_request())
    client.cancel(task)
    with pytest.raises(errors.TaskCanceled):
        client.wait(task)


def test_wait_tolerates_unknown_statuses(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING"), (1, "QUEUED-SOMEWHERE-NEW"), (3, "SUSPENDED"), (6, "SUCCEEDED")]
    task = client.submit(remote_request())
    statuses: list[str | None] = []
    client.wait(task, on_progress=lambda p: statuses.append(p.status))
    assert "QUEUED-SOMEWHERE-NEW" in statuses and statuses[-1] == "SUCCEEDED"


def test_wait_deadline_and_cancel_on_timeout(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING")]
    task = client.submit(remote_request())
    start = fake.clock.t
    with pytest.raises(errors.WaitTimeout) as caught:
        client.wait(task, timeout=30, cancel_on_timeout=True)
    exc = caught.value
    assert exc.last_status == "PENDING" and exc.canceled and exc.task_id == task.output.task_id
    polls = fake.requests("GET", "/api/v1/tasks/")
    assert all(e.at <= start + 30 + 1e-9 for e in polls) and polls[-1].at == pytest.approx(start + 30)
    assert fake.clock.t - start == pytest.approx(30, abs=0.1)
    assert fake.tasks[task.output.task_id].canceled


def test_wait_custom_poll_policy(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "RUNNING"), (100, "SUCCEEDED")]
    task = client.submit(remote_request())
    client.wait(task, poll=PollPolicy(initial_interval=5, max_interval=5, jitter=0))
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    assert {round(b - a, 3) for a, b in itertools.pairwise(times)} == {5.0}


def test_wait_does_not_swallow_auth_errors(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(401, "InvalidApiKey"))
    with pytest.raises(errors.AuthenticationError):
        client.wait("t")


# ---------------------------------------------------------------------------------------------- uploads
def test_local_files_are_uploaded_per_model_with_resolve_header(
    fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]
) -> None:
    image, audio, _ = files
    client.submit_liveportrait(image, audio)
    entry = fake.requests("POST", SUBMIT)[0]
    assert entry.headers["x-dashscope-ossresourceresolve"] == "enable"
    inp = json.loads(entry.body)["input"]
    assert inp["image_url"].startswith("oss://dashscope-instant/liveportrait/1/")
    assert inp["image_url"].endswith("-face.png") and inp["audio_url"].endswith("-voice.mp3")
    assert fake.uploads[inp["image_url"][len("oss://") :]] == image.read_bytes()
    assert fake.policies == 1  # one policy for both files
    names = [name for name, _ in fake.upload_forms[0]]
    assert names == [
        "OSSAccessKeyId",
        "Signature",
        "policy",
        "key",
        "x-oss-object-acl",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "x-oss-content-type",
        "file",
    ]
    assert dict(fake.upload_forms[0])["success_action_status"] == "200"
    for upload in fake.requests("POST", "/upload"):
        assert "authorization" not in upload.headers  # the key never goes to the upload host
    # the same file for another model is uploaded again, under that model's policy
    client.detect_emo(image)
    assert fake.policies == 2
    detect = fake.requests("POST", "/api/v1/services/aigc/image2video/face-detect")[0]
    assert json.loads(detect.body)["input"]["image_url"].startswith("oss://dashscope-instant/emo-detect-v1/")
    assert detect.headers["x-dashscope-ossresourceresolve"] == "enable"


def test_same_basename_never_collides(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "face.png", tmp_path / "b" / "face.png"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    url1, url2 = client.upload(first, "liveportrait"), client.upload(second, "liveportrait")
    assert url1 != url2 and fake.policies == 1
    assert fake.uploads[url1[6:]] == b"one" and fake.uploads[url2[6:]] == b"two"


def test_policy_renewed_when_expired(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    for n in range(3):
        path = tmp_path / f"f{n}.wav"
        path.write_bytes(b"x")
        client.upload(path, "emo-v1")
        fake.clock.t += 200  # 300 s policies: the third upload needs a new one
    assert fake.policies == 2


def test_file_url_and_missing_file(fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]) -> None:
    image, audio, _ = files
    request = LivePortraitRequest(model="liveportrait", input_=LivePortraitInput(image.as_uri(), str(audio)))
    client.submit(request)
    inp = json.loads(fake.requests("POST", SUBMIT)[0].body)["input"]
    assert inp["image_url"].startswith("oss://") and inp["audio_url"].startswith("oss://")
    with pytest.raises(FileNotFoundError):
        client.submit_liveportrait(image.with_name("missing.png"), audio)
    with pytest.raises(ValueError, match="scheme"):
        client.submit_liveportrait("ftp://x/y.png", audio)


def test_upload_too_large(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(b"x" * (2 * 1024 * 1024))  # the fake's policy allows 1 MB
    with pytest.raises(errors.UploadError):
        client.upload(big, "liveportrait")
    assert not fake.requests("POST", "/upload")


def test_upload_post_is_not_sent_to_dashscope_host(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"x")
    client.upload(path, "liveportrait")
    posts = [e for e in fake.journal if e.path == "/upload"]
    assert posts and str(UPLOAD_HOST).endswith(posts[0].path)


# ---------------------------------------------------------------------------------------------- download
def test_download_atomic_and_expired(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    done = client.wait(client.submit(remote_request()))
    out = client.download(done, tmp_path / "sub" / "out.mp4")
    assert out.read_bytes() == fake.video
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]
    fake.clock.t += 25 * 3600
    target = tmp_path / "late.mp4"
    with pytest.raises(errors.ResultExpired) as caught:
        client.download(done, target)
    assert caught.value.status == 403 and "24" in str(caught.value)
    assert not target.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_download_no_auth_header_and_no_result(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    done = client.wait(client.submit(remote_request()))
    client.download(done, tmp_path / "o.mp4")
    assert "authorization" not in fake.requests("GET", "/results/")[0].headers
    pending = client.get(client.submit(remote_request()))
    with pytest.raises(errors.DownloadError):
        client.download(pending, tmp_path / "p.mp4")


# ---------------------------------------------------------------------------------------------- detect + emo
def test_emo_runs_detection_first(fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]) -> None:
    image, audio, _ = files
    client.submit_emo(image, audio, ratio="3:4")
    detect, submit = fake.requests("POST", "/api/v1/services")
    assert json.loads(detect.body)["parameters"] == {"ratio": "3:4"}
    body = json.loads(submit.body)
    assert body["input"]["face_bbox"] == [1, 2, 3, 4] and body["input"]["ext_bbox"] == [0, 0, 8, 8]
    assert "x-dashscope-async" not in detect.headers


def test_detection_rejection_as_400_is_a_verdict(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "The input image has no human body."))
    verdict = client.detect_emo("https://x.test/cat.png")
    assert not verdict.passed and verdict.code == "InvalidFile.NoHuman" and verdict.error is not None
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "no human"))
    from dashscope_video import DetectionRejected

    with pytest.raises(DetectionRejected):
        client.submit_emo("https://x.test/cat.png", "https://x.test/a.mp3")
    assert not fake.requests("POST", SUBMIT)
    assert client.detect_liveportrait("https://x.test/face.png").passed
