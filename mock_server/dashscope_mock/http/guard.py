"""What a mock others can reach refuses before anything else (issue "safe to share"):

- a ``Host`` that does not name the server (DNS rebinding: a hostile page's name resolving to the mock): loopback
  names, the address the connection arrived on, the bound address and ``--public-host`` are accepted;
- the control plane (``/_mock``, but not the simulated service's result links and upload host, which are signed,
  nor its documentation and the dashboard's static page) without ``Authorization: Bearer <control token>`` when the
  mock has one (a non-loopback bind always has);
- a write to the control plane from another site (a browser's cross-origin ``POST /_mock/reset``).

In process (no bound address) only the cross-site rule applies. Answers are the service's 403 ``AccessDenied``.

Before those, ``edge_refusal`` checks what every request must be to be read at all (issue "hardening"), on every
route, control plane included: the request line and headers within ``x-limits.request_header_max_bytes`` (431), the
query string within ``query_max_bytes`` and ``query_max_parameters`` (400: connexion's query parsing is quadratic in
the parameter count, on the event loop), one ``Authorization`` header at most (two would let one key pass the
security check while another is billed: 401) and a ``Host`` that is RFC 7230's ``host[:port]`` (anything else, or two
of them, 400: the value is copied into upload and result URLs). ``base_url`` then builds URLs only from a Host that
passed, or from the bound address.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from dashscope_openapi import limits

from ..config import MockConfig
from ..domain.errors import ApiError, catalogue_error, invalid_request
from .context import bearer_key

__all__ = ["base_url", "edge_refusal", "guard"]

logger = logging.getLogger("dashscope_mock")
RawHeaders = Sequence[tuple[bytes, bytes]]
# RFC 7230 ``Host = uri-host [ ":" port ]``, narrowed to what a client can mean: a DNS name (letters, digits, ``-``,
# ``_``, dots), an IPv4 address or a bracketed IPv6 literal; the port 1-5 digits. No userinfo, path, space or ``%``.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?)(?::[0-9]{1,5})?")

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The control plane's documentation and the dashboard's page and assets: no state (the page's own API calls carry the
# token, and everything else under /_mock keeps needing it).
OPEN_CONTROL_PATHS = ("/_mock/ui", "/_mock/openapi.json", "/_mock/dashboard", "/_mock/health")


def _open_path(path: str) -> bool:
    """One of ``OPEN_CONTROL_PATHS`` or below it (``/_mock/dashboard/app.js``), not merely sharing its start."""
    return any(path == base or path.startswith(base + "/") for base in OPEN_CONTROL_PATHS)


@functools.cache
def _bounds() -> tuple[int, int, int]:
    """``x-limits``' query bytes, query parameters and request-head bytes, read once (every request is checked)."""
    bounds = limits()
    return int(bounds["query_max_bytes"]), int(bounds["query_max_parameters"]), int(bounds["request_header_max_bytes"])


@functools.lru_cache(maxsize=256)  # a server sees a handful of Host values; each is parsed once
def valid_host(value: str) -> bool:
    """``value`` is one ``host[:port]`` (see ``_HOST``): an IPv6 literal must parse, the port be at most 65535."""
    if not _HOST.fullmatch(value):
        return False
    host, _, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not host:  # no port: the whole value is the host
        host, port = value, ""
    if port and (not port.isdigit() or int(port) > 65535):
        return False
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
    return True


def edge_refusal(scope: Mapping[str, Any], raw: RawHeaders) -> ApiError | None:
    """The refusal of a request that cannot be read as sent (see the module docstring), or ``None``. One pass over
    the headers (ASGI servers give their names in lower case): it runs on every request."""
    query_bytes, query_parameters, head_bytes = _bounds()
    query: bytes = scope.get("query_string", b"")
    if len(query) > query_bytes or query.count(b"&") >= query_parameters:
        return invalid_request()
    size = len(scope.get("raw_path") or scope.get("path", "")) + len(query) + 16  # method, spaces, version
    hosts: list[bytes] = []
    authorizations = 0
    for name, value in raw:
        size += len(name) + len(value) + 4  # ": " and CRLF
        if name == b"host":
            hosts.append(value)
        elif name == b"authorization":
            authorizations += 1
    if size > head_bytes:
        return catalogue_error("BadRequest.HeaderTooLarge")
    if len(hosts) > 1 or (hosts and hosts[0] and not valid_host(hosts[0].decode("latin-1"))):
        return invalid_request()
    if authorizations > 1:
        return catalogue_error("InvalidApiKey")
    return None


def base_url(config: MockConfig, scope: Mapping[str, Any], host: str | None) -> str:
    """The URL the client reached this mock by, for the links the mock writes: the request's ``Host`` once it has
    passed ``edge_refusal`` (and, on a bound server, ``guard``), else the address the connection arrived on."""
    if not host:
        server = scope.get("server")
        if server:
            name = str(server[0])
            host = f"[{name}]:{server[1]}" if ":" in name else f"{name}:{server[1]}"
        else:
            host = config.bind_host or "testserver"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


def _host_name(value: str) -> str:
    """``example.com:8000`` → ``example.com``; ``[::1]:8000`` → ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_allowed(config: MockConfig, scope: Mapping[str, Any], host: str) -> bool:
    name = _host_name(host)
    if not name or _is_loopback(name) or name in config.public_hosts:
        return True
    arrived_on = scope.get("server") or ("", 0)
    return name in (str(arrived_on[0]).lower(), (config.bind_host or "").lower())


def _cross_site(headers: Mapping[str, str], host: str) -> bool:
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = headers.get("origin")
    return origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.strip().lower())


def guard(
    config: MockConfig, scope: Mapping[str, Any], headers: Mapping[str, str], method: str, path: str, control: bool
) -> ApiError | None:
    """The refusal of this request, or ``None`` to serve it."""
    host = headers.get("host", "")
    if config.bind_host is not None and not _host_allowed(config, scope, host):
        logger.warning(
            "refused Host %r: not a name of this server (--public-host %s accepts it)", host, _host_name(host)
        )
        return catalogue_error("AccessDenied", reason="foreign_host")
    if not control:
        return None
    if method in UNSAFE_METHODS and _cross_site(headers, host):
        return catalogue_error("AccessDenied", reason="generic")
    token = config.control_token
    if token and not _open_path(path):
        sent = bearer_key(headers.get("authorization")) or ""
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return catalogue_error("InvalidApiKey")
    return None
