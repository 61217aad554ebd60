"""Real services the tests (and benchmarks) need, started on free loopback ports and stopped afterwards.

``redis_server()`` runs Debian's ``redis-server`` (``make test`` installs the package when it is missing) with no
persistence, in its own temporary directory; ``served_cli()`` runs ``dashscope-mock serve`` as a process of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

__all__ = ["ServedCli", "clean_env", "free_port", "redis_server", "served_cli", "wait_healthy"]

HANG_GUARD = 120.0  # seconds: only turns a hang into a failure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(base: str, process: subprocess.Popen[str], timeout: float) -> None:
    """Until ``base``'s ``/_mock/health`` answers 200; fails with the server's output when it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()[1]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/_mock/health", timeout=5).status_code == 200:
                return
        assert time.monotonic() < deadline, "no health answer in time"
        time.sleep(0.1)


def clean_env() -> dict[str, str]:
    """This process's environment without the mock's settings (``DASHSCOPE_MOCK_*``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_MOCK_")}


@dataclasses.dataclass
class ServedCli:
    base: str  # the loopback base URL
    stderr: str = ""  # what the process wrote, once it stopped


@contextlib.contextmanager
def served_cli(*args: str, env: dict[str, str] | None = None) -> Iterator[ServedCli]:
    """``dashscope-mock serve --port <free> *args`` in a process group of its own, with ``env`` over a clean
    environment; yields once ``/_mock/health`` answers; stopped with SIGTERM (SIGKILL after 30 s), its stderr kept."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dashscope_mock.cli", "serve", "--port", str(port), *args],
        env={**clean_env(), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    served = ServedCli(f"http://127.0.0.1:{port}")
    try:
        wait_healthy(served.base, process, HANG_GUARD)
        yield served
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            _, served.stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, served.stderr = process.communicate()


@contextlib.contextmanager
def redis_server(timeout: float = 20) -> Iterator[str]:
    """A fresh ``redis-server`` on 127.0.0.1; yields its URL (``redis://127.0.0.1:<port>/0``)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="dashscope-redis-")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
