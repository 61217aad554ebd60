"""The reliability sections of ``docs/BENCHMARKS.md`` (``make soak``)."""

from __future__ import annotations

from typing import Any

__all__ = ["render_soak"]


def render_soak(soak: dict[str, Any], out: list[str], machine: str) -> None:
    """Sections 4-6 of docs/BENCHMARKS.md from ``bench/results/soak.json``."""
    out += [
        "## 4-6. Reliability (`make soak`)",
        "",
        f"Reproduce: `make soak` (`.venv/bin/python -m bench.soak`). Measured on {machine}. "
        f"Verdict: **{'all properties held' if soak['ok'] else 'VIOLATED: ' + '; '.join(soak['violations'])}**.",
        "",
    ]
    for run in soak.get("load", []):
        out.append(
            f"- Load, {run['label']}: {run['clients']} concurrent clients, {run['submitted']:,d} tasks in "
            f"{run['seconds']:.0f} s; lost {run['lost']}, duplicated {run['duplicated']}, not terminal "
            f"{run['not_terminal']}, ended {run['statuses']}; client errors {run['client_errors']}."
        )
    crash = soak.get("crash")
    if crash:
        out.append(
            f"- Crash: {crash['label']}: kill -9 after {crash['acked_before_kill']:,d} acknowledged submits "
            f"({crash['in_flight_at_kill']:,d} tasks not yet ended), restarted in {crash['restart_seconds']:.1f} s; "
            f"{crash['submitted']:,d} tasks acknowledged in all; lost {crash['lost']}, duplicated "
            f"{crash['duplicated']}, not terminal {crash['not_terminal']}; of the {crash['in_flight_at_kill']:,d} "
            f"tasks in flight at the kill, {crash['continued']:,d} ended ({crash['ended_after_kill']:,d} of them after "
            f"the kill); submits retried by the clients after a connection error: {crash['ambiguous_submits']}, "
            f"of which stored but never acknowledged (answer lost with the server): {crash['orphans']}."
        )
    for run in soak.get("crash_media", []):
        _crash_media(run, out)
    fuzz = soak.get("fuzz")
    if fuzz:
        out.append(
            f"- Fuzz: schemathesis {fuzz['version']}, {fuzz['cases']:,d} generated cases (positive and negative) "
            f"across {fuzz['operations']} operations in {fuzz['runs']} runs (seeds 1-{fuzz['runs']}, all phases); "
            f"5xx answers in the mock's journal: {fuzz['server_errors']}, `not_a_server_error` failures: "
            f"{fuzz['schemathesis_failures']} ({fuzz['seconds']:.0f} s). Command: `{fuzz['command']}`."
        )
    out += ["", soak.get("notes", ""), ""]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _crash_media(run: dict[str, Any], out: list[str]) -> None:
    """One kill -9 run with media checks on (``bench/soak_crash.py``)."""
    bound = run.get("bound")
    if bound is None:
        limit = "no bound (too few tasks ended before the kill to measure the media throughput)"
    else:
        limit = (
            f"bound {bound['bound']:.0f} s = lease {bound['lease']:.0f} + ticker {bound['ticker']:.0f} + phases "
            f"{bound['phases']:g} + drain {run['backlog']:,d} tasks / {run['rate_per_second']:.2f} tasks/s (the media "
            f"throughput before the kill) = {bound['drain']:.0f} s"
        )
    at_kill = ", ".join(f"{count} {status}" for status, count in sorted(run["at_kill"].items()))
    outcomes = ", ".join(f"{count:,d} {status}" for status, count in run["outcomes"].items())
    log = run.get("server_log", {})
    out.append(
        f"- Crash with media checks on, {run['label']}: {run['clients']} clients ({run['concurrency']} tasks in flight "
        f"each) submit {run['model']} tasks with real inputs served from loopback (a face photo, a "
        f"{run['audio_seconds']:g} s WAV), rendered by {run['media_workers']} media workers per server process; "
        f"kill -9 after "
        f"{run['acked_before_kill']:,d} acknowledged submits (tasks at the kill: {at_kill}), restarted in "
        f"{run['restart_seconds']:.1f} s; {run['submitted']:,d} tasks acknowledged in all; lost {run['lost']}, "
        f"duplicated {run['duplicated']}, **stuck {run['stuck']}**; ended: {outcomes}. The {run['backlog']:,d} tasks "
        f"not ended at the kill (in flight or submitted later) ended at most {_seconds(run['max_after_restart'])} "
        f"after the restart (those RUNNING at the kill, whose work waited for its lease: at most "
        f"{_seconds(run['max_after_restart_leased'])}); {limit}. Late media results dropped (a second outcome "
        f"after the first was recorded): {run['results_dropped']}; 5xx in the journal: {run['server_errors']}; "
        f"error lines in the server's log: "
        f"{log.get('errors', 0)}; stored but never acknowledged: {run['orphans']}; {run['seconds']:.0f} s."
    )
    for task in run.get("stuck_tasks", []):
        out.append(
            f"  - stuck: `{task['task_id']}` {task['status']} (at the kill: {task.get('at_kill')}), submitted "
            f"{task.get('submit_time')}, end_at {task.get('end_at')}, code {task.get('code')}; "
            f"{len(task.get('journal', []))} journal entries"
        )
