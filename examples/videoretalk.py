"""videoretalk end to end: a talking clip + a new voice (made here) → submit → wait → MP4.

Run the mock first (``dashscope-mock serve``), then ``python examples/videoretalk.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import _common
import _media

from dashscope_video import VideoRetalkParameters, errors


def main() -> int:
    args = _common.arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as folder, _common.client(args) as client:
        video = _media.talking_clip(Path(folder) / "talk.mp4")
        audio = _media.voice_wav(Path(folder) / "voice.wav", seconds=5.0)
        extend = VideoRetalkParameters(video_extension=True)  # the audio is longer than the clip
        handle = client.video_synthesis.videoretalk(video, audio, parameters=extend)
        try:
            task = client.tasks.wait(handle, timeout=args.timeout, on_progress=_common.progress)
        except errors.TaskFailed as failed:
            print(f"FAILED: {failed.code}: {failed.message}", file=sys.stderr)
            return 1
        print(f"video: {task.result.video_url}, billed seconds: {task.result.video_duration}", file=sys.stderr)
        print(client.tasks.download(task, args.out or "videoretalk.mp4"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
