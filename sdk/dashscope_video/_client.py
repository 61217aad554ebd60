"""``Client`` and ``AsyncClient``: the configuration of ``BaseClient`` and one attribute per API area.

::

    with Client() as client:
        job = client.video_synthesis.liveportrait("face.png", "voice.mp3")
        task = client.tasks.wait(job)          # SucceededTask[LivePortraitResult]
        client.tasks.download(task, "out.mp4")
"""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Self

import httpx

from ._base_client import BaseClient
from .resources import (
    AsyncFaceDetect,
    AsyncTasks,
    AsyncUploads,
    AsyncVideoSynthesis,
    FaceDetect,
    Tasks,
    Uploads,
    VideoSynthesis,
)

__all__ = ["AsyncClient", "Client"]


class Client(BaseClient[httpx.Client, httpx.BaseTransport]):
    """The synchronous client (see ``BaseClient`` for its arguments). Use as a context manager or call ``close()``."""

    @cached_property
    def video_synthesis(self) -> VideoSynthesis:
        return VideoSynthesis(self)

    @cached_property
    def tasks(self) -> Tasks:
        return Tasks(self)

    @cached_property
    def face_detect(self) -> FaceDetect:
        return FaceDetect(self)

    @cached_property
    def uploads(self) -> Uploads:
        return Uploads(self)

    def _new_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(transport=transport, timeout=self.timeout)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The asyncio client: the same arguments (``transport`` an ``httpx.AsyncBaseTransport``, ``http_client`` an
    ``httpx.AsyncClient``) and the same resources, awaited. Use as an async context manager or ``await aclose()``."""

    @cached_property
    def video_synthesis(self) -> AsyncVideoSynthesis:
        return AsyncVideoSynthesis(self)

    @cached_property
    def tasks(self) -> AsyncTasks:
        return AsyncTasks(self)

    @cached_property
    def face_detect(self) -> AsyncFaceDetect:
        return AsyncFaceDetect(self)

    @cached_property
    def uploads(self) -> AsyncUploads:
        return AsyncUploads(self)

    def _new_http(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, timeout=self.timeout)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
