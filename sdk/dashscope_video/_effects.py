"""One implementation, two drivers.

Every operation with logic (retries, waiting, uploads, downloads) is written once as a *plan*: a generator that
yields effects — ``Send`` a request, ``Sleep``, ``Read`` an error body, ``Save`` a streamed body to a file — and
receives their results. ``run_sync`` performs the effects with ``httpx.Client`` and ``Clock.sleep``; ``run_async``
with ``httpx.AsyncClient`` and ``Clock.async_sleep``. The sync and async clients therefore cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, TypeVar, cast

import httpx

from ._clock import Clock

T = TypeVar("T")

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Send:
    request: httpx.Request
    stream: bool = False
    follow_redirects: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Read:
    """Read (and close) a streamed response."""

    response: httpx.Response


@dataclass(frozen=True)
class Save:
    """Stream a response's body into ``path`` (created/truncated), then close the response; result: bytes written."""

    response: httpx.Response
    path: Path


Effect: TypeAlias = Send | Sleep | Read | Save
Plan: TypeAlias = Generator[Effect, object, T]


def send(request: httpx.Request, *, stream: bool = False, follow_redirects: bool = False) -> Plan[httpx.Response]:
    result = yield Send(request, stream, follow_redirects)
    assert isinstance(result, httpx.Response)
    return result


def sleep(seconds: float) -> Plan[None]:
    if seconds > 0:
        yield Sleep(seconds)


def read(response: httpx.Response) -> Plan[None]:
    yield Read(response)


def save(response: httpx.Response, path: Path) -> Plan[int]:
    written = yield Save(response, path)
    assert isinstance(written, int)
    return written


def run_sync(plan: Plan[T], http: httpx.Client, clock: Clock) -> T:
    value: object = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = plan.throw(error) if error is not None else plan.send(value)
            except StopIteration as stop:
                return cast(T, stop.value)
            value, error = None, None
            try:
                if isinstance(effect, Sleep):
                    clock.sleep(effect.seconds)
                elif isinstance(effect, Send):
                    value = http.send(effect.request, stream=effect.stream, follow_redirects=effect.follow_redirects)
                elif isinstance(effect, Read):
                    effect.response.read()
                else:
                    value = _save_sync(effect)
            except httpx.TransportError as exc:
                error = exc
    finally:
        plan.close()


async def run_async(plan: Plan[T], http: httpx.AsyncClient, clock: Clock) -> T:
    value: object = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = plan.throw(error) if error is not None else plan.send(value)
            except StopIteration as stop:
                return cast(T, stop.value)
            value, error = None, None
            try:
                if isinstance(effect, Sleep):
                    await clock.async_sleep(effect.seconds)
                elif isinstance(effect, Send):
                    value = await http.send(
                        effect.request, stream=effect.stream, follow_redirects=effect.follow_redirects
                    )
                elif isinstance(effect, Read):
                    await effect.response.aread()
                else:
                    value = await _save_async(effect)
            except httpx.TransportError as exc:
                error = exc
    finally:
        plan.close()


def _save_sync(effect: Save) -> int:
    written = 0
    try:
        with effect.path.open("wb") as handle:
            for chunk in effect.response.iter_bytes(_CHUNK):
                handle.write(chunk)
                written += len(chunk)
    finally:
        effect.response.close()
    return written


async def _save_async(effect: Save) -> int:
    written = 0
    try:
        with effect.path.open("wb") as handle:
            async for chunk in effect.response.aiter_bytes(_CHUNK):
                handle.write(chunk)
                written += len(chunk)
    finally:
        await effect.response.aclose()
    return written
