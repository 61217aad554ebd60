"""What each fault kind does to a request: one table (``BEHAVIOURS``), in the order kinds apply when several fire on
one request. ``MockApp`` only asks it; a kind of the control spec's ``FaultRequest.kind`` enum without a behaviour
here (or one here the spec does not declare) fails ``tests/mock_server/test_faults.py``, so no kind can be stored,
counted as fired and do nothing. Each behaviour names the ``FaultRequest`` fields only it uses
(``services.script_checks`` refuses them on another kind).

The kinds: ``latency`` waits real seconds, then the request goes on; ``drop`` closes the connection without an
answer; ``error`` answers an HTTP status with a catalogue error body and ``Retry-After``; ``malformed_json`` answers
200 JSON cut mid-object; ``gateway_html`` answers a gateway's 502/504 HTML page; ``truncated_body`` sends less
than its ``Content-Length`` and closes; ``reset_mid_body`` resets the connection after part of the body. The last
two write to the connection itself (below HTTP); in process, where there is none, they raise what httpx raises.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from dashscope_openapi import load_control_spec

from .errors import ApiError, catalogue_error, render_error, retry_headers
from .scripting import Fault

__all__ = ["BEHAVIOURS", "ConnectionDropped", "FaultBehaviour", "FaultedRequest", "apply_faults"]

logger = logging.getLogger("dashscope_mock")
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ConnectionDropped(httpx.RemoteProtocolError):
    """A ``drop`` fault in process: the client sees what httpx raises when a server closes without answering."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


@dataclass
class FaultedRequest:
    """What a behaviour may touch: the request's answer (``send``, which adds ``X-Request-ID``), the server's own
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
    await asyncio.sleep(fault.latency_seconds)
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


BEHAVIOURS: Mapping[str, FaultBehaviour] = {
    "latency": FaultBehaviour(("latency_seconds",), _latency),
    "drop": FaultBehaviour((), _drop),
    "error": FaultBehaviour(("status", "code", "retry_after"), _error),
    "malformed_json": FaultBehaviour((), _malformed_json),
    "gateway_html": FaultBehaviour(("gateway_status",), _gateway_html),
    "truncated_body": FaultBehaviour((), _truncated_body),
    "reset_mid_body": FaultBehaviour((), _reset_mid_body),
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
