"""How a resource's methods are written once and offered on both clients.

A resource's operations are methods of its *plans* class (``Plans`` subclass) returning a plan (``_effects``).
``blocking(PlansClass.method)`` turns one into a method of the sync resource that runs the plan and returns its
value; ``awaitable(...)`` into a coroutine method of the async resource. Both keep the plan's parameters (names,
types, defaults: a ``ParamSpec``), so a signature is written once, where the body is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import httpx

from . import _effects as fx
from ._base_client import BaseClient

__all__ = [
    "AsyncAPIResource",
    "Plans",
    "SyncAPIResource",
    "awaitable",
    "blocking",
    "named_after",
    "run_async",
    "run_sync",
]

P = ParamSpec("P")
T = TypeVar("T")
PlansT = TypeVar("PlansT", bound="Plans")
F = TypeVar("F", bound=Callable[..., Any])


class Plans:
    """The operations of one API area as plans, over the client's configuration and sending."""

    def __init__(self, client: BaseClient[Any, Any]) -> None:
        self._client = client


SyncBase = BaseClient[httpx.Client, httpx.BaseTransport]
AsyncBase = BaseClient[httpx.AsyncClient, httpx.AsyncBaseTransport]


class SyncAPIResource(Generic[PlansT]):
    _plans_class: type[PlansT]

    def __init__(self, client: SyncBase) -> None:
        self._client = client
        self._plans = self._plans_class(client)


class AsyncAPIResource(Generic[PlansT]):
    _plans_class: type[PlansT]

    def __init__(self, client: AsyncBase) -> None:
        self._client = client
        self._plans = self._plans_class(client)


def blocking(
    plan: Callable[Concatenate[PlansT, P], fx.Plan[T]],
) -> Callable[Concatenate[SyncAPIResource[PlansT], P], T]:
    """The sync method for a plan method: runs the plan, returns its value."""

    def method(self: SyncAPIResource[PlansT], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(self._client, plan(self._plans, *args, **kwargs))

    return named_after(method, plan)


def awaitable(
    plan: Callable[Concatenate[PlansT, P], fx.Plan[T]],
) -> Callable[Concatenate[AsyncAPIResource[PlansT], P], Coroutine[Any, Any, T]]:
    """The async method for a plan method: awaits the plan, returns its value."""

    async def method(self: AsyncAPIResource[PlansT], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_async(self._client, plan(self._plans, *args, **kwargs))

    return named_after(method, plan)


def run_sync(client: SyncBase, plan: fx.Plan[T]) -> T:
    return fx.run_sync(plan, client._http, client.clock)


async def run_async(client: AsyncBase, plan: fx.Plan[T]) -> T:
    return await fx.run_async(plan, client._http, client.clock)


def named_after(method: F, plan: Callable[..., Any], name: str | None = None, doc: str | None = None) -> F:
    """Name, docstring and ``__wrapped__`` (so ``inspect.signature`` shows the plan's parameters) of the plan, or the
    ``name``/``doc`` given; the method keeps its own annotations."""
    functools.update_wrapper(method, plan, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    if name is not None:
        method.__name__ = method.__qualname__ = name
    if doc is not None:
        method.__doc__ = doc
    return method
