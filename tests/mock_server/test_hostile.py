"""Hostile requests get the service's error shape (or OSS's on the upload host), never a 500 or plain text, and cost
only bounded resources."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, Backend, MockConfig, MockDashScope, mock_dashscope
from dashscope_mock.backend import FILES_PREFIX, OWNER_FILE, remove_abandoned_folders
from dashscope_mock.services.uploads import _stream_to
from dashscope_openapi import limits

from ..services import free_port
from .conftest import BODIES, DETECT_PATH, assert_error, assert_oss_error

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def http(mock: MockDashScope) -> Iterator[httpx.Client]:
    with mock.client(headers=mock.headers) as client:
        yield client


def _deep(depth: int) -> str:
    return '{"model":"liveportrait","input":' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("path", [SUBMIT_PATH, DETECT_PATH])
@pytest.mark.parametrize(
    "body",
    [
        _deep(5000).encode(),
        b'{"model":"liveportrait","input":{"image_url":"\xff\xfe"}}',
        b'{"model":"liveportrait","input":{"image_url":"https://e.com/a.png","audio_url":NaN}}',
        b'{"model":"liveportrait","input":',
        b"\x00\x01\x02",
    ],
    ids=["nested-5000-deep", "invalid-utf8", "nan", "truncated", "binary"],
)
def test_unparsable_bodies_are_the_services_400(http: httpx.Client, path: str, body: bytes) -> None:
    headers = {**JSON, "X-DashScope-Async": "enable"} if path == SUBMIT_PATH else JSON
    if path == DETECT_PATH:
        http.headers.pop("X-DashScope-Async", None)
    answer = http.post(path, content=body, headers=headers)
    assert_error(answer, 400, answer.json()["code"])
    assert answer.json()["code"].startswith(("InvalidParameter", "BadRequest"))


def test_a_duplicate_key_takes_the_later_value(mock: MockDashScope, http: httpx.Client) -> None:
    body = '{"model":"emo-v1","model":"liveportrait","input":{"image_url":"https://e.com/a.png",'
    body += '"audio_url":"https://e.com/a.mp3"}}'
    answer = http.post(SUBMIT_PATH, content=body, headers=JSON)
    assert answer.status_code == 200, answer.text
    assert next(iter(mock.backend.store.all_tasks())).model == "liveportrait"


def test_a_body_past_its_bound_is_413(http: httpx.Client, mock: MockDashScope) -> None:
    bound = int(limits()["request_body_max_bytes"])
    padded = {**BODIES["liveportrait"], "input": {**BODIES["liveportrait"]["input"], "pad": "x" * bound}}
    assert_error(http.post(SUBMIT_PATH, json=padded), 413, "BadRequest.TooLarge")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model":"liveportrait","input":{"pad":"'
        for _ in range(bound // 65536 + 2):
            yield b"x" * 65536
        yield b'"}}'

    assert_error(http.post(SUBMIT_PATH, content=chunks(), headers=JSON), 413, "BadRequest.TooLarge")
    assert not list(mock.backend.store.all_tasks())


def _policy(http: httpx.Client) -> dict[str, str]:
    data: dict[str, str] = http.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"}).json()[
        "data"
    ]
    return data


def _form(policy: dict[str, str], key: str) -> dict[str, str]:
    return {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": key,
    }


@pytest.mark.parametrize("name", ["a\x00b.png", "a\x07.png", "é" * 600])
def test_an_invalid_object_name_is_osss_400(http: httpx.Client, name: str) -> None:
    policy = _policy(http)
    answer = http.post("/_mock/oss", data=_form(policy, f"{policy['upload_dir']}/{name}"), files={"file": ("a", b"x")})
    assert_oss_error(answer, 400, "InvalidObjectName")


def test_malformed_forms_are_osss_400(http: httpx.Client) -> None:
    policy = _policy(http)
    form = _form(policy, f"{policy['upload_dir']}/a.png")
    many_fields = {**form, **{f"field{i}": "x" for i in range(5000)}}
    assert_oss_error(http.post("/_mock/oss", data=many_fields, files={"file": ("a", b"x")}), 400, "InvalidArgument")
    many_files = [("file", (f"a{i}.png", b"x")) for i in range(1500)]
    assert_oss_error(http.post("/_mock/oss", data=form, files=many_files), 400, "InvalidArgument")
    raw = http.post(
        "/_mock/oss", content=b"--x\r\nnot a part", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert raw.status_code == 400 and raw.headers["content-type"].startswith("application/xml")


def test_a_stored_upload_answers_204_without_a_body(http: httpx.Client) -> None:
    policy = _policy(http)
    answer = http.post("/_mock/oss", data=_form(policy, f"{policy['upload_dir']}/a.png"), files={"file": ("a", b"x")})
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers.get("content-length", "0") == "0"


def test_an_upload_streams_to_disk_and_stops_at_the_limit(tmp_path: Path) -> None:
    sent = 0

    async def read(size: int) -> bytes:
        nonlocal sent
        sent += size
        return b"x" * size  # endless

    target = tmp_path / "upload.bin"
    with pytest.raises(Exception) as refused:
        asyncio.run(_stream_to(target, read, max_bytes=3 * 2**20))
    assert getattr(refused.value, "code", None) == "EntityTooLarge"
    assert sent <= 4 * 2**20 + 2**20, "reading stopped right after the limit"
    assert list(tmp_path.iterdir()) == [], "nothing kept, not even a partial file"


def test_temporary_folders_are_removed_at_close_and_when_abandoned(tmp_path: Path) -> None:
    backend = Backend(MockConfig(media_checks=False))
    own = backend.files_dir
    assert own.name.startswith(FILES_PREFIX) and (own / OWNER_FILE).read_text() == str(os.getpid())
    backend.close()
    assert not own.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned, alive, foreign = tmp_path / f"{FILES_PREFIX}a", tmp_path / f"{FILES_PREFIX}b", tmp_path / "other"
    for folder, pid in ((abandoned, dead.stdout.strip()), (alive, str(os.getpid())), (foreign, dead.stdout.strip())):
        folder.mkdir()
        (folder / OWNER_FILE).write_text(pid)
    assert remove_abandoned_folders(tmp_path) == 1
    assert not abandoned.exists() and alive.exists() and foreign.exists()


def test_no_answer_is_plain_text(mock: MockDashScope, http: httpx.Client) -> None:
    """A sample of odd requests on every route family: each answer is JSON or OSS XML, with a request id."""
    odd: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/tasks/%00", {}),
        ("DELETE", "/api/v1/tasks", {}),
        ("POST", "/api/v1/tasks/x/cancel", {"content": b"\xff" * 10, "headers": JSON}),
        ("GET", "/api/v1/uploads", {"params": {"action": "nope"}}),
        ("PUT", SUBMIT_PATH, {"content": b"{}"}),
        ("POST", "/_mock/oss", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        ("GET", "/_mock/results/..%2F..%2Fetc%2Fpasswd.mp4", {}),
    ]
    for method, path, kwargs in odd:
        answer = http.request(method, path, **kwargs)
        assert answer.status_code < 500, (method, path, answer.text)
        kind = answer.headers.get("content-type", "")
        assert kind.startswith(("application/json", "application/xml")), (method, path, kind, answer.text)


def test_keys_are_never_stored_or_shown_in_clear(tmp_path: Path) -> None:
    secret = "sk-0123456789abcdef-REAL-KEY-wxyz"
    state = tmp_path / "state.db"
    with mock_dashscope(state=f"sqlite:///{state}", keys=frozenset({secret}), key=secret) as mock:
        with mock.client(headers=mock.headers) as http:
            task_id = http.post(SUBMIT_PATH, json=BODIES["liveportrait"]).json()["output"]["task_id"]
            http.get(f"/api/v1/tasks/{task_id}")
            http.get("/api/v1/tasks/x", headers={"Authorization": "Bearer sk-rejected-key-9999"})
            listed = [http.get("/_mock/tasks").json(), http.get("/_mock/requests").json()]
        shown = json.dumps(listed, ensure_ascii=False)
        assert secret not in shown and "sk-rejected-key-9999" not in shown
        assert listed[0]["data"][0]["key"] == "sk-…wxyz"
        assert len(mock.requests(key=secret)) >= 2, "the journal still matches a key given in clear"
    stored = state.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("state.db*") if p.is_file())
    assert secret.encode() not in stored and b"sk-rejected-key-9999" not in stored


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8000", True),
        ("localhost", True),
        ("[::1]:8000", True),
        ("10.0.0.5:8000", True),  # the bound address
        ("mock.team.internal", True),  # --public-host
        ("evil.example", False),  # DNS rebinding: a hostile name resolving to the mock
        ("10.0.0.6", False),
    ],
)
def test_the_host_header_must_name_the_server(host: str, allowed: bool) -> None:
    config = {"bind_host": "10.0.0.5", "public_hosts": ("mock.team.internal",)}
    with mock_dashscope(**config) as mock, mock.client(headers={**mock.headers, "Host": host}) as http:
        answer = http.get("/api/v1/tasks/x")
    if allowed:
        assert answer.status_code == 200, answer.text
    else:
        assert_error(answer, 403, "AccessDenied")


def test_the_control_plane_wants_its_token() -> None:
    with mock_dashscope(control_token="t0ken") as mock, mock.client() as http:
        assert_error(http.get("/_mock/tasks"), 401, "InvalidApiKey")
        assert_error(http.post("/_mock/reset", headers={"Authorization": "Bearer wrong"}), 401, "InvalidApiKey")
        assert http.get("/_mock/tasks", headers={"Authorization": "Bearer t0ken"}).status_code == 200
        assert http.get("/_mock/openapi.json").status_code == 200  # its documentation holds no state
        assert http.get("/api/v1/tasks/x", headers=mock.headers).status_code == 200  # the service is not affected


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["foreign-origin", "null-origin", "cross-site"],
)
def test_no_cross_site_writes_to_the_control_plane(headers: dict[str, str]) -> None:
    with mock_dashscope() as mock, mock.client() as http:
        http.post("/_mock/clock/advance", json={"seconds": 5})
        assert_error(http.post("/_mock/reset", headers=headers), 403, "AccessDenied")
        assert mock.backend.clock.offset == 5, "the reset did not happen"  # type: ignore[attr-defined]
        same_site = http.post("/_mock/reset", headers={"Origin": "http://dashscope.mock"})
        assert same_site.status_code == 200


def test_a_mock_bound_beyond_loopback_protects_itself(tmp_path: Path) -> None:
    """``--host 0.0.0.0``: a control token made and printed once, and a foreign Host refused."""
    from .test_replicas import HANG_GUARD

    port = free_port()
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashscope_mock.cli", "serve", "--host", "0.0.0.0", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                answer = httpx.get(base + "/_mock/clock", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert_error(answer, 401, "InvalidApiKey")
        token = log.read_text().split("control-plane token (Authorization: Bearer …): ", 1)[1].split()[0]
        assert httpx.get(base + "/_mock/clock", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        foreign = httpx.get(base + "/api/v1/tasks/x", headers={"Authorization": "Bearer sk-a", "Host": "evil.example"})
        assert_error(foreign, 403, "AccessDenied")
    finally:
        process.terminate()
        process.wait(timeout=15)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


async def test_the_fetch_policy_refuses_loopback_inputs(loopback_server: tuple[str, list[str]]) -> None:
    """A mock others can reach (``fetch_private`` off) fetches nothing from loopback: no SSRF, no port scan."""
    base, hits = loopback_server
    with mock_dashscope(media_checks=True, fetch_private=False) as mock:
        async with mock.async_client(headers=mock.headers) as client:
            body = {"model": "liveportrait", "input": {"image_url": f"{base}/secret.png", "audio_url": f"{base}/a.wav"}}
            task_id = (await client.post(SUBMIT_PATH, json=body)).json()["output"]["task_id"]
            await mock.backend.drain()
            mock.advance(60)
            output = (await client.get(f"/api/v1/tasks/{task_id}")).json()["output"]
        assert (output["task_status"], output["code"]) == (
            "FAILED",
            limits()["models"]["liveportrait"]["image"]["errors"]["download"],
        )
        assert any(e.task_id == task_id and "fetch policy" in str(e.note) for e in mock.requests())
        async with mock.async_client(headers={"Authorization": mock.headers["Authorization"]}) as client:
            detect = {"model": "liveportrait-detect", "input": {"image_url": f"{base}/probe.png"}}
            assert (await client.post(DETECT_PATH, json=detect)).status_code == 400
        assert "fetch policy" in str(mock.requests("detectFace")[-1].note)
    assert hits == [], "nothing reached the loopback server"


def test_a_request_the_http_parser_rejects_still_gets_the_services_json() -> None:
    with mock_dashscope() as mock, mock.serve() as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(b"GET /api/v1/tasks/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \x7f\x01\r\n\r\n")
            raw = b""
            while chunk := conn.recv(65536):
                raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), raw
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert headers[b"Content-Type"] == b"application/json"
    answer = json.loads(body)
    assert (
        set(answer) == {"request_id", "code", "message"} and headers[b"X-Request-ID"] == answer["request_id"].encode()
    )
