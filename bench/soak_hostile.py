"""Part 6b of ``python -m bench.soak`` (``--only hostile``): the served mock, media checks on, under hostile inputs.

1. Memory: 12 parallel face-detects of the worst-case image (``deep_png()``: a ~110 KB 16-bit 7000x7000 grey PNG,
   ~98 MB of pixels), the peak RSS of the ``dashscope-mock`` process (uvicorn runs in it, one worker) above its idle
   RSS, sampled every 50 ms from ``/proc/<pid>/status`` (VmRSS) and checked against VmHWM. Goal: at most 1 GB.
2. Disk: endless image bodies (4 face-detects at once and a liveportrait task whose ``image_url`` never ends); the
   peak total size of the files the mock created under the system temp folder, against the model's ``max_bytes``.
3. A hostile corpus of crafted requests, each sent several times: answers with a status >= 500 and answers whose
   Content-Type is neither JSON nor XML (an MP4 result is fine). Goal: 0 and 0.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import httpx

import dashscope_openapi

from ._servers import free_port, in_thread
from .soak_crash import _Quiet, tone_wav
from .soak_load import MockServer

PARALLEL_DECODES = 12
ENDLESS_DETECTS = 4
RSS_GOAL = 1 << 30
REPEAT = 3
KEY = "sk-soak"
AUTH = {"Authorization": f"Bearer {KEY}"}
DETECT = "/api/v1/services/aigc/image2video/face-detect"
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
FINE_TYPES = ("application/json", "application/xml", "video/mp4")
# the worst-case PNG of the media tests (imported by name so that mypy does not type-check the test helpers)
deep_png: Callable[[], bytes] = importlib.import_module("tests.media.test_bounds").deep_png


# ---------------------------------------------------------------------------------------------- inputs
class _Inputs(BaseHTTPRequestHandler):
    """``/deep.png`` (the worst-case decode), ``/voice.wav`` and ``/endless.png`` (zeros, chunked, forever)."""

    protocol_version = "HTTP/1.1"
    files: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        if self.path.startswith("/endless"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = bytes(64 * 1024)
            with contextlib.suppress(OSError):  # the mock hung up: what is wanted
                while True:
                    self.wfile.write(b"10000\r\n" + piece + b"\r\n")
            self.close_connection = True
            return
        found = self.files.get(self.path)
        if found is None:
            self.send_error(404)
            return
        data, kind = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def inputs() -> Iterator[str]:
    _Inputs.files = {"/deep.png": (deep_png(), "image/png"), "/voice.wav": (tone_wav(2.0), "audio/wav")}
    with in_thread(_Quiet(("127.0.0.1", 0), _Inputs)) as url:
        yield url


# ---------------------------------------------------------------------------------------------- samplers
def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """Calls ``probe`` every 50 ms in a thread and keeps the maximum."""

    def __init__(self, probe: Any) -> None:
        self.probe = probe
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, int(self.probe()))
                self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _tree_bytes(paths: list[Path]) -> int:
    total = 0
    for root in paths:
        with contextlib.suppress(OSError):
            if root.is_file():
                total += root.stat().st_size
                continue
            for folder, _, names in os.walk(root):
                for name in names:
                    with contextlib.suppress(OSError):
                        total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _new_temp(before: set[str]) -> list[Path]:
    tmp = Path(tempfile.gettempdir())
    return [tmp / name for name in os.listdir(tmp) if name not in before]


# ---------------------------------------------------------------------------------------------- the parts
def _detect(base: str, image: str, timeout: float = 120) -> int:
    body = {"model": "emo-detect-v1", "input": {"image_url": image}, "parameters": {"ratio": "1:1"}}
    try:
        return httpx.post(base + DETECT, json=body, headers=AUTH, timeout=timeout).status_code
    except httpx.HTTPError:
        return 0


def memory(server: MockServer, source: str) -> dict[str, Any]:
    assert server.process is not None
    pid = server.process.pid
    _detect(server.base, source + "/voice.wav")  # warm the detect path (imports) before the idle reading
    time.sleep(0.5)
    idle = _status_kb(pid, "VmRSS")
    hwm_before = _status_kb(pid, "VmHWM")
    started = time.monotonic()
    with (
        Sampler(lambda: _status_kb(pid, "VmRSS")) as sampler,
        concurrent.futures.ThreadPoolExecutor(PARALLEL_DECODES) as pool,
    ):
        statuses = list(pool.map(lambda _: _detect(server.base, source + "/deep.png"), range(PARALLEL_DECODES)))
    seconds = time.monotonic() - started
    hwm = _status_kb(pid, "VmHWM")
    peak = max(sampler.peak, hwm if hwm > hwm_before else 0)
    return {
        "parallel": PARALLEL_DECODES,
        "image_bytes": len(_Inputs.files["/deep.png"][0]),
        "idle_rss": idle,
        "peak_rss": peak,
        "above_idle": peak - idle,
        "goal": RSS_GOAL,
        "met": peak - idle <= RSS_GOAL,
        "statuses": dict(Counter(str(status) for status in statuses)),
        "samples": sampler.samples,
        "seconds": round(seconds, 1),
    }


def disk(server: MockServer, source: str, before: set[str]) -> dict[str, Any]:
    limit = int(dashscope_openapi.limits()["models"]["emo-detect-v1"]["image"]["max_bytes"])
    endless = source + "/endless.png"
    body = {"model": "liveportrait", "input": {"image_url": endless, "audio_url": source + "/voice.wav"}}
    headers = {**AUTH, "X-DashScope-Async": "enable"}
    started = time.monotonic()
    final: dict[str, Any] = {}
    with Sampler(lambda: _tree_bytes(_new_temp(before))) as sampler:
        submitted = httpx.post(server.base + SUBMIT, json=body, headers=headers, timeout=30)
        task_id = submitted.json().get("output", {}).get("task_id")
        with concurrent.futures.ThreadPoolExecutor(ENDLESS_DETECTS) as pool:
            statuses = list(pool.map(lambda _: _detect(server.base, endless), range(ENDLESS_DETECTS)))
        deadline = time.monotonic() + 120
        while task_id and time.monotonic() < deadline:
            final = httpx.get(f"{server.base}/api/v1/tasks/{task_id}", headers=AUTH, timeout=30).json()["output"]
            if final.get("task_status") in ("SUCCEEDED", "FAILED", "CANCELED"):
                break
            time.sleep(0.5)
    return {
        "max_bytes": sampler.peak,
        "endless_detects": ENDLESS_DETECTS,
        "limit": limit,
        "met": sampler.peak <= limit * (ENDLESS_DETECTS + 1),
        "within_one_limit": sampler.peak <= limit,
        "detect_statuses": dict(Counter(str(status) for status in statuses)),
        "task_submit_status": submitted.status_code,
        "task_status": final.get("task_status"),
        "task_code": final.get("code"),
        "samples": sampler.samples,
        "seconds": round(time.monotonic() - started, 1),
    }


def _deep_json(levels: int) -> bytes:
    return b'{"model":"emo-detect-v1","input":' + b'{"a":' * levels + b"1" + b"}" * levels + b"}"


def corpus() -> list[tuple[str, str, str, dict[str, str], bytes]]:
    """(name, method, path, headers, body); the headers add to the key unless they set their own."""
    json_h = {"Content-Type": "application/json"}
    async_h = {**json_h, "X-DashScope-Async": "enable"}  # a submit without it is refused before its body is read
    detect_ok = b'{"model":"emo-detect-v1","input":{"image_url":"http://127.0.0.1:9/x.png"}}'
    fields = "&".join(f"f{i}=v" for i in range(5000)).encode()
    boundary = "xb0undary"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'
    nul_upload = (
        f'{part}a\x00b.png\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        f"Content-Type: image/png\r\n\r\nPNG\r\n--{boundary}--\r\n"
    ).encode()
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    cases: list[tuple[str, str, str, dict[str, str], bytes]] = [
        ("deep JSON 5000 levels", "POST", DETECT, json_h, _deep_json(5000)),
        ("deep JSON submit", "POST", SUBMIT, async_h, _deep_json(5000)),
        ("invalid UTF-8", "POST", DETECT, json_h, b'{"model":"emo-detect-v1\xff\xfe","input":{}}'),
        ("lone surrogate", "POST", DETECT, json_h, b'{"model":"\\ud800","input":{}}'),
        ("NaN", "POST", DETECT, json_h, b'{"model":"emo-detect-v1","input":{"image_url":NaN}}'),
        ("Infinity", "POST", SUBMIT, async_h, b'{"model":"liveportrait","parameters":{"x":Infinity}}'),
        ("duplicate keys", "POST", DETECT, json_h, b'{"model":"emo-detect-v1","model":"liveportrait","input":{}}'),
        ("2 MB body", "POST", DETECT, json_h, b'{"model":"' + b"a" * (2 << 20) + b'"}'),
        ("2 MB submit", "POST", SUBMIT, async_h, b'{"model":"liveportrait","input":{"image_url":"' + b"a" * (2 << 20)),
        ("huge number", "POST", DETECT, json_h, b'{"model":"emo-detect-v1","input":{"n":1' + b"0" * 10000 + b"}}"),
        ("empty body", "POST", DETECT, json_h, b""),
        ("not JSON", "POST", DETECT, json_h, b"<xml/>"),
        ("JSON array", "POST", SUBMIT, async_h, b"[1,2,3]"),
        ("wrong content type", "POST", DETECT, {"Content-Type": "text/plain"}, detect_ok),
        ("bad multipart", "POST", "/_mock/oss", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\ngarbage"),
        ("multipart no boundary", "POST", "/_mock/oss", {"Content-Type": "multipart/form-data"}, b"abc"),
        ("NUL in upload key", "POST", "/_mock/oss", multipart, nul_upload),
        ("5000 form fields", "POST", "/_mock/oss", {"Content-Type": "application/x-www-form-urlencoded"}, fields),
        ("5000 form fields, detect", "POST", DETECT, {"Content-Type": "application/x-www-form-urlencoded"}, fields),
        ("unknown query params", "GET", "/api/v1/tasks/abc?foo=1&bar=2&page_size=-1", {}, b""),
        ("task list bad params", "GET", "/api/v1/tasks?page_no=x&page_size=99999999999999999999", {}, b""),
        ("huge URL 8 KB", "GET", "/api/v1/tasks/" + "a" * 8000, {}, b""),
        ("huge query 60 KB", "GET", "/api/v1/tasks?status=" + "b" * 60000, {}, b""),
        ("huge image_url", "POST", DETECT, json_h, detect_ok.replace(b"x.png", b"x" * 500_000)),
        ("percent-encoded NUL path", "GET", "/api/v1/tasks/a%00b", {}, b""),
        ("no key", "GET", "/api/v1/tasks/abc", {"Authorization": ""}, b""),
        ("bad key", "POST", DETECT, {**json_h, "Authorization": "Bearer \x7f\x01"}, detect_ok),
        ("not bearer", "POST", SUBMIT, {**json_h, "Authorization": "Basic Zm9vOmJhcg=="}, b"{}"),
        ("huge key", "GET", "/api/v1/tasks/abc", {"Authorization": "Bearer sk-" + "k" * 6000}, b""),
        ("wrong method DELETE", "DELETE", DETECT, {}, b""),
        ("wrong method PUT", "PUT", SUBMIT, json_h, b"{}"),
        ("wrong method PATCH tasks", "PATCH", "/api/v1/tasks/abc", json_h, b"{}"),
        ("OPTIONS", "OPTIONS", SUBMIT, {}, b""),
        ("foreign Host", "POST", DETECT, {**json_h, "Host": "evil.example"}, detect_ok),
        ("foreign Origin", "POST", SUBMIT, {**json_h, "Origin": "http://evil.example"}, b"{}"),
        ("bad async header", "POST", SUBMIT, {**json_h, "X-DashScope-Async": "\u00e9"}, b"{}"),
        ("unknown path", "GET", "/api/v2/../../etc/passwd", {}, b""),
        ("unknown result", "GET", "/_mock/results/nope.mp4", {}, b""),
        ("control plane without token", "POST", "/_mock/faults", json_h, b'{"a":1}'),
        ("truncated JSON", "POST", DETECT, json_h, b'{"model":"emo-detect-v1","input":{"image_url":"htt'),
    ]
    return cases


def hostile_corpus(server: MockServer) -> dict[str, Any]:
    cases = corpus()
    statuses: Counter[str] = Counter()
    per_case: dict[str, list[int]] = {}
    server_errors: list[str] = []
    bad_types: list[str] = []
    sent = 0
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for _ in range(REPEAT):
            for name, method, path, headers, body in cases:
                merged = {key.encode(): value.encode("latin-1") for key, value in {**AUTH, **headers}.items() if value}
                sent += 1
                try:
                    answer = client.request(method, path, headers=merged, content=body or None)
                except (httpx.HTTPError, ValueError) as error:
                    statuses["no answer"] += 1
                    server_errors.append(f"{name}: {type(error).__name__}")
                    continue
                statuses[str(answer.status_code)] += 1
                per_case.setdefault(name, []).append(answer.status_code)
                kind = answer.headers.get("content-type", "")
                if answer.status_code >= 500:
                    server_errors.append(f"{name}: {answer.status_code}")
                if not kind.startswith(FINE_TYPES):
                    bad_types.append(f"{name}: {answer.status_code} {kind or '(none)'} {answer.text[:40]!r}")
    return {
        "cases": len(cases),
        "repeat": REPEAT,
        "sent": sent,
        "server_errors": len(server_errors),
        "bad_content_types": len(bad_types),
        "statuses": dict(sorted(statuses.items())),
        "server_error_cases": sorted(set(server_errors)),
        "bad_content_type_cases": sorted(set(bad_types)),
        "per_case": {name: sorted(set(codes)) for name, codes in per_case.items()},
    }


def hostile_run() -> dict[str, Any]:
    """The three measurements against one ``dashscope-mock serve --media-checks on``."""
    before = set(os.listdir(tempfile.gettempdir()))
    server = MockServer(free_port(), "--media-checks", "on")
    server.start()
    try:
        with inputs() as source:
            row: dict[str, Any] = {"memory": memory(server, source)}
            row["disk"] = disk(server, source, before)
        row["corpus"] = hostile_corpus(server)
        journal = server.journal()
        row["journal_5xx"] = sum(1 for entry in journal if int(entry.get("status") or 0) >= 500)
    finally:
        server.kill()
    return row


def check(row: dict[str, Any]) -> list[str]:
    violations = []
    if not row["memory"]["met"]:
        violations.append(f"hostile: peak RSS {row['memory']['above_idle'] / 2**20:.0f} MiB above idle")
    if not row["disk"]["met"]:
        violations.append(f"hostile: {row['disk']['max_bytes']:,d} bytes on disk under endless bodies")
    corpus_row = row["corpus"]
    if corpus_row["server_errors"] or corpus_row["bad_content_types"]:
        violations.append(
            f"hostile: {corpus_row['server_errors']} 5xx, {corpus_row['bad_content_types']} non-JSON/XML answers"
        )
    return violations
