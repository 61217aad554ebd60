"""Start servers as subprocesses on free ports and wait until they answer."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import HTTPServer
from pathlib import Path

import httpx

from tests.services import free_port

__all__ = ["BIN", "ROOT", "free_port", "in_thread", "running"]

ROOT = Path(__file__).parents[1]
BIN = ROOT / ".venv" / "bin"


@contextlib.contextmanager
def running(
    command: Sequence[str], *, ready_url: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until the block ends; ``ready_url`` answering (any status) means it is up."""
    process = subprocess.Popen(
        list(command),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def in_thread(server: HTTPServer) -> Iterator[str]:
    """Serve ``server`` (bound to a loopback port) from a daemon thread until the block ends; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
