"""Every task status the mock can answer is one the spec documents, and the client knows it as such.

`task_status` is open in the spec (a status the service adds must not break clients), so response validation
accepts any string there: this test is what pins the mock's vocabulary to the spec's `TaskStatus` list. It walks
each model through its whole lifecycle on the virtual clock, plus FAILED, CANCELED and UNKNOWN.
"""

from __future__ import annotations

from typing import Any

import httpx

from dashscope_mock import SUBMIT_PATH, mock_dashscope
from dashscope_openapi import task_statuses
from dashscope_video_client.models.task_status import check_task_status

BODIES: dict[str, dict[str, Any]] = {
    "liveportrait": {"input": {"image_url": "https://a.example/f.png", "audio_url": "https://a.example/v.wav"}},
    "emo-v1": {
        "input": {
            "image_url": "https://a.example/f.png",
            "audio_url": "https://a.example/v.wav",
            "face_bbox": [10, 10, 50, 50],
            "ext_bbox": [0, 0, 60, 60],
        }
    },
    "videoretalk": {"input": {"video_url": "https://a.example/t.mp4", "audio_url": "https://a.example/v.wav"}},
}


def _status(client: httpx.Client, task_id: str) -> str:
    answer = client.get(f"/api/v1/tasks/{task_id}")
    assert answer.status_code == 200
    status: str = answer.json()["output"]["task_status"]
    return status


def test_every_status_the_mock_answers_is_documented_and_known_to_the_client() -> None:
    seen: set[str] = set()
    with mock_dashscope(seed=3, rate_limit=False) as mock, mock.client(headers=mock.headers) as client:
        for model, body in BODIES.items():
            task_id = client.post(SUBMIT_PATH, json={"model": model, **body}).json()["output"]["task_id"]
            for _ in range(200):  # 0.1 s steps: short enough to land in every phase of the default timings
                status = _status(client, task_id)
                seen.add(status)
                if status in {"SUCCEEDED", "FAILED"}:
                    break
                mock.advance(0.1)
        mock.scenario("liveportrait", "InternalError.Algo")
        failed = client.post(SUBMIT_PATH, json={"model": "liveportrait", **BODIES["liveportrait"]}).json()
        mock.advance(60)
        seen.add(_status(client, failed["output"]["task_id"]))
        pending = client.post(SUBMIT_PATH, json={"model": "liveportrait", **BODIES["liveportrait"]}).json()
        assert client.post(f"/api/v1/tasks/{pending['output']['task_id']}/cancel").status_code == 200
        seen.add(_status(client, pending["output"]["task_id"]))
        seen.add(_status(client, "no-such-task"))

    expected = {"PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED", "FAILED", "CANCELED"}
    assert seen >= expected | {"UNKNOWN"}, f"the walk missed {expected - seen}"
    undocumented = seen - set(task_statuses())
    assert not undocumented, f"the mock answers statuses the spec does not document: {undocumented}"
    for status in seen:
        check_task_status(status)  # the generated client's own list (raises on a status it does not know)
