"""The benchmarks' results on disk (``bench/results/<name>.json``) and the machine they were measured on. Every
part reads and writes here; only ``report`` renders them (so no part imports ``report`` back)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ._servers import ROOT

__all__ = ["RESULTS", "load", "machine", "machine_line", "save"]

RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        words = (done.stdout + done.stderr).split()
        wrk_version = "wrk " + words[1].split("/")[-1].split("-")[0] if len(words) > 1 else "wrk"
    prism = ROOT / "node_modules/@stoplight/prism-cli/package.json"
    prism_version = json.loads(prism.read_text())["version"] if prism.exists() else "not installed"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wrk": wrk_version,
        "prism": prism_version,
    }


def save(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return path


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_line(info: dict[str, str]) -> str:
    return (
        f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, {info['platform']}, {info['date']}; "
        f"{info.get('wrk', '')}, Prism {info.get('prism', '')}"
    )
