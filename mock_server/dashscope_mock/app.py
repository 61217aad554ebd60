"""The ASGI app: a connexion 3 ``AsyncApp`` built from the spec (routing, validation), with the service's error
shape everywhere, and the control plane (``openapi/mock-control.yaml``) mounted under ``/_mock``.

Layers, outermost first:

1. ``MockApp.__call__``: request id, the trailing-slash alias (``.../video-synthesis`` and ``.../video-synthesis/``
   both answer, no redirect), faults (latency, error, dropped connection), ``X-Request-ID`` on every answer, the
   journal and one log line per request.
   Then the fast path (``fastpath``): a task query or submit that connexion would accept as it is gets its answer
   from the same handler without connexion's middleware stack; anything else goes on to connexion.
2. connexion: routing, bearer auth (``InvalidApiKey``), parameter validation (``X-DashScope-Async`` → 403),
   per-model body validation (``validation``), the handlers (``handlers``, ``control``), response validation.
3. Error handlers: every error, whatever raised it, is ``{request_id, code, message}`` JSON.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import connexion
import httpx
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import NO_VALUE, BearerSecurityHandler
from connexion.validators import FormDataValidator, MultiPartFormDataValidator
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from dashscope_openapi import load_control_spec, load_spec

from .backend import Backend
from .config import MockConfig
from .errors import ApiError, catalogue_error
from .fastpath import FastPath, build_fast_path
from .pipeline import MediaPipeline
from .validation import DashScopeBodyValidator, DashScopeParameterValidator, invalid_request

__all__ = ["ConnectionDropped", "MockApp", "RequestContext", "create_app", "current_request"]

logger = logging.getLogger("dashscope_mock")

CONTROL_BASE = "/_mock"
# Control-plane routes that are part of the simulated service (downloads, OSS uploads): journaled and faultable.
SERVICE_CONTROL_OPERATIONS = frozenset({"getResult", "postObject"})


class ConnectionDropped(httpx.RemoteProtocolError):
    """A ``drop`` fault in process: the client sees what httpx raises when a server closes without answering."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


@dataclass
class RequestContext:
    backend: Backend
    method: str
    path: str
    headers: Mapping[str, str]
    base_url: str
    operation: str | None
    _request_id: str | None = field(default=None, repr=False)

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            self._request_id = self.backend.new_request_id()
        return self._request_id

    _key: str | None = field(default=None, repr=False)
    _key_read: bool = field(default=False, repr=False)

    @property
    def key(self) -> str | None:
        if not self._key_read:  # read for the handler, the journal and the log line: parse once
            value = self.headers.get("authorization", "")
            scheme, _, token = value.partition(" ")
            self._key = token.strip() if scheme.lower() == "bearer" and token.strip() else None
            self._key_read = True
        return self._key

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


_CONTEXT: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("dashscope_mock_request")


def current_request() -> RequestContext:
    return _CONTEXT.get()


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: str


def _routes(spec: Mapping[str, Any], prefix: str = "") -> list[_Route]:
    routes = []
    for path, item in spec["paths"].items():
        regex = re.sub(r"\{[^}/]+\}", "[^/]+", re.escape(prefix + path).replace(r"\{", "{").replace(r"\}", "}"))
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                routes.append(_Route(method.upper(), re.compile(f"^{regex}$"), operation["operationId"]))
    return routes


@functools.cache
def _router() -> _Router:
    return _Router()


class _Router:
    """The little routing the outer layer needs: operationId of a request, and the trailing-slash alias."""

    def __init__(self) -> None:
        self.routes = _routes(load_spec()) + _routes(load_control_spec(), CONTROL_BASE)
        # Every request is routed here first: look literal paths up in a dict and try only the templated patterns
        # (same routes, same order as scanning them all).
        self._literal: dict[str, list[tuple[int, _Route]]] = {}
        self._templated: list[tuple[int, _Route]] = []
        for index, route in enumerate(self.routes):
            literal = route.pattern.pattern[1:-1].replace("\\", "")
            if "[^/]+" in route.pattern.pattern or re.escape(literal) != route.pattern.pattern[1:-1]:
                self._templated.append((index, route))
            else:
                self._literal.setdefault(literal, []).append((index, route))

    def _match(self, path: str) -> list[_Route]:
        found = [item for item in self._templated if item[1].pattern.match(path)]
        literal = self._literal.get(path)
        if literal:
            found = sorted(found + literal, key=lambda item: item[0])
        return [route for _, route in found]

    def resolve(self, method: str, path: str) -> tuple[str, str | None]:
        """``(path, operationId)``, the path possibly switched to its other trailing-slash spelling."""
        matches = self._match(path)
        if not matches and path != "/":
            other = path[:-1] if path.endswith("/") else path + "/"
            if self._match(other):
                path, matches = other, self._match(other)
        for route in matches:
            if route.method == method:
                return path, route.operation
        return path, None

    def allowed(self, path: str) -> str:
        """The ``Allow`` header of a path: every method of every spec's operations on it."""
        methods = {route.method for route in self._match(path)}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(sorted(methods))


def _error_body(status: int, code: str, message: str, request_id: str, headers: Mapping[str, str]) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        mimetype="application/json",
        content_type="application/json",
        headers={**headers, "X-Request-ID": request_id},
        body=json.dumps({"request_id": request_id, "code": code, "message": message}),
    )


def to_api_error(exc: BaseException) -> ApiError:
    """Whatever went wrong, as the service would say it."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ProblemException):
        status = int(exc.status or 500)
        headers = dict(exc.headers or {})
        if status == 401:
            return catalogue_error("InvalidApiKey")
        if status == 403:
            return catalogue_error("AccessDenied", reason="generic")
        if status == 404:
            return catalogue_error("NotFound").with_headers(headers)
        if status == 405:
            error = catalogue_error("UnsupportedOperation", reason="generic").with_headers(headers)
            error.status = 405
            return error
        if 400 <= status < 500:  # bad request, extra parameters, 415 wrong content type: all 400 at the service
            return invalid_request()
        return catalogue_error("InternalError")
    if isinstance(exc, HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            error = catalogue_error("UnsupportedOperation", reason="generic").with_headers(headers)
            error.status = 405
            return error
        if exc.status_code == 404:
            return catalogue_error("NotFound").with_headers(headers)
        if 400 <= exc.status_code < 500:
            return invalid_request()
        return catalogue_error("InternalError")
    if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError):
        return invalid_request()
    logger.error("unexpected error", exc_info=exc)
    return catalogue_error("InternalError")


def _error_handler(_request: Any, exc: Exception) -> ConnexionResponse:
    error = to_api_error(exc)
    try:
        context = current_request()
    except LookupError:
        request_id = ""
    else:
        request_id = context.request_id
        if error.status == 405:  # starlette only knows the first route of the path; the spec knows them all
            error.headers = {k: v for k, v in error.headers.items() if k.lower() != "allow"}
            error.headers["Allow"] = _router().allowed(context.path)
    return _error_body(error.status, error.code, error.message, request_id, error.headers)


def error_response(exc: BaseException) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body of the answer connexion's error handling gives ``exc`` (used by ``fastpath``):
    the same ``_error_handler``, rendered as connexion's wrapper renders it (a Starlette ``Response``)."""
    from starlette.responses import Response

    error = _error_handler(None, exc if isinstance(exc, Exception) else Exception(exc))
    response = Response(
        content=error.body, status_code=error.status_code, media_type=error.mimetype, headers=error.headers
    )
    return response.status_code, list(response.raw_headers), bytes(response.body)


def _security_handler(backend: Backend) -> type[BearerSecurityHandler]:
    def check(token: str) -> dict[str, str] | None:
        return {"sub": token} if backend.key_allowed(token) else None

    class MockBearer(BearerSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: Mapping[str, Any]) -> Callable[[str], dict[str, str] | None]:
            return check

        def _get_verify_func(self, token_info_func: Callable[..., Any]) -> Callable[[Any], Any]:
            verify = super()._get_verify_func(token_info_func)

            def wrapper(request: Any) -> Any:
                result = verify(request)
                if result is NO_VALUE:  # no "Bearer" at all: the service says InvalidApiKey too
                    raise catalogue_error("InvalidApiKey")
                return result

            return wrapper

    return MockBearer


class MockApp(connexion.AsyncApp):  # type: ignore[misc]
    """``connexion.AsyncApp`` with the mock's outer layer; ``app.backend`` is the state behind it."""

    backend: Backend
    # The lean path of the hot operations (``fastpath``); ``None`` sends every request through connexion.
    fast_path: FastPath | None = None

    def __init__(self, backend: Backend, **kwargs: Any) -> None:
        super().__init__(__name__, **kwargs)
        self.backend = backend
        self._router = _router()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        backend = self.backend
        backend.sync_clock()
        method = scope["method"]
        original_path = scope["path"]
        path, operation = self._router.resolve(method, original_path)
        if path != original_path:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "testserver")
        context = RequestContext(
            backend=backend,
            method=method,
            path=path,
            headers=headers,
            base_url=f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}",
            operation=operation,
        )
        control = path.startswith(CONTROL_BASE + "/") and operation not in SERVICE_CONTROL_OPERATIONS
        service = path.startswith("/api/") or operation in SERVICE_CONTROL_OPERATIONS
        token = _CONTEXT.set(context)
        arrival = backend.now()
        status = 0
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = MutableHeaders(scope=message)
                if service and "x-request-id" not in response_headers:
                    response_headers["X-Request-ID"] = context.request_id
            await send(message)

        try:
            faults = [] if control else backend.faults.pick(method, path, operation)
            kinds = {fault.kind: fault for fault in faults}
            if "latency" in kinds:
                await asyncio.sleep(kinds["latency"].latency_seconds)
            if "drop" in kinds:
                status = 0
                self._drop(send)
                return
            if "error" in kinds:
                fault = kinds["error"]
                error = self._fault_error(fault.status or 500, fault.code, fault.retry_after)
                response = _error_body(error.status, error.code, error.message, context.request_id, error.headers)
                await self._send_response(response, send_wrapper)
                return
            fast = self.fast_path
            if fast is not None and operation in fast.operations:
                passed_on = await fast.serve(operation, scope, receive, send_wrapper, context)
                if passed_on is None:
                    return
                receive = passed_on  # connexion answers it (and reads the body the fast path may have read)
            await super().__call__(scope, receive, send_wrapper)
        finally:
            _CONTEXT.reset(token)
            elapsed = (loop.time() - started) * 1000.0
            if service:
                backend.journal.record(
                    method=method,
                    path=original_path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    operation=operation,
                    key=context.key,
                    status=status,
                    time=arrival,
                    time_text=backend.format_time(arrival),
                    request_id=context._request_id,
                    duration_ms=round(elapsed, 3),
                )
            if not control:
                key = context.key
                shown = (key[:6] + "…") if key else "-"
                query = scope.get("query_string", b"").decode("latin-1")
                logger.info(
                    "%s %s %s %s %.1fms key=%s request_id=%s",
                    scope["client"][0] if scope.get("client") else "-",
                    method,
                    original_path + ("?" + query if query else ""),
                    status or "dropped",
                    elapsed,
                    shown,
                    context._request_id or "-",
                )

    def _fault_error(self, status: int, code: str | None, retry_after: int | None) -> ApiError:
        defaults = {429: "Throttling.RateQuota", 500: "InternalError", 503: "ModelUnavailable"}
        name = code or defaults.get(status, "InternalError")
        error = catalogue_error(name)
        error.status = status
        if retry_after is not None:
            error.headers["Retry-After"] = str(retry_after)
        elif status in (429, 503):
            error.headers["Retry-After"] = str(self.backend.config.retry_after_seconds)
        return error

    @staticmethod
    async def _send_response(response: ConnexionResponse, send: Any) -> None:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), str(v).encode()) for k, v in (response.headers or {}).items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _drop(send: Any) -> None:
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if cycle is None or transport is None:
            raise ConnectionDropped()
        transport.close()
        cycle.disconnected = True  # uvicorn: do not answer 500 on a closed connection


def create_app(
    config: MockConfig | None = None,
    *,
    backend: Backend | None = None,
    media: MediaPipeline | None = None,
) -> MockApp:
    """The mock as an ASGI app. ``app.backend`` holds its state (``Backend(config, media=...)`` when not given)."""
    from .control import ControlApi
    from .handlers import PublicApi

    if backend is None:
        backend = Backend(config, media=media)
    public = PublicApi(backend)
    control = ControlApi(backend)
    handlers: dict[str, Callable[..., Any]] = {**public.handlers(), **control.handlers()}

    app = MockApp(
        backend,
        validate_responses=True,
        strict_validation=True,
        validator_map={
            "parameter": DashScopeParameterValidator,
            "body": MediaTypeDict(
                {
                    "*/*json": DashScopeBodyValidator,
                    "application/x-www-form-urlencoded": FormDataValidator,
                    "multipart/form-data": MultiPartFormDataValidator,
                }
            ),
        },
        security_map={"bearer": _security_handler(backend)},
    )
    resolver = Resolver(function_resolver=lambda operation_id: handlers[operation_id])
    # Parsed once per process by dashscope_openapi (connexion would re-read the YAML for every app).
    app.add_api(
        copy.deepcopy(dict(load_spec())),
        resolver=resolver,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    app.add_api(
        copy.deepcopy(dict(load_control_spec())),
        base_path=CONTROL_BASE,
        resolver=resolver,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    for exc_type in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc_type, _error_handler)
    # DASHSCOPE_MOCK_FAST_PATH=off: everything through connexion (``make bench`` measures both).
    if os.environ.get("DASHSCOPE_MOCK_FAST_PATH", "on").lower() != "off":
        app.fast_path = build_fast_path(load_spec(), public.handlers(), backend.key_allowed)
    return app
