"""liveportrait end to end: portrait + voice (made here) → liveportrait-detect → submit → wait → MP4.

Run the mock first (``dashscope-mock serve``), then ``python examples/liveportrait.py``. Against the real service:
``DASHSCOPE_BASE_URL=https://dashscope.aliyuncs.com DASHSCOPE_API_KEY=sk-... python examples/liveportrait.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import _common
import _media

from dashscope_video import LivePortraitParameters, errors


def main() -> int:
    args = _common.arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder, _common.client(args) as client:
        image = _media.portrait(Path(folder) / "face.png")
        audio = _media.voice_mp3(Path(folder) / "voice.mp3")
        check = client.face_detect.liveportrait(image)  # local files are uploaded for the model being called
        if not check.passed:
            print(f"liveportrait-detect rejected the portrait: {check.message}", file=sys.stderr)
            return 1
        # Fields left out keep the service's defaults.
        parameters = LivePortraitParameters.from_dict({"template_id": "normal", "video_fps": 24})
        handle = client.video_synthesis.liveportrait(image, audio, parameters=parameters)
        print(f"task {handle.task_id}", file=sys.stderr)
        try:
            task = client.tasks.wait(handle, timeout=args.timeout, on_progress=_common.progress)
        except errors.TaskFailed as failed:
            print(f"FAILED: {failed.code}: {failed.message}", file=sys.stderr)
            return 1
        print(f"video: {task.result.video_url} ({task.result.video_duration} s)", file=sys.stderr)
        print(client.tasks.download(task, args.out or "liveportrait.mp4"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
