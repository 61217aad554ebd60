"""Task lifecycle on the virtual clock (no sleeping): statuses, times, results, concurrency, UNKNOWN, expiry,
cancel and the list."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from dashscope_mock import MockDashScope, ModelTiming
from dashscope_openapi import limits

from .conftest import assert_error, assert_oss_error, status, submit, task

TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")
HOUR = 3600.0


async def test_liveportrait_pending_running_succeeded(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    first = await task(client, task_id)
    assert first["output"]["task_status"] == "PENDING"
    assert TIME.match(first["output"]["submit_time"])
    assert "usage" not in first
    mock.advance(1.0)
    running = await task(client, task_id)
    assert running["output"]["task_status"] == "RUNNING"
    assert TIME.match(running["output"]["scheduled_time"])
    mock.advance(5.0)
    done = await task(client, task_id)
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert TIME.match(output["end_time"])
    assert output["submit_time"] < output["scheduled_time"] < output["end_time"]
    assert set(output["results"]) == {"video_url"}
    assert "video_url" not in output
    assert done["usage"] == {"video_duration": 5.0, "video_ratio": "standard"}


async def test_emo_v1_walks_its_five_statuses(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client, "emo-v1")
    seen = [await status(client, task_id)]
    for _ in range(12):
        mock.advance(0.25)
        current = await status(client, task_id)
        if current != seen[-1]:
            seen.append(current)
    assert seen == ["PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED"]
    done = await task(client, task_id)
    assert done["usage"]["video_ratio"] == "3:4"  # ext_bbox 300x400
    assert "results" in done["output"]


@pytest.mark.parametrize(("bbox", "ratio"), [([0, 0, 512, 512], "1:1"), ([10, 10, 310, 410], "3:4")])
async def test_emo_ratio_from_ext_bbox(
    mock: MockDashScope, client: httpx.AsyncClient, bbox: list[int], ratio: str
) -> None:
    body = {
        "model": "emo-v1",
        "input": {
            "image_url": "https://e.com/a.png",
            "audio_url": "https://e.com/a.mp3",
            "face_bbox": [1, 2, 3, 4],
            "ext_bbox": bbox,
        },
    }
    response = await client.post("/api/v1/services/aigc/image2video/video-synthesis/", json=body)
    mock.advance(10)
    assert (await task(client, response.json()["output"]["task_id"]))["usage"]["video_ratio"] == ratio


async def test_videoretalk_result_sits_under_output(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client, "videoretalk")
    mock.advance(10)
    done = await task(client, task_id)
    assert done["output"]["task_status"] == "SUCCEEDED"
    assert urlsplit(done["output"]["video_url"]).path == f"/_mock/results/{task_id}.mp4"
    assert "results" not in done["output"]
    assert done["usage"]["video_ratio"] == "standard"


@pytest.mark.dashscope_mock(profile="realistic")
async def test_realistic_profile_takes_longer(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    mock.advance(30)
    assert await status(client, task_id) == "RUNNING"
    mock.advance(60)
    assert await status(client, task_id) == "SUCCEEDED"


async def test_durations_configurable_per_model(dashscope_mock_factory: object) -> None:
    timing = {"liveportrait": ModelTiming(0.0, (("RUNNING", 100.0),))}
    mock = dashscope_mock_factory(timings=timing)  # type: ignore[operator]
    async with mock.async_client(headers=mock.headers) as client:
        task_id = await submit(client)
        assert await status(client, task_id) == "RUNNING"
        mock.advance(99)
        assert await status(client, task_id) == "RUNNING"
        mock.advance(1)
        assert await status(client, task_id) == "SUCCEEDED"


async def test_videoretalk_runs_one_task_per_key(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    assert limits()["concurrency"]["videoretalk"] == 1
    first, second, third = [await submit(client, "videoretalk") for _ in range(3)]
    async with mock.async_client(headers={**mock.headers, "Authorization": "Bearer sk-other"}) as other_client:
        other = await submit(other_client, "videoretalk")
        mock.advance(1.0)
        assert await status(other_client, other) == "RUNNING"  # another key has its own slot
    assert [await status(client, t) for t in (first, second, third)] == ["RUNNING", "PENDING", "PENDING"]
    mock.advance(2.0)  # first done at 2.5 s
    assert [await status(client, t) for t in (first, second, third)] == ["SUCCEEDED", "RUNNING", "PENDING"]
    mock.advance(2.0)
    assert [await status(client, t) for t in (second, third)] == ["SUCCEEDED", "RUNNING"]
    second_out = (await task(client, second))["output"]
    first_out = (await task(client, first))["output"]
    assert second_out["scheduled_time"] == first_out["end_time"]  # it starts when the slot frees
    # liveportrait has no limit: all run at once
    many = [await submit(client) for _ in range(3)]
    mock.advance(1.0)
    assert {await status(client, t) for t in many} == {"RUNNING"}


async def test_canceling_a_queued_task_moves_the_queue_up(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    first, second, third = [await submit(client, "videoretalk") for _ in range(3)]
    mock.advance(1.0)
    assert (await client.post(f"/api/v1/tasks/{second}/cancel")).status_code == 200
    mock.advance(2.0)
    assert [await status(client, t) for t in (first, second, third)] == ["SUCCEEDED", "CANCELED", "RUNNING"]


async def test_unknown_other_key_and_expired_tasks(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    unknown = await task(client, "1111")
    assert unknown["output"] == {"task_id": "1111", "task_status": "UNKNOWN"}
    task_id = await submit(client)
    other = await task(client, task_id, headers={"Authorization": "Bearer sk-someone-else"})
    assert other["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    mock.advance(float(limits()["task_retention_hours"]) * HOUR - 10)
    assert await status(client, task_id) == "SUCCEEDED"
    mock.advance(20)
    assert await status(client, task_id) == "UNKNOWN"


async def test_result_url_serves_then_expires(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    mock.advance(10)
    url = (await task(client, task_id))["output"]["results"]["video_url"]
    assert url.startswith(mock.base_url)
    video = await client.get(url)
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    query = dict(parse_qsl(urlsplit(url).query))
    assert set(query) == {"Expires", "OSSAccessKeyId", "Signature"}, "signed and expiring, as the service's links"
    bare = url.split("?", 1)[0]
    assert_oss_error(await client.get(bare), 403, "AccessDenied")  # unsigned: the bucket is private
    tampered = {**query, "Expires": str(int(query["Expires"]) + 3600)}
    assert_oss_error(await client.get(bare, params=tampered), 403, "SignatureDoesNotMatch")
    other = (await submit(client)).encode()
    assert_oss_error(
        await client.get(bare.replace(task_id, other.decode()), params=query), 403, "SignatureDoesNotMatch"
    )
    mock.advance(float(limits()["result_url_validity_hours"]) * HOUR + 1)
    assert_oss_error(await client.get(url), 403, "AccessDenied", "Request has expired.")  # an expired OSS link


async def test_cancel_pending_only(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    response = await client.post(f"/api/v1/tasks/{task_id}/cancel")
    assert response.status_code == 200
    assert set(response.json()) == {"request_id"}
    canceled = await task(client, task_id)
    assert canceled["output"]["task_status"] == "CANCELED"
    mock.advance(10)
    assert await status(client, task_id) == "CANCELED"
    running = await submit(client)
    mock.advance(1)
    refused = await client.post(f"/api/v1/tasks/{running}/cancel")
    assert_error(
        refused,
        400,
        "UnsupportedOperation",
        "Failed to cancel the task, please confirm if the task is in PENDING status.",
    )
    assert_error(await client.post("/api/v1/tasks/unknown/cancel"), 400, "UnsupportedOperation")


async def test_list_is_flat_paginated_and_filtered(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    ids = [await submit(client) for _ in range(3)] + [await submit(client, "emo-v1")]
    mock.advance(10)
    pending = await submit(client, "videoretalk")
    page = (await client.get("/api/v1/tasks", params={"page_size": 2})).json()
    assert {k for k in page if k != "request_id"} == {"total", "total_page", "page_no", "page_size", "data"}
    assert (page["total"], page["total_page"], page["page_no"], len(page["data"])) == (5, 3, 1, 2)
    assert page["data"][0]["task_id"] == pending  # newest first
    item = page["data"][0]
    assert item["model_name"] == "videoretalk" and item["status"] == "PENDING"
    assert isinstance(item["gmt_create"], int)
    last = (await client.get("/api/v1/tasks", params={"page_size": 2, "page_no": 3})).json()
    assert len(last["data"]) == 1 and last["data"][0]["task_id"] == ids[0]
    emo = (await client.get("/api/v1/tasks", params={"model_name": "emo-v1"})).json()
    assert [d["task_id"] for d in emo["data"]] == [ids[3]]
    done = (await client.get("/api/v1/tasks", params={"status": "SUCCEEDED"})).json()
    assert done["total"] == 4
    one = (await client.get("/api/v1/tasks", params={"task_id": ids[1]})).json()
    assert one["total"] == 1 and one["data"][0]["end_time"] >= one["data"][0]["start_time"]
    future = (await client.get("/api/v1/tasks", params={"start_time": "29990101000000"})).json()
    assert future["total"] == 0
    past = (await client.get("/api/v1/tasks", params={"end_time": "20000101000000"})).json()
    assert past["total"] == 0
    async with mock.async_client(headers={"Authorization": "Bearer sk-other"}) as other:
        assert (await other.get("/api/v1/tasks")).json()["total"] == 0
