"""emo-v1 end to end: portrait + voice (made here) → emo-detect-v1 (boxes) → submit → wait → MP4.

Run the mock first (``dashscope-mock serve``), then ``python examples/emo.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import _common
import _media

from dashscope_video import errors


def main() -> int:
    args = _common.arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder, _common.client(args) as client:
        image = _media.portrait(Path(folder) / "face.png")
        audio = _media.voice_wav(Path(folder) / "voice.wav")
        # emo-detect-v1 and emo-v1 each get their own upload of the image (uploads are bound to a model).
        detection = client.detect_emo(image, ratio="1:1")
        if not detection.passed or detection.face_bbox is None or detection.ext_bbox is None:
            print(f"emo-detect-v1 rejected the portrait: {detection.code} {detection.message}", file=sys.stderr)
            return 1
        print(f"face_bbox={detection.face_bbox} ext_bbox={detection.ext_bbox}", file=sys.stderr)
        submitted = client.submit_emo(
            image, audio, face_bbox=detection.face_bbox, ext_bbox=detection.ext_bbox, style_level="normal"
        )
        try:
            task = client.wait(submitted, timeout=args.timeout, on_progress=_common.progress)
        except errors.TaskFailed as failed:
            print(f"FAILED: {failed.code}: {failed.message}", file=sys.stderr)
            return 1
        print(client.download(task, args.out or "emo.mp4"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
