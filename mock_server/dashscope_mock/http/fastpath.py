"""A lean path for the two hot operations, task query (``getTask``) and submit (``createVideoSynthesis``).

Why: the mock sits behind parallel CI jobs and inside load tests, and connexion's middleware stack costs about half a
millisecond per request (routing, security, parameter validation, a body validator rebuilt for every request,
response validation, several ASGI wrappers), ten times what uvicorn and the handler need. ``make bench`` measures it.

It skips middleware, and never judges a request itself: the operation's ``validation.OperationValidator`` (the same
object connexion's hooks use) checks headers, path and body, the handler is the same (``handlers``), and errors are
written by ``errors.render_error`` as connexion's error handler writes them. Requests it does not take go on to
connexion untouched (the body is replayed): a query string or a ``root_path``, a header given twice, a missing or
refused key (connexion's security answers), a path parameter with characters outside ``A-Z a-z 0-9 . _ ~ -`` (connexion
routes some of them differently), a body that is not ``application/json`` (at most ``charset=utf-8``) with a
``Content-Length``, or a client that went away mid-body. Faults, the journal, ``X-Request-ID`` and the log line stay in
``MockApp`` around both paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.errors import ApiError, render_error, to_api_error
from .context import RequestContext
from .handlers import HANDLERS, Answer
from .validation import OperationValidator, check_body_in, operation_validators, parse_json_body

__all__ = ["FastPath", "build_fast_path"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

OPERATIONS = ("getTask", "createVideoSynthesis")
JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_JSON_TYPE = (b"content-type", b"application/json")
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+\Z")


@dataclass(frozen=True)
class FastOperation:
    handler: Callable[..., Awaitable[Answer]]
    validator: OperationValidator


class FastPath:
    """See the module docstring. ``serve`` answers a request, or hands back the ``receive`` connexion must use."""

    def __init__(self, operations: Mapping[str, FastOperation]) -> None:
        self.operations = dict(operations)

    async def serve(
        self,
        operation_id: str,
        params: Mapping[str, str],
        scope: Mapping[str, Any],
        receive: Receive,
        send: Send,
        context: RequestContext,
    ) -> Receive | None:
        """Answer the request (``None``), or return the ``receive`` to hand to connexion."""
        op = self.operations[operation_id]
        if scope.get("query_string") or scope.get("root_path"):
            return receive
        headers = context.headers
        if len(headers) != len(scope.get("headers", ())):
            return receive
        key = context.key
        if key is None or not context.backend.key_allowed(key):
            return receive
        if not all(_PLAIN_SEGMENT.match(value) for value in params.values()):
            return receive
        kwargs: dict[str, Any] = dict(params)
        raw: bytes | None = None
        if op.validator.has_json_body:
            raw, receive = await _read_body(headers, receive)
            if raw is None:
                return receive
        try:
            op.validator.check_headers(headers)
            op.validator.check_path(params)
            if raw is not None:
                body = parse_json_body(raw)
                check_body_in(context, op.validator, body)
                kwargs["body"] = body
            data, status, extra = await op.handler(**kwargs)
        except Exception as exc:  # what connexion's error handlers would answer
            await _send_error(to_api_error(exc), context, send)
            return None
        content = (json.dumps(data) + "\n").encode()
        raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]
        raw_headers += [_JSON_TYPE, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": content})
        return None


async def _send_error(error: ApiError, context: RequestContext, send: Send) -> None:
    status, headers, content = render_error(error, context.request_id)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _read_body(headers: Mapping[str, str], receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body of a JSON request with a ``Content-Length``, and the ``receive`` that replays it."""
    length = headers.get("content-length", "")
    if headers.get("content-type") not in JSON_CONTENT_TYPES or not (length.isascii() and length.isdigit()):
        return None, receive
    if int(length) == 0:
        return None, receive
    messages: list[dict[str, Any]] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    replay = _replay(messages, receive)
    if messages[-1]["type"] != "http.request":
        return None, replay
    return b"".join(m.get("body", b"") for m in messages), replay


def _replay(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def build_fast_path() -> FastPath:
    """The fast path of ``OPERATIONS``, with the validators connexion's hooks use."""
    validators = operation_validators()
    return FastPath({name: FastOperation(HANDLERS[name], validators[name]) for name in OPERATIONS})
