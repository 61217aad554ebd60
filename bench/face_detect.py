"""Face-detect on large images (issue 21): latency and peak memory of emo-detect-v1 on a 7000x1000 and a 7000x7000
image (emo's documented largest side), with one face each: 200 px wide in the banner (a fifth of its height, 23 px
once the image is 800 px wide), 700 px in the square (a tenth of its side, the smallest the detector looks for).

The parent builds each image (Hopper's photo, ``tests/fixtures/face_grace_hopper.jpg``, scaled so that her face has
the width above, pasted on a grey canvas; JPEG) and measures it in a fresh child process, so that the peak
resident size (``VmHWM`` of ``/proc/self/status``) is that measurement's alone. The child serves the image from a
loopback HTTP server and calls the face-detect endpoint of an in-process mock with media checks on (download,
checked decode, face checks, boxes: the whole detect path): one call with the small fixture loads the face models
(its ``VmHWM`` is the baseline), one call with the large image warms up, then ``--repeat`` timed calls
(``perf_counter``). After the timing it counts the faces ``find_faces`` sees in the checked decode.

Run: ``.venv/bin/python -m bench.face_detect [--repeat 15] [--label after|before]``: prints a Markdown table and
keeps the rows under the label in ``bench/results/face_detect.json``, which ``docs/BENCHMARKS.md`` shows side by side
(``before``: the same command run once with the previous detector first on ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._servers import ROOT, in_thread

FACE = ROOT / "tests" / "fixtures" / "face_grace_hopper.jpg"
MODEL = "emo-detect-v1"
DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"
SIZES = ((7000, 1000, 200), (7000, 7000, 700))  # width, height, face width
REPEAT = 15


@dataclass(frozen=True)
class Measurement:
    image: str
    repeat: int
    p50_ms: float
    p99_ms: float
    baseline_rss_mb: float  # VmHWM once the models are loaded (the small fixture's detect)
    peak_rss_mb: float  # VmHWM after the large image's detects
    answer: str  # "check_pass" or the failure code
    faces: int  # faces find_faces sees in the checked decode


# ------------------------------------------------------------------------------------------------------ parent
def build_image(width: int, height: int, face_width: int, path: Path) -> None:
    """A grey ``width`` x ``height`` JPEG with Hopper's face, ``face_width`` px wide, left of the middle."""
    import numpy as np
    from PIL import Image

    from dashscope_mock.media.faces import face_limits, find_faces

    with Image.open(FACE) as opened:
        photo = opened.convert("RGB")
    (face,) = find_faces(np.asarray(photo, dtype=np.uint8), face_limits(MODEL, "image"))
    scale = face_width / face.width
    scaled = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    centre_x = round((face.box[0] + face.box[2]) / 2 * scale)
    centre_y = round((face.box[1] + face.box[3]) / 2 * scale)
    with Image.new("RGB", (width, height), (128, 128, 128)) as canvas:
        canvas.paste(scaled, (width * 2 // 7 - centre_x, height // 2 - centre_y))
        canvas.save(path, "JPEG", quality=92)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(width: int, height: int, face_width: int, repeat: int, folder: Path) -> Measurement:
    """Build the image, then measure it in a fresh child process."""
    path = folder / f"face_{width}x{height}.jpg"
    build_image(width, height, face_width, path)
    command = [sys.executable, "-m", "bench.face_detect", "--child", str(path), "--repeat", str(repeat)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the child failed ({done.returncode}):\n{done.stderr}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    latencies = [float(value) for value in data["latencies_ms"]]
    return Measurement(
        image=f"{width}x{height}, {face_width} px face",
        repeat=repeat,
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(percentile(latencies, 0.99), 1),
        baseline_rss_mb=round(float(data["baseline_kb"]) / 1024, 1),
        peak_rss_mb=round(float(data["peak_kb"]) / 1024, 1),
        answer=str(data["answer"]),
        faces=int(data["faces"]),
    )


def table(rows: Sequence[Measurement]) -> str:
    lines = [
        "| image | p50 | p99 | peak RSS (models loaded) | answer | faces found |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.image} | {row.p50_ms:.0f} ms | {row.p99_ms:.0f} ms | {row.peak_rss_mb:.0f} MB "
            f"({row.baseline_rss_mb:.0f} MB) | {row.answer} | {row.faces} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------- child
def vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A loopback HTTP server for ``folder`` (in a thread), as its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    with in_thread(ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))) as url:
        yield url


def child(path: Path, repeat: int) -> dict[str, Any]:
    """The measurement, in its own process (see the module's docstring)."""
    from dashscope_mock.media import check_image, find_faces
    from dashscope_mock.media.faces import face_limits
    from dashscope_mock.testing import mock_dashscope

    shutil.copy(FACE, path.parent / "small.jpg")
    with mock_dashscope(media_checks=True, rate_limit=False) as mock, serving(path.parent) as base:
        headers = {k: v for k, v in mock.headers.items() if k.lower() != "x-dashscope-async"}  # face-detect is sync

        def detect(name: str) -> dict[str, Any]:
            body = {"model": MODEL, "input": {"image_url": f"{base}/{name}"}, "parameters": {"ratio": "1:1"}}
            with mock.client(headers=headers, timeout=120) as client:
                answer = client.post(DETECT_PATH, json=body)
            answer.raise_for_status()
            output: dict[str, Any] = answer.json()["output"]
            return output

        detect("small.jpg")
        baseline = vm_hwm_kb()
        detect(path.name)
        latencies: list[float] = []
        output: dict[str, Any] = {}
        for _ in range(repeat):
            start = time.perf_counter()
            output = detect(path.name)
            latencies.append((time.perf_counter() - start) * 1000)
        peak = vm_hwm_kb()
    faces = find_faces(check_image(MODEL, "image", path).rgb, face_limits(MODEL, "image"))
    answer = "check_pass" if output.get("check_pass") else str(output.get("code"))
    return {"latencies_ms": latencies, "baseline_kb": baseline, "peak_kb": peak, "answer": answer, "faces": len(faces)}


# -------------------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.face_detect", description=__doc__)
    parser.add_argument("--repeat", type=int, default=REPEAT, help="timed detects per image")
    parser.add_argument("--label", choices=["after", "before"], default="after", help="where the rows are kept")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.repeat)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-face-detect-") as folder:
        rows = [measure(*size, args.repeat, Path(folder)) for size in SIZES]
    print(table(rows))
    from . import report, results_io

    data = dict(results_io.load("face_detect") or {})
    data[args.label] = [asdict(row) for row in rows]
    data["machine"] = results_io.machine()
    results_io.save("face_detect", data)
    report.render()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
