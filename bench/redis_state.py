"""Benchmark 9: the mock on Redis state (``--state redis://``), task query (``getTask``) throughput with wrk.

(a) One ``dashscope-mock serve --media-checks off`` process (one uvicorn process) on a fresh ``redis-server``, vs the
    same with memory state, 16 connections each: what keeping every task, rate window and journal entry in Redis
    costs per query.
(b) Two such processes (two ports) on one Redis, each answering queries for tasks submitted through the first: two
    wrk instances at once (one per port, 8 connections and 1 thread each; their req/s summed) vs one wrk (16
    connections, 2 threads) on the first process, with the second process up and idle.

Both use the throughput benchmark's prefill and rotation (one task per key over ``KEYS`` keys, the per-key query
limit on), so no key comes near its 20 queries/s, also with two processes sharing the keys' rate windows in Redis.
Each compares runs made in turns, ``ROUNDS`` pairs, and reports the median pair: this machine's speed drifts from one
run to the next (its cores are shared), more than the difference measured.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import redis

from ._servers import free_port, running
from ._wrk import Prepared, WrkResult, run_wrk
from .throughput import KEYS, Workload, mock_command, prefill, submit_body

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CONNECTIONS = 16
ROUNDS = 5  # pairs of runs, in turns; the median pair is reported
T = TypeVar("T")


CGROUP_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller, where this machine's kernel offers it
REPLICA_CORES = 0.5  # (c): the CPU each server process may use


@contextlib.contextmanager
def _cpu_budget(pids: Sequence[int], cores: float) -> Iterator[bool]:
    """Hold each of ``pids`` to ``cores`` of CPU (a cgroup v1 CFS quota of its own) until the block ends: replicas on
    hosts of their own, each with the same CPU, sharing only Redis. Yields whether it could (root and a writable
    cgroup v1 cpu hierarchy); without, nothing is held."""
    groups: list[Path] = []
    try:
        for pid in pids:
            group = CGROUP_CPU / f"dashscope-bench-{pid}"
            group.mkdir()
            groups.append(group)
            period = int((group / "cpu.cfs_period_us").read_text())
            (group / "cpu.cfs_quota_us").write_text(str(int(period * cores)))
            (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        _release(groups)
        yield False
        return
    try:
        yield True
    finally:
        _release(groups)


def _release(groups: list[Path]) -> None:
    for group in groups:
        with contextlib.suppress(OSError):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (CGROUP_CPU / "cgroup.procs").write_text(pid)
            group.rmdir()


def _serve(port: int, state: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    command = mock_command(port, "--media-checks", "off", "--state", state)
    return running(command, ready_url=f"http://127.0.0.1:{port}/_mock/clock")


def _prefill(url: str, keys: int) -> list[Prepared]:
    work = Workload(queries=[], body=submit_body(free_port()))
    prefill(url, work, keys)
    return work.queries


def _info(redis_url: str, section: str, field: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info(section)[field])
    finally:
        client.close()


def _commands(redis_url: str) -> int:
    """Commands ``redis-server`` has processed so far (``INFO stats``)."""
    return _info(redis_url, "stats", "total_commands_processed")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _with_cpu(pids: Sequence[int], run: Callable[[], T]) -> tuple[T, list[float]]:
    """``run()`` and the cores each of ``pids`` used meanwhile (CPU seconds / wall seconds)."""
    before = [_cpu_seconds(pid) for pid in pids]
    start = time.monotonic()
    result = run()
    wall = time.monotonic() - start
    return result, [(_cpu_seconds(pid) - used) / wall for pid, used in zip(pids, before, strict=True)]


def _line(label: str, result: WrkResult) -> str:
    return (
        f"  {label:34s} {result.requests_per_second:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f}"
        f" ms  non-2xx {result.non_2xx}  errors {result.errors}"
    )


def _state_ratio(
    redis_url: str, *, seconds: float, warmup: float, keys: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """(a) one process on memory state and one on Redis state, both up, measured in turns (``ROUNDS`` of each, one
    after the other): this machine's speed drifts between runs (shared cores), and the ratio of each pair is the
    figure, their median the result."""
    redis_pid = _info(redis_url, "server", "process_id")
    ports = free_port(), free_port()
    urls = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    with _serve(ports[0], "memory") as memory_server, _serve(ports[1], redis_url) as redis_server:
        servers = {"memory": (urls[0], memory_server.pid), "redis": (urls[1], redis_server.pid)}
        rotations = {name: _prefill(url, keys) for name, (url, _) in servers.items()}
        for name, (url, _) in servers.items():
            if warmup > 0:
                run_wrk(url, requests=rotations[name], connections=CONNECTIONS, seconds=warmup)
        rounds: list[dict[str, Any]] = []
        for turn in range(ROUNDS):
            figures: dict[str, Any] = {}
            for name, (url, pid) in servers.items():
                before = _commands(redis_url)
                result, cores = _with_cpu(
                    [pid, redis_pid],
                    functools.partial(run_wrk, url, requests=rotations[name], connections=CONNECTIONS, seconds=seconds),
                )
                commands = _commands(redis_url) - before - 1  # the INFO call itself
                log(
                    _line(f"round {turn + 1}, {name} state", result)
                    + f"  CPU: server {cores[0]:.2f}, redis {cores[1]:.2f}"
                )
                figures[name] = {**result.as_dict(), "server_cores": cores[0], "redis_cores": cores[1]}
                if name == "redis":
                    figures["redis_commands_per_query"] = commands / max(1, result.requests)
            figures["ratio"] = figures["redis"]["requests_per_second"] / figures["memory"]["requests_per_second"]
            log(f"  round {turn + 1}: Redis/memory {figures['ratio']:.2f}x")
            rounds.append(figures)
    median = sorted(rounds, key=lambda figures: figures["ratio"])[len(rounds) // 2]
    log(
        f"  median of {ROUNDS} rounds: {median['ratio']:.2f}x; "
        f"commands per query {median['redis_commands_per_query']:.1f}"
    )
    return {**median, "rounds": [figures["ratio"] for figures in rounds]}


def _both(urls: tuple[str, str], rotations: tuple[list[Prepared], list[Prepared]], seconds: float) -> list[WrkResult]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(run_wrk, url, requests=queries, connections=CONNECTIONS // 2, threads=1, seconds=seconds)
            for url, queries in zip(urls, rotations, strict=True)
        ]
        return [run.result() for run in runs]


def _two_processes(
    redis_url: str,
    *,
    seconds: float,
    warmup: float,
    keys: int,
    log: Callable[[str], None],
    budget: float | None = None,
) -> dict[str, Any] | None:
    """(b) two processes on one Redis vs one of them alone, in turns as (a), the median of ``ROUNDS`` pairs; (c) with
    ``budget``: each process held to that many cores (``_cpu_budget``; ``None`` when this machine cannot)."""
    ports = free_port(), free_port()
    urls = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    redis_pid = _info(redis_url, "server", "process_id")
    with contextlib.ExitStack() as stack:
        first_server = stack.enter_context(_serve(ports[0], redis_url))
        second_server = stack.enter_context(_serve(ports[1], redis_url))
        if budget is not None and not stack.enter_context(_cpu_budget([first_server.pid, second_server.pid], budget)):
            log("  no writable cgroup v1 cpu hierarchy: not measured")
            return None
        pids = [first_server.pid, second_server.pid, redis_pid]
        queries = _prefill(urls[0], keys)
        shared = httpx.get(urls[1] + queries[0].path, headers=queries[0].headers, timeout=10)
        if shared.status_code != 200:
            raise RuntimeError(f"the second process does not see the first one's task: {shared.status_code}")
        half = len(queries) // 2
        rotations = queries, queries[half:] + queries[:half]  # the two wrk instances start on different keys
        if warmup > 0:
            run_wrk(urls[0], requests=queries, connections=CONNECTIONS, seconds=warmup)
            _both(urls, rotations, warmup)
        rounds: list[dict[str, Any]] = []
        for turn in range(ROUNDS):
            one, one_cores = _with_cpu(
                pids, lambda: run_wrk(urls[0], requests=queries, connections=CONNECTIONS, seconds=seconds)
            )
            log(_line(f"round {turn + 1}, one process of two, 16 conn", one) + f"  CPU: server {one_cores[0]:.2f}")
            (first, second), cores = _with_cpu(pids, lambda: _both(urls, rotations, seconds))
            total = first.requests_per_second + second.requests_per_second
            log(_line("  two processes, 8 conn each: first", first) + f"  CPU: server {cores[0]:.2f}")
            log(_line("  two processes, 8 conn each: second", second) + f"  CPU: server {cores[1]:.2f}")
            log(
                f"  round {turn + 1}: two processes, summed: {total:.0f} req/s "
                f"({total / one.requests_per_second:.2f}x one)"
            )
            rounds.append(
                {
                    "one": {**one.as_dict(), "server_cores": one_cores[0], "redis_cores": one_cores[2]},
                    "two": [
                        {**first.as_dict(), "server_cores": cores[0]},
                        {**second.as_dict(), "server_cores": cores[1]},
                    ],
                    "two_requests_per_second": total,
                    "two_redis_cores": cores[2],
                    "ratio": total / one.requests_per_second,
                }
            )
    median = sorted(rounds, key=lambda figures: figures["ratio"])[len(rounds) // 2]
    log(f"  median of {ROUNDS} rounds: {median['ratio']:.2f}x")
    return {**median, "rounds": [figures["ratio"] for figures in rounds]}


def measure(
    *, seconds: float = 10, warmup: float = 2, keys: int = KEYS, log: Callable[[str], None] = print
) -> dict[str, Any]:
    from tests.services import redis_server  # the repository root is on sys.path under `python -m bench`

    with redis_server() as redis_url:
        state = _state_ratio(redis_url, seconds=seconds, warmup=warmup, keys=keys, log=log)
    with redis_server() as redis_url:  # a fresh Redis: (a)'s tasks and rate windows do not weigh on (b)
        processes = _two_processes(redis_url, seconds=seconds, warmup=warmup, keys=keys, log=log)
    assert processes is not None  # measured whenever no CPU budget is asked for
    log(f"  each server process held to {REPLICA_CORES:g} core:")
    with redis_server() as redis_url:
        budgeted = _two_processes(redis_url, seconds=seconds, warmup=warmup, keys=keys, log=log, budget=REPLICA_CORES)
    return {
        "state": state,
        "processes": processes,
        "budgeted": budgeted,
        "replica_cores": REPLICA_CORES,
        "_workload": {"keys": keys, "connections": CONNECTIONS, "seconds": seconds, "warmup": warmup},
    }


def _bad(row: dict[str, Any]) -> str:
    if row["non_2xx"] or row["errors"]:
        return f" (non-2xx {row['non_2xx']}, socket errors {row['errors']})"
    return ""


def render(data: dict[str, Any], out: list[str], nproc: str) -> None:
    """Section 9 of ``docs/BENCHMARKS.md``."""
    work, state, processes = data["_workload"], data["state"], data["processes"]
    out += [
        "## 9. Redis state: task query throughput, one and two server processes",
        "",
        "Reproduce: `.venv/bin/python -m bench --only redis` (needs `redis-server`: `make redis`). Each server is "
        "`dashscope-mock serve --media-checks off --state memory|redis://127.0.0.1:PORT/0`, one uvicorn process; "
        f"wrk, {work['seconds']:g} s per run after a {work['warmup']:g} s warm-up; task queries rotate over "
        f"{work['keys']:,d} keys, one task each, with the per-key query limit on (as in section 1).",
        "",
        "| setup | wrk | task query req/s | p50 ms | p99 ms | server CPU, cores | server CPU µs per query | "
        "redis-server CPU, cores |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("one process, memory state", "16 connections, 2 threads", state["memory"]),
        ("one process, Redis state", "16 connections, 2 threads", state["redis"]),
        ("one process on a Redis shared with an idle second process", "16 connections, 2 threads", processes["one"]),
        ("two processes on one Redis: first", "8 connections, 1 thread", processes["two"][0]),
        ("two processes on one Redis: second", "8 connections, 1 thread", processes["two"][1]),
    ]
    for label, load, row in rows:
        redis_cores = f"{row['redis_cores']:.2f}" if "redis_cores" in row and "memory" not in label else ""
        out.append(
            f"| {label}{_bad(row)} | {load} | {row['requests_per_second']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {_cores(row)} | {_per_query(row)} | {redis_cores} |"
        )
    two = processes["two"]
    both = sum(row.get("server_cores", float("nan")) for row in two)
    commands = state.get("redis_commands_per_query", float("nan"))
    out += [
        f"| **two processes on one Redis, summed** | 8 + 8 connections | "
        f"**{processes['two_requests_per_second']:,.0f}** | | | {both:.2f} | "
        f"{both / processes['two_requests_per_second'] * 1e6:.0f} | "
        f"{processes.get('two_redis_cores', float('nan')):.2f} |",
        "",
        f"- Redis state / memory state, one process, same run: **{state['ratio']:.2f}x** the task-query throughput "
        f"(the median of {_rounds(state)}; the table shows that pair). "
        f"A task query on Redis state costs {commands:.1f} Redis commands (`INFO stats` over the measured run, the "
        "commands inside Lua scripts included) in 2 round trips (tests/mock_server/test_redis_hot_path.py counts "
        "them): one Lua script for the clock offset, whether any fault is set, the task, the secret signing its "
        "result link and the key's query limit; one for the journal entry. Both are awaited on `redis.asyncio` "
        "(`store/_redis_async.py`), on one connection per event loop that the concurrent requests share: the event "
        "loop never waits on Redis, and the replies of several requests come in one read. Each is bounded (x-redis "
        "of openapi/mock-control.yaml: 1 s timeouts, a breaker answering 503 while Redis is down). The server pays "
        f"for them in CPU: {_per_query(state['redis'])} µs per query against {_per_query(state['memory'])} µs on "
        f"memory state, the process busy {_cores(state['redis'])} of a core. CPU columns: CPU seconds of the process "
        "(`/proc/<pid>/stat`) over the run's wall time.",
        f"- Two processes on one Redis / one process: **{processes['ratio']:.2f}x** (the median of "
        f"{_rounds(processes)}) "
        f"({processes['two_requests_per_second']:,.0f} vs {processes['one']['requests_per_second']:,.0f} req/s), "
        "every query answered from the shared state (the tasks were all submitted through the first process). Per "
        f"core of server CPU, two processes do **{_per_core_ratio(processes):.2f}x** what one does: Redis is not "
        "what limits them here, the cores are.",
        _budgeted_line(data),
        f"- This machine has only {nproc} CPUs, shared by the server process(es), `redis-server` and wrk itself: "
        "unheld, two processes compete for those two cores with wrk and Redis, so (b) is bounded by the machine, not "
        "by the shared state; (c), each process held to the same CPU, is the figure of replicas on hosts of their "
        "own.",
        "",
    ]


def _budgeted_line(data: dict[str, Any]) -> str:
    """(c): two processes / one, each held to the same CPU (replicas on hosts of their own)."""
    budgeted, cores = data.get("budgeted"), data.get("replica_cores", REPLICA_CORES)
    if not budgeted:
        return (
            f"- Each server process held to {cores:g} core: not measured (this machine offers no writable cgroup v1 "
            "cpu hierarchy)."
        )
    one, two = budgeted["one"], budgeted["two"]
    return (
        f"- Each server process held to {cores:g} core (a cgroup CPU quota of its own: replicas on hosts of their "
        "own with the same CPU, sharing only Redis; wrk and `redis-server` use the rest of the machine): two "
        f"processes / one: **{budgeted['ratio']:.2f}x** (the median of {_rounds(budgeted)}; "
        f"{budgeted['two_requests_per_second']:,.0f} vs {one['requests_per_second']:,.0f} req/s; p99 "
        f"{one['p99_ms']:.2f} ms for one, {max(row['p99_ms'] for row in two):.2f} ms for the slower of two; "
        f"server CPU {one.get('server_cores', float('nan')):.2f} vs "
        f"{sum(row.get('server_cores', float('nan')) for row in two):.2f} cores)."
    )


def _rounds(figures: dict[str, Any]) -> str:
    ratios = figures.get("rounds") or [figures["ratio"]]
    return f"{len(ratios)} pairs of runs made in turns: " + ", ".join(f"{ratio:.2f}x" for ratio in ratios)


def _per_core_ratio(processes: dict[str, Any]) -> float:
    """Queries per second per core of server CPU, two processes over one."""
    both = sum(row.get("server_cores", float("nan")) for row in processes["two"])
    one = processes["one"]
    return float(
        (processes["two_requests_per_second"] / both) / (one["requests_per_second"] / one.get("server_cores", 1.0))
    )


def _per_query(row: dict[str, Any]) -> str:
    return f"{row['server_cores'] / row['requests_per_second'] * 1e6:.0f}" if "server_cores" in row else ""


def _cores(row: dict[str, Any]) -> str:
    return f"{row['server_cores']:.2f}" if "server_cores" in row else ""


def plot(ax: Axes, data: dict[str, Any]) -> None:
    state, processes = data["state"], data["processes"]
    labels = ["memory\n1 proc", "Redis\n1 proc", "Redis\n1 of 2 proc", "Redis\n2 proc (sum)"]
    first, second = (row["requests_per_second"] for row in processes["two"])
    values = [
        state["memory"]["requests_per_second"],
        state["redis"]["requests_per_second"],
        processes["one"]["requests_per_second"],
    ]
    xs = list(range(len(labels)))
    ax.bar(xs[:3], values, 0.6, color=["tab:blue", "tab:red", "tab:red"])
    ax.bar([xs[3]], [first], 0.6, color="tab:red", label="first process")
    ax.bar([xs[3]], [second], 0.6, bottom=[first], color="salmon", label="second process")
    ax.set_xticks(xs, labels, fontsize=8)
    ax.set_ylabel("task query req/s (wrk, 16 connections in all)")
    ax.set_title("Redis state (media checks off)")
    ax.legend()
