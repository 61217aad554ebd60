"""The task query's hot path on Redis state (issue 27): two round trips, and the same answers as every store.

The request's first round trip (``BEGIN_REQUEST``) reads the clock offset, whether any fault is set, the task and the
secret that signs its result link, and counts the key's query limit; the second writes the journal entry. Both are
awaited on the asynchronous client (``_redis_async``: EVALSHA packed by ``_redis_client.HotScript``), never sent by the
blocking one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.connection import AbstractConnection

from dashscope_mock import mock_dashscope
from dashscope_mock.testing import MockDashScope
from dashscope_openapi import limits

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
BODY = {"model": "liveportrait", "input": {"image_url": "https://example.com/a.png", "audio_url": "https://x.io/b.mp3"}}
PREFIX = "dashscope-mock:"


@pytest.fixture
def mock(redis_url: str) -> Iterator[MockDashScope]:
    redis.Redis.from_url(redis_url).flushdb()
    with mock_dashscope(state=redis_url) as mock:
        yield mock


def _headers(key: str = "sk-hotpath-00000001") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}


def _succeeded_task(mock: MockDashScope, key: str = "sk-hotpath-00000001") -> str:
    with mock.client() as client:
        answer = client.post(SUBMIT, json=BODY, headers=_headers(key))
        assert answer.status_code == 200, answer.text
        task_id: str = answer.json()["output"]["task_id"]
    mock.advance(600)
    return task_id


def _sends(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Every command (or pipeline) any connection sends from now on, packed, with the client that sent it."""
    sent: list[tuple[str, bytes]] = []
    blocking, awaited = AbstractConnection.send_packed_command, AsyncConnection.send_packed_command

    def packed(command: Any) -> bytes:
        return b"".join(command) if isinstance(command, list) else bytes(command)

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(("blocking", packed(command)))
        blocking(self, command, check_health)  # type: ignore[no-untyped-call]

    async def counting_async(self: AsyncConnection, command: Any, check_health: bool = True) -> None:
        sent.append(("async", packed(command)))
        await awaited(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    monkeypatch.setattr(AsyncConnection, "send_packed_command", counting_async)
    return sent


def test_a_task_query_is_two_awaited_round_trips_with_its_signed_result_link(
    mock: MockDashScope, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = _succeeded_task(mock)
    sent = _sends(monkeypatch)
    counts = []
    with mock.client() as client:
        assert client.get(f"/api/v1/tasks/{task_id}", headers=_headers()).status_code == 200  # makes the secret
        for _ in range(3):  # the work pool's ticker may send a command meanwhile: the fewest counts
            sent.clear()
            answer = client.get(f"/api/v1/tasks/{task_id}", headers=_headers())
            assert answer.status_code == 200, answer.text
            output = answer.json()["output"]
            assert output["task_status"] == "SUCCEEDED"
            counts.append(len(sent))
            assert all(b"EVALSHA" in command for _, command in sent), [command[:80] for _, command in sent]
            assert all(client == "async" for client, _ in sent), sent
    assert min(counts) == 2, counts
    # the link is signed with the state's secret: it downloads
    url = output.get("video_url") or output["results"]["video_url"]
    with mock.client() as client:
        assert client.get(url).status_code == 200, url


def test_the_query_limit_counted_in_the_first_round_trip_is_exact(mock: MockDashScope, redis_url: str) -> None:
    qps = int(limits()["task_query_qps_per_account"])
    with mock.client() as client:
        statuses = [client.get("/api/v1/tasks/none", headers=_headers()).status_code for _ in range(qps + 3)]
    assert statuses == [200] * qps + [429] * 3, statuses
    windows = [name for name in redis.Redis.from_url(redis_url).scan_iter(match=PREFIX + "rate:*")]
    assert len(windows) == 1 and redis.Redis.from_url(redis_url).zcard(windows[0]) == qps


def test_a_query_that_never_reaches_its_rate_check_is_not_counted(mock: MockDashScope, redis_url: str) -> None:
    """A faulted query is answered before its handler: its early hit is taken back with its journal entry."""
    mock.fault("error", "getTask", status=503, times=2)
    with mock.client() as client:
        for _ in range(2):
            assert client.get("/api/v1/tasks/none", headers=_headers()).status_code == 503
        client_redis = redis.Redis.from_url(redis_url)
        assert sum(client_redis.zcard(name) for name in client_redis.scan_iter(match=PREFIX + "rate:*")) == 0
        assert client.get("/api/v1/tasks/none", headers=_headers()).status_code == 200
        assert sum(client_redis.zcard(name) for name in client_redis.scan_iter(match=PREFIX + "rate:*")) == 1
    assert [entry.status for entry in mock.requests("getTask")] == [503, 503, 200]


def test_the_journal_entry_is_readable_right_after_the_query(mock: MockDashScope) -> None:
    task_id = _succeeded_task(mock)
    with mock.client() as client:
        for count in range(1, 4):
            assert client.get(f"/api/v1/tasks/{task_id}", headers=_headers()).status_code == 200
            entries = mock.requests("getTask")
            assert len(entries) == count and entries[-1].status == 200 and entries[-1].path.endswith(task_id)


def test_a_redis_that_lost_the_scripts_is_given_them_again(mock: MockDashScope, redis_url: str) -> None:
    task_id = _succeeded_task(mock)
    with mock.client() as client:
        assert client.get(f"/api/v1/tasks/{task_id}", headers=_headers()).status_code == 200
        redis.Redis.from_url(redis_url).script_flush()
        answer = client.get(f"/api/v1/tasks/{task_id}", headers=_headers())
        assert answer.status_code == 200 and answer.json()["output"]["task_status"] == "SUCCEEDED"
    assert len(mock.requests("getTask")) == 2


def test_a_clock_moved_by_another_process_is_adopted_and_the_limit_still_counted(redis_url: str) -> None:
    """The early hit holds only while the offset is the one its `now` was read with; else the handler counts."""
    redis.Redis.from_url(redis_url).flushdb()
    with mock_dashscope(state=redis_url) as one, mock_dashscope(state=redis_url) as two:
        task_id = _succeeded_task(one)
        two.advance(3600)
        with one.client() as client:
            answer = client.get(f"/api/v1/tasks/{task_id}", headers=_headers())
        assert answer.status_code == 200
        assert one.clock.offset == two.clock.offset == 4200  # every request adopts the shared offset
        client_redis = redis.Redis.from_url(redis_url)
        assert sum(client_redis.zcard(name) for name in client_redis.scan_iter(match=PREFIX + "rate:*")) == 1
