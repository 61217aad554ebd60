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

Every http(s) hop, the first and each redirect, is held to a :class:`~.policy.FetchPolicy` (SSRF): its host is
resolved once (:func:`.policy.resolve`, ``getaddrinfo`` in a thread, within the download's timeout), every address of
the answer is checked (one refused address refuses the host), and the request goes to a checked address with no
second lookup: the URL's host is replaced by the IP literal, the original ``Host`` header is sent, and for https the
``sni_hostname`` request extension (httpcore) makes TLS send and verify the real name. So a name that answers a public
address to the check and ``127.0.0.1`` to the connect (DNS rebinding) cannot reach loopback, and nothing is sent to
a refused address. A refusal is a ``download`` failure whose detail starts with
:data:`~.policy.POLICY_DETAIL_PREFIX` (``fetch policy: address 127.0.0.1 (loopback) refused …``; the
:class:`MediaFailure`'s ``__cause__`` is a :class:`FetchRefused`). Downloads ignore proxy environment variables: a
proxy would make its own connection, past the check. ``Fetcher()`` uses ``FetchPolicy(allow_private=True)``
(loopback and private ranges allowed, metadata, link-local and the like never); a mock serving others builds one
from its config::

    Fetcher(policy=FetchPolicy.from_config(config.fetch_private, config.allow_fetch))

``oss://`` and the mock's own ``file://`` reads are not network fetches and not subject to the policy.
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

from . import policy as _policy  # its resolve() is looked up per call: tests replace it
from .errors import failure, input_limits
from .policy import POLICY_DETAIL_PREFIX, FetchPolicy, IPAddress, Refusal

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_DETAIL_PREFIX",
    "SYNC_DOWNLOAD_TIMEOUT",
    "FetchError",
    "FetchPolicy",
    "FetchRefused",
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
SYNC_DOWNLOAD_TIMEOUT = float(limits()["detect_download_timeout_seconds"])
"""Seconds a detector's download may take (``x-limits.detect_download_timeout_seconds``; face-detect answers
synchronously, ``x-models.<model>.kind: detect``).
The documented 60 s (``x-limits.download_timeout_seconds``) is for task inputs, fetched after the submit answered; a
face-detect caller waits for the download, so a host that accepts and never answers, or a resolver that drops queries
(the lookup waits behind others in the event loop's thread pool), fails it as a download failure within seconds."""
DEFAULT_POLICY = FetchPolicy(allow_private=True)
"""In process and on a loopback-bound mock, inputs come from the same machine; metadata and link-local stay refused."""


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


class FetchRefused(FetchError):
    """The fetch policy refused a hop's host: ``refusal`` says which address and why; nothing was sent to it."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__("download", refusal.detail)
        self.refusal = refusal


class Fetcher:
    """Downloads inputs into files, within the spec's limits. Safe to share; each call uses its own connection pool.

    ``timeout`` bounds a task input's download, ``sync_timeout`` a detector's (never longer than ``timeout``);
    ``policy`` says which addresses http(s) inputs may come from (default :data:`DEFAULT_POLICY`).
    """

    def __init__(
        self,
        *,
        timeout: float | None = None,
        sync_timeout: float | None = None,
        max_redirects: int = MAX_REDIRECTS,
        chunk_size: int = CHUNK_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: FetchPolicy = DEFAULT_POLICY,
    ) -> None:
        self.timeout = default_download_timeout() if timeout is None else float(timeout)
        self.sync_timeout = min(self.timeout, SYNC_DOWNLOAD_TIMEOUT if sync_timeout is None else float(sync_timeout))
        self.max_redirects = max_redirects
        self.chunk_size = chunk_size
        self._transport = transport
        self.policy = policy

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
            trust_env=False,  # a proxy from the environment would connect on its own, past the policy's check
        ) as client:
            current = url
            for _ in range(self.max_redirects + 1):
                response = await self._open(client, current)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("download", f"HTTP {response.status_code} without a Location")
                        # Against the URL as named, not response.url: that one has the IP literal for a host.
                        current = urljoin(current, location)
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
                finally:
                    await response.aclose()
            raise FetchError("download", f"more than {self.max_redirects} redirects")

    async def _open(self, client: httpx.AsyncClient, url: str) -> httpx.Response:
        """Send one hop's GET (streamed) to an address of ``url``'s host the policy allows, resolved once here."""
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")  # IDNA-encoded: what getaddrinfo and TLS take
        if not host:
            raise FetchError("download", f"no host in {url}")
        port = target.port or (443 if target.scheme == "https" else 80)
        addresses = await _policy.resolve(host, port)
        refusal = self.policy.check(host, addresses)
        if refusal is not None:
            raise FetchRefused(refusal)
        # The connection goes to the checked address itself (no second lookup that could answer differently); the
        # server still sees its name in Host and, over TLS, in SNI, and the certificate is verified against it.
        headers = {"Host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        error: httpx.ConnectError | None = None
        for address in addresses:  # like a connect by name: the next address when one refuses the connection
            request = client.build_request("GET", _at(target, address), headers=headers, extensions=extensions)
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError as refused:
                error = refused
        raise error or FetchError("download", f"no address for {host!r}")

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


def _at(target: httpx.URL, address: IPAddress) -> httpx.URL:
    """``target`` with its host replaced by ``address`` (httpx brackets an IPv6 literal itself)."""
    return target.copy_with(host=str(address))


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
