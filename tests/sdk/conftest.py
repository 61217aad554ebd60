from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dashscope_video import AsyncClient, Client, QueryLimiter

from .fakes import BASE, FakeClock, FakeDashScope


def new_client(fake: FakeDashScope, limiter: QueryLimiter | None = None) -> Client:
    """A ``Client`` on ``fake``: its transport and clock, a seeded rng, the account's 20 queries/s."""
    return Client(
        "sk-test",
        base_url=BASE,
        transport=fake.transport(),
        clock=fake.clock,
        rng=random.Random(7),
        limiter=limiter or QueryLimiter(20, fake.clock),
    )


def new_async_client(fake: FakeDashScope, limiter: QueryLimiter | None = None) -> AsyncClient:
    """The ``AsyncClient`` twin of ``new_client`` (``httpx.MockTransport`` serves both)."""
    return AsyncClient(
        "sk-test",
        base_url=BASE,
        transport=fake.transport(),
        clock=fake.clock,
        rng=random.Random(7),
        limiter=limiter or QueryLimiter(20, fake.clock),
    )


@pytest.fixture
def fake() -> FakeDashScope:
    return FakeDashScope()


@pytest.fixture
def client(fake: FakeDashScope) -> Iterator[Client]:
    with new_client(fake) as c:
        yield c


@pytest.fixture
async def aclient(fake: FakeDashScope) -> AsyncIterator[AsyncClient]:
    async with new_async_client(fake) as c:
        yield c


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    image = tmp_path / "face.png"
    image.write_bytes(b"\x89PNG fake image")
    audio = tmp_path / "voice.mp3"
    audio.write_bytes(b"ID3 fake audio")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"fake video")
    return image, audio, video


__all__ = ["FakeClock", "new_async_client", "new_client"]
