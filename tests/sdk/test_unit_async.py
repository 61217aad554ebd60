"""``AsyncClient`` against the in-memory fake: the same results as ``Client``, and the shared query limiter.

Parity: each resource's scenario is written once over a client that may be sync or async (``resolve`` awaits what
needs awaiting), run on a fresh fake with each client, and the two runs must give equal results, send the same
requests at the same (virtual) times and sleep the same.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_openapi import limits
from dashscope_video import (
    AsyncClient,
    Client,
    DashScopeError,
    EmoParameters,
    LivePortraitParameters,
    QueryLimiter,
    TaskHandle,
    VideoRetalkParameters,
    WaitProgress,
)

from .conftest import new_async_client, new_client
from .fakes import BASE, FakeClock, FakeDashScope, after_forwarding, before_forwarding

IMAGE, AUDIO, VIDEO = "https://x.test/face.png", "https://x.test/voice.mp3", "https://x.test/clip.mp4"
AnyClient = Client | AsyncClient
_UPLOAD_KEY = re.compile(r"/[0-9a-f]{32}-")


async def resolve(value: Any) -> Any:
    """A sync method's value as is, an async one's awaited."""
    return await value if inspect.isawaitable(value) else value


async def attempt(call: Callable[[], Any]) -> Any:
    """The call's value, or what it raised (class name, code, status) — raised at call time (sync) or when awaited."""
    try:
        return await resolve(call())
    except (DashScopeError, OSError, ValueError) as exc:
        return ("raised", type(exc).__name__, getattr(exc, "code", None), getattr(exc, "status", None))


async def collect(items: Any) -> list[Any]:
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)


def normal(value: str) -> str:
    """Upload object names hold a random uuid; everything else is deterministic."""
    return _UPLOAD_KEY.sub("/<uuid>-", value)


# ---------------------------------------------------------------------------------------------- scenarios
async def video_synthesis(c: AnyClient, fake: FakeDashScope, tmp: Path) -> list[Any]:
    image, audio = tmp / "face.png", tmp / "voice.mp3"
    image.write_bytes(b"\x89PNG face")
    audio.write_bytes(b"ID3 voice")
    vs = c.video_synthesis
    out: list[Any] = [
        await resolve(vs.liveportrait(IMAGE, AUDIO, parameters=LivePortraitParameters.from_dict({"video_fps": 25}))),
        await resolve(vs.emo(IMAGE, AUDIO, ratio="3:4", parameters=EmoParameters(style_level="active"))),
        await resolve(vs.videoretalk(VIDEO, AUDIO, ref_image=IMAGE, parameters=VideoRetalkParameters())),
    ]
    fake.faults += [before_forwarding(httpx.ConnectError)]  # retried: never reached the service
    out.append(await resolve(vs.liveportrait(IMAGE, AUDIO)))
    fake.faults += [after_forwarding(fake, httpx.ReadTimeout)]  # not retried
    out.append(await attempt(lambda: vs.liveportrait(IMAGE, AUDIO)))
    fake.faults += [lambda r: fake.error(503, "ModelUnavailable")]
    out.append(await attempt(lambda: vs.videoretalk(VIDEO, AUDIO)))
    fake.faults += [lambda r: fake.error(400, "InvalidFile.NoHuman", "no human")]
    out.append(await attempt(lambda: vs.emo(IMAGE, AUDIO)))
    out.append(await attempt(lambda: vs.emo(IMAGE, AUDIO, face_bbox=[1, 2, 3, 4])))
    local = await resolve(vs.liveportrait(image, audio))  # uploaded first
    out.append(local)
    return out


async def tasks(c: AnyClient, fake: FakeDashScope, tmp: Path) -> list[Any]:
    fake.schedule = [(0, "PENDING"), (2, "QUEUED_SOMEWHERE"), (5, "RUNNING"), (12, "SUCCEEDED")]
    t = c.tasks
    first: TaskHandle[Any] = await resolve(c.video_synthesis.liveportrait(IMAGE, AUDIO))
    retalk = await resolve(c.video_synthesis.videoretalk(VIDEO, AUDIO))
    out: list[Any] = [await resolve(t.get(first)), await resolve(t.get(first.task_id))]
    fake.faults += [
        lambda r: fake.error(429, "Throttling.RateQuota", headers={"Retry-After": "3"}),
        before_forwarding(httpx.ConnectError),
    ]
    progress: list[WaitProgress] = []
    done = await resolve(t.wait(first, on_progress=progress.append))
    out += [done, [(p.status, p.polls, p.elapsed, p.next_poll_in, type(p.error).__name__) for p in progress]]
    out.append(await resolve(t.wait(retalk.task_id)))
    out.append(await resolve(t.get(done)))
    fake.next_failure = ("InvalidFile.FPS", "Invalid video FPS.")
    failing = await resolve(c.video_synthesis.videoretalk(VIDEO, AUDIO))
    out.append(await attempt(lambda: t.wait(failing)))
    pending = await resolve(c.video_synthesis.liveportrait(IMAGE, AUDIO))
    out.append(await resolve(t.cancel(pending)))
    out.append(await attempt(lambda: t.cancel(pending)))
    out.append(await attempt(lambda: t.wait(pending)))
    out.append(await attempt(lambda: t.wait("no-such-task")))
    fake.schedule = [(0, "PENDING")]
    stuck = await resolve(c.video_synthesis.liveportrait(IMAGE, AUDIO))
    out.append(await attempt(lambda: t.wait(stuck, timeout=20, cancel_on_timeout=True)))
    out.append(await resolve(t.list(page_size=2)))
    out.append(await collect(t.iter(page_size=2)))
    saved = await resolve(t.download(done, tmp / "out" / "video.mp4"))
    out += [saved.relative_to(tmp), saved.read_bytes() == fake.video, sorted(p.name for p in saved.parent.iterdir())]
    fake.clock.t += 25 * 3600
    out.append(await attempt(lambda: t.download(done, tmp / "late.mp4")))
    out.append((tmp / "late.mp4").exists())
    return out


async def face_detect(c: AnyClient, fake: FakeDashScope, tmp: Path) -> list[Any]:
    image = tmp / "face.png"
    image.write_bytes(b"\x89PNG face")
    fd = c.face_detect
    out: list[Any] = [await resolve(fd.emo(IMAGE)), await resolve(fd.emo(IMAGE, "3:4"))]
    out.append(await resolve(fd.liveportrait(IMAGE)))
    fake.faults += [lambda r: fake.error(400, "InvalidFile.NoHuman", "no human")]
    out.append(await resolve(fd.emo(IMAGE)))
    fake.faults += [lambda r: fake.error(400, "InvalidURL", "cannot download")]
    out.append(await resolve(fd.liveportrait(IMAGE)))
    fake.faults += [lambda r: fake.error(400, "InvalidParameter", "bad")]
    out.append(await attempt(lambda: fd.liveportrait(IMAGE)))
    fake.faults += [lambda r: fake.error(500, "InternalError")]  # retried
    out.append(await resolve(fd.liveportrait(IMAGE)))
    out.append(await resolve(fd.emo(image)))  # uploaded for emo-detect-v1
    return out


async def uploads(c: AnyClient, fake: FakeDashScope, tmp: Path) -> list[Any]:
    paths = []
    for n in range(3):
        path = tmp / f"f{n}.wav"
        path.write_bytes(b"x" * (n + 1))
        paths.append(path)
    big = tmp / "big.wav"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    u = c.uploads
    out: list[Any] = [await resolve(u.policy("liveportrait"))]
    out.append(normal(await resolve(u.upload(paths[0], "liveportrait"))))
    out.append(normal(await resolve(u.upload(paths[0], "liveportrait"))))  # reused
    out.append(normal(await resolve(u.upload(paths[1], "emo-v1"))))
    fake.clock.t += 400  # the cached policies expire
    out.append(normal(await resolve(u.upload(paths[2], "emo-v1"))))
    out.append(await attempt(lambda: u.upload(big, "emo-v1")))
    out.append(await attempt(lambda: u.upload(tmp / "missing.wav", "emo-v1")))
    out.append(fake.policies)
    out.append(sorted(normal(key) for key in fake.uploads))
    return out


SCENARIOS: dict[str, Callable[[AnyClient, FakeDashScope, Path], Awaitable[list[Any]]]] = {
    "video_synthesis": video_synthesis,
    "tasks": tasks,
    "face_detect": face_detect,
    "uploads": uploads,
}


def journal(fake: FakeDashScope) -> list[tuple[Any, ...]]:
    return [
        (e.method, e.path, e.status, e.at, e.params, "" if e.path == "/upload" else normal(e.body.decode()))
        for e in fake.journal
    ]


@pytest.mark.parametrize("resource", list(SCENARIOS))
async def test_sync_and_async_give_equal_results(resource: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[resource]
    sync_fake, async_fake = FakeDashScope(), FakeDashScope()
    (tmp_path / "sync").mkdir()
    (tmp_path / "async").mkdir()
    with new_client(sync_fake) as sync_client:
        sync_out = await scenario(sync_client, sync_fake, tmp_path / "sync")
    async with new_async_client(async_fake) as async_client:
        async_out = await scenario(async_client, async_fake, tmp_path / "async")
    assert sync_out == async_out
    assert journal(sync_fake) == journal(async_fake)
    assert sync_fake.clock.sleeps == async_fake.clock.sleeps
    assert sync_out and sync_fake.journal  # the scenario did talk to the fake


# ---------------------------------------------------------------------------------------------- query limiter
SPACING = 1 / 20


def assert_spaced(times: list[float], qps: int = 20) -> None:
    assert all(b - a >= SPACING - 1e-9 for a, b in itertools.pairwise(times)), times
    for start in times:  # no one-second window holds more than qps queries
        assert len([t for t in times if start <= t <= start + 1.0]) <= qps


def test_task_queries_are_spaced_by_the_query_limiter(fake: FakeDashScope, client: Client) -> None:
    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
    for _ in range(30):
        client.tasks.get(handle)
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    assert len(times) == 30 and times[-1] - times[0] >= 29 * SPACING
    assert_spaced(times)


def test_list_cancel_and_wait_polls_are_limited_but_submit_detect_upload_are_not(
    fake: FakeDashScope, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(b"x")
    start = fake.clock.t
    handles = [client.video_synthesis.liveportrait(IMAGE, AUDIO) for _ in range(5)]
    client.face_detect.emo(IMAGE)
    client.face_detect.liveportrait(IMAGE)
    client.uploads.upload(path, "liveportrait")
    assert fake.clock.t == start and not fake.clock.sleeps  # none of these waited for the limiter
    client.tasks.get(handles[0])
    client.tasks.list()
    client.tasks.cancel(handles[1])
    fake.clock.t += 5  # handles[0] SUCCEEDED: its wait is a single poll, right after the cancel
    client.tasks.wait(handles[0])
    limited = [e.at for e in fake.journal if e.path.startswith("/api/v1/tasks")]
    assert len(limited) == 4
    assert_spaced(limited[:3])
    assert limited[3] == fake.clock.t  # the wait's poll: the limiter's slot was free after 5 s


async def test_sync_and_async_clients_share_one_limiter(fake: FakeDashScope) -> None:
    limiter = QueryLimiter(20, fake.clock)
    with new_client(fake, limiter) as sync_client:
        async with new_async_client(fake, limiter) as async_client:
            handle = sync_client.video_synthesis.liveportrait(IMAGE, AUDIO)
            for _ in range(10):
                sync_client.tasks.get(handle)
                await async_client.tasks.get(handle)
    times = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    assert len(times) == 20
    assert_spaced(times)


async def test_clients_with_their_own_limiters_do_not_wait_for_each_other(fake: FakeDashScope) -> None:
    """The counterpart of the test above: it would pass for nothing if the limiters were never consulted."""
    with new_client(fake) as sync_client:
        async with new_async_client(fake) as async_client:
            handle = sync_client.video_synthesis.liveportrait(IMAGE, AUDIO)
            sync_client.tasks.get(handle)
            await async_client.tasks.get(handle)
    first, second = (e.at for e in fake.requests("GET", "/api/v1/tasks/"))
    assert first == second


class HashableClock(FakeClock):
    __hash__ = object.__hash__  # FakeClock is a dataclass (unhashable): the process-wide limiters need a key


def test_clients_on_one_clock_share_the_process_wide_limiter() -> None:
    clock = HashableClock()
    fake = FakeDashScope(clock)
    with Client("sk-test", base_url=BASE, transport=fake.transport(), clock=clock) as one:
        other = AsyncClient("sk-test", base_url=BASE, transport=fake.transport(), clock=clock)
        assert one.limiter is other.limiter
        assert one.limiter.qps == limits()["task_query_qps_per_account"]
        with Client("sk-test", base_url=BASE, transport=fake.transport(), clock=HashableClock()) as stranger:
            assert stranger.limiter is not one.limiter
        for _ in range(25):
            one.tasks.get("t")
    assert_spaced([e.at for e in fake.requests("GET", "/api/v1/tasks/")])
