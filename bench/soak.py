"""``python -m bench.soak`` (``make soak``): reliability runs against a served mock. Prints the figures, saves
``bench/results/soak.json``, rewrites ``docs/BENCHMARKS.md`` and exits 1 when a property is violated.

4. Load: ``CLIENTS`` concurrent SDK clients (``AsyncClient``, one key each, i.e. one account each, with its own
   20 queries/s limiter) submit and wait on ``TASKS`` tasks in all — zero lost, zero duplicated, all terminal — once
   with memory state, once with SQLite state and 2 uvicorn workers.
5. Crash: the same load on SQLite state with 2 workers; ``kill -9`` of the whole server (process group: the
   supervisor and its workers) once half of the tasks are acknowledged, restart on the same port and database;
   every acknowledged task is still there and ends, the tasks in flight at the kill continue their lifecycle
   (statuses derive from stored timestamps).
5b. Crash with media checks on (``bench/soak_crash.py``): the kill -9 and restart with real inputs served from
   loopback (each task downloads, checks and renders an MP4), once on SQLite and once on Redis state, 2 workers each;
   0 lost, 0 duplicated, 0 stuck: every task terminal within a bound derived from the work lease, the model's
   timings and the media throughput measured before the kill.
6. Fuzz: schemathesis' CLI, positive and negative cases over every public operation, until at least ``FUZZ_CASES``
   cases ran; zero 5xx, counted twice: schemathesis' ``not_a_server_error`` check and the mock's own journal.
6b. Hostile inputs (``bench/soak_hostile.py``, ``--only hostile``; ~20 s): media checks on; peak RSS
   under 12 parallel worst-case PNG decodes, bytes on disk under endless bodies, a crafted hostile request corpus.
6c. The request edge (``bench/soak_edge.py``, ``--only edge``; ~15 s): duplicate Authorization, malformed Host,
   bodies without Content-Type, a forged log line; header and query floods while a normal query is timed (within
   1 s, RSS growth at most 50 MB, 0 5xx); the log has no forged line and no escape byte.
6d. Redis killed under load (``bench/soak_redis.py``, ``--only redis-kill``; ~20 s): Redis state with AOF everysec,
   kill -9 of redis-server and a restart on its AOF while clients submit and query: 0 text/plain answers, bounded
   503s while it is down, 0 acknowledged tasks lost (but those of the last second, counted apart).

Time: the real clock and the ``fast`` profile (a liveportrait task ends 2.5 s after submission), media checks off
except in 5b and 6b (the soak is about the API, the store and the lifecycle; real renders would make it a media
benchmark; 5b checks that the media work survives a crash; 6b is about hostile inputs), the per-key query limit on
(each client stays under it). The fuzz run turns the query limit off so that generated task queries are not answered
429, and leaves the control plane alone (its fault API creates 5xx on purpose).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import report, results_io
from ._servers import BIN, ROOT, free_port
from .soak_load import (
    CLIENTS,
    CRASH_TASKS,
    FUZZ_CASES,
    TASKS,
    TERMINAL,
    Load,
    MockServer,
    load_run,
    run_load,
    serving,
    verdict,
)


def crash_run(clients: int, tasks: int, concurrency: int, db: Path) -> dict[str, Any]:
    state = ("--state", f"sqlite:///{db}", "--workers", "2")
    server = MockServer(free_port(), "--profile", "fast", "--media-checks", "off", *state)
    server.start()
    load = Load()
    facts: dict[str, Any] = {}

    async def scenario() -> None:
        work = asyncio.create_task(run_load(server.base, clients, tasks, concurrency, load))
        while len(load.acked) < tasks // 2 and not work.done():  # mid-run: submits and waits in flight
            await asyncio.sleep(0.05)
        stored = await asyncio.to_thread(server.tasks)
        facts["acked_before_kill"] = len(load.acked)
        facts["in_flight_ids"] = [t["task_id"] for t in stored if t["status"] not in TERMINAL]
        await asyncio.to_thread(server.kill)  # kill -9, the whole process group
        facts["killed_at"] = time.time()
        await asyncio.sleep(1.0)
        facts["restart_seconds"] = await asyncio.to_thread(server.start)
        await work

    started = time.monotonic()
    try:
        asyncio.run(scenario())
        stored = server.tasks()
    finally:
        server.kill(signal.SIGTERM)
    result = verdict("SQLite state, 2 workers", load, stored, started)
    by_id = {t["task_id"]: t for t in stored}
    in_flight = facts["in_flight_ids"]
    continued = [task_id for task_id in in_flight if by_id.get(task_id, {}).get("status") in TERMINAL]
    after = [task_id for task_id in continued if by_id[task_id].get("end_at", 0) > facts["killed_at"]]
    result.update(
        clients=clients,
        acked_before_kill=facts["acked_before_kill"],
        in_flight_at_kill=len(in_flight),
        continued=len(continued),
        ended_after_kill=len(after),
        in_flight_lost=len([task_id for task_id in in_flight if task_id not in by_id]),
        restart_seconds=facts["restart_seconds"],
    )
    return result


# ---------------------------------------------------------------------------------------------- fuzz
def fuzz_run(min_cases: int, examples: int) -> dict[str, Any]:
    schemathesis = BIN / "schemathesis"
    cases = failures = runs = 0
    operations = 0
    started = time.monotonic()
    command_text = ""
    fuzzed = serving("--media-checks", "off", "--rate-limit", "off", "--log-level", "warning")
    with fuzzed as server, tempfile.TemporaryDirectory() as tmp:
        seed = 1
        while cases < min_cases:
            report_path = Path(tmp) / f"run-{seed}.json"
            command = [
                str(schemathesis),
                "run",
                str(ROOT / "openapi/dashscope-video.yaml"),
                "--url",
                server.base,
                "--header",
                "Authorization: Bearer sk-fuzz",
                "--checks",
                "not_a_server_error",
                "--mode",
                "all",
                "--max-examples",
                str(examples),
                "--seed",
                str(seed),
                "--report",
                "json",
                "--report-json-path",
                str(report_path),
            ]
            shown = [os.path.relpath(part, ROOT) if part.startswith(str(ROOT)) else part for part in command[:-6]]
            shown = ["'" + part + "'" if " " in part else part for part in shown]
            command_text = " ".join(shown).replace(server.base, "http://127.0.0.1:PORT") + " --seed N"
            subprocess.run(command, cwd=tmp, capture_output=True, check=False)  # its caches stay out of the tree
            data = json.loads(report_path.read_text())
            cases += int(data["test_cases"]["generated"])
            failures += len(data["failures"]) + len(data["errors"])
            operations = max(operations, int(data["operations"]["tested"]))
            runs += 1
            seed += 1
        server_errors = [entry for entry in server.journal() if int(entry.get("status", 0)) >= 500]
        version = json.loads(report_path.read_text())["schemathesis_version"]
    return {
        "cases": cases,
        "runs": runs,
        "operations": operations,
        "server_errors": len(server_errors),
        "schemathesis_failures": failures,
        "seconds": time.monotonic() - started,
        "version": version,
        "command": command_text,
    }


# ---------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    from . import soak_crash, soak_edge, soak_hostile, soak_redis  # the other parts (most build on soak_load)

    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--only",
        default="load,crash,crash-media,fuzz,hostile,edge,redis-kill",
        help="comma-separated: load, crash, crash-media, fuzz, hostile, edge, redis-kill",
    )
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--tasks", type=int, default=TASKS)
    parser.add_argument("--crash-tasks", type=int, default=CRASH_TASKS)
    parser.add_argument("--concurrency", type=int, default=10, help="tasks in flight per client")
    parser.add_argument("--media-tasks", type=int, default=soak_crash.MEDIA_TASKS, help="per crash-media run")
    parser.add_argument("--media-clients", type=int, default=soak_crash.MEDIA_CLIENTS)
    parser.add_argument("--media-concurrency", type=int, default=soak_crash.MEDIA_CONCURRENCY, help="per client")
    parser.add_argument("--media-workers", type=int, default=None, help="the mock's --media-workers (default: its)")
    parser.add_argument("--fuzz-cases", type=int, default=FUZZ_CASES)
    parser.add_argument("--fuzz-examples", type=int, default=400, help="schemathesis --max-examples per run")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.only.split(",") if part.strip()}
    if unknown := parts - {"load", "crash", "crash-media", "fuzz", "hostile", "edge", "redis-kill"}:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    results: dict[str, Any] = dict(results_io.load("soak") or {})  # a partial run (--only) keeps the other figures
    results["machine"] = results_io.machine()
    violations: list[str] = []
    print(f"machine: {results_io.machine_line(results['machine'])}")

    def check(name: str, row: dict[str, Any]) -> None:
        for prop in ("lost", "duplicated", "not_terminal", "orphans", "in_flight_lost"):
            if prop == "orphans" and name.startswith("crash"):
                continue  # a submit whose answer died with the server: stored, never acknowledged (reported)
            if row.get(prop):
                violations.append(f"{name}: {prop} = {row[prop]}")
        if name.startswith("crash") and row["continued"] < row["in_flight_at_kill"]:
            violations.append(f"{name}: {row['in_flight_at_kill'] - row['continued']} in-flight tasks did not resume")
        if row.get("client_errors"):
            violations.append(f"{name}: client errors {row['client_errors']}")

    if "load" in parts:
        print(f"4. load: {args.clients} clients, {args.tasks:,d} tasks")
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for label, extra in (
                ("memory state, 1 worker", ()),
                ("SQLite state, 2 workers", ("--state", f"sqlite:///{Path(tmp) / 'load.db'}", "--workers", "2")),
            ):
                row = load_run(label, args.clients, args.tasks, args.concurrency, *extra)
                runs.append(row)
                print(f"  {label}: {json.dumps(row)}")
                check(f"load ({label})", row)
        results["load"] = runs
    if "crash" in parts:
        print(f"5. crash: {args.clients} clients, {args.crash_tasks:,d} tasks, kill -9 at half")
        with tempfile.TemporaryDirectory() as tmp:
            row = crash_run(args.clients, args.crash_tasks, args.concurrency, Path(tmp) / "crash.db")
        print(f"  {json.dumps(row)}")
        check("crash", row)
        results["crash"] = row
    if "crash-media" in parts:
        print(
            f"5b. crash, media checks on: {args.media_clients} clients, {args.media_tasks:,d} tasks per run, "
            "kill -9 at half (SQLite, Redis)"
        )
        with tempfile.TemporaryDirectory() as tmp:
            rows = soak_crash.crash_media(
                args.media_clients, args.media_tasks, args.media_concurrency, args.media_workers, Path(tmp)
            )
        for row in rows:
            print(f"  {row['label']}: {json.dumps(row)}")
            violations.extend(soak_crash.check(f"crash-media ({row['label']})", row))
        results["crash_media"] = rows
    if "fuzz" in parts:
        print(f"6. fuzz: schemathesis, at least {args.fuzz_cases:,d} cases")
        row = fuzz_run(args.fuzz_cases, args.fuzz_examples)
        print(f"  {json.dumps(row)}")
        if row["server_errors"] or row["schemathesis_failures"]:
            violations.append(f"fuzz: {row['server_errors']} 5xx, {row['schemathesis_failures']} failures")
        if row["cases"] < args.fuzz_cases:
            violations.append(f"fuzz: only {row['cases']} cases")
        results["fuzz"] = row
    if "hostile" in parts:
        print("6b. hostile inputs, media checks on")
        row = soak_hostile.hostile_run()
        print(f"  {json.dumps(row)}")
        violations.extend(soak_hostile.check(row))
        results["hostile"] = row
    if "edge" in parts:
        print("6c. the request edge: refusals, header and query floods, the log")
        row = soak_edge.edge_run()
        print(f"  {json.dumps(row)}")
        violations.extend(soak_edge.check(row))
        results["edge"] = row
    if "redis-kill" in parts:
        print("6d. Redis killed -9 under load (AOF everysec) and started again")
        row = soak_redis.redis_kill_run()
        print(f"  {json.dumps(row)}")
        violations.extend(soak_redis.check(row))
        results["redis_kill"] = row
    kept = [v for v in results.get("violations", []) if v.split(" ")[0].rstrip(":") not in parts]
    results["violations"] = kept + violations
    results["ok"] = not results["violations"]
    results["notes"] = (
        "Real clock, `fast` profile (a liveportrait task ends 2.5 s after submission), media checks off except in "
        "the crash runs that say otherwise and the hostile-input part, per-key query limit on except in the fuzz "
        "run; each client is its own account (key and 20 queries/s limiter), polls every 0.5 s growing to 1 s "
        f"(media checks on: 1 s growing to 3 s), at most {args.concurrency} tasks in flight per client unless said "
        "otherwise. The crash runs' bound on the time to terminal after the restart adds the work lease (`x-task-"
        "engine.lease_seconds`), the work pool's ticker period (a third of the lease), the model's timings and the"
        " drain of the backlog at the media throughput measured before the kill; the lease wait and the drain "
        "overlap, so it is an upper bound."
    )
    results_io.save("soak", results)
    report.render()
    print("soak: " + ("all properties held" if not violations else "VIOLATED: " + "; ".join(violations)))
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
