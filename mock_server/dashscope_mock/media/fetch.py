"""Bounded downloads of the inputs: http(s) with httpx (streamed), ``oss://`` through the mock's upload store.

Bounds: ``max_bytes`` per input from the spec (a ``Content-Length`` above it is refused before the body is read;
without one, reading stops at the first chunk past the limit, so at most ``max_bytes + chunk_size`` bytes are read and
nothing oversize is ever held: the body streams to a file); one overall timeout per download (default
``x-limits.download_timeout_seconds``), which also cuts off slow-drip servers, and a shorter one (``sync_timeout``,
default :data:`SYNC_DOWNLOAD_TIMEOUT`) for a detector's image, downloaded while its caller waits for the answer;
the timeouts cover name resolution, connecting and reading alike; at most ``max_redirects`` redirects,
each to http(s) only; no other scheme (``file://``, ``ftp://``, ``data:`` …). The one exception is for the mock
itself: with ``local_files=True``, ``file://`` URLs the mock wrote (its resolved uploads) are read from disk, with the
same size bound; never pass it for URLs a client sent. Bodies are requested with
``Accept-Encoding: identity`` and read raw, so a compressed body cannot inflate past the limit.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import shutil
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from dashscope_openapi import limits, load_spec

from .errors import failure, input_limits

__all__ = [
    "SYNC_DOWNLOAD_TIMEOUT",
    "FetchError",
    "Fetched",
    "Fetcher",
    "OssResolver",
    "default_download_timeout",
    "synchronous",
]

OssResolver = Callable[[str], "bytes | Path | Awaitable[bytes | Path | None] | None"]
"""The mock's upload store: ``oss://…`` → the file's bytes or path, or ``None`` when there is no such upload."""

CHUNK_SIZE = 64 * 1024
MAX_REDIRECTS = 3
SYNC_DOWNLOAD_TIMEOUT = 5.0
"""Seconds a detector's download may take (face-detect answers synchronously, ``x-models.<model>.kind: detect``).
The documented 60 s (``x-limits.download_timeout_seconds``) is for task inputs, fetched after the submit answered; a
face-detect caller waits for the download, so a host that accepts and never answers, or a resolver that drops queries
(the lookup waits behind others in the event loop's thread pool), fails it as a download failure within seconds."""


def default_download_timeout() -> float:
    return float(limits()["download_timeout_seconds"])


def synchronous(model: str) -> bool:
    """Whether ``model`` answers in the request (a detector), so its downloads get :data:`SYNC_DOWNLOAD_TIMEOUT`."""
    facts = load_spec().get("x-models", {}).get(model, {})
    return bool(facts.get("kind") == "detect")


def _fallback_max_bytes() -> int:
    """For an input without a documented ``max_bytes``: the largest file the service takes at all (uploads)."""
    return int(limits()["uploads"]["max_file_size_mb"]) * 2**20


@dataclass(frozen=True)
class Fetched:
    """A downloaded input: where it is on disk and how big it is."""

    url: str
    path: Path
    size: int


class FetchError(Exception):
    """A download failed; ``kind`` is ``download``, ``timeout`` or ``bytes``."""

    def __init__(self, kind: Literal["download", "timeout", "bytes"], detail: str, bytes_read: int = 0) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: Literal["download", "timeout", "bytes"] = kind
        self.detail = detail
        self.bytes_read = bytes_read


class Fetcher:
    """Downloads inputs into files, within the spec's limits. Safe to share; each call uses its own connection pool.

    ``timeout`` bounds a task input's download, ``sync_timeout`` a detector's (never longer than ``timeout``).
    """

    def __init__(
        self,
        *,
        timeout: float | None = None,
        sync_timeout: float | None = None,
        max_redirects: int = MAX_REDIRECTS,
        chunk_size: int = CHUNK_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = default_download_timeout() if timeout is None else float(timeout)
        self.sync_timeout = min(self.timeout, SYNC_DOWNLOAD_TIMEOUT if sync_timeout is None else float(sync_timeout))
        self.max_redirects = max_redirects
        self.chunk_size = chunk_size
        self._transport = transport

    async def fetch(
        self,
        url: str,
        dest: Path,
        *,
        model: str,
        input: str,
        oss_resolve: bool = False,
        resolve_oss: OssResolver | None = None,
        local_files: bool = False,
    ) -> Fetched:
        """Download ``model``'s ``input`` (``image``, ``audio``, ``video``, ``ref_image``) to ``dest``.

        Raises :class:`MediaFailure` with the spec's code for that model and input: ``download`` (refused,
        unreachable, bad scheme, unknown upload), ``timeout`` (falls back to ``download`` where the model has no
        timeout code) or ``bytes``. A detector's download is bounded by ``sync_timeout``, any other by ``timeout``.
        """
        spec = input_limits(model, input)
        max_bytes = int(spec.get("max_bytes", _fallback_max_bytes()))
        timeout = self.sync_timeout if synchronous(model) else self.timeout
        try:
            return await self.fetch_raw(
                url,
                dest,
                max_bytes,
                oss_resolve=oss_resolve,
                resolve_oss=resolve_oss,
                local_files=local_files,
                timeout=timeout,
            )
        except FetchError as error:
            raise failure(
                model, input, error.kind, url=url, detail=error.detail, bytes_read=error.bytes_read
            ) from error

    async def fetch_raw(
        self,
        url: str,
        dest: Path,
        max_bytes: int,
        *,
        oss_resolve: bool = False,
        resolve_oss: OssResolver | None = None,
        local_files: bool = False,
        timeout: float | None = None,
    ) -> Fetched:
        """Like :meth:`fetch` with an explicit bound (``timeout``: default ``self.timeout``); raises
        :class:`FetchError`."""
        timeout = self.timeout if timeout is None else timeout
        scheme = urlsplit(url).scheme.lower()
        if scheme == "oss":
            return await self._resolve_oss(url, dest, max_bytes, oss_resolve, resolve_oss)
        if scheme == "file" and local_files:
            return await self._stored(url, Path(url2pathname(urlsplit(url).path)), dest, max_bytes)
        if scheme not in ("http", "https"):
            raise FetchError("download", f"unsupported scheme {scheme or '(none)'!r}")
        try:
            async with asyncio.timeout(timeout):
                return await self._download(url, dest, max_bytes, timeout)
        except TimeoutError as error:
            raise FetchError("timeout", f"no complete answer within {timeout:g} s", _read_so_far(dest)) from error
        except httpx.TimeoutException as error:
            raise FetchError("timeout", f"{type(error).__name__}: {error}", _read_so_far(dest)) from error
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as error:
            raise FetchError("download", f"{type(error).__name__}: {error}", _read_so_far(dest)) from error

    async def _download(self, url: str, dest: Path, max_bytes: int, timeout: float) -> Fetched:
        client_timeout = httpx.Timeout(timeout)
        headers = {"Accept-Encoding": "identity", "User-Agent": "dashscope-mock-media"}
        async with httpx.AsyncClient(
            follow_redirects=False,
            timeout=client_timeout,
            transport=self._transport,
            headers=headers,
            verify=_ssl_context(),
        ) as client:
            current = url
            for _ in range(self.max_redirects + 1):
                async with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("download", f"HTTP {response.status_code} without a Location")
                        current = urljoin(str(response.url), location)
                        if urlsplit(current).scheme.lower() not in ("http", "https"):
                            raise FetchError("download", f"redirect to an unsupported scheme: {current}")
                        continue
                    if not 200 <= response.status_code < 300:
                        raise FetchError("download", f"HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError("bytes", f"Content-Length {declared} > {max_bytes}", 0)
                    size = await self._stream_to(response, dest, max_bytes)
                    return Fetched(url, dest, size)
            raise FetchError("download", f"more than {self.max_redirects} redirects")

    async def _stream_to(self, response: httpx.Response, dest: Path, max_bytes: int) -> int:
        read = 0
        with dest.open("wb") as handle:
            async for chunk in response.aiter_raw(self.chunk_size):
                read += len(chunk)
                if read > max_bytes:
                    handle.close()
                    dest.unlink(missing_ok=True)
                    raise FetchError("bytes", f"more than {max_bytes} bytes", read)
                handle.write(chunk)
        return read

    async def _resolve_oss(
        self, url: str, dest: Path, max_bytes: int, oss_resolve: bool, resolve_oss: OssResolver | None
    ) -> Fetched:
        if not oss_resolve or resolve_oss is None:
            raise FetchError("download", "oss:// URL without X-DashScope-OssResourceResolve: enable")
        try:
            found = resolve_oss(url)
            if inspect.isawaitable(found):
                found = await found
        except Exception as error:  # the store's own failure is a failed download, never a crash
            raise FetchError("download", f"upload store: {type(error).__name__}: {error}") from error
        if found is None:
            raise FetchError("download", "no such upload")
        return await self._stored(url, found, dest, max_bytes)

    async def _stored(
        self, url: str, found: bytes | bytearray | memoryview | Path, dest: Path, max_bytes: int
    ) -> Fetched:
        if isinstance(found, bytes | bytearray | memoryview):
            data = bytes(found)
            if len(data) > max_bytes:
                raise FetchError("bytes", f"{len(data)} bytes > {max_bytes}", len(data))
            dest.write_bytes(data)
            return Fetched(url, dest, len(data))
        path = Path(found)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise FetchError("download", f"stored file: {error}") from error
        if size > max_bytes:
            raise FetchError("bytes", f"{size} bytes > {max_bytes}", 0)
        await asyncio.to_thread(shutil.copyfile, path, dest)
        return Fetched(url, dest, size)


def _read_so_far(dest: Path) -> int:
    try:
        return os.stat(dest).st_size
    except OSError:
        return 0


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every download: building one (loading the CA bundle) costs tens of ms of CPU, which per
    download would stall the mock's event loop under load."""
    return httpx.create_ssl_context()
