"""Run wrk (Debian package) and read its report: requests per second and latency percentiles.

A run sends either one fixed request, or cycles through a list of prepared requests (``requests=``: built once per
wrk thread in ``init`` with ``wrk.format``, then handed out in turn by ``request``), e.g. task queries spread over
many keys so that the mock's per-key query limit is never reached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# wrk's `done` hook prints the figures as JSON, so nothing depends on its human-readable layout.
_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
"""

# Cycle through prepared requests; each wrk thread starts at its own offset.
_ROTATE = """
local prepared = {}
local next_index = 0
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end
init = function(args)
  for i, spec in ipairs(REQUESTS) do
    prepared[i] = wrk.format(spec[1], spec[2], spec[3], spec[4])
  end
  next_index = offset or 0
end
request = function()
  next_index = next_index + 1
  return prepared[(next_index % #prepared) + 1]
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Prepared:
    """One request of a rotation: ``method``, ``path`` (with query), ``headers`` and an optional ``body``."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text


def _lua_requests(requests: Sequence[Prepared]) -> str:
    rows = []
    for item in requests:
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in item.headers.items())
        body = _lua_string(item.body) if item.body is not None else "nil"
        rows.append(f"  {{{_lua_string(item.method)}, {_lua_string(item.path)}, {{{headers}}}, {body}}},")
    return "REQUESTS = {\n" + "\n".join(rows) + "\n}\n"


def run_wrk(
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    requests: Sequence[Prepared] | None = None,
    connections: int = 16,
    threads: int = 2,
    seconds: float = 10,
) -> WrkResult:
    """Load ``url`` (scheme, host and port; plus the path of a fixed request) for ``seconds``."""
    if requests:
        lua = [_lua_requests(requests), _ROTATE]
    else:
        lua = [f"wrk.method = {_lua_string(method)}"]
        if body is not None:
            lua.append(f"wrk.body = {_lua_string(body)}")
        for name, value in (headers or {}).items():
            lua.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text("\n".join(lua) + "\n" + _REPORT)
        completed = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
            check=True,
            capture_output=True,
            text=True,
        )
    line = next(line for line in reversed(completed.stdout.splitlines()) if line.startswith("{"))
    data = json.loads(line)
    return WrkResult(
        requests_per_second=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=data["errors"],
        non_2xx=data["non2xx"],
    )
