"""The ASGI app. The request path, outermost first:

1. ``MockApp.__call__`` (one per mock instance, holding its ``Backend``): the request context (``context``), routing
   and the trailing-slash alias (``routing``), faults (latency, error, dropped connection), ``X-Request-ID`` on every
   answer of the service, the journal and one log line per request. Then the fast path (``fastpath``) for task
   queries and submits, or:
2. connexion, built once per process for both specs (``connexion_app``): routing, bearer auth (``InvalidApiKey``),
   the operation's validator (``validation``) through connexion's validator hooks, the handlers (``handlers``,
   ``control``; the change feed ``/_mock/events`` answers a streaming response, ``events``, which watches the
   server's own ``send`` kept in the context for a shutdown), response validation.
3. Error handlers: every error, whatever raised it, is ``{request_id, code, message}`` JSON (``errors``).

A new mock only creates fresh state: the specs, the validators, the router and the connexion app are shared by every
mock of the process (moto resets its backends the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.security import BearerSecurityHandler
from connexion.validators import FormDataValidator
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from dashscope_openapi import limits, load_control_spec, load_spec

from ..backend import Backend
from ..config import MockConfig
from ..domain.errors import (
    ApiError,
    StateUnavailable,
    as_oss_error,
    catalogue_error,
    error_parts,
    invalid_request,
    oss_error,
    render_error,
    to_api_error,
)
from ..domain.keys import account, masked
from ..domain.scripting import FAULT_HEADER, FaultFacts, fault_marks
from ..seam import Media
from .context import RequestContext, bearer_key, current_request, release_request, use_request
from .control import CONTROL_HANDLERS
from .fastpath import FastPath, build_fast_path
from .faults import ConnectionDropped, FaultedRequest, apply_faults
from .guard import base_url, edge_refusal, guard
from .handlers import HANDLERS
from .routing import CONTROL_BASE, SERVICE_CONTROL_OPERATIONS, router
from .validation import DashScopeBodyValidator, DashScopeMultiPartValidator, DashScopeParameterValidator

__all__ = ["ConnectionDropped", "MockApp", "connexion_app", "create_app"]

logger = logging.getLogger("dashscope_mock")

OSS_OPERATIONS = SERVICE_CONTROL_OPERATIONS  # both are OSS's: the upload host and the result links
# Operations that need no state: they never touch the store (nor do requests outside the spec's operations and the
# service's paths: /openapi.json, the Swagger UI), so they answer while a shared state (Redis) is down.
STATELESS_OPERATIONS = frozenset({"getHealth"})


async def _error_handler(_request: Any, exc: Exception) -> ConnexionResponse:
    error = to_api_error(exc)
    try:
        context = current_request()
    except LookupError:
        request_id = ""
    else:
        request_id = context.request_id
        if context.operation in OSS_OPERATIONS:  # the simulated OSS answers in its own terms, XML
            error = as_oss_error(error)
        if error.status == 404 and error.code == "NotFound" and context.path == "/":  # a person opened the base URL
            error = catalogue_error("NotFound", reason="mock_root")
        if error.status == 405:  # starlette only knows the first route of the path; the spec knows them all
            error.headers = {k: v for k, v in error.headers.items() if k.lower() != "allow"}
            error.headers["Allow"] = router().allowed(context.path)
    status, headers, body = error_parts(error, request_id)
    return ConnexionResponse(status_code=status, mimetype=headers["Content-Type"], headers=headers, body=body)


class _Bearer(BearerSecurityHandler):  # type: ignore[misc]
    """The spec's bearer scheme: the key parsed by ``context.bearer_key``, allowed by the current mock's config."""

    def _resolve_func(self, security_scheme: Mapping[str, Any]) -> Callable[..., Any]:
        return bearer_key  # connexion wants a function here; ``_get_verify_func`` does the work

    def _get_verify_func(self, token_info_func: Callable[..., Any]) -> Callable[[Any], Any]:
        async def verify(request: Any) -> dict[str, str]:
            key = bearer_key(request.headers.get("Authorization"))
            if key is None or not current_request().backend.key_allowed(key):
                raise catalogue_error("InvalidApiKey")
            return {"sub": key}

        return verify


@functools.cache
def connexion_app() -> connexion.AsyncApp:
    """connexion for both specs, with the mock's validators, security and error handlers; built once per process."""
    handlers: dict[str, Callable[..., Any]] = {**HANDLERS, **CONTROL_HANDLERS}
    app = connexion.AsyncApp(
        __name__,
        validate_responses=True,
        strict_validation=True,
        validator_map={
            "parameter": DashScopeParameterValidator,
            "body": MediaTypeDict(
                {
                    "*/*json": DashScopeBodyValidator,
                    "application/x-www-form-urlencoded": FormDataValidator,
                    "multipart/form-data": DashScopeMultiPartValidator,
                }
            ),
        },
        security_map={"bearer": _Bearer},
    )
    resolver = Resolver(function_resolver=lambda operation_id: handlers[operation_id])
    ui = SwaggerUIOptions(swagger_ui_path="/ui")
    app.add_api(copy.deepcopy(dict(load_spec())), resolver=resolver, swagger_ui_options=ui)
    app.add_api(
        copy.deepcopy(dict(load_control_spec())), base_path=CONTROL_BASE, resolver=resolver, swagger_ui_options=ui
    )
    for exc_type in (ApiError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exc_type, _error_handler)
    middleware = app.middleware
    middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()  # now, not racing on first use
    return app


def _default_fast_path() -> FastPath | None:
    # DASHSCOPE_MOCK_FAST_PATH=off: everything through connexion (``make bench`` measures both).
    if os.environ.get("DASHSCOPE_MOCK_FAST_PATH", "on").lower() == "off":
        return None
    return build_fast_path()


class MockApp:
    """One mock as an ASGI app: its ``backend`` (the state) in front of the process's shared connexion app."""

    def __init__(self, backend: Backend, *, fast_path: FastPath | None = None, use_fast_path: bool = True) -> None:
        self.backend = backend
        self.core = connexion_app()
        self.router = router()
        # The lean path of the hot operations (``fastpath``); ``None`` sends every request through connexion.
        self.fast_path = fast_path if fast_path is not None else (_default_fast_path() if use_fast_path else None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self.core(scope, receive, send)
            return
        backend = self.backend
        backend.pool.start_ticker()
        method = scope["method"]
        original_path = scope["path"]
        resolved = self.router.resolve(method, original_path)
        path, operation = resolved.path, resolved.operation
        if path != original_path:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        if "\n" in path:  # starlette's Mount (``.*``) cannot route a newline: connexion sees it percent-encoded
            scope = {**scope, "path": path.replace("\n", "%0A")}
        raw_headers = scope.get("headers", [])
        unreadable = edge_refusal(scope, raw_headers)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        if unreadable is not None:  # nothing of a refused request is believed: not its key, not its Host
            headers.pop("authorization", None)
            headers.pop("host", None)
        context = RequestContext(
            backend=backend,
            method=method,
            path=path,
            headers=headers,
            base_url=base_url(backend.config, scope, headers.get("host")),
            operation=operation,
            server_send=send,
        )
        control = path.startswith(CONTROL_BASE + "/") and operation not in SERVICE_CONTROL_OPERATIONS
        service = path.startswith("/api/") or operation in SERVICE_CONTROL_OPERATIONS
        stateless = operation in STATELESS_OPERATIONS or (operation is None and not service)
        token = use_request(context)
        arrival = backend.now()
        status = 0
        loop = asyncio.get_running_loop()
        started = loop.time()

        recorded = False

        async def record() -> None:
            """The journal entry, once: before the answer's last part (a client that has the answer finds it in the
            journal, whichever replica it asks), or at the end when no answer was finished."""
            nonlocal recorded
            if not recorded:
                recorded = True
                elapsed_ms = (loop.time() - started) * 1000.0
                await self._record(context, scope, original_path, arrival, status, elapsed_ms, service)

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = MutableHeaders(scope=message)
                if service and "x-request-id" not in response_headers:
                    response_headers["X-Request-ID"] = context.request_id
            elif not message.get("more_body", False):
                await record()
            await send(message)

        try:
            if not stateless:  # the first state read, within the error path: a Redis down answers 503 below
                if operation == "getTask":  # the task and the key's query limit in the same round trip
                    key = context.key
                    await backend.begin_request(resolved.params.get("task_id"), account(key) if key else None)
                else:
                    await backend.begin_request()
                arrival = backend.now()
            denied = unreadable or guard(backend.config, scope, headers, method, path, control)
            if denied is not None:  # unreadable, a foreign Host, the control plane without its token, cross-site
                if operation in OSS_OPERATIONS:
                    denied = as_oss_error(denied)
                code, raw, body = render_error(denied, context.request_id)
                await send_wrapper({"type": "http.response.start", "status": code, "headers": raw})
                await send_wrapper({"type": "http.response.body", "body": body})
                return
            answer: Callable[[Any], Awaitable[None]] = send_wrapper  # a fault around the answer wraps it
            if not control and not stateless:
                facts, receive = await _fault_facts(context, scope, resolved.params, receive, arrival)
                store = backend.store
                faults = (
                    []
                    if store.knows_no_faults()
                    else await store.call(backend.faults.pick, method, path, operation, facts)
                )
                for fault in faults:  # the journal names what touched the request (verification shows it)
                    context.add_note(f"fault #{fault.id} ({fault.kind})")
                if faults:
                    faulted = FaultedRequest(send_wrapper, send, context.request_id, backend.config.retry_after_seconds)
                    if await apply_faults(faults, faulted):
                        if faulted.dropped:
                            status = 0
                        return
                    answer = faulted.send
            try:
                if self._untyped_body(operation, headers):
                    raise as_oss_error(invalid_request()) if operation in OSS_OPERATIONS else invalid_request()
                receive = self._bounded(receive, scope, operation)
                fast = self.fast_path
                if fast is not None and operation in fast.operations:
                    passed_on = await fast.serve(operation, resolved.params, scope, receive, answer, context)
                    if passed_on is None:
                        return
                    receive = passed_on  # connexion answers it (and reads the body the fast path may have read)
            except ApiError as refused:  # a body past its bound, before connexion had it
                code, raw, body = render_error(refused, context.request_id)
                await answer({"type": "http.response.start", "status": code, "headers": raw})
                await answer({"type": "http.response.body", "body": body})
                return
            await self.core(scope, receive, answer)
        except StateUnavailable as down:  # the state failed before any answer: 503 in the service's shape, never 500
            if status:
                raise
            error: ApiError = as_oss_error(down) if operation in OSS_OPERATIONS else down
            code, raw, body = render_error(error, context.request_id)
            await send_wrapper({"type": "http.response.start", "status": code, "headers": raw})
            await send_wrapper({"type": "http.response.body", "body": body})
        finally:
            await record()
            release_request(token)
            if not control:
                self._log(context, scope, original_path, status, (loop.time() - started) * 1000.0)

    def _untyped_body(self, operation: str | None, headers: Mapping[str, str]) -> bool:
        """A body (or a required one) without ``Content-Type``: refused as a body of the wrong type is, not parsed
        as whatever the handler might guess."""
        takes = self.router.body(operation)
        if takes is None or headers.get("content-type"):
            return False
        sent = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
        return sent or takes == "required"

    @staticmethod
    def _bounded(receive: Any, scope: Any, operation: str | None) -> Any:
        """``receive`` that refuses a body past its bound (``x-limits``): a JSON body, or an upload form's file."""
        limit = int(limits()["request_body_max_bytes"])
        if operation in OSS_OPERATIONS:
            limit = int(limits()["uploads"]["max_file_size_mb"]) * 2**20 + limit  # the file and its form fields
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(operation)
        seen = 0

        async def bounded() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(operation)
            return message

        return bounded

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """Server start resumes queued work (``Backend.start``); shutdown stops this process's workers."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.backend.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.backend.pool.close()
                self.backend.runner.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _record(
        self, context: RequestContext, scope: Any, path: str, arrival: float, status: int, ms: float, service: bool
    ) -> None:
        if not service:
            return
        with contextlib.suppress(StateUnavailable):  # the state is down: this entry is lost with it
            await self.backend.store.record_request(
                method=context.method,
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                operation=context.operation,
                key=account(context.key) if context.key else None,
                status=status,
                time=arrival,
                time_text=self.backend.format_time(arrival),
                request_id=context.assigned_request_id,
                duration_ms=round(ms, 3),
                note=context.note,
            )

    @staticmethod
    def _log(context: RequestContext, scope: Any, path: str, status: int, ms: float) -> None:
        if not logger.isEnabledFor(logging.INFO):  # in process the line is off: do not build it
            return
        key = context.key
        query = scope.get("query_string", b"").decode("latin-1")
        logger.info(
            "%s %s %s %s %.1fms key=%s request_id=%s",
            scope["client"][0] if scope.get("client") else "-",
            context.method,
            printable(path + ("?" + query if query else "")),
            status or "dropped",
            ms,
            masked(key) if key else "-",
            context.assigned_request_id or "-",
        )


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


LOGGED_TARGET_MAX = 1024  # characters of a request's path and query in its log line


def printable(text: str) -> str:
    """``text`` for one log line: control characters (CR, LF, ESC, C1, the Unicode line separators) and the
    backslash escaped, so a request cannot write a line or a terminal sequence of its own into the log; cut at
    ``LOGGED_TARGET_MAX`` (the journal keeps the whole)."""
    if len(text) > LOGGED_TARGET_MAX:
        text = f"{text[:LOGGED_TARGET_MAX]}…({len(text) - LOGGED_TARGET_MAX} more)"
    return _UNPRINTABLE.sub(_escape, text)


# Operations whose model a fault reads from the JSON body (``model``); task routes read it from the task record.
MODEL_IN_BODY = frozenset({"createVideoSynthesis", "detectFace"})


async def _fault_facts(
    context: RequestContext, scope: Any, params: Mapping[str, str], receive: Any, now: float
) -> tuple[FaultFacts, Any]:
    """What faults select this request by (``scripting.FaultFacts``), and the ``receive`` the rest of the path uses:
    a submit's or face-detect's body (within its bound) is read here, for its ``model``, and replayed after."""
    task_id = params.get("task_id") or params.get("file_name", "").removesuffix(".mp4") or None
    model_of: Callable[[], str | None] | None = None
    store = context.backend.store
    if task_id is not None:

        def model_of() -> str | None:
            record = store.get_task(task_id)
            return record.model if record is not None else None

    elif context.operation in MODEL_IN_BODY:
        declared = context.headers.get("content-length", "")
        if declared.isdigit() and int(declared) <= int(limits()["request_body_max_bytes"]):
            raw, receive = await _read_replayable(receive)
            model_of = functools.partial(_body_model, raw)
    elif b"model=" in scope.get("query_string", b""):
        query = parse_qs(scope["query_string"].decode("latin-1"))
        model_of = functools.partial(lambda values: values[0] if values else None, query.get("model"))
    marks = fault_marks(context.headers.get(FAULT_HEADER.lower()))
    return FaultFacts(now=now, task_id=task_id, key=context.key, marks=marks, model_of=model_of), receive


async def _read_replayable(receive: Any) -> tuple[bytes, Any]:
    """The body (its messages until the last), and a ``receive`` that hands the same messages again, then reads on."""
    messages: list[Any] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Any:
        return messages.pop(0) if messages else await receive()

    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), replay


def _body_model(raw: bytes | None) -> str | None:
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _too_large(operation: str | None) -> ApiError:
    """An oversized body: the service's 413, or OSS's ``EntityTooLarge`` on the upload host."""
    return oss_error("size") if operation in OSS_OPERATIONS else catalogue_error("BadRequest.TooLarge")


def create_app(
    config: MockConfig | None = None,
    *,
    backend: Backend | None = None,
    media: Media | None = None,
) -> MockApp:
    """The mock as an ASGI app. ``app.backend`` holds its state (``Backend(config, media=...)`` when not given)."""
    if backend is None:
        backend = Backend(config, media=media)
    return MockApp(backend)
