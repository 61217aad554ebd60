"""face-detect shapes, temporary uploads (policy → OSS form → oss:// with the resolve header), policy expiry."""

from __future__ import annotations

from xml.etree import ElementTree

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope
from dashscope_openapi import limits

from .conftest import BODIES, DETECT_PATH, assert_error, assert_oss_error, status, submit, task


@pytest.fixture
async def sync_client(mock: MockDashScope) -> httpx.AsyncClient:
    return mock.async_client(headers={"Authorization": f"Bearer {mock.key}"})


async def test_emo_detect_shape(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        for ratio, aspect in (("1:1", 1.0), ("3:4", 0.75)):
            body = {
                "model": "emo-detect-v1",
                "input": {"image_url": "https://e.com/a.png"},
                "parameters": {"ratio": ratio},
            }
            response = await http.post(DETECT_PATH, json=body)
            assert response.status_code == 200, response.text
            data = response.json()
            assert data["output"]["check_pass"] is True
            x1, y1, x2, y2 = data["output"]["ext_bbox"]
            assert (x2 - x1) / (y2 - y1) == pytest.approx(aspect, rel=0.01)
            assert len(data["output"]["face_bbox"]) == 4
            assert data["usage"] == {"image_count": 1}
            assert response.headers["x-request-id"] == data["request_id"]
        missing = await http.post(DETECT_PATH, json={"model": "emo-detect-v1", "input": {"image_url": "https://e/a"}})
        assert_error(missing, 400, "BadRequest.EmptyParameters")


async def test_liveportrait_detect_shape(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        response = await http.post(
            DETECT_PATH, json={"model": "liveportrait-detect", "input": {"image_url": "https://e.com/a.png"}}
        )
        assert response.status_code == 200
        output = response.json()["output"]
        assert output == {"pass": True}  # one shape with media checks on or off (x-models.liveportrait-detect)
        mock.scenario("liveportrait-detect", "InvalidImage.NoHumanFace", operation="detect")
        failed = await http.post(
            DETECT_PATH, json={"model": "liveportrait-detect", "input": {"image_url": "https://e.com/a.png"}}
        )
        assert failed.json()["output"] == {"pass": False, "message": "No human face detected."}
        as_the_sdk_sends = {"model": "liveportrait-detect", "input": {"image_url": "https://e.com/a.png"}}
        empty = await http.post(DETECT_PATH, json={**as_the_sdk_sends, "parameters": {}})
        assert empty.status_code == 200 and empty.json()["output"] == {"pass": True}


def form(policy: dict[str, str], name: str) -> dict[str, str]:
    return {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
    }


async def upload(mock: MockDashScope, model: str, name: str, content: bytes = b"data") -> str:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        response = await http.get("/api/v1/uploads", params={"action": "getPolicy", "model": model})
        assert response.status_code == 200, response.text
        policy = response.json()["data"]
        assert policy["upload_host"] == f"{mock.base_url}/_mock/oss"
        assert policy["expire_in_seconds"] == limits()["uploads"]["policy_expire_in_seconds"]
        stored = await http.post(policy["upload_host"], data=form(policy, name), files={"file": (name, content)})
        assert stored.status_code == 200, stored.text
        return f"oss://{policy['upload_dir']}/{name}"


async def test_uploaded_file_resolves_with_the_header_only(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    image = await upload(mock, "liveportrait", "face.png")
    audio = await upload(mock, "liveportrait", "voice.mp3")
    body = {**BODIES["liveportrait"], "input": {"image_url": image, "audio_url": audio}}
    resolved = await client.post(SUBMIT_PATH, json=body, headers={"X-DashScope-OssResourceResolve": "enable"})
    plain = await client.post(SUBMIT_PATH, json=body)
    mock.advance(10)
    assert await status(client, resolved.json()["output"]["task_id"]) == "SUCCEEDED"
    failed = (await task(client, plain.json()["output"]["task_id"]))["output"]
    # the model's documented download-failure code (x-limits.models.liveportrait.image.errors.download)
    assert failed["task_status"] == "FAILED"
    assert failed["code"] == limits()["models"]["liveportrait"]["image"]["errors"]["download"]
    job = mock.backend.tasks.job(mock.backend.store.get_task(resolved.json()["output"]["task_id"]))  # type: ignore[arg-type]
    assert job.input["image_url"].startswith("file://")


async def test_uploads_are_bound_to_their_model_and_key(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    image = await upload(mock, "emo-detect-v1", "face.png")  # for the detector (and its pair, emo-v1), not liveportrait
    body = {**BODIES["liveportrait"], "input": {**BODIES["liveportrait"]["input"], "image_url": image}}
    headers = {"X-DashScope-OssResourceResolve": "enable"}
    task_id = (await client.post(SUBMIT_PATH, json=body, headers=headers)).json()["output"]["task_id"]
    mock.advance(10)
    download = limits()["models"]["liveportrait"]["image"]["errors"]["download"]
    assert (await task(client, task_id))["output"]["code"] == download  # more in test_upload_fidelity
    # the detector itself resolves it
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}", **headers}) as http:
        detect = await http.post(
            DETECT_PATH, json={"model": "emo-detect-v1", "input": {"image_url": image}, "parameters": {"ratio": "1:1"}}
        )
        assert detect.status_code == 200
        unresolved = await http.post(
            DETECT_PATH,
            json={"model": "emo-detect-v1", "input": {"image_url": image}, "parameters": {"ratio": "1:1"}},
            headers={"X-DashScope-OssResourceResolve": "enable", "Authorization": "Bearer sk-other"},
        )
        assert_error(unresolved, 400, "InvalidURL")


async def test_expired_policy_is_403(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        policy = (await http.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"})).json()
        mock.advance(float(policy["data"]["expire_in_seconds"]) + 1)
        response = await http.post("/_mock/oss", data=form(policy["data"], "a.png"), files={"file": ("a.png", b"x")})
        assert_oss_error(response, 403, "AccessDenied", "Invalid according to Policy: Policy expired.")


async def test_upload_form_errors(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        policy = (await http.get("/api/v1/uploads", params={"action": "getPolicy", "model": "liveportrait"})).json()
        data = policy["data"]
        bad_signature = {**form(data, "a.png"), "Signature": "forged"}
        response = await http.post("/_mock/oss", data=bad_signature, files={"file": ("a.png", b"x")})
        assert_oss_error(response, 403, "SignatureDoesNotMatch")
        wrong_key = {**form(data, "a.png"), "key": "elsewhere/a.png"}
        outside = await http.post("/_mock/oss", data=wrong_key, files={"file": ("a.png", b"x")})
        condition = (
            f'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "{data["upload_dir"]}/"]'
        )
        assert_oss_error(outside, 403, "AccessDenied", condition)
        ok = await http.post("/_mock/oss", data=form(data, "a.png"), files={"file": ("a.png", b"x")})
        assert ok.status_code == 200 and ok.content == b""
        again = await http.post("/_mock/oss", data=form(data, "a.png"), files={"file": ("a.png", b"x")})
        assert_oss_error(again, 409, "FileAlreadyExists")
        no_file = await http.post("/_mock/oss", data=form(data, "b.png"))
        assert_oss_error(no_file, 400, "InvalidArgument")
        bare = {k: v for k, v in form(data, "c.png").items() if k != "success_action_status"}
        assert (await http.post("/_mock/oss", data=bare, files={"file": ("c.png", b"x")})).status_code == 204
        described = await http.post(
            "/_mock/oss", data={**form(data, "d.png"), "success_action_status": "201"}, files={"file": ("d.png", b"x")}
        )
        assert described.status_code == 201 and described.headers["content-type"].startswith("application/xml")
        root = ElementTree.fromstring(described.content)
        assert root.tag == "PostResponse" and root.findtext("Key") == f"{data['upload_dir']}/d.png"
        assert root.findtext("ETag") == '"9DD4E461268C8034F5C8564E155C67A6"'  # MD5 of b"x"


async def test_get_policy_answers_for_any_model(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        other = await http.get("/api/v1/uploads", params={"action": "getPolicy", "model": "qwen-vl-plus"})
        assert other.status_code == 200 and other.json()["data"]["upload_dir"].startswith("dashscope-instant/")


async def test_uploads_expire_after_retention(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    image = await upload(mock, "liveportrait", "face.png")
    mock.advance(float(limits()["uploads"]["retention_hours"]) * 3600 + 1)
    body = {**BODIES["liveportrait"], "input": {"image_url": image, "audio_url": "https://e.com/a.mp3"}}
    task_id = await submit(client, input=body["input"])
    assert task_id
    response = await client.post(SUBMIT_PATH, json=body, headers={"X-DashScope-OssResourceResolve": "enable"})
    mock.advance(10)
    assert await status(client, response.json()["output"]["task_id"]) == "FAILED"
