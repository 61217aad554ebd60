"""videoretalk end to end: a talking clip + a new voice (made here) → submit → wait → MP4.

Run the mock first (``dashscope-mock serve``), then ``python examples/videoretalk.py``.
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
        video = _media.talking_clip(Path(folder) / "talk.mp4")
        audio = _media.voice_wav(Path(folder) / "voice.wav", seconds=5.0)
        submitted = client.submit_videoretalk(video, audio, video_extension=True)  # audio longer than the clip
        try:
            task = client.wait(submitted, timeout=args.timeout, on_progress=_common.progress)
        except errors.TaskFailed as failed:
            print(f"FAILED: {failed.code}: {failed.message}", file=sys.stderr)
            return 1
        if task.usage:
            print(f"billed seconds: {task.usage.video_duration}", file=sys.stderr)
        print(client.download(task, args.out or "videoretalk.mp4"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
