"""What a mock others can reach refuses before anything else (issue "safe to share"):

- a ``Host`` that does not name the server (DNS rebinding: a hostile page's name resolving to the mock): loopback
  names, the address the connection arrived on, the bound address and ``--public-host`` are accepted;
- the control plane (``/_mock``, but not the simulated service's result links and upload host, which are signed,
  nor its documentation and the dashboard's static page) without ``Authorization: Bearer <control token>`` when the
  mock has one (a non-loopback bind always has);
- a write to the control plane from another site (a browser's cross-origin ``POST /_mock/reset``).

In process (no bound address) only the cross-site rule applies. Answers are the service's 403 ``AccessDenied``.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .config import MockConfig
from .context import bearer_key
from .errors import ApiError, catalogue_error

__all__ = ["guard"]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The control plane's documentation and the dashboard's page and assets: no state (the page's own API calls carry the
# token, and everything else under /_mock keeps needing it).
OPEN_CONTROL_PATHS = ("/_mock/ui", "/_mock/openapi.json", "/_mock/dashboard")


def _open_path(path: str) -> bool:
    """One of ``OPEN_CONTROL_PATHS`` or below it (``/_mock/dashboard/app.js``), not merely sharing its start."""
    return any(path == base or path.startswith(base + "/") for base in OPEN_CONTROL_PATHS)


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
        return catalogue_error("AccessDenied", reason="generic")
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
