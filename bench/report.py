"""``docs/BENCHMARKS.md`` and ``docs/benchmarks.png`` from the last results of ``python -m bench``
(``bench/results/bench.json``) and ``python -m bench.soak`` (``bench/results/soak.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import batch, engine, proxy, redis_state
from ._servers import ROOT
from .report_parts import render_face_detect, render_test_suite
from .report_soak import render_soak
from .results_io import load, machine_line

DOC = ROOT / "docs" / "BENCHMARKS.md"
PLOT = ROOT / "docs" / "benchmarks.png"

TARGET_PRISM = 2.0
TARGET_BARE = 0.8
TARGET_MEMORY = 2048
TARGET_SDK = 1.2
TARGET_POLLS = 15
TARGET_LAG = 10.0
TARGET_FRESH_MOCK_MS = 5.0
ORDER = ("mock", "mock_media_off", "mock_connexion", "prism", "bare")
REFERENCE = "mock_connexion"  # the mock before the fast path: shown for comparison, not judged


def _servers(data: dict[str, Any]) -> list[str]:
    names = [name for name in ORDER if name in data]
    return names + sorted(name for name in data if name not in names and not name.startswith("_"))


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _throughput(bench: dict[str, Any], out: list[str]) -> None:
    data = bench["throughput"]
    work = data["_workload"]
    out += [
        "## 1. Throughput and latency (wrk, 16 connections, 2 threads, "
        f"{work['seconds']:g} s per run after a 2 s warm-up)",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m bench --only throughput`).",
        "",
        "| server | task query req/s | p50 ms | p99 ms | submit req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in _servers(data):
        value = data[name]
        get, post = value["get"], value["submit"]
        bad = ""
        if get["non_2xx"] or post["non_2xx"] or get["errors"] or post["errors"]:
            bad = f" (non-2xx {get['non_2xx']}/{post['non_2xx']}, socket errors {get['errors']}/{post['errors']})"
        out.append(
            f"| {value['label']}{bad} | {get['requests_per_second']:,.0f} | {get['p50_ms']:.2f} | {get['p99_ms']:.2f}"
            f" | {post['requests_per_second']:,.0f} | {post['p50_ms']:.2f} | {post['p99_ms']:.2f} |"
        )
    out += ["", "Ratios (req/s of the mock divided by the peer's, same run):", ""]
    out += ["| mock configuration | operation | vs Prism (target ≥ 2) | vs bare route (target ≥ 0.8) |"]
    out += ["|---|---|---:|---:|"]
    ratios = bench["throughput_ratios"]
    for name in _servers(data):
        for op in ("get", "submit"):
            row = ratios.get(f"{name}.{op}")
            if row is None:
                continue
            label = data[name]["label"]
            prism, bare = row.get("vs_prism", float("nan")), row.get("vs_bare", float("nan"))
            judged = name != REFERENCE
            out.append(
                f"| {label} | {'task query' if op == 'get' else 'submit'} | {prism:.2f} "
                f"{_mark(prism >= TARGET_PRISM) if judged else '(before)'} | {bare:.2f} "
                f"{_mark(bare >= TARGET_BARE) if judged else '(before)'} |"
            )
    if REFERENCE in data and "mock_media_off" in data:
        before, after = data[REFERENCE], data["mock_media_off"]
        out += [
            "",
            "The fast path, same run, same configuration (media checks off): task query "
            f"{before['get']['requests_per_second']:,.0f} → {after['get']['requests_per_second']:,.0f} req/s "
            f"({after['get']['requests_per_second'] / before['get']['requests_per_second']:.1f}x), submit "
            f"{before['submit']['requests_per_second']:,.0f} → {after['submit']['requests_per_second']:,.0f} req/s "
            f"({after['submit']['requests_per_second'] / before['submit']['requests_per_second']:.1f}x).",
        ]
    out += [
        "",
        f"Workload: task queries rotate over {work['keys']:,d} keys, each querying its own task (the mock keeps its "
        "20 queries/s per-key limit on, as `make mock` serves it; no key comes near it); Prism and the bare route get "
        "the same rotation. Submit body (valid liveportrait, inputs on a closed local port, so with media checks on "
        f"each task's media work is one refused download): `{work['body']}`. The bare route answers the mock's own "
        f"bytes ({work['get_bytes']} bytes for the query, {work['post_bytes']} for the submit).",
        "",
    ]
    backlog = data.get("mock", {}).get("backlog")
    if backlog:
        counts = ", ".join(f"{status} {count:,d}" for status, count in sorted(backlog.items()))
        out[-1:] = [
            "",
            "With media checks on a submit stores the task and queues its media work for the 4 media workers (child "
            "processes at lower CPU priority); each task then fails its download (`InvalidParameter.InputDownload"
            f"Failed`). Tasks the mock held when the submit run ended (`GET /_mock/tasks`): {counts} — the ones not "
            "yet ended are the queue's backlog, worked on after the answer.",
            "",
        ]


def _scale(bench: dict[str, Any], out: list[str]) -> None:
    data = bench["scale"]
    out += [
        "## 2. Scale: task-query latency against stored tasks, memory per task",
        "",
        "Reproduce: `.venv/bin/python -m bench --only scale`. In process (the ASGI app called directly, no sockets), "
        f"{data['queries']:,d} queries of random stored tasks per size; tasks stored through `Backend.submit`.",
        "",
        "| stored tasks | memory store p50 µs | p99 µs | SQLite store p50 µs | p99 µs |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in data["sizes"]:
        mem, sql = data["memory"][str(size)], data["sqlite"][str(size)]
        out.append(
            f"| {size:,d} | {mem['p50_us']:.1f} | {mem['p99_us']:.1f} | {sql['p50_us']:.1f} | {sql['p99_us']:.1f} |"
        )
    ratio = data["memory_p50_ratio"]
    memory = data["memory_bytes_per_task"]
    out += [
        "",
        f"- Flat latency: p50 at {data['sizes'][-1]:,d} tasks / p50 at {data['sizes'][0]:,d} tasks = {ratio:.2f} "
        f"(memory store), {data['sqlite_p50_ratio']:.2f} (SQLite) — {_mark(ratio <= 1.25)} (flat: within 25 %).",
        f"- Memory per stored task: {memory:,.0f} bytes (tracemalloc over {data['sizes'][-1]:,d} submits; target ≤ "
        f"2 KB) — {_mark(memory <= TARGET_MEMORY)}. The request journal is extra: one entry per request, bounded "
        "at 100,000 entries.",
        "",
    ]


def _sdk(bench: dict[str, Any], out: list[str]) -> None:
    get = bench["sdk_get"]
    wait = bench["sdk_wait"]
    served = get["served"]["ratio"]
    out += [
        "## 3. SDK",
        "",
        "Reproduce: `.venv/bin/python -m bench --only sdk`.",
        "",
        "| `client.tasks.get` vs raw `httpx` (same transport) | SDK µs/call | httpx µs/call | ratio (target ≤ 1.2) |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "served": "served mock (keep-alive, subprocess)",
        "canned": "`httpx.MockTransport` with the mock's bytes (client cost only)",
    }
    for name, row in get.items():
        out.append(
            f"| {labels[name]} | {row['sdk_get_us']:.0f} | {row['raw_httpx_us']:.0f} | {row['ratio']:.2f} "
            f"{_mark(row['ratio'] <= TARGET_SDK)} |"
        )
    out += [
        "",
        "Both sides parse the JSON; the SDK also checks the type of every field its typed `Task` reads and builds it, "
        "applies its retry rules and books a slot in its query limiter (replaced here by one that never waits, and the "
        "mock's limit is off: the figure is per-call cost, not the 20 queries/s pacing).",
        "",
        "Wait loop on the virtual clock (`Client(sleep=mock.advance)`, default `PollPolicy`: 1 s growing x1.5 to "
        f"8 s, 20 % jitter), {next(iter(wait.values()))['tasks']} tasks per duration with different jitter seeds:",
        "",
        "| task duration | polls mean | polls max | lag mean | lag max | lag mean % | lag max % |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for duration, row in wait.items():
        out.append(
            f"| {float(duration):g} s | {row['polls_mean']:.1f} | {row['polls_max']} | {row['lag_mean_s']:.2f} s | "
            f"{row['lag_max_s']:.2f} s | {row['lag_mean_pct']:.1f} % | {row['lag_max_pct']:.1f} % |"
        )
    sixty = wait.get("60")
    if sixty:
        out += [
            "",
            f"Targets for a 60 s task: ≤ {TARGET_POLLS} polls — worst task {sixty['polls_max']} "
            f"{_mark(sixty['polls_max'] <= TARGET_POLLS)}; ≤ {TARGET_LAG:g} % lag — mean {sixty['lag_mean_pct']:.1f} % "
            f"{_mark(sixty['lag_mean_pct'] <= TARGET_LAG)}, worst task {sixty['lag_max_pct']:.1f} % "
            f"{_mark(sixty['lag_max_pct'] <= TARGET_LAG)}. The worst lag is bounded by the poll interval the loop "
            "has reached (`max_interval` 8 s = 13 % of 60 s). The two targets pull against each other: measured the "
            "same way, `PollPolicy(max_interval=6)` gives a worst lag of 8.7 % but 15.2 polls on average (16 at "
            "worst), so the default stays at 8 s, where both means are met; pass `poll=PollPolicy(max_interval=6)` "
            f"to bound the lag instead. `client.tasks.get` ≤ 1.2x raw httpx: {served:.2f}x "
            f"{_mark(served <= TARGET_SDK)}.",
        ]
    out.append("")


def _fresh_mock(bench: dict[str, Any], out: list[str]) -> None:
    data = bench["fresh_mock"]
    out += [
        "## 7. A fresh in-process mock per test",
        "",
        "Reproduce: `.venv/bin/python -m bench --only fresh_mock` (or `.venv/bin/python -m bench.fresh_mock`, which "
        "only prints). One iteration is a short test: `with mock_dashscope() as mock:`, a liveportrait submit through "
        "`mock.client(headers=mock.headers)`, `mock.advance(10)` and a task query answering `SUCCEEDED`. After: the "
        "connexion app, validators, router and model registry are built once per process and shared. Before: the "
        "same, with those process-wide builds dropped before each iteration, so every mock rebuilds and revalidates "
        "them as the old code did (the parsed YAML stays cached, as it did then).",
        "",
        "| per fresh mock | iterations | median ms | p90 ms | 1,000 tests |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("before", "before (rebuilt per mock)"), ("after", "after (shared per process)")):
        row = data[name]
        out.append(
            f"| {label} | {row['iterations']} | {row['median_ms']:.2f} | {row['p90_ms']:.2f} | "
            f"{row['thousand_tests_s']:.1f} s |"
        )
    after = data["after"]["median_ms"]
    out += [
        "",
        f"Before/after (median): {data['ratio']:.1f}x. Target ≤ {TARGET_FRESH_MOCK_MS:g} ms median per fresh mock: "
        f"{after:.2f} ms {_mark(after <= TARGET_FRESH_MOCK_MS)}.",
        "",
    ]


IMAGES = Path(__file__).parent / "results" / "container_images.md"

NARRATIVE = """## What was measured, what was changed, what is left

**Profile first.** cProfile of the in-process app and py-spy of the served one: a task query cost ~550 µs of CPU in
process and a submit ~820 µs, almost all of it in connexion's middleware stack (routing, security, parameter and body
validation with a `jsonschema` validator rebuilt for every request, response validation, a dozen ASGI wrappers); the
handler and the backend were ~10 %. So the fix is at that depth:

- `dashscope_mock/fastpath.py`: the two hot operations (`getTask`, `createVideoSynthesis`) skip connexion when the
  request is routed, authenticated and validated by the same `OperationValidator` objects connexion's hooks use
  (compiled once per process from the spec: `jsonschema_rs` for a quick yes, Python's jsonschema for the verdict and
  the error), answered by the same handler and, on error, written by the same renderer. It only skips middleware;
  requests it does not take (query strings, odd path segments, a missing key, non-JSON bodies) go on to connexion.
  `tests/mock_server/test_fast_path_equivalence.py` runs two seeded mocks side by side (fast path on/off) and demands
  identical status,
  headers, bodies, journal and stored tasks for hand-written edge cases and 150 generated bodies (positive and
  negative); the whole suite, schemathesis and the Prism oracle included, runs against the fast path.
  `DASHSCOPE_MOCK_FAST_PATH=off` turns it off (the "before" row above).
- Smaller costs on the same path: literal routes looked up in a dict instead of 20 regexes, the request's key parsed
  once, service timestamps formatted without `strftime`, one JSON parse and a `stat` instead of a `mkdir` per submit.
  In process a task query now costs ~45 µs, a submit ~100 µs.

**Why the bare route is still far (target 80 %: missed, at 25-30 %).** The bare route's whole request costs ~50 µs
of server CPU (uvicorn and the kernel ~35 µs, its Starlette handler ~15 µs). The served mock costs 130-170 µs of CPU
per query under wrk on this 2-core box, where wrk and the server share the cores: besides the answer it draws a
request id, keeps the key's query-rate window, looks the task up, derives its status from the clock, formats three
timestamps, writes a journal entry and a log line — work the bare route does not do, and a larger working set that
suffers more from the contention than the in-process figure suggests. Tried, with no effect beyond the run-to-run
noise: the journal off, the garbage collector off. The per-request log line (`--log-level info`, the default) costs
10-25 µs (~10 % of throughput); it is documented behaviour and stays. Reaching 80 % would mean dropping that
per-request work (journal, log line, rate windows), i.e. a different mock, or leaving Python for the hot path.

**Media checks on, submit.** Before the task engine, every submitted task started its downloads on the server's
event loop, in the request's wake: at first `dashscope_mock/media/fetch.py` built a new SSL context per download
(~34 ms of CPU loading the CA bundle), which capped submit at 17 req/s; one shared context, and declaring `sniffio`
(without it httpcore retries a failing import on every async request), brought it to ~400 req/s, ~0.3x Prism. Now a
submit only stores the task as PENDING and queues its media work in the state store; a bounded pool of media workers
(`--media-workers`, 4) takes the work from the queue and runs it in child processes at lower CPU priority, so a
burst of submits costs the API only the records (section 1: the ratio of the same run, and the backlog the workers
had not reached when the run ended), and face-detect, in its own lane on the server, does not wait behind the queue
(section 8).

**SDK.** `client.tasks.get` costs about what raw httpx costs (its request is built straight from the generated
`_get_kwargs`; the typed `Task` checks only the fields it reads, and the spec's result paths are looked up once per
result type, not per call: checking the whole answer with the generated `TaskResponse` on every poll cost ~10 %).
The wait loop meets the poll budget; its worst-case lag is one poll interval (up to 8 s), 13 % of a 60 s task.
"""


def render() -> Path:
    bench = load("bench")
    soak = load("soak")
    out = ["# Benchmarks", ""]
    out += [
        "Every figure here is a ratio or a distribution measured in one run on one machine, with the peers side by "
        "side; none is checked by a timed test. Regenerate: `make bench` (throughput, scale, SDK, fresh mock, task "
        "engine, Redis state, batch, proxy overhead; ~25 min) "
        "and `make soak` (reliability; ~10 min). Raw numbers: `bench/results/*.json`.",
        "",
    ]
    if bench:
        out += [f"Benchmarks measured on: {machine_line(bench['machine'])}.", "", "![benchmarks](benchmarks.png)", ""]
        if "throughput" in bench:
            _throughput(bench, out)
        if "scale" in bench:
            _scale(bench, out)
        if "sdk_get" in bench and "sdk_wait" in bench:
            _sdk(bench, out)
    if soak:
        render_soak(soak, out, machine_line(soak["machine"]))
    if bench and "fresh_mock" in bench:
        _fresh_mock(bench, out)
    if bench and "engine" in bench:
        engine.render(bench["engine"], out, bench["machine"]["nproc"])
    if bench and "redis" in bench:
        redis_state.render(bench["redis"], out, bench["machine"]["nproc"])
    if bench and "batch" in bench:
        batch.render(bench["batch"], out)
    if bench and "proxy" in bench:
        proxy.render(bench["proxy"], out)
    face_detect_rows = load("face_detect")
    if face_detect_rows:
        render_face_detect(face_detect_rows, out)
    suite = load("test_suite")
    if suite:
        render_test_suite(suite, out)
    out.append(NARRATIVE)
    # Measured by hand (`make image`, `make image-test` need buildah): kept beside the results, not regenerated.
    out.append(IMAGES.read_text())
    DOC.write_text("\n".join(out).rstrip() + "\n")
    if bench:
        plot(bench)
    return DOC


def plot(bench: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [name for name in ("throughput", "scale", "sdk_wait", "engine", "redis") if name in bench]
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.5 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, panels, strict=False):
        if name == "engine":
            engine.plot(ax, bench["engine"])
        elif name == "redis":
            redis_state.plot(ax, bench["redis"])
        elif name == "throughput":
            data = bench["throughput"]
            names = _servers(data)
            xs = range(len(names))
            ax.bar([x - 0.2 for x in xs], [data[n]["get"]["requests_per_second"] for n in names], 0.4, label="query")
            ax.bar(
                [x + 0.2 for x in xs], [data[n]["submit"]["requests_per_second"] for n in names], 0.4, label="submit"
            )
            ax.set_xticks(list(xs), [n.replace("_", "\n") for n in names], fontsize=8)
            ax.set_ylabel("requests / s (wrk, 16 connections)")
            ax.set_yscale("log")
            ax.set_title("Throughput")
            ax.legend()
        elif name == "scale":
            data = bench["scale"]
            for store in ("memory", "sqlite"):
                ax.plot(
                    data["sizes"], [data[store][str(s)]["p50_us"] for s in data["sizes"]], "o-", label=f"{store} p50"
                )
                ax.plot(
                    data["sizes"],
                    [data[store][str(s)]["p99_us"] for s in data["sizes"]],
                    "x--",
                    label=f"{store} p99",
                )
            ax.set_xscale("log")
            ax.set_xlabel("stored tasks")
            ax.set_ylabel("task query, µs (in process)")
            ax.set_ylim(bottom=0)
            ax.set_title("Latency against stored tasks")
            ax.legend()
        else:
            data = bench["sdk_wait"]
            durations = list(data)
            xs = range(len(durations))
            ax.bar(xs, [data[d]["polls_mean"] for d in durations], 0.5, label="polls per task (mean)")
            ax.set_xticks(list(xs), [f"{float(d):g} s" for d in durations])
            ax.set_ylabel("polls")
            twin = ax.twinx()
            twin.plot(list(xs), [data[d]["lag_max_pct"] for d in durations], "ro-", label="lag, worst (% of task)")
            twin.set_ylabel("lag, % of the task's duration")
            ax.set_title("SDK wait loop (virtual clock)")
            ax.legend(loc="upper left")
            twin.legend(loc="center right")
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
