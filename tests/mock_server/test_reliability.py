"""Reliability checks small enough for the test suite (the full-size runs are ``make soak``): concurrent clients
lose and duplicate nothing, and SQLite state survives the process. No timing is asserted anywhere."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from dashscope_mock import Backend, MockConfig, VirtualClock, create_app, mock_dashscope
from dashscope_video import AsyncClient, PollPolicy

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}
IMAGE = "https://example.com/portrait.png"
AUDIO = "https://example.com/voice.mp3"
BODY = {"model": "liveportrait", "input": {"image_url": IMAGE, "audio_url": AUDIO}}


async def test_concurrent_clients_submit_and_wait_without_losing_or_duplicating_a_task() -> None:
    clients, per_client = 20, 10
    acked: list[str] = []
    finals: dict[str, str] = {}
    with mock_dashscope(media_checks=False, seed=3) as mock:

        async def run(index: int) -> None:
            # Each client is its own account; its pauses move the mock's virtual clock.
            client = AsyncClient(
                f"sk-reliable-{index:02d}",
                base_url=mock.base_url,
                transport=mock.async_transport(),
                sleep=mock.advance,
                poll=PollPolicy(initial_interval=0.5, max_interval=2.0),
                rng=random.Random(index),
            )

            async def one() -> None:
                submitted = await client.video_synthesis.liveportrait(IMAGE, AUDIO)
                acked.append(submitted.task_id)
                task = await client.tasks.wait(submitted.task_id, timeout=3600)
                finals[submitted.task_id] = str(task.status)

            try:
                await asyncio.gather(*(one() for _ in range(per_client)))
            finally:
                await client.aclose()

        await asyncio.gather(*(run(index) for index in range(clients)))
        stored = [(record.task_id, snap.status) for record, snap, _ in mock.backend.tasks.everything()]

    assert len(acked) == clients * per_client
    assert len(set(acked)) == len(acked), "a task id was handed out twice"
    assert {task_id for task_id, _ in stored} == set(acked), "lost or phantom tasks"
    assert set(finals) == set(acked)
    assert set(finals.values()) == {"SUCCEEDED"}
    assert {status for _, status in stored} <= TERMINAL


async def test_sqlite_state_survives_the_process_and_tasks_in_flight_continue(tmp_path: Path) -> None:
    import httpx

    start = 1_800_000_000.0
    config = MockConfig(media_checks=False, state=f"sqlite:///{tmp_path / 'state.db'}", frozen_clock=True)
    first = Backend(config, clock=VirtualClock(frozen=True, start=start))
    app = create_app(backend=first)
    headers = {"Authorization": "Bearer sk-durable", "X-DashScope-Async": "enable"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as http:
        ids = []
        for _ in range(30):
            answer = await http.post("/api/v1/services/aigc/image2video/video-synthesis/", json=BODY, headers=headers)
            assert answer.status_code == 200
            ids.append(answer.json()["output"]["task_id"])
    first.advance(1.0)  # in flight: RUNNING
    assert {snap.status for _, snap, _ in first.tasks.everything()} == {"RUNNING"}
    first.store.close()  # the process is gone; nothing but the database file remains

    second = Backend(config, clock=VirtualClock(frozen=True, start=start))
    try:
        assert {record.task_id for record, _, _ in second.tasks.everything()} == set(ids)
        # the shared clock offset survived
        assert {snap.status for _, snap, _ in second.tasks.everything()} == {"RUNNING"}
        second.advance(5.0)
        assert {snap.status for _, snap, _ in second.tasks.everything()} == {"SUCCEEDED"}
    finally:
        second.close()
