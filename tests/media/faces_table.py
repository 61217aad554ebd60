"""docs/FACES.md's table: every labelled case (``photos.CASES``) through the image and face checks of
liveportrait-detect and emo-detect-v1 (ratios 1:1 and 3:4), with this tree's dlib analysis and, given ``--haar REF``,
with the OpenCV Haar cascade of the git revision ``REF`` (its ``media/faces.py``, run as the mock ran it then: no
EXIF orientation; liveportrait takes any face, emo fails on none or several).

Run: ``.venv/bin/python -m tests.media.faces_table --haar 01f1c13`` (the last revision with the cascade).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from dashscope_mock.media import MediaFailure, check_image
from dashscope_mock.media.errors import input_limits
from dashscope_mock.media.portrait import measure

from . import photos

ROOT = Path(__file__).resolve().parents[2]
OK = "pass"


def short(code: str | None) -> str:
    return OK if code is None else code.rsplit(".", 1)[-1]


def dlib_outcome(model: str, data: bytes, ratio: str | None) -> tuple[str, dict[str, object]]:
    """The face-detect model's answer code for the image (``pass`` when it passes) and what was measured."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "image"
        path.write_bytes(data)
        try:
            image = check_image(model, "image", path)
        except MediaFailure as failure:
            return short(failure.code), {}
    spec = input_limits(model, "image")
    _, report = measure(image.rgb, spec, ratio=ratio, allow_many=model == "liveportrait-detect")
    return short(spec["errors"][report.failed] if report.failed else None), report.values


def haar_module(ref: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{ref}:mock_server/dashscope_mock/media/faces.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("haar_faces", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{ref}:faces.py", "exec"), module.__dict__)
    return module


def haar_outcome(haar: ModuleType, data: bytes) -> tuple[int, str, str]:
    """(faces found, liveportrait-detect's answer, emo-detect-v1's answer) as the Haar-based mock gave them."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    found = len(haar.detect_faces(rgb))
    if max(width, height) / min(width, height) > 2 or max(width, height) > 4096:
        live = "ImageSize"
    else:
        live = "NoHumanFace" if found == 0 else OK
    if min(width, height) < 400 or max(width, height) > 7000:
        emo = "Resolution"
    else:
        emo = "NoHuman" if found == 0 else "MultiHuman" if found > 1 else OK
    return found, live, emo


def mark(got: str, want: str) -> str:
    return got if got == want else f"**{got}** ✗"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--haar", metavar="REF", help="git revision whose media/faces.py is the Haar cascade")
    args = parser.parse_args(argv)
    haar = haar_module(args.haar) if args.haar else None
    print(
        "| case | what | expected (liveportrait / emo 1:1 / emo 3:4) | Haar: faces, liveportrait / emo "
        "| dlib: liveportrait / emo 1:1 / emo 3:4 | dlib measured (emo 1:1) |"
    )
    print("|---|---|---|---|---|---|")
    for case in photos.CASES:
        data = case.make()
        want = [short(case.liveportrait), short(case.emo_11), short(case.emo_34)]
        live, _ = dlib_outcome("liveportrait-detect", data, None)
        emo11, values = dlib_outcome("emo-detect-v1", data, "1:1")
        emo34, _ = dlib_outcome("emo-detect-v1", data, "3:4")
        new = " / ".join(mark(got, expected) for got, expected in zip((live, emo11, emo34), want, strict=True))
        old = "—"
        if haar is not None:
            found, old_live, old_emo = haar_outcome(haar, data)
            old = f"{found}, {mark(old_live, want[0])} / {mark(old_emo, want[1])}"
        shown = ", ".join(f"{key} {value}" for key, value in values.items() if key != "faces")
        print(f"| `{case.name}` | {case.what} | {' / '.join(want)} | {old} | {new} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
