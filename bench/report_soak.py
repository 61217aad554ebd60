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
    hostile = soak.get("hostile")
    if hostile:
        _hostile(hostile, fuzz, out)
    edge = soak.get("edge")
    if edge:
        _edge(edge, out)
    redis_kill = soak.get("redis_kill")
    if redis_kill:
        _redis_kill(redis_kill, out)
    out += ["", soak.get("notes", ""), ""]


def _redis_kill(row: dict[str, Any], out: list[str]) -> None:
    out.append(
        f"- Redis killed under load (Redis state, AOF everysec): kill -9 of redis-server and a restart on its AOF, "
        f"down {row['down_seconds']:.1f} s, while clients submitted and queried: {row['answers']:,d} answers, "
        f"{row['answers_while_down']:,d} of them while Redis was down ({row['status_503_while_down']:,d} x 503 in the "
        f"service's JSON, the slowest in {row['max_seconds_while_down']:.3f} s, p99 "
        f"{row['p99_seconds_while_down']:.3f} s); `text/plain` answers: {row['text_plain']}, other 5xx: "
        f"{row['other_5xx']}, socket errors: {row['socket_errors']}. Acknowledged submits: {row['acknowledged']:,d}; "
        f"of the {row['acknowledged_before_last_second']:,d} acknowledged more than one second before the kill "
        f"(AOF everysec's promise), lost: {row['lost']}; of the {row['acknowledged_in_last_second']:,d} in the last "
        f"second, lost: {row['lost_of_last_second']} (the promise allows them)."
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} x {status}" for status, count in sorted(counts.items()))


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _hostile(row: dict[str, Any], fuzz: dict[str, Any] | None, out: list[str]) -> None:
    """Part 6b: the served mock, media checks on, under hostile inputs (``bench/soak_hostile.py``)."""
    memory, disk, corpus = row["memory"], row["disk"], row["corpus"]
    out.append(
        "- Hostile inputs, media checks on (`python -m bench.soak --only hostile`), one `dashscope-mock serve` "
        "process (uvicorn in it, one worker):"
    )
    out.append(
        f"  - Memory: {memory['parallel']} face-detects (emo-detect-v1) at once of the worst-case image, a "
        f"{memory['image_bytes'] / 1000:.0f} KB 16-bit 7000x7000 grey PNG (~98 MB of pixels) served from loopback: "
        f"peak RSS {_mib(memory['peak_rss'])} (VmRSS every 50 ms, {memory['samples']} samples, and VmHWM), idle "
        f"{_mib(memory['idle_rss'])}, **{_mib(memory['above_idle'])} above idle** against a goal of at most "
        f"{_mib(memory['goal'])}: **{'met' if memory['met'] else 'missed'}**; answers {_counts(memory['statuses'])}, "
        f"{memory['seconds']:.0f} s."
    )
    out.append(
        f"  - Disk: endless image bodies (chunked zeros, forever) for {disk['endless_detects']} "
        "face-detects at once and one liveportrait task whose `image_url` never ends: at most "
        f"**{disk['max_bytes']:,d} bytes** on disk (the files the mock created under the system temp folder, sampled "
        f"every 50 ms) against the documented limit of {disk['limit']:,d} bytes (emo-detect-v1 `image.max_bytes`) "
        f"per download: {'within' if disk['within_one_limit'] else 'above'} one limit, "
        f"{'within' if disk['met'] else 'above'} one limit per concurrent download "
        f"({disk['endless_detects'] + 1}); face-detect answers "
        f"{_counts(disk['detect_statuses'])}, the task ended {disk['task_status']} ({disk['task_code']})."
    )
    bad = "; ".join(f"`{case}`" for case in corpus["bad_content_type_cases"] + corpus["server_error_cases"])
    if "Invalid HTTP request received" in bad:
        bad += (
            " (uvicorn's HTTP/1.1 parser, h11, refuses a control character in a header value before the request "
            "reaches the mock's app, with its own plain-text 400)"
        )
    cases = f"{fuzz['cases']:,d}" if fuzz else "at least 10,000"
    out.append(
        f"  - Hostile corpus: {corpus['cases']} crafted requests (deep JSON 5000 levels, invalid UTF-8, NaN, "
        "duplicate keys, 2 MB bodies, bad multipart and a NUL in an upload key at `/_mock/oss`, 5000 form fields, "
        "unknown query parameters, huge URLs and keys, bad keys, wrong methods, a foreign `Host`, ...), each sent "
        f"{corpus['repeat']} times ({corpus['sent']} requests): **{corpus['server_errors']} answers >= 500**, "
        f"**{corpus['bad_content_types']} answers neither JSON nor XML** (goal 0 and 0; offending cases: "
        f"{bad or 'none'}); "
        f"statuses {_counts(corpus['statuses'])}; 5xx in the mock's journal over the whole part: {row['journal_5xx']}. "
        f"The {cases} generated schemathesis cases (positive and negative) come from part 6 (fuzz) above."
    )


def _edge(row: dict[str, Any], out: list[str]) -> None:
    """Part 6c: the request edge of a served mock (``bench/soak_edge.py``)."""
    refused = ", ".join(f"{r['case']} {r['status']}" for r in row["refusals"])
    missed = [r["case"] for r in row["refusals"] if not r["met"]]
    flood, log = row["floods"], row["log"]
    out.append(
        "- The request edge (`python -m bench.soak --only edge`), one `dashscope-mock serve` (media checks off), raw "
        f"requests: {refused}; **{len(missed)} not as expected**{' (' + ', '.join(missed) + ')' if missed else ''}."
    )
    out.append(
        f"  - Floods: {flood['header_flood_connections']} connections each sending a 32 MB header line (the server "
        f"closed them after {', '.join(f'{n / 2**20:.1f} MB' for n in flood['header_bytes_sent'])} had been sent, "
        f"most of it in socket buffers) and {flood['query_flood_requests']:,d} queries of 10,000 parameters "
        f"(answers {flood['query_flood_statuses']}), while a normal task query ran every 50 ms: "
        f"{flood['probes']} queries, statuses {flood['probe_statuses']}, p50 {flood['probe_p50_seconds'] * 1000:.1f} "
        f"ms, **slowest {flood['probe_max_seconds'] * 1000:.0f} ms** (goal 1 s); **RSS growth "
        f"{flood['rss_growth'] / 2**20:.1f} MiB** (goal 50 MB) over an idle {_mib(flood['idle_rss'])}; 5xx in the "
        f"journal: {row['journal_5xx']}: **{'met' if flood['met'] else 'missed'}**."
    )
    out.append(
        f"  - The log ({log['log_bytes']:,d} bytes): **{log['forged_lines']} forged lines, {log['escape_bytes']} "
        "escape bytes** (a path with `%0D%0A<timestamp> INFO ...` and `%1B[2J` is logged escaped)."
    )


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
