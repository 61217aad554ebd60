"""The SDK against the in-memory fake (``fakes.py``): retries, waiting, uploads, downloads, detection.

Detection and emo's detect-first submit are in ``test_unit_detect.py``; typed results, list/iter and parameters in
``test_unit_tasks.py``; sync/async parity and the query limiter in ``test_unit_async.py``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

from dashscope_video import (
    Client,
    LivePortraitParameters,
    LivePortraitResult,
    PollPolicy,
    SucceededTask,
    Task,
    TaskFailure,
    TaskHandle,
    WaitProgress,
    errors,
)

from .fakes import BASE, UPLOAD_HOST, FakeDashScope, after_forwarding, before_forwarding

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
DETECT = "/api/v1/services/aigc/image2video/face-detect"
IMAGE, AUDIO = "https://x.test/face.png", "https://x.test/voice.mp3"


def submit(client: Client) -> TaskHandle[LivePortraitResult]:
    return client.video_synthesis.liveportrait(IMAGE, AUDIO)


# ---------------------------------------------------------------------------------------------- submit retries
def test_submit_not_retried_after_a_read_timeout(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(after_forwarding(fake, httpx.ReadTimeout))
    with pytest.raises(errors.APITimeoutError):
        submit(client)
    assert len(fake.tasks) == 1  # the service did create it; a retry would have made (and billed) a second one
    assert len(fake.requests("POST", SUBMIT)) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_submit_not_retried_on_5xx(fake: FakeDashScope, client: Client, status: int) -> None:
    fake.faults.append(lambda r: fake.error(status, "InternalError"))
    with pytest.raises(errors.InternalServerError):
        submit(client)
    assert len(fake.requests("POST", SUBMIT)) == 1


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_submit_retried_when_the_request_never_left(
    fake: FakeDashScope, client: Client, error: type[httpx.TransportError]
) -> None:
    fake.faults += [before_forwarding(error), before_forwarding(error)]
    handle = submit(client)
    assert list(fake.tasks) == [handle.task_id]
    assert len(fake.clock.sleeps) == 2


def test_submit_gives_up_after_bounded_connect_retries(fake: FakeDashScope, client: Client) -> None:
    fake.faults += [before_forwarding(httpx.ConnectError)] * 10
    with pytest.raises(errors.APIConnectionError):
        submit(client)
    assert len(fake.clock.sleeps) == client.retry.max_retries and not fake.tasks
    assert len(fake.journal) == client.retry.max_retries + 1


def test_submit_sends_async_header_and_typed_parameters(fake: FakeDashScope, client: Client) -> None:
    params = LivePortraitParameters(video_fps=25, template_id="calm")
    handle = client.video_synthesis.liveportrait("https://x.test/a.png", "https://x.test/a.mp3", parameters=params)
    entry = fake.requests("POST", SUBMIT)[0]
    assert entry.headers["x-dashscope-async"] == "enable"
    assert "x-dashscope-ossresourceresolve" not in entry.headers
    body = json.loads(entry.body)
    assert body["model"] == "liveportrait"
    assert body["input"] == {"image_url": "https://x.test/a.png", "audio_url": "https://x.test/a.mp3"}
    assert body["parameters"]["video_fps"] == 25 and body["parameters"]["template_id"] == "calm"
    # the submit answer becomes a handle typed for the model (was: SubmitResponse.output.task_id)
    assert handle == TaskHandle(next(iter(fake.tasks)), LivePortraitResult, "PENDING", "r-submit")
    assert handle.model == "liveportrait"


# ---------------------------------------------------------------------------------------------- other retries
def test_get_retried_on_429_with_retry_after(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING")]
    handle = submit(client)
    fake.faults += [
        lambda r: fake.error(429, "Throttling.RateQuota", headers={"Retry-After": "7"}),
        lambda r: fake.error(500, "InternalError"),
    ]
    before = len(fake.clock.sleeps)
    task = client.tasks.get(handle)
    assert task.task_id == handle.task_id and task.status == "PENDING"
    sleeps = [s for s in fake.clock.sleeps[before:] if s > 0.06]  # leave out the query limiter's spacing
    assert sleeps[0] >= 7.0 and len(sleeps) == 2
    assert len(fake.requests("GET", "/api/v1/tasks/")) == 3


def test_get_not_retried_on_a_non_retryable_429(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(429, "Throttling.AllocationQuota"))
    with pytest.raises(errors.RateLimitError) as caught:
        client.tasks.get("t")
    assert isinstance(caught.value, errors.Throttling) and not caught.value.retryable
    assert len(fake.requests("GET", "/api/v1/tasks/")) == 1


def test_get_retried_on_read_timeout_then_raises(fake: FakeDashScope, client: Client) -> None:
    fake.faults += [after_forwarding(fake, httpx.ReadTimeout)] * 10
    with pytest.raises(errors.APITimeoutError):
        client.tasks.get("t")
    assert len(fake.requests("GET", "/api/v1/tasks/")) == client.retry.max_retries + 1


def test_auth_error(fake: FakeDashScope) -> None:
    bad = Client("sk-wrong", base_url=BASE, transport=fake.transport())
    with bad, pytest.raises(errors.AuthenticationError) as caught:
        bad.tasks.get("t")
    assert caught.value.code == "InvalidApiKey" and isinstance(caught.value, errors.InvalidApiKey)


def test_cancel_and_list_pages(fake: FakeDashScope, client: Client) -> None:
    ids = [submit(client).task_id for _ in range(5)]
    assert client.tasks.cancel(ids[0]) == "r-cancel"
    assert client.tasks.get(ids[0]).status == "CANCELED"
    with pytest.raises(errors.BadRequestError) as caught:
        client.tasks.cancel(ids[0])
    assert caught.value.code == "UnsupportedOperation"
    assert client.tasks.list(page_size=2).total == 5
    assert [item.task_id for item in client.tasks.iter(page_size=2)] == ids


# ---------------------------------------------------------------------------------------------- wait
def test_wait_polls_with_growing_jittered_intervals(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING"), (10, "RUNNING"), (60, "SUCCEEDED")]
    handle = submit(client)
    seen: list[WaitProgress] = []
    done = client.tasks.wait(handle, on_progress=seen.append)
    assert isinstance(done, SucceededTask) and done.status == "SUCCEEDED"
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    policy = client.poll
    for n, gap in enumerate(gaps):
        nominal = min(policy.max_interval, policy.initial_interval * policy.multiplier**n)
        assert nominal * (1 - policy.jitter) - 1e-9 <= gap <= nominal + 0.06, (n, gap)
    assert max(gaps) <= policy.max_interval + 0.06
    assert seen[-1].status == "SUCCEEDED" and seen[-1].polls == len(times) and seen[-1].task == done
    assert {p.status for p in seen} >= {"PENDING", "RUNNING", "SUCCEEDED"}
    assert all(p.task_id == handle.task_id for p in seen)


def test_wait_keeps_polling_through_transient_errors_and_honours_retry_after(
    fake: FakeDashScope, client: Client
) -> None:
    handle = submit(client)
    fake.faults += [
        lambda r: fake.error(429, "Throttling.RateQuota", headers={"Retry-After": "4"}),
        lambda r: fake.error(503, "ModelUnavailable"),
        before_forwarding(httpx.ConnectError),
        after_forwarding(fake, httpx.ReadTimeout),
    ]
    errors_seen: list[str] = []
    done = client.tasks.wait(
        handle, on_progress=lambda p: errors_seen.append(type(p.error).__name__) if p.error else None
    )
    assert done.status == "SUCCEEDED"
    assert errors_seen == [
        "RateLimitError[Throttling]",
        "InternalServerError[ModelUnavailable]",
        "APIConnectionError",
        "APITimeoutError",
    ]
    polls = fake.requests("GET", "/api/v1/tasks/")
    assert polls[1].at - polls[0].at >= 4.0  # the 429's Retry-After


def test_wait_failed_raises_with_catalogue_code(fake: FakeDashScope, client: Client) -> None:
    fake.next_failure = ("InvalidImage.NoHumanFace", "No human face detected.")
    handle = submit(client)
    with pytest.raises(errors.TaskFailed) as caught:
        client.tasks.wait(handle)
    exc = caught.value
    assert exc.code == "InvalidImage.NoHumanFace" and exc.message == "No human face detected."
    assert isinstance(exc, errors.InvalidImage) and exc.request_id == "r-get"
    assert isinstance(exc.task, Task) and exc.task.status == "FAILED" and exc.task.result is None
    assert exc.task.failure == TaskFailure("InvalidImage.NoHumanFace", "No human face detected.")
    assert exc.entry is not None and "liveportrait" in exc.entry.models  # looked up for the handle's model


def test_wait_unknown_and_canceled(fake: FakeDashScope, client: Client) -> None:
    with pytest.raises(errors.TaskNotFound) as unknown:
        client.tasks.wait("no-such-task")
    assert unknown.value.task_id == "no-such-task"
    assert unknown.value.task is not None and unknown.value.task.status == "UNKNOWN"
    handle = submit(client)
    client.tasks.cancel(handle)
    with pytest.raises(errors.TaskCanceled) as canceled:
        client.tasks.wait(handle)
    assert canceled.value.task is not None and canceled.value.task.status == "CANCELED"


def test_wait_tolerates_unknown_statuses(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING"), (1, "QUEUED-SOMEWHERE-NEW"), (3, "SUSPENDED"), (6, "SUCCEEDED")]
    handle = submit(client)
    statuses: list[str | None] = []
    client.tasks.wait(handle, on_progress=lambda p: statuses.append(p.status))
    assert "QUEUED-SOMEWHERE-NEW" in statuses and "SUSPENDED" in statuses and statuses[-1] == "SUCCEEDED"


def test_wait_deadline_and_cancel_on_timeout(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING")]
    handle = submit(client)
    start = fake.clock.t
    with pytest.raises(errors.WaitTimeout) as caught:
        client.tasks.wait(handle, timeout=30, cancel_on_timeout=True)
    exc = caught.value
    assert exc.last_status == "PENDING" and exc.canceled and exc.task_id == handle.task_id
    assert exc.task is not None and exc.task.status == "PENDING"
    polls = fake.requests("GET", "/api/v1/tasks/")
    assert all(e.at <= start + 30 + 1e-9 for e in polls) and polls[-1].at == pytest.approx(start + 30)
    assert fake.clock.t - start == pytest.approx(30, abs=0.1)
    assert fake.tasks[handle.task_id].canceled


def test_wait_deadline_without_cancel_leaves_the_task(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING")]
    handle = submit(client)
    with pytest.raises(errors.WaitTimeout) as caught:
        client.tasks.wait(handle, timeout=10)
    assert not caught.value.canceled and not fake.tasks[handle.task_id].canceled
    assert not fake.requests("POST", "/api/v1/tasks/")


def test_wait_custom_poll_policy(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "RUNNING"), (100, "SUCCEEDED")]
    handle = submit(client)
    client.tasks.wait(handle, poll=PollPolicy(initial_interval=5, max_interval=5, jitter=0))
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    assert {round(b - a, 3) for a, b in itertools.pairwise(times)} == {5.0}


def test_wait_does_not_swallow_auth_errors(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(401, "InvalidApiKey"))
    with pytest.raises(errors.AuthenticationError):
        client.tasks.wait("t")
    assert len(fake.requests("GET", "/api/v1/tasks/")) == 1


# ---------------------------------------------------------------------------------------------- uploads
def test_local_files_are_uploaded_per_model_with_resolve_header(
    fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]
) -> None:
    image, audio, _ = files
    client.video_synthesis.liveportrait(image, audio)
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
    client.face_detect.emo(image)
    assert fake.policies == 2
    detect = fake.requests("POST", DETECT)[0]
    assert json.loads(detect.body)["input"]["image_url"].startswith("oss://dashscope-instant/emo-detect-v1/")
    assert detect.headers["x-dashscope-ossresourceresolve"] == "enable"


def test_same_file_for_the_same_model_is_uploaded_once(
    fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]
) -> None:
    image, audio, _ = files
    first = client.uploads.upload(image, "liveportrait")
    client.video_synthesis.liveportrait(image, audio)
    assert json.loads(fake.requests("POST", SUBMIT)[0].body)["input"]["image_url"] == first
    assert len(fake.uploads) == 2  # the image once, the audio once


def test_same_basename_never_collides(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "face.png", tmp_path / "b" / "face.png"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    url1, url2 = client.uploads.upload(first, "liveportrait"), client.uploads.upload(second, "liveportrait")
    assert url1 != url2 and fake.policies == 1
    assert fake.uploads[url1[6:]] == b"one" and fake.uploads[url2[6:]] == b"two"


def test_policy_renewed_when_expired(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    for n in range(3):
        path = tmp_path / f"f{n}.wav"
        path.write_bytes(b"x")
        client.uploads.upload(path, "emo-v1")
        fake.clock.t += 200  # 300 s policies: the third upload needs a new one
    assert fake.policies == 2


def test_policy_renewed_once_when_the_upload_host_refuses_it(
    fake: FakeDashScope, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"x")
    policy = client.uploads.policy("emo-v1")
    assert policy.upload_host == UPLOAD_HOST and fake.policies == 1
    fake.policy_ttl = 10_000  # the cached policy looks fresh to the client ...
    fake.policy_issued["policy-1"] = float("-inf")  # ... but the upload host has revoked it: 403, renew once
    url = client.uploads.upload(path, "emo-v1")
    assert fake.policies == 2 and url.startswith("oss://dashscope-instant/emo-v1/2/")
    assert [e.status for e in fake.requests("POST", "/upload")] == [403, 200]


def test_file_url_and_missing_file(fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]) -> None:
    image, audio, _ = files
    client.video_synthesis.liveportrait(image.as_uri(), str(audio))
    inp = json.loads(fake.requests("POST", SUBMIT)[0].body)["input"]
    assert inp["image_url"].startswith("oss://") and inp["audio_url"].startswith("oss://")
    with pytest.raises(FileNotFoundError):
        client.video_synthesis.liveportrait(image.with_name("missing.png"), audio)
    with pytest.raises(ValueError, match="scheme"):
        client.video_synthesis.liveportrait("ftp://x/y.png", audio)
    with pytest.raises(ValueError, match="URL"):
        client.uploads.upload("https://x.test/a.png", "liveportrait")
    assert len(fake.requests("POST", SUBMIT)) == 1


def test_upload_too_large(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(b"x" * (2 * 1024 * 1024))  # the fake's policy allows 1 MB
    with pytest.raises(errors.UploadError):
        client.uploads.upload(big, "liveportrait")
    assert not fake.requests("POST", "/upload")


def test_upload_post_is_not_sent_to_dashscope_host(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"x")
    client.uploads.upload(path, "liveportrait")
    posts = [e for e in fake.journal if e.path == "/upload"]
    assert posts and str(UPLOAD_HOST).endswith(posts[0].path)


# ---------------------------------------------------------------------------------------------- download
def test_download_atomic_and_expired(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    done = client.tasks.wait(submit(client))
    out = client.tasks.download(done, tmp_path / "sub" / "out.mp4")
    assert out == tmp_path / "sub" / "out.mp4" and out.read_bytes() == fake.video
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]
    fake.clock.t += 25 * 3600
    target = tmp_path / "late.mp4"
    with pytest.raises(errors.ResultExpired) as caught:
        client.tasks.download(done, target)
    assert caught.value.status == 403 and "24" in str(caught.value)
    assert caught.value.url == done.result.video_url
    assert not target.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_download_by_url_retries_5xx(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    done = client.tasks.wait(submit(client))
    fake.faults.append(lambda r: httpx.Response(503, text="busy"))
    out = client.tasks.download(done.result.video_url, tmp_path / "by-url.mp4")
    assert out.read_bytes() == fake.video
    assert [e.status for e in fake.requests("GET", "/results/")] == [503, 200]
    assert [p.name for p in tmp_path.iterdir()] == ["by-url.mp4"]


def test_download_no_auth_header_and_no_result(fake: FakeDashScope, client: Client, tmp_path: Path) -> None:
    done = client.tasks.wait(submit(client))
    client.tasks.download(done, tmp_path / "o.mp4")
    assert "authorization" not in fake.requests("GET", "/results/")[0].headers
    pending = client.tasks.get(submit(client))
    assert pending.result is None
    with pytest.raises(errors.TaskNotFinished):  # a Task as seen earlier: not queried again
        client.tasks.download(pending, tmp_path / "p.mp4")
    assert not (tmp_path / "p.mp4").exists()


def test_download_of_a_handle_says_to_wait_first(client: Client, tmp_path: Path) -> None:
    handle = submit(client)
    with pytest.raises(errors.TaskNotFinished, match="wait for it first"):
        client.tasks.download(handle, tmp_path / "h.mp4")
    assert list(tmp_path.iterdir()) == []
