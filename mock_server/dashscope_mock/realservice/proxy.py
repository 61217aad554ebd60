"""``dashscope-mock proxy``: forwards every public request to one upstream (the service), validates both directions
against the spec, and records what it saw (``recording.Recorder``).

The caller gets the upstream's answer unchanged (status, headers, bytes), with one exception: the ``upload_host`` of
a ``getPolicy`` answer names the proxy (``/_upload/<n>``), so that the OSS form post passes through it too; the
proxy sends it on to the host the upstream named. With ``violations_header`` each answer that breaks the spec carries
``X-DashScope-Mock-Violations`` (a JSON list, as Prism's ``sl-violations``), and every finding is logged.

Not an open proxy: one upstream (https unless loopback), the upload hosts that upstream named, and only the public
spec's operations (anything else is the service's 404, not forwarded). The caller's key goes upstream as it came
and is written nowhere in clear. Offsets in recordings come from ``clock`` (monotonic seconds; a test passes its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from dashscope_openapi import limits, load_spec

from ..domain.errors import ApiError, catalogue_error, invalid_request, render_error
from ..http.guard import valid_host
from ..http.routing import public_operations, router
from .conformance import Finding, request_findings, response_findings
from .recording import Recorder, defaults, kept_headers, scrub_answer, scrub_request_body
from .result_probe import describe_result, result_url

__all__ = ["VIOLATIONS_HEADER", "Proxy", "default_upstream"]

logger = logging.getLogger("dashscope_mock")

VIOLATIONS_HEADER = "X-DashScope-Mock-Violations"
UPLOAD_PREFIX = "/_upload/"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
ANSWER_MAX_BYTES = int(defaults()["answer_max_bytes"])
FINDINGS_KEPT = 10_000


def default_upstream(region: str) -> str:
    """The service's base URL of ``region`` (the public spec's ``servers``, ``x-region``)."""
    for server in load_spec()["servers"]:
        if server.get("x-region") == region:
            return str(server["url"])
    known = ", ".join(str(server.get("x-region")) for server in load_spec()["servers"])
    raise ValueError(f"region {region!r} is not one of the spec's servers ({known})")


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_upstream(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"upstream {url!r} is not an http(s) URL")
    if parts.scheme != "https" and not _loopback(parts.hostname):
        raise ValueError(f"upstream {url!r}: only a loopback upstream may be plain http")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(f"upstream {url!r}: give the base URL only (scheme, host, port)")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class _Answer:
    """The upstream's answer as it came: status, headers, the body's bytes (still content-encoded)."""

    status: int
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")


@dataclass
class _Task:
    model: str | None
    submitted: float  # the proxy's clock when the submit was answered
    key: str | None


@dataclass
class _Exchange:
    """One request as the proxy read it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    parsed: Any = None
    json_body: bool = False
    key: str | None = None
    operation: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


class Proxy:
    """The proxy as an ASGI app. ``transport`` replaces the network (tests); ``recorder`` records."""

    def __init__(
        self,
        upstream: str,
        *,
        recorder: Recorder | None = None,
        violations_header: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.upstream = _check_upstream(upstream)
        self.recorder = recorder
        self.violations_header = violations_header
        self.clock = clock
        self.wall = wall
        timeout = float(defaults()["forward_timeout_seconds"]) if timeout_seconds is None else timeout_seconds
        # Requests go to the transport itself: no cookie jar shared between callers, no redirects, no auth, no URL
        # merging (also half of the proxy's own time per exchange, measured by bench.proxy --profile).
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport(retries=0)
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        self._client = httpx.AsyncClient(transport=self._transport, timeout=timeout)  # result downloads only
        self._tasks: dict[str, _Task] = {}
        self._upload_hosts: list[str] = []
        self._background: set[asyncio.Task[None]] = set()
        self.findings: list[tuple[str, Finding]] = []  # (operation, finding), the newest FINDINGS_KEPT
        self.exchanges = 0

    async def aclose(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._client.aclose()

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        try:
            await self._serve(scope, receive, send)
        except ApiError as error:
            status, raw, body = render_error(error, request_id)
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})

    async def _serve(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        method = str(scope["method"])
        path = str(scope["path"])
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        exchange = _Exchange(method, path, scope.get("query_string", b"").decode("latin-1"), headers)
        if path.startswith(UPLOAD_PREFIX):
            await self._upload(exchange, receive, send)
            return
        resolved = router().resolve(method, path)
        if resolved.operation is None or resolved.operation not in public_operations():
            raise catalogue_error("NotFound")  # the control plane and anything else: not forwarded
        exchange.operation, exchange.params = resolved.operation, resolved.params
        exchange.body = await _read(receive, 2 * int(limits()["request_body_max_bytes"]))
        exchange.key = _bearer(headers)
        if exchange.body:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                exchange.parsed, exchange.json_body = json.loads(exchange.body), True
        sent_at = self.wall()
        answer = await self._forward(self.upstream, exchange, exchange.body)
        status, answer_headers, raw = answer.status, answer.headers, answer.raw
        parsed, is_json = _parse_answer(answer)
        if exchange.operation == "getUploadPolicy" and is_json and status == 200:
            raw = _route_uploads(parsed, scope, raw, self._upload_hosts)
            answer_headers = [  # the rewritten answer goes out as plain JSON
                (k, str(len(raw)) if k.lower() == "content-length" else v)
                for k, v in answer_headers
                if k.lower() != "content-encoding"
            ]
        findings = self._check(exchange, status, answer_headers, parsed, is_json)
        out_headers = [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP - {"content-length"}]
        if self.violations_header and findings:
            summary = [{"severity": f.severity, "kind": f.kind, "message": f.message} for f in findings]
            out_headers.append((VIOLATIONS_HEADER, json.dumps(summary, ensure_ascii=True)[:4096]))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers],
            }
        )
        await send({"type": "http.response.body", "body": raw})
        self._record(exchange, sent_at, status, answer_headers, parsed, is_json, raw, findings)

    async def _forward(self, base: str, exchange: _Exchange, content: Any, path: str | None = None) -> _Answer:
        headers = _forwarded_headers(exchange.headers, streamed=not isinstance(content, bytes))
        url = base + (exchange.path if path is None else path)
        if exchange.query:
            url += "?" + exchange.query
        try:
            request = httpx.Request(exchange.method, url, headers=headers, content=content)
            request.extensions["timeout"] = self._timeouts
            response = await self._transport.handle_async_request(request)
        except httpx.TimeoutException as error:
            logger.error("proxy: %s %s: upstream timed out: %s", exchange.method, exchange.path, error)
            raise catalogue_error("RequestTimeOut") from error
        except httpx.HTTPError as error:
            logger.error("proxy: %s %s: upstream unreachable: %s", exchange.method, exchange.path, error)
            raise catalogue_error("InternalError") from error
        try:
            chunks = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > ANSWER_MAX_BYTES:
                    logger.error("proxy: %s %s: answer past %d bytes", exchange.method, exchange.path, size)
                    raise catalogue_error("InternalError")
                chunks.append(chunk)
        except httpx.HTTPError as error:
            logger.error("proxy: %s %s: answer broke off: %s", exchange.method, exchange.path, error)
            raise catalogue_error("InternalError") from error
        finally:
            await response.aclose()
        return _Answer(response.status_code, list(response.headers.multi_items()), b"".join(chunks))

    # ------------------------------------------------------------------ uploads
    async def _upload(self, exchange: _Exchange, receive: Any, send: Any) -> None:
        index = exchange.path[len(UPLOAD_PREFIX) :].strip("/")
        if exchange.method != "POST" or not index.isdigit() or int(index) >= len(self._upload_hosts):
            raise catalogue_error("NotFound")
        target = self._upload_hosts[int(index)]
        most = int(limits()["uploads"]["max_file_size_mb"]) * 1024 * 1024 + 1024 * 1024
        sent_at = self.wall()
        parts = urlsplit(target)
        answer = await self._forward(
            f"{parts.scheme}://{parts.netloc}", exchange, _stream(receive, most), parts.path or "/"
        )
        headers = [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP - {"content-length"}]
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": answer.raw})
        if self.recorder is not None:
            text = answer.raw[: int(defaults()["text_body_max_bytes"])].decode("utf-8", "replace")
            self.recorder.exchange(
                "postObject",
                sent_at,
                None,
                {"method": "POST", "path": parts.path or "/", "headers": kept_headers(exchange.headers)},
                {
                    "status": answer.status,
                    "headers": kept_headers(answer.headers),
                    "body": {"text": text},
                    "content_type": answer.header("content-type"),
                },
                [],
            )

    # ------------------------------------------------------------------ checks and records
    def _check(
        self, exchange: _Exchange, status: int, headers: list[tuple[str, str]], parsed: Any, is_json: bool
    ) -> list[Finding]:
        operation = exchange.operation or ""
        lower = {k.lower(): v for k, v in headers}
        findings = request_findings(operation, dict(exchange.headers), exchange.parsed, status)
        findings += response_findings(
            operation, status, lower, parsed, json_answer=is_json, model=_model_of(exchange, self._tasks)
        )
        self.exchanges += 1
        for finding in findings:
            logger.warning("proxy: %s: %s %s: %s", operation, finding.severity, finding.kind, finding.message)
            self.findings.append((operation, finding))
        del self.findings[:-FINDINGS_KEPT]
        return findings

    def _record(
        self,
        exchange: _Exchange,
        sent_at: float,
        status: int,
        headers: list[tuple[str, str]],
        parsed: Any,
        is_json: bool,
        raw: bytes,
        findings: list[Finding],
    ) -> None:
        operation = exchange.operation or ""
        task_id = _task_id(parsed) if operation == "createVideoSynthesis" and status == 200 else None
        if task_id is not None:
            self._tasks[task_id] = _Task(_model_of(exchange, self._tasks), self.clock(), exchange.key)
        recorder = self.recorder
        if recorder is None:
            return
        form = recorder.inputs
        request = {
            "method": exchange.method,
            "path": exchange.path,
            "headers": kept_headers(exchange.headers),
            "body": scrub_request_body(exchange.parsed, form) if exchange.json_body else None,
        }
        if exchange.query:
            request["query"] = exchange.query
        if request["body"] is None:
            del request["body"]
        response: dict[str, Any] = {"status": status, "headers": kept_headers(headers)}
        if is_json:
            response["body"] = scrub_answer(parsed)
        else:
            text = raw[: int(defaults()["text_body_max_bytes"])].decode("utf-8", "replace")
            response.update(
                body={"text": text}, content_type=dict((k.lower(), v) for k, v in headers).get("content-type", "")
            )
        if task_id is not None:
            recorder.submitted(task_id, sent_at, exchange.key, request, response, findings)
            return
        polled = exchange.params.get("task_id", "")
        if operation == "getTask" and polled in self._tasks:  # a task of this run: its timeline, not an exchange
            task = self._tasks[polled]
            if recorder.knows(polled):  # queries after its end add nothing to a timeline
                offset = self.clock() - task.submitted
                if recorder.polled(polled, offset, status, response.get("body"), findings, exchange.key):
                    self._fetch_result(polled, parsed, task)
            return
        recorder.exchange(operation, sent_at, exchange.key, request, response, findings)

    def _fetch_result(self, task_id: str, answer: Any, task: _Task) -> None:
        """Describe the result of a task that ended SUCCEEDED, in the background (the caller is not kept waiting)."""
        url, recorder = result_url(answer, task.model), self.recorder
        if recorder is not None and url is None:
            recorder.forget(task_id)
        if recorder is None or url is None:
            return

        async def describe() -> None:
            metadata, content = await describe_result(self._client, url, int(defaults()["media_max_bytes"]))
            recorder.result(task_id, metadata, content, task.key)

        job = asyncio.ensure_future(describe())
        self._background.add(job)
        job.add_done_callback(self._background.discard)


# ---------------------------------------------------------------------------------------------------- helpers
def _route_uploads(parsed: Any, scope: Mapping[str, Any], raw: bytes, hosts: list[str]) -> bytes:
    """A ``getPolicy`` answer whose ``upload_host`` names the proxy (``/_upload/<n>``; ``hosts[n]`` the real one)."""
    data = parsed.get("data") if isinstance(parsed, dict) else None
    host = data.get("upload_host") if isinstance(data, dict) else None
    own = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    if not isinstance(host, str) or not host.startswith(("https://", "http://")) or not valid_host(own):
        return raw
    if host not in hosts:
        hosts.append(host)
    assert isinstance(data, dict)
    data["upload_host"] = f"http://{own}{UPLOAD_PREFIX}{hosts.index(host)}"
    return json.dumps(parsed, ensure_ascii=False).encode()


def _forwarded_headers(headers: list[tuple[str, str]], *, streamed: bool) -> list[tuple[str, str]]:
    """The caller's headers as sent upstream: no hop-by-hop ones; a streamed body keeps the caller's Content-Length
    (OSS refuses a chunked form), a read one gets its own."""
    dropped = HOP_BY_HOP - {"content-length"} if streamed else HOP_BY_HOP
    return [(k, v) for k, v in headers if k.lower() not in dropped]


def _model_of(exchange: _Exchange, tasks: Mapping[str, _Task]) -> str | None:
    """The request's model: its body's, or that of the task it names (submitted through this proxy)."""
    if isinstance(exchange.parsed, dict) and isinstance(exchange.parsed.get("model"), str):
        return str(exchange.parsed["model"])
    task = tasks.get(exchange.params.get("task_id", ""))
    return task.model if task is not None else None


def _bearer(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "authorization":
            scheme, _, credential = value.partition(" ")
            return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None
    return None


async def _read(receive: Any, most: int) -> bytes:
    return b"".join([chunk async for chunk in _stream(receive, most)])


async def _stream(receive: Any, most: int) -> AsyncIterator[bytes]:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > most:
            raise invalid_request()
        if chunk:
            yield chunk
        if not message.get("more_body"):
            return


def _parse_answer(answer: _Answer) -> tuple[Any, bool]:
    raw = answer.raw
    encoding = answer.header("content-encoding").lower()
    try:
        if encoding in ("gzip", "deflate"):
            raw = zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(raw, ANSWER_MAX_BYTES)
        if "json" not in answer.header("content-type").lower():
            return None, False
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError, zlib.error):
        return None, False


def _task_id(body: Any) -> str | None:
    output = body.get("output") if isinstance(body, dict) else None
    task_id = output.get("task_id") if isinstance(output, dict) else None
    return task_id if isinstance(task_id, str) and task_id else None
