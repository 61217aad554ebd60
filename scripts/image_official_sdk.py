"""The official ``dashscope`` SDK (unmodified) against a running mock, as README's "Works with the official SDK" shows:
upload a portrait and a voice with ``check_and_upload_local``, liveportrait-detect on the upload, a liveportrait task
with ``BaseAsyncApi.async_call`` + ``wait``, and the result link serving an MP4.

    .venv/bin/python scripts/image_official_sdk.py http://127.0.0.1:8000 [OUT.json]

Prints the task id and its status; writes ``{"task_id": ..., "video_url": ...}`` to OUT.json when given. Exits non-zero
on any failure. Used by ``make image-test`` (scripts/image_test.py) against the container image.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from http import HTTPStatus
from pathlib import Path

import dashscope
from dashscope.client.base_api import BaseApi, BaseAsyncApi
from dashscope.utils.oss_utils import check_and_upload_local

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import _media  # examples/_media.py: the portrait and a voice, made here

KEY = "sk-official-sdk"
ROUTE = {"task_group": "aigc", "task": "image2video"}
OSS_RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}


def main() -> int:
    base = sys.argv[1].rstrip("/")
    dashscope.base_http_api_url = f"{base}/api/v1"
    dashscope.api_key = KEY
    with tempfile.TemporaryDirectory() as folder:
        image = _media.portrait(Path(folder) / "face.png")
        audio = _media.voice_wav(Path(folder) / "voice.wav")
        uploaded, image_url, certificate = check_and_upload_local("liveportrait", str(image), KEY)
        assert uploaded, "the portrait was not uploaded"
        uploaded, audio_url, _ = check_and_upload_local("liveportrait", str(audio), KEY, certificate)
        assert uploaded, "the voice was not uploaded"
        detect_url = check_and_upload_local("liveportrait-detect", str(image), KEY)[1]
    detected = BaseApi.call(
        model="liveportrait-detect",
        input={"image_url": detect_url},
        function="face-detect",
        headers=OSS_RESOLVE,
        **ROUTE,
    )
    assert detected.status_code == HTTPStatus.OK, detected
    assert detected.output.get("pass") is True, detected.output
    task = BaseAsyncApi.async_call(
        model="liveportrait",
        input={"image_url": image_url, "audio_url": audio_url},
        function="video-synthesis",
        headers=OSS_RESOLVE,
        **ROUTE,
    )
    assert task.status_code == HTTPStatus.OK, task
    task_id = task.output["task_id"]
    done = BaseAsyncApi.wait(task)
    assert done.status_code == HTTPStatus.OK, done
    status = done.output["task_status"]
    print(f"official dashscope SDK: liveportrait task {task_id}: {status}", file=sys.stderr)
    assert status == "SUCCEEDED", done.output
    video_url = done.output["results"]["video_url"]
    with urllib.request.urlopen(video_url, timeout=60) as answer:
        assert answer.read()[4:8] == b"ftyp", "the result link does not serve an MP4"
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps({"task_id": task_id, "video_url": video_url}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
