"""A lean path for the two hot operations, task query (``getTask``) and submit (``createVideoSynthesis``).

Why: the mock sits behind parallel CI jobs and inside load tests, and connexion's middleware stack costs about half a
millisecond per request (profiled: routing, security, parameter validation, a body validator rebuilt for every
request, response validation, several ASGI wrappers), ten times what uvicorn and the handler need. ``make bench``
measures it.

What it serves: only a request connexion would accept exactly as it is, judged by checks compiled from the same spec
(``dashscope_openapi.load_spec()``, ``$ref``s resolved by connexion's own ``resolve_refs``):

- no query string (strict validation: any query parameter is an error) and no ``root_path``;
- no header given twice; ``Authorization: Bearer <key>`` of an allowed key (the operation's security is the spec's
  bearer scheme), the key free of surrounding whitespace;
- every header parameter of the operation present when required, and valid against its schema when present;
- path parameters made of unreserved URL characters (``A-Z a-z 0-9 . _ ~ -``) and valid against their schemas;
- a JSON body (``Content-Type: application/json`` with at most ``charset=utf-8``, a ``Content-Length``) that is an
  object whose ``model`` names a ``oneOf`` branch and that the branch's schema accepts: the per-model validation of
  ``validation.DashScopeBodyValidator``, compiled once with ``jsonschema_rs`` (Draft 4, like connexion's).

Anything else — a missing or refused key, an invalid header or body, a body the Rust validator cannot take (NaN, lone
surrogates), a HEAD — goes on to connexion untouched (the body is replayed), which answers it as before, with the
service's error shape. The fast path only ever *accepts* what connexion would accept, so it can change no error.

The answer comes from the same handler (``handlers.PublicApi``) with the same request context, serialized as connexion
does (``json.dumps`` + newline; headers ``X-Request-ID``, ``Content-Type``, ``Content-Length`` in its order); an
``ApiError`` from the handler (429 query limit, scripted scenarios) becomes the response connexion's error handler
would build. Faults, the journal, ``X-Request-ID`` and the log line stay in ``MockApp.__call__`` around both paths.
Without ``jsonschema_rs`` there is no fast path: every request goes through connexion.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import validation

__all__ = ["FastPath", "build_fast_path"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Check = Callable[[Any], bool]

OPERATIONS = ("getTask", "createVideoSynthesis")
JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
ASYNC_HEADER = validation.ASYNC_HEADER.lower()  # header names arrive lower-cased from ASGI
_JSON_TYPE = (b"content-type", b"application/json")
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+\Z")


@dataclass
class _Operation:
    operation_id: str
    handler: Callable[..., Awaitable[tuple[dict[str, Any], int, dict[str, str]]]]
    path: re.Pattern[str]
    path_params: dict[str, Check]
    headers: list[tuple[str, bool, Check]]
    branches: dict[str, Check] = field(default_factory=dict)
    has_body: bool = False


class FastPath:
    """See the module docstring. ``serve`` answers a request, or hands back the ``receive`` connexion must use."""

    def __init__(self, operations: Mapping[str, _Operation], key_allowed: Callable[[str], bool]) -> None:
        self.operations = dict(operations)
        self._key_allowed = key_allowed

    def _key(self, headers: Mapping[str, str]) -> str | None:
        value = headers.get("authorization")
        if not value:
            return None
        parts = value.split(maxsplit=1)  # as connexion's security handler splits it
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None
        token = parts[1]
        if token != token.strip() or not self._key_allowed(token):
            return None
        return token

    async def serve(
        self, operation_id: str, scope: Mapping[str, Any], receive: Receive, send: Send, context: Any
    ) -> Receive | None:
        """Answer the request (``None``), or return the ``receive`` to hand to connexion."""
        op = self.operations[operation_id]
        if scope.get("query_string") or scope.get("root_path"):
            return receive
        headers: Mapping[str, str] = context.headers
        if len(headers) != len(scope.get("headers", ())):
            return receive
        if self._key(headers) is None:
            return receive
        for name, required, check in op.headers:
            value = headers.get(name)
            if value is None:
                if required:
                    return receive
            elif not check(value) or (name == ASYNC_HEADER and not required):
                return receive
        match = op.path.match(context.path)
        if match is None:
            return receive
        kwargs: dict[str, Any] = match.groupdict()
        for name, check in op.path_params.items():
            # Unreserved URL characters only (task ids are UUIDs): connexion's routing refuses some others (a
            # control character gives 404), so anything unusual is left to it.
            if not _PLAIN_SEGMENT.match(kwargs[name]) or not check(kwargs[name]):
                return receive
        if op.has_body:
            body, receive = await self._body(op, headers, receive)
            if body is None:
                return receive
            kwargs["body"] = body
        await self._answer(op, kwargs, send)
        return None

    async def _body(self, op: _Operation, headers: Mapping[str, str], receive: Receive) -> tuple[Any, Receive]:
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
        try:
            body = json.loads(b"".join(m.get("body", b"") for m in messages).decode("utf-8"))
        except ValueError:
            return None, replay
        if not isinstance(body, dict):
            return None, replay
        model = body.get("model")
        check = op.branches.get(model) if isinstance(model, str) else None
        if check is None:
            return None, replay
        try:
            valid = check(body)
        except Exception:  # a value Rust cannot represent (NaN, a lone surrogate, ...): connexion decides
            return None, replay
        return (body, replay) if valid else (None, replay)

    async def _answer(self, op: _Operation, kwargs: dict[str, Any], send: Send) -> None:
        from .app import error_response

        try:
            data, status, extra = await op.handler(**kwargs)
        except Exception as exc:  # what connexion's error handlers would turn it into
            status, headers, content = error_response(exc)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
            return
        content = (json.dumps(data) + "\n").encode()
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]
        raw += [_JSON_TYPE, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})


def _replay(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _validator(schema: Mapping[str, Any]) -> Check:
    import jsonschema_rs

    validator = jsonschema_rs.Draft4Validator(dict(schema))
    return validator.is_valid


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}/]+)\}", path)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def _compile(spec: Mapping[str, Any], operation_id: str, handler: Callable[..., Any]) -> _Operation | None:
    """The checks of one operation, or ``None`` when the spec asks for something the fast path does not do."""
    for path, item in spec["paths"].items():
        for _method, operation in item.items():  # the router already matched the method
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                continue
            security = operation.get("security", spec.get("security"))
            schemes = spec.get("components", {}).get("securitySchemes", {})
            if not security or len(security) != 1 or len(security[0]) != 1:
                return None
            (scheme_name,) = security[0]
            scheme = schemes.get(scheme_name, {})
            if scheme.get("type") != "http" or str(scheme.get("scheme", "")).lower() != "bearer":
                return None
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            headers: list[tuple[str, bool, Check]] = []
            path_params: dict[str, Check] = {}
            for param in params:
                where, name = param["in"], param["name"]
                if where == "header":
                    headers.append((name.lower(), bool(param.get("required")), _validator(param.get("schema", {}))))
                elif where == "path":
                    path_params[name] = _validator(param.get("schema", {}))
                else:  # query or cookie parameters: not done here
                    return None
            compiled = _Operation(
                operation_id=operation_id,
                handler=handler,
                path=_path_pattern(path),
                path_params=path_params,
                headers=headers,
            )
            request_body = operation.get("requestBody")
            if request_body is not None:
                content = request_body.get("content", {})
                if list(content) != ["application/json"] or not request_body.get("required"):
                    return None
                schema = content["application/json"]["schema"]
                from .validation import _branches

                branches = _branches(schema)
                if not branches:
                    return None
                compiled.branches = {model: _validator(branch) for model, branch in branches.items()}
                compiled.has_body = True
            return compiled
    return None


def build_fast_path(
    spec: Mapping[str, Any], handlers: Mapping[str, Callable[..., Any]], key_allowed: Callable[[str], bool]
) -> FastPath | None:
    """The fast path of ``OPERATIONS`` for ``spec`` (``None`` without ``jsonschema_rs``)."""
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:  # pragma: no cover - a schemathesis dependency; declared by the mock
        return None
    from connexion.json_schema import resolve_refs

    resolved = resolve_refs(copy.deepcopy(dict(spec)))
    operations = {}
    for operation_id in OPERATIONS:
        compiled = _compile(resolved, operation_id, handlers[operation_id])
        if compiled is not None:
            operations[operation_id] = compiled
    return FastPath(operations, key_allowed) if operations else None
