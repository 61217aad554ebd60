"""uvicorn answers a request its HTTP parser rejects (control characters in a header, a broken request line) by
itself, in plain text, before the app sees it. The service answers such a request with its 400 in JSON and a request
id: this protocol does the same (same status, the service's shape), for ``dashscope-mock serve`` and ``serve()``."""

from __future__ import annotations

import uuid

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import error_parts, invalid_request

__all__ = ["DashScopeHttpProtocol"]


class DashScopeHttpProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        status, headers, body = error_parts(invalid_request(), str(uuid.uuid4()))
        lines = [f"HTTP/1.1 {status} Bad Request"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"content-length: {len(body)}", "connection: close", "", ""]
        self.transport.write("\r\n".join(lines).encode("latin-1") + body)
        self.transport.close()
