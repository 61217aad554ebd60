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
    fuzz = soak.get("fuzz")
    if fuzz:
        out.append(
            f"- Fuzz: schemathesis {fuzz['version']}, {fuzz['cases']:,d} generated cases (positive and negative) "
            f"across {fuzz['operations']} operations in {fuzz['runs']} runs (seeds 1-{fuzz['runs']}, all phases); "
            f"5xx answers in the mock's journal: {fuzz['server_errors']}, `not_a_server_error` failures: "
            f"{fuzz['schemathesis_failures']} ({fuzz['seconds']:.0f} s). Command: `{fuzz['command']}`."
        )
    out += ["", soak.get("notes", ""), ""]
