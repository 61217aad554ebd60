"""Client conformance (b), SDK side: every request the SDK layer sends to the API validates against the spec.

The SDK runs its whole surface against the in-process mock through a transport that first judges each request
with openapi-core. The mock's own routes (the OSS form upload and the result download stand in for Alibaba Cloud
OSS, not for the DashScope API) are outside the spec and pass unjudged.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from dashscope_mock import mock_dashscope
from dashscope_video import Client, EmoParameters, LivePortraitParameters, VideoRetalkParameters

from ._spec import validate_request

BASE_URL = "https://dashscope.aliyuncs.com"  # a server of the spec, so that openapi-core matches the paths
URL_IMAGE = "https://a.example/face.png"
URL_AUDIO = "https://a.example/voice.mp3"


class Judge(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.judged: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/"):
            validate_request(request)
            self.judged.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


def test_every_request_the_sdk_sends_conforms(tmp_path: Path) -> None:
    image, audio, video = tmp_path / "face.png", tmp_path / "voice.mp3", tmp_path / "talk.mp4"
    for path in (image, audio, video):
        path.write_bytes(b"bytes the lifecycle-only mock does not decode")
    with mock_dashscope(seed=2) as mock:
        judge = Judge(mock.transport())
        with Client(mock.key, base_url=BASE_URL, transport=judge, sleep=mock.advance) as client:
            synth = client.video_synthesis
            every_parameter = LivePortraitParameters(
                template_id="calm",
                eye_move_freq=0.2,
                video_fps=30,
                mouth_move_strength=1.5,
                paste_back=False,
                head_move_strength=0.0,
            )
            synth.liveportrait(URL_IMAGE, URL_AUDIO, parameters=every_parameter)
            synth.liveportrait(URL_IMAGE, URL_AUDIO, parameters=LivePortraitParameters.from_dict({"video_fps": 25}))
            synth.liveportrait(image, audio)  # uploads: getPolicy + oss:// + the resolve header
            synth.emo(URL_IMAGE, URL_AUDIO, parameters=EmoParameters(style_level="active"))  # detects, then submits
            synth.emo(image, audio, face_bbox=[1, 2, 3, 4], ext_bbox=[0, 0, 8, 8])
            extend = VideoRetalkParameters(video_extension=True)
            pending = synth.videoretalk(video, audio, ref_image=image, parameters=extend)
            client.tasks.cancel(pending)
            client.face_detect.liveportrait(URL_IMAGE)
            client.face_detect.emo(image, "3:4")
            client.uploads.policy("videoretalk")
            done = client.tasks.wait(synth.videoretalk(URL_IMAGE.replace(".png", ".mp4"), URL_AUDIO))
            client.tasks.get(done.task_id)
            client.tasks.list(status="SUCCEEDED", model_name="videoretalk", start_time="20260101000000", page_size=5)
            assert list(client.tasks.iter(page_size=2))
    judged = set(judge.judged)
    for expected in (
        "POST /api/v1/services/aigc/image2video/video-synthesis/",
        "POST /api/v1/services/aigc/image2video/face-detect",
        "GET /api/v1/uploads",
        "GET /api/v1/tasks",
        f"GET /api/v1/tasks/{done.task_id}",
        f"POST /api/v1/tasks/{pending.task_id}/cancel",
    ):
        assert expected in judged, (expected, sorted(judged))
