"""Part 6c of ``python -m bench.soak`` (``--only edge``): the request edge of a served mock under attack (issue 21).

1. Refusals, each sent as raw bytes on its own connection (nothing a client library would tidy up): two
   ``Authorization`` headers, three malformed ``Host`` values, bodies without ``Content-Type`` on four routes, a
   forged log line and a terminal escape in a path. Each must get its expected status in the service's JSON shape
   (XML on the upload host); none a 5xx.
2. Floods: two connections each sending a 32 MB header line, and two sending queries of 10,000 parameters, over and
   over, while a normal task query is timed every 50 ms on another connection. Goals: every normal query answered
   within 1 s during the flood, the server's RSS at most 50 MB above its idle RSS (VmRSS sampled every 50 ms, and
   VmHWM), 0 answers >= 500.
3. The server's log afterwards: no line that a request wrote (the forged timestamp at a line's start) and no escape
   byte.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ._servers import free_port
from .soak_load import MockServer

__all__ = ["check", "edge_run"]

KEY = "sk-soak-edge-1234"
HEADER_FLOOD = 32 * 2**20
QUERY_PARAMETERS = 10_000
FLOOD_SECONDS = 8.0
LATENCY_GOAL = 1.0
RSS_GROWTH_GOAL = 50 * 2**20
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
DETECT = "/api/v1/services/aigc/image2video/face-detect"
FORGED = "2026-01-01 00:00:00,000 INFO dashscope_mock forged"
BODY = (
    b'{"model":"liveportrait","input":{"image_url":"https://example.com/a.png",'
    b'"audio_url":"https://example.com/a.mp3"}}'
)


def _raw(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (CRLF-joined lines, no blank line) and ``body``; the status and the answer's body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    parts = status_line.split(b" ")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), rest.partition(b"\r\n\r\n")[2]


def refusals(port: int) -> list[dict[str, Any]]:
    """Each case: (name, head, body, expected status, expected code or XML root)."""
    auth = f"Authorization: Bearer {KEY}"
    host = "Host: 127.0.0.1"
    policy = "GET /api/v1/uploads?action=getPolicy&model=liveportrait HTTP/1.1"
    cases: list[tuple[str, str, bytes, int, str]] = [
        (
            "duplicate Authorization",
            f"GET /api/v1/tasks/a HTTP/1.1\r\n{host}\r\n{auth}\r\n{auth}x",
            b"",
            401,
            "InvalidApiKey",
        ),
        ("Host with userinfo", f"{policy}\r\nHost: 127.0.0.1:1@evil.example\r\n{auth}", b"", 400, "InvalidParameter"),
        ("Host after an IPv6 literal", f"{policy}\r\nHost: [::1]evil.example\r\n{auth}", b"", 400, "InvalidParameter"),
        ("Host with a path", f"{policy}\r\nHost: 127.0.0.1:80/.evil.example\r\n{auth}", b"", 400, "InvalidParameter"),
        ("two Host headers", f"{policy}\r\n{host}\r\nHost: evil.example\r\n{auth}", b"", 400, "InvalidParameter"),
    ]
    for name, path, extra in (
        ("submit", SUBMIT, "\r\nX-DashScope-Async: enable"),
        ("face-detect", DETECT, ""),
        ("scenarios", "/_mock/scenarios", ""),
        ("upload form", "/_mock/oss", ""),
    ):
        head = f"POST {path} HTTP/1.1\r\n{host}\r\n{auth}{extra}\r\nContent-Length: {len(BODY)}"
        code = "InvalidArgument" if path == "/_mock/oss" else "InvalidParameter"
        cases.append((f"{name} without Content-Type", head, BODY, 400, code))
    forged = "/api/v1/tasks/x%0D%0A" + FORGED.replace(" ", "%20") + "%1B%5B2J"
    cases.append(("forged log line", f"GET {forged} HTTP/1.1\r\n{host}\r\n{auth}", b"", 200, ""))
    rows = []
    for name, head, body, expected, code in cases:
        status, answer = _raw(port, head, body)
        found = code.encode() in answer if code else True
        rows.append({"case": name, "status": status, "expected": expected, "met": status == expected and found})
    return rows


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _header_flood(port: int, stop: threading.Event, sent: list[int]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, contextlib.suppress(OSError):
        sock.sendall(b"GET /api/v1/tasks/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
        piece = b"a" * 65536
        while sent[0] < HEADER_FLOOD and not stop.is_set():
            sock.sendall(piece)
            sent[0] += len(piece)


def _query_flood(port: int, stop: threading.Event, statuses: list[int]) -> None:
    query = "&".join(f"p{i}=1" for i in range(QUERY_PARAMETERS))
    while not stop.is_set():
        try:
            status, _ = _raw(
                port, f"GET /api/v1/tasks?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}"
            )
        except OSError:
            status = 0
        statuses.append(status)


def floods(server: MockServer) -> dict[str, Any]:
    assert server.process is not None
    pid, port = server.process.pid, server.port
    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
        for _ in range(20):  # warm: imports, the first answers
            client.get("/api/v1/tasks/warm")
        idle = _status_bytes(pid, "VmRSS")
        hwm_before = _status_bytes(pid, "VmHWM")
        stop = threading.Event()
        header_sent = [[0], [0]]
        query_statuses: list[int] = []
        peak = idle
        workers: list[threading.Thread] = []
        flooders: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
            (_header_flood, (port, stop, header_sent[0])),
            (_header_flood, (port, stop, header_sent[1])),
            (_query_flood, (port, stop, query_statuses)),
            (_query_flood, (port, stop, query_statuses)),
        ]
        for target, args in flooders:
            workers.append(threading.Thread(target=target, args=args, daemon=True))
            workers[-1].start()
        latencies: list[float] = []
        statuses: list[int] = []
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                statuses.append(client.get("/api/v1/tasks/probe").status_code)
            except httpx.HTTPError:
                statuses.append(0)
            latencies.append(time.monotonic() - started)
            peak = max(peak, _status_bytes(pid, "VmRSS"))
            time.sleep(0.05)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        hwm = _status_bytes(pid, "VmHWM")
    peak = max(peak, hwm if hwm > hwm_before else 0)
    latencies.sort()
    return {
        "header_flood_connections": 2,
        "header_bytes_sent": [sent[0] for sent in header_sent],
        "query_flood_requests": len(query_statuses),
        "query_flood_statuses": sorted(set(query_statuses)),
        "probes": len(latencies),
        "probe_statuses": sorted(set(statuses)),
        "probe_max_seconds": round(latencies[-1], 3),
        "probe_p50_seconds": round(latencies[len(latencies) // 2], 4),
        "idle_rss": idle,
        "peak_rss": peak,
        "rss_growth": peak - idle,
        "met": latencies[-1] <= LATENCY_GOAL and peak - idle <= RSS_GROWTH_GOAL and statuses == [200] * len(statuses),
    }


def log_check(log: Path) -> dict[str, Any]:
    text = log.read_bytes()
    forged_lines = [line for line in text.splitlines() if line.startswith(FORGED.encode())]
    return {"forged_lines": len(forged_lines), "escape_bytes": text.count(b"\x1b"), "log_bytes": len(text)}


def edge_run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "mock.log"
        server = MockServer(free_port(), "--media-checks", "off", "--rate-limit", "off", log=log)
        server.start()
        try:
            row: dict[str, Any] = {"refusals": refusals(server.port), "floods": floods(server)}
            row["journal_5xx"] = sum(1 for entry in server.journal() if int(entry.get("status") or 0) >= 500)
        finally:
            server.kill()
        row["log"] = log_check(log)
    return row


def check(row: dict[str, Any]) -> list[str]:
    violations = [
        f"edge: {r['case']} answered {r['status']}, not {r['expected']}" for r in row["refusals"] if not r["met"]
    ]
    flood = row["floods"]
    if not flood["met"]:
        violations.append(
            f"edge: under floods the slowest query took {flood['probe_max_seconds']} s, RSS grew "
            f"{flood['rss_growth'] / 2**20:.0f} MiB, probe statuses {flood['probe_statuses']}"
        )
    if any(status >= 500 for status in flood["query_flood_statuses"]) or row["journal_5xx"]:
        violations.append(f"edge: 5xx answers ({row['journal_5xx']} in the journal)")
    if row["log"]["forged_lines"] or row["log"]["escape_bytes"]:
        violations.append(
            f"edge: the log has {row['log']['forged_lines']} forged lines, {row['log']['escape_bytes']} ESC"
        )
    return violations
