from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from dashscope_video import AsyncClient, Client, QueryLimiter

from .fakes import BASE, FakeClock, FakeDashScope


@pytest.fixture
def fake() -> FakeDashScope:
    return FakeDashScope()


@pytest.fixture
def client(fake: FakeDashScope) -> Iterator[Client]:
    with Client(
        "sk-test",
        base_url=BASE,
        transport=fake.transport(),
        clock=fake.clock,
        rng=random.Random(7),
        limiter=QueryLimiter(20, fake.clock),
    ) as c:
        yield c


@pytest.fixture
def aclient(fake: FakeDashScope) -> AsyncClient:
    return AsyncClient(
        "sk-test",
        base_url=BASE,
        transport=fake.transport(),
        clock=fake.clock,
        rng=random.Random(7),
        limiter=QueryLimiter(20, fake.clock),
    )


@pytest.fixture
def files(tmp_path):  # type: ignore[no-untyped-def]
    image = tmp_path / "face.png"
    image.write_bytes(b"\x89PNG fake image")
    audio = tmp_path / "voice.mp3"
    audio.write_bytes(b"ID3 fake audio")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"fake video")
    return image, audio, video


__all__ = ["FakeClock"]
