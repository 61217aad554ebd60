"""uvicorn's HTTP protocol with two changes, for ``dashscope-mock serve`` and ``serve()``:

- A request its parser rejects (control characters in a header, a broken request line) is answered by uvicorn itself,
  in plain text, before the app sees it. The service answers such a request with its 400 in JSON and a request id:
  this protocol does the same (same status, the service's shape).
- The parser buffers a request line and headers of any length until they end (a 64 MB header was answered 200). Here
  the bytes that arrive before the headers are complete are counted, and past ``x-limits.request_header_max_bytes``
  (plus the one read that passed it) the connection gets the 431 ``BadRequest.HeaderTooLarge`` and is closed. A head
  that ends within a read is measured exactly by the app (``guard.edge_refusal``)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from dashscope_openapi import limits

from ..domain.errors import ApiError, catalogue_error, error_parts, invalid_request

__all__ = ["DashScopeHttpProtocol", "serve_in_thread"]


class DashScopeHttpProtocol(HttpToolsProtocol):
    _in_head = True  # between requests and while a request's line and headers arrive
    _head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        past_bound = self._head_bytes > int(limits()["request_header_max_bytes"])
        if self._in_head and past_bound and not self.transport.is_closing():
            self._answer_and_close(catalogue_error("BadRequest.HeaderTooLarge"))

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(invalid_request())

    def _answer_and_close(self, error: ApiError) -> None:
        status, headers, body = error_parts(error, str(uuid.uuid4()))
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"content-length: {len(body)}", "connection: close", "", ""]
        self.transport.write("\r\n".join(lines).encode("latin-1") + body)
        self.transport.close()


@contextlib.contextmanager
def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, lifespan: Literal["on", "off"] = "off"
) -> Iterator[str]:
    """Run an ASGI ``app`` under uvicorn (with this protocol) in a thread; yields ``http://host:port``."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan=lifespan, http=DashScopeHttpProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashscope-mock-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
