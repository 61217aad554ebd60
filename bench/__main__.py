"""``python -m bench`` (``make bench``): throughput against Prism and the bare route, scale, SDK, the cost of a fresh
in-process mock, face-detect latency with the task engine's queue full of hanging tasks, task queries on Redis state
(one and two server processes), batch, the proxy's overhead per exchange. Prints the figures, saves
``bench/results/bench.json`` (merged with the parts not run) and rewrites ``docs/BENCHMARKS.md`` and
``docs/benchmarks.png``.

Options: ``--only throughput,scale,sdk,fresh_mock,engine,redis,batch,proxy``; ``--seconds N`` per wrk run (default
10); ``--quick`` (3 s runs, smaller sizes: a smoke run, not figures to publish).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from . import batch, engine, fresh_mock, proxy, redis_state, report, results_io, scale, sdk, throughput
from ._servers import ROOT
from ._wrk import wrk_available

PARTS = ("throughput", "scale", "sdk", "fresh_mock", "engine", "redis", "batch", "proxy")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if {"throughput", "redis"} & set(parts) and not wrk_available():
        print("wrk is not installed (Debian: apt-get install -y wrk; `make bench` does it)", file=sys.stderr)
        return 2
    if "redis" in parts and not (shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")):
        print("redis-server is not installed (`make redis` installs it)", file=sys.stderr)
        return 2
    results: dict[str, Any] = dict(results_io.load("bench") or {})
    here = results_io.machine()
    if set(parts) == set(PARTS) or "machine" not in results:  # the report's machine line: the last full run's
        results["machine"] = here
    print(f"machine: {results_io.machine_line(here)}")
    if "throughput" in parts:
        print("1. throughput (wrk, 16 connections)")
        seconds = 3.0 if args.quick else args.seconds
        data = throughput.measure(seconds=seconds, warmup=1 if args.quick else 2, keys=512 if args.quick else 4096)
        results["throughput"] = data
        results["throughput_ratios"] = throughput.ratios(data)
        for key, row in results["throughput_ratios"].items():
            text = ", ".join(f"{peer} {value:.2f}x" for peer, value in row.items())
            print(f"  {key}: {text}")
    if "scale" in parts:
        print("2. scale (in process)")
        sizes = (10, 1_000, 10_000) if args.quick else scale.SIZES
        results["scale"] = scale.measure(sizes, queries=1_000 if args.quick else 5_000)
    if "sdk" in parts:
        print("3. SDK")
        results["sdk_get"] = sdk.measure_get(calls=100 if args.quick else 300, rounds=4 if args.quick else 10)
        results["sdk_wait"] = sdk.measure_wait(tasks=5 if args.quick else sdk.TASKS)
    if "fresh_mock" in parts:
        print("7. fresh in-process mock per test (submit, advance, query)")
        iterations = (50, 10) if args.quick else (fresh_mock.ITERATIONS, fresh_mock.BEFORE_ITERATIONS)
        results["fresh_mock"] = fresh_mock.measure(iterations=iterations[0], before_iterations=iterations[1])
    if "engine" in parts:
        print("8. task engine: face-detect latency, idle vs tasks queued on hanging inputs")
        if args.quick:
            results["engine"] = engine.measure(tasks=200, calls=50)
        else:
            results["engine"] = engine.measure()
    if "redis" in parts:
        print("9. Redis state: task query throughput (wrk)")
        seconds = 3.0 if args.quick else args.seconds
        results["redis"] = redis_state.measure(
            seconds=seconds, warmup=1 if args.quick else 2, keys=512 if args.quick else throughput.KEYS
        )
    if "batch" in parts:
        print("10. batch vs one by one")
        results["batch"] = batch.measure(jobs=20 if args.quick else batch.JOBS)
    if "proxy" in parts:
        print("11. proxy overhead: stand-in direct vs through the proxy (latency interleaved; wrk if installed)")
        results["proxy"] = proxy.measure(
            exchanges=200 if args.quick else proxy.EXCHANGES,
            warmup=20 if args.quick else proxy.WARMUP,
            seconds=3.0 if args.quick else args.seconds,
            wrk_warmup=1 if args.quick else 2,
        )
        results["proxy"]["machine"] = here  # measured after the report's other figures: its own machine line
    path = results_io.save("bench", results)
    doc = report.render()
    print(f"results: {path.relative_to(ROOT)}; report: {doc.relative_to(ROOT)}, docs/benchmarks.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
