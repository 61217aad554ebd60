"""In-process use of the mock, moto-style: ``mock_dashscope()`` and the ``MockDashScope`` handle it yields.

```python
from dashscope_mock import mock_dashscope

with mock_dashscope(seed=1) as mock:
    client = httpx.Client(transport=mock.transport(), base_url=mock.base_url, headers=mock.headers)
    task_id = client.post(SUBMIT_PATH, json=body).json()["output"]["task_id"]
    mock.advance(5)                      # the virtual clock: no sleeping
    assert client.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"] == "SUCCEEDED"
    assert len(mock.requests("getTask")) == 1
```

The handle's members: ``app`` (the ASGI app), ``backend``, ``clock``, ``scenarios``, ``faults``, ``journal``;
``base_url`` and ``headers`` (a valid key + ``X-DashScope-Async``) for clients; ``async_transport()`` (an
``httpx.ASGITransport``), ``transport()`` (a sync ``httpx`` transport bridged to the app through a portal thread),
``async_client()`` / ``client()``; ``serve()`` (uvicorn on 127.0.0.1, port 0, in a thread; yields the base URL);
and shortcuts ``advance(seconds)`` (``async_advance`` on the mock's own event loop; both let media work in flight
finish first), ``scenario(...)`` and ``fault(...)`` (checked when made: ``ScriptError`` names a field that could not
take effect; ``fault_header(fault)`` marks the one request a ``per_request`` fault hits), ``requests(operation)``,
``assert_requested(...)``, ``assert_fired(...)``, ``unmatched()``, ``reset()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx

from . import verification as verify
from .backend import Backend
from .config import MockConfig
from .domain.clock import VirtualClock
from .domain.keys import account
from .domain.loops import running_loop
from .domain.scripting import FAULT_HEADER, Fault, JournalEntry, Scenario
from .http.app import MockApp, create_app
from .http.script_checks import ScriptError, describe_schema_error
from .http.validation import operation_validators
from .seam import Media

__all__ = [
    "SUBMIT_PATH",
    "MockDashScope",
    "MockInternalError",
    "ScriptError",
    "SyncASGITransport",
    "mock_dashscope",
]

SUBMIT_PATH = "/api/v1/services/aigc/image2video/video-synthesis/"
DEFAULT_KEY = "sk-mock-test"


class MockInternalError(AssertionError):
    """The mock's own code failed while a test used it (not the code under test)."""


class _Portal:
    """An event loop in a daemon thread, to run the ASGI app for synchronous callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dashscope-mock-portal", daemon=True)
        self.thread.start()

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that drives an ASGI app in a portal thread (httpx has none)."""

    def __init__(self, app: Any, portal: _Portal | None = None) -> None:
        self._async = httpx.ASGITransport(app=app)
        self._portal = portal or _Portal()
        self._owns_portal = portal is None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=content)

        async def run() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._async.handle_async_request(forwarded)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, body

        status, headers, body = self._portal.call(run())
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        if self._owns_portal:
            self._portal.close()


class MockDashScope:
    """A mock instance and the tools to use it from tests (see the module docstring)."""

    base_url = "http://dashscope.mock"

    def __init__(self, app: MockApp, *, key: str = DEFAULT_KEY) -> None:
        self.app = app
        self.backend: Backend = app.backend
        self.key = key
        self._portal: _Portal | None = None

    # state at hand
    @property
    def clock(self) -> Any:
        return self.backend.clock

    @property
    def scenarios(self) -> Any:
        return self.backend.scenarios

    @property
    def faults(self) -> Any:
        return self.backend.faults

    @property
    def journal(self) -> Any:
        return self.backend.journal

    @property
    def headers(self) -> dict[str, str]:
        """A valid ``Authorization`` and ``X-DashScope-Async: enable`` (drop the latter for face-detect)."""
        return {"Authorization": f"Bearer {self.key}", "X-DashScope-Async": "enable"}

    # transports and clients
    def async_transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def transport(self) -> SyncASGITransport:
        if self._portal is None:
            self._portal = _Portal()
        return SyncASGITransport(self.app, self._portal)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("base_url", self.base_url)
        return httpx.AsyncClient(transport=self.async_transport(), **kwargs)

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("base_url", self.base_url)
        return httpx.Client(transport=self.transport(), **kwargs)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run the app under uvicorn in a thread; yields ``http://host:port``."""
        from .http.serving import serve_in_thread

        with serve_in_thread(self.app, host, port) as url:
            yield url

    # time
    def advance(self, seconds: float) -> float:
        """Move the virtual clock ``seconds`` forward, after letting the media work in flight finish (media checks
        on) when that work runs on another thread (``transport()``, ``serve()``). Called on the event loop that
        runs the work (``async_transport()``), it only moves the clock: use ``await async_advance(seconds)`` there.
        So ``Client(sleep=mock.advance)`` and ``AsyncClient(sleep=mock.async_advance)`` wait on the virtual clock
        with media checks on."""
        self.settle()
        return self.backend.advance(seconds)

    async def async_advance(self, seconds: float) -> float:
        """``advance`` for the event loop that runs the mock (``async_transport()``): the media work first."""
        await self.async_settle()
        return await self.backend.store.call(self.backend.advance, seconds)  # never waiting on Redis on the loop

    def settle(self, timeout: float = 300.0) -> None:
        """Let the media work in flight finish (media checks on: it takes real time, not the virtual clock's).
        Nothing to do on the loop that runs it (see ``async_settle``) or with media checks off."""
        loop = self.backend.pool.loop
        if loop is None or not loop.is_running() or running_loop() is loop:
            return
        asyncio.run_coroutine_threadsafe(self.backend.drain(), loop).result(timeout)

    async def async_settle(self) -> None:
        """``settle`` on the event loop that runs the mock's media work."""
        loop = self.backend.pool.loop
        if loop is None or loop is asyncio.get_running_loop():
            await self.backend.drain()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.backend.drain(), loop))

    # scripting: checked when made (an unknown field, operation, kind, model, code or status raises ScriptError)
    def scenario(
        self,
        model: str,
        code: str | None = None,
        *,
        reason: str | None = None,
        times: int = 1,
        operation: str | None = None,
        url_contains: str | None = None,
        extra_seconds: Mapping[str, float] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Scenario:
        """Script the next ``times`` requests of ``model`` (``POST /_mock/scenarios``'s fields): a catalogue
        ``code`` (``reason`` tells entries of one code apart), extra time in some statuses, or both."""
        body = _given(
            model=model,
            code=code,
            reason=reason,
            times=times,
            operation=operation,
            url_contains=url_contains,
            extra_seconds=dict(extra_seconds) if extra_seconds is not None else None,
            values=dict(values) if values is not None else None,
        )
        _check_schema("createScenario", body)
        return self.backend.add_scenario(**body)

    def fault(
        self,
        kind: str,
        operation: str = "*",
        *,
        method: str | None = None,
        path_contains: str | None = None,
        model: str | None = None,
        task_id: str | None = None,
        key: str | None = None,
        per_request: bool | None = None,
        name: str | None = None,
        active_from: float | None = None,
        active_until: float | None = None,
        times: int | None = 1,
        probability: float = 1.0,
        seed: int | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
        latency_seconds: float | None = None,
        latency_distribution: str | None = None,
        latency_min_seconds: float | None = None,
        latency_max_seconds: float | None = None,
        latency_median_seconds: float | None = None,
        latency_sigma: float | None = None,
        gateway_status: int | None = None,
        dribble_bytes: int | None = None,
        dribble_interval_ms: float | None = None,
        field: str | None = None,
        task_status: str | None = None,
        result_status: int | None = None,
    ) -> Fault:
        """Trouble on matching requests (``POST /_mock/faults``'s fields; the control spec documents each kind):
        ``latency`` (``latency_seconds``, or ``latency_distribution`` uniform/lognormal and its parameters),
        ``error`` (``status``, ``code``, ``retry_after``), ``drop`` (the empty answer), ``connection_reset``,
        ``malformed_json``, ``gateway_html`` (``gateway_status``), ``truncated_body``, ``reset_mid_body``,
        ``chunked_dribble`` (``dribble_bytes``, ``dribble_interval_ms``), ``wrong_type`` (``field``), and on task
        queries ``unknown_status`` (``task_status``), ``status_regression``, ``missing_result_url``; on result
        downloads ``result_link_error`` (``result_status``).

        Selected by ``operation`` (an operationId, or ``*``), ``method``, ``path_contains``, ``model``, ``task_id``,
        ``key`` (kept masked) and the window ``active_from``..``active_until`` (the mock's clock, epoch seconds:
        ``mock.clock.now() + 5``). ``per_request=True``: only requests carrying ``fault_header(fault)``
        (``X-Mock-Fault: <id>``, or its ``name``). ``assert_fired(fault)`` checks that it fired."""
        body = _given(
            kind=kind,
            operation=operation,
            method=method,
            path_contains=path_contains,
            model=model,
            task_id=task_id,
            key=key,
            per_request=per_request,
            name=name,
            active_from=active_from,
            active_until=active_until,
            probability=probability,
            seed=seed,
            status=status,
            code=code,
            retry_after=retry_after,
            latency_seconds=latency_seconds,
            latency_distribution=latency_distribution,
            latency_min_seconds=latency_min_seconds,
            latency_max_seconds=latency_max_seconds,
            latency_median_seconds=latency_median_seconds,
            latency_sigma=latency_sigma,
            gateway_status=gateway_status,
            dribble_bytes=dribble_bytes,
            dribble_interval_ms=dribble_interval_ms,
            field=field,
            task_status=task_status,
            result_status=result_status,
        )
        _check_schema("createFault", {**body, "times": times})
        return self.backend.add_fault(times=times, **body)

    @staticmethod
    def fault_header(*faults: Fault | str) -> dict[str, str]:
        """The header that makes the ``per_request`` faults named fire on one request: ``{"X-Mock-Fault": ...}``
        (each fault by its id, or a name given as text)."""
        names = [fault if isinstance(fault, str) else str(fault.id) for fault in faults]
        return {FAULT_HEADER: ",".join(names)}

    # verification
    def requests(self, operation: str | None = None, **filters: Any) -> list[JournalEntry]:
        """The journal; ``key=`` takes a key in clear (the journal holds only its account, ``keys.account``)."""
        if filters.get("key") is not None:
            filters["key"] = account(filters["key"])
        return self.backend.journal.entries(operation=operation, **filters)

    def assert_requested(
        self, operation: str, *, times: int | None = None, at_least: int = 1, status: int | None = None, **filters: Any
    ) -> list[JournalEntry]:
        """Assert how often ``operation`` was requested (``times`` exactly, else ``at_least``), optionally with an
        answer ``status``; the ``AssertionError`` lists the near misses. Returns the matching entries."""
        return verify.requested(self, operation, times=times, at_least=at_least, status=status, **filters)

    def assert_fired(self, scripted: Fault | Scenario, *, times: int | None = None) -> int:
        """Assert that a fault or scenario fired (``times`` exactly, else at least once); returns how often. The
        ``AssertionError`` shows the requests it could have matched."""
        return verify.fired(self, scripted, times=times)

    def unmatched(self) -> list[JournalEntry]:
        """Requests that matched no operation of the spec (a wrong path or method: the service's 404/405)."""
        return [entry for entry in self.requests() if entry.operation is None]

    def reset(self) -> None:
        self.backend.reset()

    def close(self) -> None:
        if self._portal is not None:
            self._portal.close()
            self._portal = None
        self.backend.close()

    def raise_unexpected(self) -> None:
        """Fail loudly when media work raised an unexpected exception (a bug, which the task showed as
        ``InternalError.Algo``): ``mock_dashscope()`` calls it when the block ends."""
        errors = self.backend.pool.errors
        if errors:
            raise MockInternalError(f"{len(errors)} unexpected error(s) in the mock's task engine") from errors[0]
        unexpected = self.backend.runner.unexpected
        if unexpected:
            raise MockInternalError(f"{len(unexpected)} unexpected error(s) in the mock's media work: {unexpected[0]}")


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a shortcut was given (``None``: left to the default), as the control plane's request body."""
    return {name: value for name, value in fields.items() if value is not None}


def _check_schema(operation_id: str, body: Mapping[str, Any]) -> None:
    """The control plane's request schema of ``operation_id`` (the object connexion's hook asks, so the Python
    shortcuts and ``POST /_mock/...`` refuse alike), as a ``ScriptError`` naming the field."""
    error = operation_validators()[operation_id].body_error(body)
    if error is not None:
        raise describe_schema_error(operation_id, error, body)


@contextlib.contextmanager
def mock_dashscope(
    config: MockConfig | None = None,
    *,
    media: Media | None = None,
    key: str = DEFAULT_KEY,
    **overrides: Any,
) -> Iterator[MockDashScope]:
    """A fresh in-process mock. Defaults for tests: a frozen virtual clock (time moves with ``advance``) and
    media checks off, as tests use fake URLs (the server and ``MockConfig`` default to on; pass
    ``media_checks=True``). ``overrides`` are ``MockConfig`` fields (``seed=1``, ``rate_limit=False``, ...)."""
    base = config or MockConfig(frozen_clock=True, media_checks=False)
    if overrides:
        base = base.replace(**overrides)
    backend = Backend(base, media=media, clock=VirtualClock(frozen=base.frozen_clock))
    mock = MockDashScope(create_app(backend=backend), key=key)
    try:
        yield mock
    finally:
        mock.close()
    mock.raise_unexpected()


@contextlib.asynccontextmanager
async def async_mock_dashscope(**kwargs: Any) -> AsyncIterator[MockDashScope]:
    with mock_dashscope(**kwargs) as mock:
        yield mock
