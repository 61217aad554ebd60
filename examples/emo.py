"""emo-v1 end to end: portrait + voice (made here) → emo-detect-v1 (boxes) → submit → wait → MP4.

Run the mock first (``dashscope-mock serve``), then ``python examples/emo.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import _common
import _media

from dashscope_video import EmoParameters, errors


def main() -> int:
    args = _common.arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder, _common.client(args) as client:
        image = _media.portrait(Path(folder) / "face.png")
        audio = _media.voice_wav(Path(folder) / "voice.wav")
        # emo-detect-v1 and emo-v1 each get their own upload of the image (uploads are bound to a model).
        # (video_synthesis.emo without boxes would run the detector itself and raise DetectionRejected.)
        detection = client.face_detect.emo(image, ratio="1:1")
        if not detection.passed or detection.face_bbox is None or detection.ext_bbox is None:
            print(f"emo-detect-v1 rejected the portrait: {detection.code} {detection.message}", file=sys.stderr)
            return 1
        print(f"face_bbox={detection.face_bbox} ext_bbox={detection.ext_bbox}", file=sys.stderr)
        handle = client.video_synthesis.emo(
            image,
            audio,
            face_bbox=detection.face_bbox,
            ext_bbox=detection.ext_bbox,
            parameters=EmoParameters(style_level="normal"),
        )
        try:
            task = client.tasks.wait(handle, timeout=args.timeout, on_progress=_common.progress)
        except errors.TaskFailed as failed:
            print(f"FAILED: {failed.code}: {failed.message}", file=sys.stderr)
            return 1
        print(f"video: {task.result.video_url} ({task.result.video_ratio})", file=sys.stderr)
        print(client.tasks.download(task, args.out or "emo.mp4"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
