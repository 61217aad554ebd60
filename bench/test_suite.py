"""How long ``make test``'s pytest part takes (issue 29): the whole suite, serially or on every core with
pytest-xdist, its count and its ten slowest tests, kept under a label in ``bench/results/test_suite.json`` and shown
in ``docs/BENCHMARKS.md``.

Run on a quiet machine: ``.venv/bin/python -m bench.test_suite [--label after] [--workers auto|0]``. ``--workers 0``
runs in one process (``-p no:xdist``). ``before`` was this command run once on the tree before the change (its
packages first on ``PYTHONPATH``, ``--workers 0``, the way ``make test`` ran then).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._servers import ROOT

__all__ = ["main", "run"]

SUMMARY = re.compile(r"(\d+) passed.* in ([\d.]+)s")
COUNT = re.compile(r"(\d+) (failed|skipped|errors?|warnings?)")
DURATION = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$")


def run(workers: str, tree: Path = ROOT) -> dict[str, Any]:
    """The suite of ``tree`` once (its packages first on ``PYTHONPATH``): wall time, counts, the ten slowest."""
    parallel = ["-n", workers] if workers != "0" else ["-p", "no:xdist"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10", *parallel]
    packages = os.pathsep.join(str(tree / folder) for folder in ("mock_server", "sdk", "generated"))
    env = {**os.environ, "PYTHONPATH": packages}
    started = time.monotonic()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    lines = done.stdout.splitlines()
    summary_line = next((line for line in reversed(lines) if SUMMARY.search(line)), "")
    summary = SUMMARY.search(summary_line)
    if summary is None:
        raise RuntimeError(f"no pytest summary (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    slowest = [
        {"seconds": float(match[1]), "phase": match[2], "test": match[3]}
        for match in (DURATION.match(line.strip()) for line in lines)
        if match
    ]
    return {
        "workers": workers,
        "wall_seconds": round(seconds, 1),
        "pytest_seconds": float(summary[2]),
        "passed": int(summary[1]),
        **{kind.rstrip("s"): int(n) for n, kind in COUNT.findall(summary_line)},
        "summary": summary_line.strip("= "),
        "exit_code": done.returncode,
        "problems": [line for line in lines if line.startswith(("FAILED", "ERROR"))][:20],
        "slowest": slowest[:10],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.test_suite", description=__doc__)
    parser.add_argument("--label", default="after")
    parser.add_argument("--workers", default="auto", help="pytest-xdist's -n; 0: one process")
    parser.add_argument("--tree", type=Path, default=ROOT, help="another checkout's suite (e.g. a worktree of main)")
    args = parser.parse_args(argv)
    row = run(args.workers, args.tree.resolve())
    print(row)
    from . import report, results_io

    data = dict(results_io.load("test_suite") or {})
    data.setdefault("runs", {})[args.label] = row
    data["machine"] = results_io.machine()
    results_io.save("test_suite", data)
    report.render()
    return 0 if row["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
