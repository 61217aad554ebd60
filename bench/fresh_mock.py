"""Benchmark 7: what a fresh in-process mock costs a test, before and after sharing the process-wide builds.

One iteration is what a short test does: ``with mock_dashscope() as mock:``, a liveportrait submit through
``mock.client(headers=mock.headers)``, ``mock.advance(10)`` and a task query that must answer ``SUCCEEDED``; timed
with ``perf_counter`` from entering the block to leaving it.

- after: as the mock is now: the connexion app, the operation validators, the router and the model registry are built
  once per process (``functools.cache``); a new mock only creates fresh state.
- before: the same iteration, but every process-wide build is dropped first (``cache_clear``, outside the timed
  part), so each mock rebuilds and revalidates everything, as the old code did per mock. The parsed spec
  (``dashscope_openapi.load_spec``) stays cached: the old code also parsed the YAML once per process.

Run alone (prints the figures, saves nothing): ``.venv/bin/python -m bench.fresh_mock``; within ``make bench``:
``.venv/bin/python -m bench --only fresh_mock``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import dashscope_openapi
from dashscope_mock import SUBMIT_PATH, mock_dashscope, plugins
from dashscope_mock.http import app as mock_app
from dashscope_mock.http import routing, validation

from .report import TARGET_FRESH_MOCK_MS

ITERATIONS = 200
BEFORE_ITERATIONS = 30  # each costs ~100 ms
WARMUP = 5
BODY = {
    "model": "liveportrait",
    "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
}

# The process-wide builds a mock used to make for itself (the parsed spec is not among them: see above).
SHARED: dict[str, Any] = {
    "connexion_app": mock_app.connexion_app,
    "operation_validators": validation.operation_validators,
    "router": routing.router,
    "model_registry": plugins._load_registry,
}


def _rebuild_everything() -> None:
    for cached in SHARED.values():
        cached.cache_clear()


def _iteration() -> float:
    """One test's worth of mock, in seconds."""
    started = time.perf_counter()
    with mock_dashscope() as mock, mock.client(headers=mock.headers) as client:
        submitted = client.post(SUBMIT_PATH, json=BODY)
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["output"]["task_id"]
        mock.advance(10)
        queried = client.get(f"/api/v1/tasks/{task_id}")
        assert queried.status_code == 200, queried.text
        status = queried.json()["output"]["task_status"]
        assert status == "SUCCEEDED", status
    return time.perf_counter() - started


def _builds() -> int:
    return sum(cached.cache_info().misses for cached in SHARED.values())


def _run(iterations: int, *, warmup: int, before: bool) -> dict[str, Any]:
    spec_parses = dashscope_openapi.load_spec.cache_info().misses
    builds = 0
    samples: list[float] = []
    for index in range(warmup + iterations):
        if before:
            _rebuild_everything()  # also resets the caches' statistics: count per iteration
        built = _builds()
        elapsed = _iteration()
        if index >= warmup:
            samples.append(elapsed * 1e3)
            builds += _builds() - built
    median = statistics.median(samples)
    return {
        "iterations": iterations,
        "warmup": warmup,
        "median_ms": median,
        "p90_ms": statistics.quantiles(samples, n=10, method="inclusive")[-1],
        "mean_ms": statistics.fmean(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
        "thousand_tests_s": median / 1e3 * 1_000,  # seconds per test x 1,000 tests
        # sanity: "before" makes the shared builds once per iteration, "after" never; neither parses the YAML again
        "shared_builds_per_iteration": builds / iterations,
        "spec_parses": dashscope_openapi.load_spec.cache_info().misses - spec_parses,
    }


def measure(
    *,
    iterations: int = ITERATIONS,
    before_iterations: int = BEFORE_ITERATIONS,
    warmup: int = WARMUP,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    missing = [name for name, cached in SHARED.items() if not hasattr(cached, "cache_clear")]
    if missing:
        raise RuntimeError(f"not functools.cache functions any more: {', '.join(missing)}")
    _iteration()  # the first mock of the process builds what "after" shares; not part of either figure
    results: dict[str, Any] = {"before": _run(before_iterations, warmup=warmup, before=True)}
    results["after"] = _run(iterations, warmup=warmup, before=False)
    results["ratio"] = results["before"]["median_ms"] / results["after"]["median_ms"]
    results["target_ms"] = TARGET_FRESH_MOCK_MS
    results["met"] = results["after"]["median_ms"] <= TARGET_FRESH_MOCK_MS
    for line in lines(results):
        log(line)
    return results


def lines(results: dict[str, Any]) -> list[str]:
    out = []
    for name in ("before", "after"):
        row = results[name]
        out.append(
            f"  {name:6s} ({row['iterations']} iterations after {row['warmup']} warm-ups): median "
            f"{row['median_ms']:7.2f} ms  p90 {row['p90_ms']:7.2f} ms  min {row['min_ms']:7.2f} ms; 1,000 tests "
            f"{row['thousand_tests_s']:6.1f} s; shared builds per mock {row['shared_builds_per_iteration']:g} "
            f"(of {len(SHARED)}), spec parses {row['spec_parses']}"
        )
    after = results["after"]["median_ms"]
    out.append(
        f"  before/after (median): {results['ratio']:.1f}x; target ≤ {results['target_ms']:g} ms median per fresh "
        f"mock: {'met' if results['met'] else 'MISSED'} ({after:.2f} ms)"
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fresh_mock", description=__doc__)
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="timed iterations, after")
    parser.add_argument("--before-iterations", type=int, default=BEFORE_ITERATIONS, help="timed iterations, before")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed iterations before each")
    args = parser.parse_args(argv)
    print("7. fresh in-process mock per test (submit, advance, query)")
    measure(iterations=args.iterations, before_iterations=args.before_iterations, warmup=args.warmup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
