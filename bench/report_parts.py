"""Sections of ``docs/BENCHMARKS.md`` for the parts run on their own (``python -m bench.face_detect``,
``python -m bench.test_suite``): here, not in those modules, since their ``main`` renders the whole document."""

from __future__ import annotations

from typing import Any

__all__ = ["render_face_detect", "render_test_suite"]


def render_face_detect(data: dict[str, Any], out: list[str]) -> None:
    """The section of ``docs/BENCHMARKS.md``: the rows of each label side by side."""
    before = {row["image"]: row for row in data.get("before", [])}
    out += [
        "## Face-detect on large images (issue 21)",
        "",
        "Reproduce: `.venv/bin/python -m bench.face_detect` (15 timed calls per image; `--label before` ran the same "
        "command once with the previous `media/faces.py` first on `PYTHONPATH`). Each image is measured in a fresh "
        "child process: emo-detect-v1 (ratio 1:1) through the face-detect endpoint of an in-process mock with media "
        "checks on (loopback download, checked decode reduced to 2048 px a side at most, face checks, boxes), one call "
        "with the small fixture to load the face models, one warm-up call, then the timed calls. Peak RSS is the "
        "child's `VmHWM`, with the models loaded alone in brackets.",
        "",
        "| image | before p50 / p99 | before peak RSS | before answer (faces) | after p50 / p99 | after peak RSS "
        "| after answer (faces) |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for row in data.get("after", []):
        old = before.get(row["image"])
        was = (
            f"{old['p50_ms']:,.0f} / {old['p99_ms']:,.0f} ms | {old['peak_rss_mb']:.0f} MB | "
            f"`{old['answer']}` ({old['faces']})"
            if old
            else "- | - | -"
        )
        out.append(
            f"| {row['image']} | {was} | {row['p50_ms']:,.0f} / {row['p99_ms']:,.0f} ms | {row['peak_rss_mb']:.0f} MB "
            f"({row['baseline_rss_mb']:.0f} MB) | `{row['answer']}` ({row['faces']}) |"
        )
    out += [
        "",
        "A 7000 px side decodes at 1/4 (1750 px); the old search looked at it scaled to 800 px, where the banner's "
        "200 px face is 23 px, under dlib's 40 px floor. Now, when the whole-image searches cannot have seen the "
        "smallest face that matters (`media.faces.min_face_width`: a tenth of the shorter side, and at least 40 px of "
        "the decode), the decode is searched again in overlapping tiles at the coarsest scale that shows it, one tile "
        "at a time (the memory of one tile and dlib's HOG pyramid of it). The 700 px face of the square is seen by the "
        "800 px search already: that image costs what it did. Its answer is `InvalidFile.BodyProportion`: the face is "
        "found, and judged smaller than emo's proportion rule (0.15 of the shorter side).",
        "",
    ]


def render_test_suite(data: dict[str, Any], out: list[str]) -> None:
    """The section of ``docs/BENCHMARKS.md``."""
    out += [
        "## `make test` on 2 cores (issue 29)",
        "",
        "Reproduce on a quiet machine: `.venv/bin/python -m bench.test_suite --workers auto` (what `make test` runs) "
        "or `--workers 0` (one process, `make test-serial`). `before` is the same command run once on the tree "
        "before the change, in one process as `make test` ran it then. pytest's own time (its summary line) and the "
        "count of each run:",
        "",
        "| run | workers | pytest time | passed | failed or errors | skipped |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, row in data.get("runs", {}).items():
        out.append(
            f"| {label} | {row['workers']} | {row['pytest_seconds']:.0f} s | {row['passed']:,d} | "
            f"{row.get('failed', 0) + row.get('error', 0)} | {row.get('skipped', 0)} |"
        )
    for label, row in data.get("runs", {}).items():
        out += ["", f"Ten slowest, {label}:", ""]
        out += [f"- {item['seconds']:.1f} s {item['phase']} `{item['test']}`" for item in row["slowest"]]
    for note in data.get("notes", []):
        out += ["", note]
    out.append("")
