from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dashscope_mock.media import Fetcher

from .harness import ModelMedia


@dataclass
class FileServer:
    """A local HTTP server (stdlib, in a thread, port 0).

    ``/f/<name>`` serves ``files[name]`` with a Content-Length; ``/chunked/<name>`` the same without one (chunked);
    ``/drip`` one byte per second, forever; ``/redirect/<n>/<name>`` redirects n times, then serves ``/f/<name>``;
    ``/to-file`` redirects to ``file:///etc/passwd``; ``/status/<code>`` answers that status.
    """

    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)

    def url(self, name: str, *, chunked: bool = False) -> str:
        return f"{self.base}/{'chunked' if chunked else 'f'}/{name}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            try:
                if parts[0] == "f" and parts[1] in server.files:
                    self._send(server.files[parts[1]], parts[1])
                elif parts[0] == "chunked" and parts[1] in server.files:
                    self._chunked(server.files[parts[1]], parts[1])
                elif parts[0] == "drip":
                    self._drip()
                elif parts[0] == "redirect":
                    left = int(parts[1])
                    target = f"/redirect/{left - 1}/{parts[2]}" if left > 1 else f"/f/{parts[2]}"
                    self._redirect(target)
                elif parts[0] == "to-file":
                    self._redirect("file:///etc/passwd")
                elif parts[0] == "status":
                    self.send_response(int(parts[1]))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(self, data: bytes, name: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self._write(data, name)

        def _chunked(self, data: bytes, name: str) -> None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 256 * 1024
            for start in range(0, len(data), step):
                piece = data[start : start + step]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                server.sent[name] = server.sent.get(name, 0) + len(piece)
            self.wfile.write(b"0\r\n\r\n")

        def _write(self, data: bytes, name: str) -> None:
            step = 256 * 1024
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                server.sent[name] = server.sent.get(name, 0) + len(data[start : start + step])

        def _drip(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1.0)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (the point of several tests) are not errors


@pytest.fixture
def http_server() -> Iterator[FileServer]:
    holder = FileServer("")
    httpd = _QuietServer(("127.0.0.1", 0), _handler(holder))
    holder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def pipeline(tmp_path: Path) -> ModelMedia:
    return ModelMedia(fetcher=Fetcher(timeout=5), work_root=tmp_path / "work")
