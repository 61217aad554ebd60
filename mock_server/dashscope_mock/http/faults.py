"""What each fault kind does to a request: one table (``BEHAVIOURS``), in the order kinds apply when several fire on
one request. ``MockApp`` only asks it; a kind of the control spec's ``FaultRequest.kind`` enum without a behaviour
here (or one here the spec does not declare) fails ``tests/mock_server/test_faults.py``, so no kind can be stored,
counted as fired and do nothing. Each behaviour names the ``FaultRequest`` fields only it uses
(``services.script_checks`` refuses them on another kind).

Three sorts of behaviour:

- before the answer: ``latency`` waits real seconds (fixed, or drawn from a seeded uniform or lognormal
  distribution), then the request goes on;
- instead of the answer: ``drop`` closes the connection without a byte (the empty answer); ``connection_reset``
  resets it (TCP RST) without a byte; ``error`` answers an HTTP status with a catalogue error body and
  ``Retry-After``; ``malformed_json`` answers 200 JSON cut mid-object; ``gateway_html`` answers a gateway's 502/504
  HTML page; ``truncated_body`` sends less than its ``Content-Length`` and closes; ``reset_mid_body`` resets the
  connection after part of the body; ``result_link_error`` answers a result download with OSS's 403 (an expired
  link) or 404. The socket-level ones write to the connection itself (below HTTP); in process, where there is none,
  they raise what httpx raises;
- around the answer (they wrap ``send``: the service answers, the fault rewrites what it sent): ``chunked_dribble``
  sends the whole answer chunked, a few bytes at a time; ``wrong_type`` gives one field a value of another JSON
  type; ``unknown_status``, ``status_regression`` and ``missing_result_url`` rewrite a task query's answer (a status
  the spec does not know, RUNNING after SUCCEEDED, SUCCEEDED without its result link). The task itself is never
  changed: only what one answer says.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from connexion.json_schema import resolve_refs

from dashscope_openapi import load_control_spec, load_spec

from ..domain.errors import ApiError, catalogue_error, oss_error, render_error, retry_headers
from ..domain.scripting import Fault

__all__ = [
    "BEHAVIOURS",
    "KIND_OPERATIONS",
    "LATENCY_FIELDS",
    "ConnectionDropped",
    "FaultBehaviour",
    "FaultedRequest",
    "apply_faults",
    "fault_operations",
    "response_fields",
]

logger = logging.getLogger("dashscope_mock")
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ConnectionDropped(httpx.RemoteProtocolError):
    """A ``drop`` fault in process: the client sees what httpx raises when a server closes without answering."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


@dataclass
class FaultedRequest:
    """What a behaviour may touch: the request's answer (``send``, which adds ``X-Request-ID``; a behaviour around
    the answer replaces it by its own wrapper, which the rest of the request path then uses), the server's own
    ``send`` (its connection), the request id and the mock's ``Retry-After`` default; ``dropped`` once closed."""

    send: Send
    server_send: Any
    request_id: str
    retry_after_seconds: int
    dropped: bool = False


@dataclass(frozen=True)
class FaultBehaviour:
    fields: tuple[str, ...]  # the FaultRequest fields only this kind uses
    run: Callable[[Fault, FaultedRequest], Awaitable[bool]]  # True: the request is answered (or gone)


# What a client meets when a proxy cuts an answer: the start of a task answer, no more.
MALFORMED_JSON = b'{"request_id": "00000000-0000-0000-0000-000000000000", "output": {"task_id": "'
GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1>"
    "</center>\r\n<hr><center>gateway</center>\r\n</body>\r\n</html>\r\n"
)
GATEWAY_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}


async def _latency(fault: Fault, request: FaultedRequest) -> bool:
    await asyncio.sleep(fault.latency(max(fault.matched - 1, 0)))  # the draw of the match that fired
    return False


def _end_connection(
    request: FaultedRequest, in_process: Exception, written: bytes = b"", *, reset: bool = False
) -> bool:
    """Write ``written`` on the socket itself (below HTTP), then close it, or reset it (TCP RST: linger 0). In process
    there is no socket (an ASGI transport): ``in_process`` is raised, what httpx raises for the same trouble."""
    cycle = getattr(request.server_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        raise in_process
    if written:
        transport.write(written)
    sock = transport.get_extra_info("socket") if reset else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if reset:
        transport.abort()
    else:
        transport.close()
    cycle.disconnected = True  # uvicorn: do not answer 500 on a closed connection
    request.dropped = True
    return True


async def _drop(fault: Fault, request: FaultedRequest) -> bool:
    return _end_connection(request, ConnectionDropped())


async def _connection_reset(fault: Fault, request: FaultedRequest) -> bool:
    reset = httpx.ReadError("[Errno 104] Connection reset by peer")
    return _end_connection(request, reset, reset=True)  # not a byte written: a reset before the answer


async def _truncated_body(fault: Fault, request: FaultedRequest) -> bool:
    head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(MALFORMED_JSON) + 64}\r\nx-request-id: {request.request_id}\r\n\r\n"
    missing = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    return _end_connection(request, missing, head.encode() + MALFORMED_JSON)  # what was promised never comes


async def _reset_mid_body(fault: Fault, request: FaultedRequest) -> bool:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n"
    reset = httpx.ReadError("[Errno 104] Connection reset by peer")
    return _end_connection(request, reset, head + MALFORMED_JSON, reset=True)


def fault_error(status: int, code: str | None, retry_after: int | None, default_retry_after: int) -> ApiError:
    """The answer of an ``error`` fault: ``code`` (else the status's default, ``x-fault-default-codes``)."""
    defaults: Mapping[int, str] = load_control_spec()["x-fault-default-codes"]
    error = catalogue_error(code or defaults.get(status, defaults[500]))
    error.status = status
    if retry_after is not None:
        error.headers["Retry-After"] = str(retry_after)
    else:
        error.headers.update(retry_headers(status, default_retry_after))
    return error


async def _error(fault: Fault, request: FaultedRequest) -> bool:
    error = fault_error(fault.status or 500, fault.code, fault.retry_after, request.retry_after_seconds)
    status, raw, body = render_error(error, request.request_id)
    await request.send({"type": "http.response.start", "status": status, "headers": raw})
    await request.send({"type": "http.response.body", "body": body})
    return True


async def _answer(request: FaultedRequest, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await request.send({"type": "http.response.start", "status": status, "headers": headers})
    await request.send({"type": "http.response.body", "body": body})


async def _malformed_json(fault: Fault, request: FaultedRequest) -> bool:
    await _answer(request, 200, b"application/json", MALFORMED_JSON)
    return True


async def _gateway_html(fault: Fault, request: FaultedRequest) -> bool:
    status = fault.gateway_status or 502
    page = GATEWAY_PAGE.format(status=status, reason=GATEWAY_REASONS[status]).encode()
    await _answer(request, status, b"text/html", page)
    return True


async def _result_link_error(fault: Fault, request: FaultedRequest) -> bool:
    """A result download answers as OSS does for an expired link (403) or a missing object (404)."""
    error = oss_error("missing" if fault.result_status == 404 else "link_expired")
    status, raw, body = render_error(error, request.request_id)
    await request.send({"type": "http.response.start", "status": status, "headers": raw})
    await request.send({"type": "http.response.body", "body": body})
    return True


# ------------------------------------------------------------------------------------- around the answer (send)
def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _wrap(request: FaultedRequest, change: Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[bool]]) -> None:
    """Replace ``request.send`` by one that holds the answer (its start and whole body) and hands it to ``change``,
    which sends it (changed or not) through the previous ``send`` and says so (False: sent as it was)."""
    inner = request.send
    start: dict[str, Any] | None = None
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            await inner(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        held, body = start, b"".join(chunks)
        start, chunks[:] = None, []
        headers = list(held.get("headers", []))
        if not await change(int(held["status"]), headers, body):
            await inner(held)
            await inner({"type": "http.response.body", "body": body})

    request.send = send


def _json_rewrite(request: FaultedRequest, rewrite: Callable[[Any], bool]) -> None:
    """Wrap ``send`` so that a 200 JSON answer goes through ``rewrite`` (it changes the parsed answer in place and
    says whether it did); any other answer passes as it was."""
    inner = request.send

    async def change(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        content_type = _header(headers, b"content-type") or b""
        if status != 200 or b"json" not in content_type:
            return False
        try:
            answer = json.loads(body)
        except ValueError:
            return False
        if not rewrite(answer):
            return False
        content = (json.dumps(answer) + "\n").encode()
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        kept.append((b"content-length", str(len(content)).encode()))
        await inner({"type": "http.response.start", "status": status, "headers": kept})
        await inner({"type": "http.response.body", "body": content})
        return True

    _wrap(request, change)


async def _chunked_dribble(fault: Fault, request: FaultedRequest) -> bool:
    """The whole answer, chunked (no ``Content-Length``): ``dribble_bytes`` per chunk, ``dribble_interval_ms`` of
    real time between chunks."""
    inner = request.send
    size = fault.dribble_bytes or 16
    pause = (100.0 if fault.dribble_interval_ms is None else fault.dribble_interval_ms) / 1000.0

    async def change(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        await inner({"type": "http.response.start", "status": status, "headers": kept})
        pieces = [body[at : at + size] for at in range(0, len(body), size)] or [b""]
        for number, piece in enumerate(pieces):
            if number:
                await asyncio.sleep(pause)
            await inner({"type": "http.response.body", "body": piece, "more_body": number < len(pieces) - 1})
        return True

    _wrap(request, change)
    return False


def _other_type(value: Any) -> Any:
    """A value of another JSON type than ``value``'s."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return 0
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return []
    if isinstance(value, list):
        return {}
    return 0  # null


async def _wrong_type(fault: Fault, request: FaultedRequest) -> bool:
    *parents, leaf = (fault.field or "").split(".")

    def rewrite(answer: Any) -> bool:
        for name in parents:
            answer = answer.get(name) if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or leaf not in answer:
            return False  # an answer without the field passes unchanged
        answer[leaf] = _other_type(answer[leaf])
        return True

    _json_rewrite(request, rewrite)
    return False


SUCCEEDED = "SUCCEEDED"
# What a task answer carries only once it ended: dropped when a fault shows it still going.
ENDED_FIELDS = ("end_time", "results", "video_url", "code", "message", "task_metrics")


def _show_going(answer: Any, status: str, *, only_from: str | None = None) -> bool:
    """Show a task answer's status as ``status``, still going (no end, no result); only when it read ``only_from``."""
    output = answer.get("output") if isinstance(answer, dict) else None
    if not isinstance(output, dict) or not isinstance(output.get("task_status"), str):
        return False
    if only_from is not None and output["task_status"] != only_from:
        return False
    output["task_status"] = status
    for name in ENDED_FIELDS:
        output.pop(name, None)
    answer.pop("usage", None)
    return True


async def _unknown_status(fault: Fault, request: FaultedRequest) -> bool:
    _json_rewrite(request, lambda answer: _show_going(answer, fault.task_status or "QUEUED"))
    return False


async def _status_regression(fault: Fault, request: FaultedRequest) -> bool:
    _json_rewrite(request, lambda answer: _show_going(answer, "RUNNING", only_from=SUCCEEDED))
    return False


@functools.cache
def _result_url_paths() -> tuple[tuple[str, ...], ...]:
    """Where each model's answer puts its result link (``x-models.<model>.result.video_url``)."""
    found = {tuple(str(m["result"]["video_url"]).split(".")) for m in load_spec()["x-models"].values() if "result" in m}
    return tuple(sorted(found))


def _drop_result_url(answer: Any) -> bool:
    output = answer.get("output") if isinstance(answer, dict) else None
    if not isinstance(output, dict) or output.get("task_status") != SUCCEEDED:
        return False
    dropped = False
    for path in _result_url_paths():
        parents: list[dict[str, Any]] = [answer]
        for name in path[:-1]:
            inner = parents[-1].get(name)
            if not isinstance(inner, dict):
                break
            parents.append(inner)
        else:
            if parents[-1].pop(path[-1], None) is not None:
                dropped = True
            for parent, name in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
                if parent.get(name) == {}:  # ``results`` without its one field: gone as well
                    del parent[name]
    return dropped


async def _missing_result_url(fault: Fault, request: FaultedRequest) -> bool:
    _json_rewrite(request, _drop_result_url)
    return False


# ---------------------------------------------------------------------------------------- what can be faulted
@functools.cache
def response_fields(operation: str) -> Mapping[str, frozenset[str]]:
    """The dotted paths of the properties of ``operation``'s 200 JSON answer (the public spec), with the JSON types
    the schema allows there (empty when it does not say); empty for an operation without one. What ``wrong_type``
    may name."""
    resolved = _resolved_spec()
    for item in resolved["paths"].values():
        for operation_object in item.values():
            if isinstance(operation_object, dict) and operation_object.get("operationId") == operation:
                content = operation_object.get("responses", {}).get("200", {}).get("content", {})
                schema = content.get("application/json", {}).get("schema")
                found: dict[str, set[str]] = {}
                if schema is not None:
                    _walk(schema, "", found)
                return {path: frozenset(types) for path, types in found.items()}
    return {}


@functools.cache
def _resolved_spec() -> Mapping[str, Any]:
    resolved: Mapping[str, Any] = resolve_refs(copy.deepcopy(dict(load_spec())))
    return resolved


def _types(schema: Mapping[str, Any]) -> set[str]:
    found = {str(schema["type"])} if "type" in schema else set()
    for union in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(union, ()):
            found |= _types(branch)
    return found


def _walk(schema: Mapping[str, Any], prefix: str, found: dict[str, set[str]]) -> None:
    for union in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(union, ()):
            _walk(branch, prefix, found)
    for name, inner in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        found.setdefault(path, set()).update(_types(inner))
        _walk(inner, path + ".", found)


# The one operation each kind that only makes sense on one answer applies to (``script_checks`` refuses others).
KIND_OPERATIONS: Mapping[str, str] = {
    "unknown_status": "getTask",
    "status_regression": "getTask",
    "missing_result_url": "getTask",
    "result_link_error": "getResult",
}


def fault_operations(kind: str) -> str | None:
    """The operation a fault of ``kind`` must name, if its kind has one."""
    return KIND_OPERATIONS.get(kind)


LATENCY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "fixed": ("latency_seconds",),
    "uniform": ("latency_min_seconds", "latency_max_seconds"),
    "lognormal": ("latency_median_seconds", "latency_sigma"),
}

# The table, in the order kinds apply: latency first, then the ones around the answer (the first wrapped is the
# innermost: a dribble sends what the rewrites made), then the ones that answer or end the connection.
BEHAVIOURS: Mapping[str, FaultBehaviour] = {
    "latency": FaultBehaviour(
        (
            "latency_seconds",
            "latency_distribution",
            "latency_min_seconds",
            "latency_max_seconds",
            "latency_median_seconds",
            "latency_sigma",
        ),
        _latency,
    ),
    "chunked_dribble": FaultBehaviour(("dribble_bytes", "dribble_interval_ms"), _chunked_dribble),
    "wrong_type": FaultBehaviour(("field",), _wrong_type),
    "unknown_status": FaultBehaviour(("task_status",), _unknown_status),
    "status_regression": FaultBehaviour((), _status_regression),
    "missing_result_url": FaultBehaviour((), _missing_result_url),
    "drop": FaultBehaviour((), _drop),
    "connection_reset": FaultBehaviour((), _connection_reset),
    "error": FaultBehaviour(("status", "code", "retry_after"), _error),
    "malformed_json": FaultBehaviour((), _malformed_json),
    "gateway_html": FaultBehaviour(("gateway_status",), _gateway_html),
    "truncated_body": FaultBehaviour((), _truncated_body),
    "reset_mid_body": FaultBehaviour((), _reset_mid_body),
    "result_link_error": FaultBehaviour(("result_status",), _result_link_error),
}


async def apply_faults(faults: list[Fault], request: FaultedRequest) -> bool:
    """Run the behaviours of the faults that fired, in the table's order; True when the request is done."""
    fired: dict[str, Fault] = {fault.kind: fault for fault in faults}
    for unknown in fired.keys() - BEHAVIOURS.keys():  # checked when made: only a state written by another version
        logger.error("fault #%s has kind %r, which this mock cannot execute: ignored", fired[unknown].id, unknown)
    for name, behaviour in BEHAVIOURS.items():
        if name in fired and await behaviour.run(fired[name], request):
            return True
    return False
