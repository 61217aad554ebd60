"""Benchmark 11: the overhead of ``dashscope-mock proxy`` (``realservice.proxy.Proxy``) per exchange.

Three servers, each in its own process (so that neither shares the client's GIL): the loopback stand-in of the
service (``tests/realservice/standin.py``, its clock standing still: a task stays PENDING, every query gets the same
answer) and two proxies in front of it, one without recording and one recording into a temporary folder
(``Recorder``, the CLI's ``--record DIR``). All three run under uvicorn with the protocol ``dashscope-mock`` uses
(``DashScopeHttpProtocol``), no access log, log level warning.

- Latency: one keep-alive ``httpx.Client`` sends the same exchange to the stand-in directly and through each proxy,
  interleaved (the order rotates every round, so no target always goes first), ``exchanges`` rounds each for a task
  query (``GET /api/v1/tasks/<id>`` of a task submitted through the recording proxy, so that proxy treats the polls
  as a recorded task's) and for a submit; p50 and p99 of each, and the added p50 and p99 (through minus direct).
- Throughput: wrk, 16 connections, 2 threads, task queries of that task, direct and through each proxy; the ratio
  through / direct. wrk, the proxy and the stand-in share the machine's cores (2 here), so through the proxy every
  request costs the CPU of two Python servers: the ratio is the whole cost, not a latency.

Target: ≤ 2 ms p50 added per exchange (``TARGET_P50_ADDED_MS``), judged for both proxies and both operations.

``python -m bench.proxy --serve standin|proxy --port N [--upstream URL] [--record DIR]`` serves one of the three
(what ``measure`` starts); ``python -m bench.proxy --profile [--calls N] [--recorder]`` profiles the proxy in process
(``httpx.ASGITransport`` to the proxy, whose transport is an ``ASGITransport`` to the stand-in: no sockets) with
cProfile and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from ._servers import free_port, running
from ._wrk import run_wrk, wrk_available
from .results_io import machine_line

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
KEY = "sk-standin-valid"  # the stand-in's one valid key
HEADERS = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable", "Content-Type": "application/json"}
BODY = json.dumps(
    {
        "model": "liveportrait",
        "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
        "parameters": {"template_id": "normal"},
    },
    separators=(",", ":"),
)
TARGET_P50_ADDED_MS = 2.0
EXCHANGES = 2_000
WARMUP = 100
TARGETS = ("direct", "proxy", "proxy_recording")
LABELS = {
    "direct": "stand-in, direct",
    "proxy": "through the proxy",
    "proxy_recording": "through the proxy, recording",
}
OPERATIONS = {"get": "task query", "submit": "submit"}

__all__ = ["TARGET_P50_ADDED_MS", "measure", "render"]


# ---------------------------------------------------------------------------------------------------- servers
def _standin_module() -> Any:
    """``tests.realservice.standin``, imported by name: mypy checks ``sdk``, ``mock_server`` and ``bench`` only, and
    a static import would make it follow the stand-in into ``tests/media/factory.py`` (typed against other ``av``
    stubs). The repository root is on ``sys.path`` under ``python -m bench``."""
    return importlib.import_module("tests.realservice.standin")


def serve(kind: str, port: int, upstream: str | None = None, record: str | None = None) -> None:
    """Serve the stand-in or a proxy on ``127.0.0.1:port`` until killed (run in a subprocess by ``measure``)."""
    import uvicorn

    from dashscope_mock.http.serving import DashScopeHttpProtocol

    app: Any
    lifespan: Literal["on", "off"] = "off"
    if kind == "standin":
        standin = _standin_module()
        app = standin.StandIn(standin.Clock(), base=f"http://127.0.0.1:{port}")
    else:
        from dashscope_mock.realservice.proxy import Proxy
        from dashscope_mock.realservice.recording import Recorder

        if upstream is None:
            raise SystemExit("--serve proxy needs --upstream")
        recorder = Recorder(Path(record), upstream=upstream) if record else None
        app, lifespan = Proxy(upstream, recorder=recorder), "on"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        http=DashScopeHttpProtocol,
    )


def _serving(kind: str, port: int, *extra: str) -> contextlib.AbstractContextManager[Any]:
    command = [sys.executable, "-m", "bench.proxy", "--serve", kind, "--port", str(port), *extra]
    # ``/``: the stand-in's 401, the proxy's own 404 (not forwarded, so nothing recorded)
    return running(command, ready_url=f"http://127.0.0.1:{port}/")


@contextlib.contextmanager
def _servers(record: Path) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    """The stand-in and both proxies; yields their base URLs and process ids by target name."""
    ports = {name: free_port() for name in TARGETS}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    upstream = ("--upstream", urls["direct"])
    with (
        _serving("standin", ports["direct"]) as standin,
        _serving("proxy", ports["proxy"], *upstream) as plain,
        _serving("proxy", ports["proxy_recording"], *upstream, "--record", str(record)) as recording,
    ):
        yield urls, {"direct": standin.pid, "proxy": plain.pid, "proxy_recording": recording.pid}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------- latency
def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _exchange(client: httpx.Client, op: str, url: str, task_path: str) -> float:
    """One exchange; its wall time in ms (the answer read in full)."""
    started = time.perf_counter_ns()
    if op == "get":
        answer = client.get(url + task_path, headers=HEADERS)
    else:
        answer = client.post(url + SUBMIT, content=BODY, headers=HEADERS)
    elapsed = (time.perf_counter_ns() - started) / 1e6
    if answer.status_code != 200:
        raise RuntimeError(f"{op} {url}: {answer.status_code} {answer.text[:200]}")
    return elapsed


def _interleaved(
    client: httpx.Client, op: str, urls: dict[str, str], task_path: str, rounds: int, warmup: int
) -> dict[str, list[float]]:
    """``rounds`` exchanges per target, A/B(/C) alternating; the first target of each round rotates."""
    names = list(urls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = _exchange(client, op, urls[name], task_path)
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def _latency(samples: dict[str, list[float]]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        name: {"p50_ms": statistics.median(values), "p99_ms": _percentile(values, 0.99), "n": len(values)}
        for name, values in samples.items()
    }
    direct = figures["direct"]
    figures["added"] = {
        name: {
            "p50_ms": figures[name]["p50_ms"] - direct["p50_ms"],
            "p99_ms": figures[name]["p99_ms"] - direct["p99_ms"],
            # the median of each round's own difference: less sensitive to drift over the run
            "paired_p50_ms": statistics.median(a - b for a, b in zip(samples[name], samples["direct"], strict=True)),
        }
        for name in samples
        if name != "direct"
    }
    return figures


# ---------------------------------------------------------------------------------------------------- measure
def measure(
    *,
    exchanges: int = EXCHANGES,
    warmup: int = WARMUP,
    seconds: float = 10,
    wrk_warmup: float = 2,
    connections: int = 16,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "exchanges": exchanges,
        "target_p50_added_ms": TARGET_P50_ADDED_MS,
        "labels": LABELS,
    }
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as folder, _servers(Path(folder)) as (urls, pids):
        with httpx.Client(timeout=30) as client:
            # One task, submitted through the recording proxy: its polls are a recorded task's there.
            answer = client.post(urls["proxy_recording"] + SUBMIT, content=BODY, headers=HEADERS)
            answer.raise_for_status()
            task_path = f"/api/v1/tasks/{answer.json()['output']['task_id']}"
            latency: dict[str, Any] = {}
            for op, name in OPERATIONS.items():
                before = {target: _cpu_seconds(pid) for target, pid in pids.items()}
                figures = _latency(_interleaved(client, op, urls, task_path, exchanges, warmup))
                # each server's CPU per exchange it served (the stand-in serves every target's exchanges)
                for target, pid in pids.items():
                    start, end = before[target], _cpu_seconds(pid)
                    served = (warmup + exchanges) * (len(TARGETS) if target == "direct" else 1)
                    cpu = None if start is None or end is None else (end - start) / served * 1000
                    figures[target]["server_cpu_ms"] = cpu
                latency[op] = figures
                for target in TARGETS:
                    row = figures[target]
                    line = f"  {name:10s} {target:16s} p50 {row['p50_ms']:6.3f} ms  p99 {row['p99_ms']:6.3f} ms"
                    if row["server_cpu_ms"] is not None:
                        line += f"  server CPU {row['server_cpu_ms']:5.3f} ms"
                    if target in figures["added"]:
                        added = figures["added"][target]
                        line += f"   added p50 {added['p50_ms']:+6.3f} ms  p99 {added['p99_ms']:+6.3f} ms"
                    log(line)
        results["latency"] = latency
        worst = max(latency[op]["added"][target]["p50_ms"] for op in OPERATIONS for target in TARGETS[1:])
        results["worst_p50_added_ms"] = worst
        results["met"] = worst <= TARGET_P50_ADDED_MS
        log(
            f"  target: ≤ {TARGET_P50_ADDED_MS:g} ms p50 added per exchange; worst this run {worst:.3f} ms — "
            + ("met" if results["met"] else "missed")
        )
        if wrk_available():
            results["wrk"] = _throughput(urls, task_path, seconds, wrk_warmup, connections, log)
        else:
            results["wrk"] = None
            log("  wrk is not installed: no req/s figures (Debian: apt-get install -y wrk)")
        files = [path for path in Path(folder).iterdir() if path.is_file()]
        results["recorded"] = {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}
    return results


def _throughput(
    urls: dict[str, str],
    task_path: str,
    seconds: float,
    warmup: float,
    connections: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    figures: dict[str, Any] = {"seconds": seconds, "connections": connections}
    for name, url in urls.items():
        if warmup > 0:
            run_wrk(url + task_path, headers=HEADERS, connections=connections, seconds=warmup)
        result = run_wrk(url + task_path, headers=HEADERS, connections=connections, seconds=seconds)
        figures[name] = result.as_dict()
        log(
            f"  wrk {name:16s} {result.requests_per_second:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
            f"p99 {result.p99_ms:6.2f} ms  non-2xx {result.non_2xx}  errors {result.errors}"
        )
    direct = figures["direct"]["requests_per_second"]
    figures["ratio"] = {name: figures[name]["requests_per_second"] / direct for name in TARGETS[1:]}
    log("  req/s through / direct: " + ", ".join(f"{k} {v:.2f}x" for k, v in figures["ratio"].items()))
    return figures


# ---------------------------------------------------------------------------------------------------- report
def render(data: dict[str, Any], out: list[str]) -> None:
    goal = data["target_p50_added_ms"]
    out += ["## 11. Proxy overhead", ""]
    if "machine" in data:
        out += [f"Measured on: {machine_line(data['machine'])}.", ""]
    out += [
        "Reproduce: `.venv/bin/python -m bench --only proxy`. The loopback stand-in of the service "
        "(`tests/realservice/standin.py`, its clock standing still: the task stays PENDING) and `dashscope-mock "
        "proxy`'s app in front of it, without and with recording (into a temporary folder), each in its own "
        "process under uvicorn. One keep-alive httpx client sends the same exchange to the stand-in and through each "
        f"proxy in turn (interleaved, the order rotating), {data['exchanges']:,d} times each.",
        "",
        "| operation | path | p50 ms | p99 ms | added p50 ms | added p99 ms | server CPU ms per exchange |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for op, name in OPERATIONS.items():
        figures = data["latency"][op]
        for target in TARGETS:
            row = figures[target]
            added = figures["added"].get(target)
            extra = f"{added['p50_ms']:+.3f} | {added['p99_ms']:+.3f}" if added else "— | —"
            cpu = row.get("server_cpu_ms")
            out.append(
                f"| {name} | {LABELS[target]} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {extra} | "
                f"{'—' if cpu is None else f'{cpu:.3f}'} |"
            )
    out += [
        "",
        f"Target: ≤ {goal:g} ms p50 added per exchange — worst this run {data['worst_p50_added_ms']:.3f} ms, "
        f"{'**met**' if data['met'] else '**missed**'}. Recording wrote {data['recorded']['files']} files "
        f"({data['recorded']['bytes']:,d} bytes): one per submit; the polls of a recorded task are written only when "
        "its status changes. Server CPU: user + system CPU of the server's process over the run, per exchange it "
        "served (the stand-in's row: per exchange, whichever path it came by; a proxy's: its own work, the stand-in "
        "not included).",
        "",
    ]
    wrk = data.get("wrk")
    if not wrk:
        out += ["Task-query throughput: not measured (wrk was not installed).", ""]
        return
    out += [
        f"Task-query throughput (wrk, {wrk['connections']} connections, 2 threads, {wrk['seconds']:g} s per run "
        "after a warm-up; wrk, the proxy and the stand-in share the machine's cores):",
        "",
        "| path | req/s | p50 ms | p99 ms | through / direct |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in TARGETS:
        row = wrk[name]
        ratio = f"{wrk['ratio'][name]:.2f}" if name in wrk["ratio"] else "1"
        bad = f" (non-2xx {row['non_2xx']}, errors {row['errors']})" if row["non_2xx"] or row["errors"] else ""
        out.append(
            f"| {LABELS[name]}{bad} | {row['requests_per_second']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {ratio} |"
        )
    out.append("")


# ---------------------------------------------------------------------------------------------------- profile
def profile(calls: int = 2_000, *, record: bool = False, top: int = 30) -> None:
    """cProfile the proxy in process: task queries and submits through ``httpx.ASGITransport``, no sockets."""
    import asyncio
    import cProfile
    import pstats

    from dashscope_mock.realservice.proxy import Proxy
    from dashscope_mock.realservice.recording import Recorder

    module = _standin_module()
    upstream = "http://127.0.0.1:9"

    async def run(folder: Path) -> None:
        standin = module.StandIn(module.Clock(), base=upstream)
        recorder = Recorder(folder, upstream=upstream) if record else None
        proxy = Proxy(upstream, recorder=recorder, transport=httpx.ASGITransport(app=standin))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=proxy), base_url="http://proxy") as client:
            answer = await client.post(SUBMIT, content=BODY, headers=HEADERS)
            task_path = f"/api/v1/tasks/{answer.json()['output']['task_id']}"
            for _ in range(50):  # warm-up
                await client.get(task_path, headers=HEADERS)
            for op in ("get", "submit"):
                profiler = cProfile.Profile()
                started = time.perf_counter()
                profiler.enable()
                for _ in range(calls):
                    if op == "get":
                        await client.get(task_path, headers=HEADERS)
                    else:
                        await client.post(SUBMIT, content=BODY, headers=HEADERS)
                profiler.disable()
                each = (time.perf_counter() - started) / calls * 1e6
                print(f"== {OPERATIONS[op]}: {each:.0f} µs per exchange under cProfile (client + proxy + stand-in)")
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(top)
                stats.sort_stats("tottime").print_stats(top)
        await proxy.aclose()

    with tempfile.TemporaryDirectory(prefix="bench-proxy-profile-") as folder:
        asyncio.run(run(Path(folder)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy", description=__doc__)
    parser.add_argument("--serve", choices=["standin", "proxy"], help="serve one of the benchmark's servers")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", default=None)
    parser.add_argument("--record", default=None, metavar="DIR")
    parser.add_argument("--profile", action="store_true", help="cProfile the proxy in process")
    parser.add_argument("--calls", type=int, default=2_000, help="exchanges per operation (--profile)")
    parser.add_argument("--recorder", action="store_true", help="profile the proxy with a recorder (--profile)")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.upstream, args.record)
    elif args.profile:
        profile(args.calls, record=args.recorder)
    else:
        measure()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
