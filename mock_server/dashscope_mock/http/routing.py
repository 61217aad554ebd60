"""The mock's one router over both specs: the operationId of a request, its path parameters, the trailing-slash alias
(``.../video-synthesis`` and ``.../video-synthesis/`` both answer, no redirect) and the ``Allow`` header of a path.

connexion routes again inside (it has to, to pick its operation); this router is what the outer layer and the fast
path use, so a request is matched against the spec's paths in one place of the mock's own code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashscope_openapi import load_control_spec, load_spec

__all__ = [
    "CONTROL_BASE",
    "SERVICE_CONTROL_OPERATIONS",
    "Resolved",
    "Route",
    "Router",
    "control_operations",
    "public_operations",
    "router",
]

CONTROL_BASE = "/_mock"
# Control-plane routes that are part of the simulated service (result downloads, the OSS upload host): journaled and
# faultable like the public API.
SERVICE_CONTROL_OPERATIONS = frozenset({"getResult", "postObject"})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    templated: bool
    body: str | None = None  # the operation's request body: "required", "optional", or None when it takes none


@dataclass(frozen=True)
class Resolved:
    path: str  # possibly switched to its other trailing-slash spelling
    operation: str | None
    params: Mapping[str, str]


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}/]+)\}", path)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def _routes(spec: Mapping[str, Any], prefix: str = "") -> list[Route]:
    routes = []
    for path, item in spec["paths"].items():
        pattern = _pattern(prefix + path)
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                body = operation.get("requestBody")
                takes = None if body is None else ("required" if body.get("required") else "optional")
                routes.append(Route(method.upper(), pattern, operation["operationId"], "{" in path, takes))
    return routes


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        # Every request is routed here first: look literal paths up in a dict and try only the templated patterns
        # (same routes, same order as scanning them all).
        self._literal: dict[str, list[tuple[int, Route]]] = {}
        self._templated: list[tuple[int, Route]] = []
        self._bodies = {route.operation: route.body for route in routes}
        for index, route in enumerate(routes):
            if route.templated:
                self._templated.append((index, route))
            else:
                literal = route.pattern.pattern[1:-1].replace("\\", "")
                self._literal.setdefault(literal, []).append((index, route))

    def _match(self, path: str) -> list[Route]:
        found = [item for item in self._templated if item[1].pattern.match(path)]
        literal = self._literal.get(path)
        if literal:
            found = sorted(found + literal, key=lambda item: item[0])
        return [route for _, route in found]

    def resolve(self, method: str, path: str) -> Resolved:
        matches = self._match(path)
        if not matches and path != "/":
            other = path[:-1] if path.endswith("/") else path + "/"
            if self._match(other):
                path, matches = other, self._match(other)
        for route in matches:
            if route.method == method:
                match = route.pattern.match(path)
                return Resolved(path, route.operation, match.groupdict() if match else {})
        return Resolved(path, None, {})

    def body(self, operation: str | None) -> str | None:
        """Whether ``operation`` takes a request body: ``"required"``, ``"optional"`` or ``None``."""
        return self._bodies.get(operation) if operation else None

    def allowed(self, path: str) -> str:
        """The ``Allow`` header of a path: every method of every spec's operations on it."""
        methods = {route.method for route in self._match(path)}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(sorted(methods))


def _operation_ids(spec: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        operation["operationId"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    )


@functools.cache
def control_operations() -> frozenset[str]:
    """The operationIds of the control spec (the mock's own API)."""
    return _operation_ids(load_control_spec())


@functools.cache
def public_operations() -> frozenset[str]:
    """The operationIds of the public spec (the service's API)."""
    return _operation_ids(load_spec())


@functools.cache
def router() -> Router:
    """The router of both specs (the control plane under ``/_mock``), built once per process."""
    return Router(_routes(load_spec()) + _routes(load_control_spec(), CONTROL_BASE))
