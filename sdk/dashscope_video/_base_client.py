"""What every client shares: configuration, building requests, and sending them with the retry rules.

Operations are *plans* (``_effects``): generators that yield "send this", "sleep that long", and receive the results.
``BaseClient`` holds the configuration and the sending plan; ``Client`` runs plans with ``httpx.Client``,
``AsyncClient`` with ``httpx.AsyncClient`` — the only difference between the two.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import httpx

from . import _effects as fx
from ._clock import Clock, SleepHook, make_clock
from ._config import resolve_api_key, resolve_base_url
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ConfigurationError,
    from_response,
)
from ._limiter import QueryLimiter, limiter_for
from ._retry import PollPolicy, RetryPolicy, parse_retry_after, status_is_retryable, transport_error_is_retryable
from ._uploads import UploadState
from ._version import __version__
from ._wire import Call, parse
from .types import R, Task

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_UPLOAD_TIMEOUT", "USER_AGENT", "BaseClient", "endpoint", "wrap_transport_error"]

USER_AGENT = f"dashscope-video/{__version__} httpx/{httpx.__version__}"
DEFAULT_TIMEOUT = 60.0
DEFAULT_UPLOAD_TIMEOUT = 600.0

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)

# The fields of an answer the SDK hands on as text (a ``TaskHandle``'s id and status): another JSON type there is an
# answer the spec does not allow (``APIResponseValidationError``), not a handle on task ``0``.
TEXT_FIELDS: Mapping[str, tuple[str, ...]] = {"submit": ("output.task_id", "output.task_status")}


def _expect_text(data: Mapping[str, Any], path: str) -> None:
    value: Any = data
    for name in path.split("."):
        value = value[name]
    if not isinstance(value, str):
        raise TypeError(f"{path} is {type(value).__name__}, not a string")


TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class BaseClient(Generic[HttpT, TransportT]):
    """Configuration from arguments or the environment::

        Client()                                   # DASHSCOPE_API_KEY, DASHSCOPE_BASE_URL (or Beijing)
        Client("sk-...", region="singapore")       # a preset from the spec's servers
        Client(base_url="http://127.0.0.1:8000")   # e.g. the mock

    ``timeout`` bounds every HTTP request (seconds); ``transport`` / ``http_client`` inject an httpx transport or
    client (the async ones for ``AsyncClient``); ``clock`` or ``sleep`` (+ optional ``monotonic``) inject time;
    ``retry`` / ``poll`` tune retries and polling; ``limiter`` shares a query-rate budget.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport: TransportT | None = None,
        http_client: HttpT | None = None,
        clock: Clock | None = None,
        sleep: SleepHook | None = None,
        monotonic: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        limiter: QueryLimiter | None = None,
    ) -> None:
        key = resolve_api_key(api_key)
        if not key:
            raise ConfigurationError("no API key: pass api_key=... or set DASHSCOPE_API_KEY")
        try:
            self.base_url = resolve_base_url(base_url, region)
        except (LookupError, ValueError) as exc:
            raise ConfigurationError(str(exc)) from exc
        if timeout <= 0 or upload_timeout <= 0:
            raise ConfigurationError("timeouts must be positive")
        self._api_key = key
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.clock = make_clock(clock, sleep, monotonic)
        self.limiter = limiter or limiter_for(self.clock)
        self.rng = rng or random.Random()
        self.uploads_state = UploadState()
        self._owns_http = http_client is None
        self._http: HttpT = http_client if http_client is not None else self._new_http(transport)

    def _new_http(self, transport: TransportT | None) -> HttpT:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # -------------------------------------------------------------------------------------------- requests
    def timeout_dict(self, seconds: float | None = None) -> dict[str, float | None]:
        value: dict[str, float | None] = httpx.Timeout(seconds if seconds is not None else self.timeout).as_dict()
        return value

    def build(
        self, call: Call, *, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> httpx.Request:
        """An ``httpx.Request`` for a generated ``Call``, with auth, user agent and timeout."""
        all_headers = {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT}
        all_headers.update(call.headers)
        all_headers.update(headers or {})
        return httpx.Request(
            call.method,
            self.base_url + call.path,
            params=dict(call.params) if call.params else None,  # {} would send httpx down its slower URL(params=) path
            json=call.json,
            headers=all_headers,
            extensions={"timeout": self.timeout_dict(timeout)},
        )

    @staticmethod
    def read_task(response: httpx.Response, result_type: type[R]) -> Task[R]:
        """A task query's answer as a typed ``Task`` (its own shape check: the answer is read on every poll)."""
        try:
            return Task._from_answer(response.json(), result_type)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise APIResponseValidationError(
                f"unexpected {response.status_code} answer from {response.request.url.path}: {exc!r}",
                response=response,
            ) from exc

    @staticmethod
    def read_json(response: httpx.Response, kind: str) -> dict[str, Any]:
        """The answer's JSON object, checked against the generated model of ``kind`` and, for the fields the SDK
        reads as text, their type (the generated models take a value of any JSON type there)."""
        try:
            data = response.json()
            parse(kind, data)
            for path in TEXT_FIELDS.get(kind, ()):
                _expect_text(data, path)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise APIResponseValidationError(
                f"unexpected {response.status_code} answer from {response.request.url.path}: {exc!r}",
                response=response,
            ) from exc
        answer: dict[str, Any] = data
        return answer

    def send(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool,
        model: str | None = None,
        limited: bool = False,
    ) -> fx.Plan[httpx.Response]:
        """Send with the retry rules of ``_retry`` and raise the catalogue's exception on an error answer."""
        attempt = 0
        while True:
            if limited:
                yield from fx.sleep(self.limiter.reserve())
            request = build()
            try:
                response = yield from fx.send(request)
            except httpx.TransportError as exc:
                if attempt < self.retry.max_retries and transport_error_is_retryable(exc, idempotent=idempotent):
                    yield from fx.sleep(self.retry.delay(attempt, None, self.rng))
                    attempt += 1
                    continue
                raise wrap_transport_error(exc) from exc
            if response.is_success:
                return response
            if idempotent and attempt < self.retry.max_retries and status_is_retryable(response):
                yield from fx.sleep(self.retry.delay(attempt, parse_retry_after(response), self.rng))
                attempt += 1
                continue
            raise from_response(response, model=model)

    def call(
        self,
        call: Call,
        kind: str,
        *,
        idempotent: bool,
        model: str | None = None,
        limited: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> fx.Plan[dict[str, Any]]:
        """Send a generated ``Call`` and return its checked JSON answer."""
        response = yield from self.send(
            lambda: self.build(call, headers=headers), idempotent=idempotent, model=model, limited=limited
        )
        return self.read_json(response, kind)


def wrap_transport_error(exc: httpx.TransportError) -> APIConnectionError:
    request = None
    with contextlib.suppress(RuntimeError):  # a transport error raised outside a request has none
        request = exc.request
    where = f" ({request.method} {endpoint(request.url)})" if request is not None else ""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out{where}: {type(exc).__name__}", request=request)
    return APIConnectionError(f"connection failed{where}: {type(exc).__name__}: {exc}", request=request)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint(url: httpx.URL) -> str:
    """``scheme://host:port/path`` of a URL for a message: the port always (a wrong one is a common cause of a
    refused connection), never the user info or the query (a signed result link's signature, a key)."""
    if not url.scheme or not url.host:
        return url.path
    host = f"[{url.host}]" if ":" in url.host else url.host  # an IPv6 address
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{url.scheme}://{host}{f':{port}' if port else ''}{url.path}"
