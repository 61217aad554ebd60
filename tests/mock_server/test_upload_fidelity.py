"""Temporary uploads as the service binds them: to the account (its full hash, not the 7-digit ``api_key_id``), to the
model of the policy (leniently to its face-detect/generation pair, ``x-leniency.upload_model_pairs``), for 48 h; every
``oss://`` URL refused says why in the request's journal entry; getPolicy is limited per account and model."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope, mock_dashscope
from dashscope_mock.domain.keys import account
from dashscope_mock.services.uploads import key_id
from dashscope_openapi import limits, load_spec, model_limits

from .conftest import BODIES, DETECT_PATH, assert_error
from .test_detect_uploads import form

# Two keys whose 7-digit ids (``api_key_id``) collide: 2193467 for both.
KEY_A, KEY_B = "sk-tenant-0001244", "sk-tenant-0005001"
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
POLICY_PATH = "/api/v1/uploads"
DETECT_BODIES: dict[str, dict[str, Any]] = {
    "emo-detect-v1": {"model": "emo-detect-v1", "parameters": {"ratio": "1:1"}},
    "liveportrait-detect": {"model": "liveportrait-detect"},
}


def auth(key: str, *, async_call: bool = True, resolve: bool = True) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if async_call:
        headers["X-DashScope-Async"] = "enable"
    if resolve:
        headers.update(RESOLVE)
    return headers


def upload(mock: MockDashScope, key: str, model: str, name: str = "face.png") -> str:
    """getPolicy for ``model`` as ``key``, the OSS form POST; the ``oss://`` URL."""
    with mock.client(headers={"Authorization": f"Bearer {key}"}) as http:
        response = http.get(POLICY_PATH, params={"action": "getPolicy", "model": model})
        assert response.status_code == 200, response.text
        policy = response.json()["data"]
        stored = http.post(policy["upload_host"], data=form(policy, name), files={"file": (name, b"data")})
        assert stored.status_code == 200, stored.text
        return f"oss://{policy['upload_dir']}/{name}"


def submit_with(mock: MockDashScope, key: str, model: str, url: str, *, resolve: bool = True) -> httpx.Response:
    """Submit ``model`` with ``url`` as its image (video for videoretalk)."""
    body = BODIES[model]
    field = "video_url" if model == "videoretalk" else "image_url"
    with mock.client(headers=auth(key, resolve=resolve)) as http:
        return http.post(SUBMIT_PATH, json={**body, "input": {**body["input"], field: url}})


def detect_with(mock: MockDashScope, key: str, model: str, url: str, *, resolve: bool = True) -> httpx.Response:
    body = {**DETECT_BODIES[model], "input": {"image_url": url}}
    with mock.client(headers=auth(key, async_call=False, resolve=resolve)) as http:
        return http.post(DETECT_PATH, json=body)


def task_output(mock: MockDashScope, key: str, task_id: str) -> dict[str, Any]:
    with mock.client(headers=auth(key, resolve=False)) as http:
        output: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()["output"]
        return output


def download_code(model: str) -> str:
    """The model's documented download-failure code of its image (video for videoretalk)."""
    kind = "video" if model == "videoretalk" else "image"
    return str(model_limits(model)[kind]["errors"]["download"])


def last_note(mock: MockDashScope, operation: str) -> str:
    note = mock.requests(operation)[-1].note
    assert note is not None, f"no journal note on the last {operation}"
    return str(note)


# ---------------------------------------------------------------------------------------------------- ownership


def test_colliding_keys_do_not_share_uploads() -> None:
    assert key_id(account(KEY_A)) == key_id(account(KEY_B))  # what api_key_id shows: 7 digits, the same for both
    with mock_dashscope(key=KEY_A) as mock:
        url = upload(mock, KEY_A, "liveportrait")
        own = submit_with(mock, KEY_A, "liveportrait", url)
        foreign = submit_with(mock, KEY_B, "liveportrait", url)
        assert own.status_code == foreign.status_code == 200
        assert "another account" in last_note(mock, "createVideoSynthesis")
        mock.advance(60)
        assert task_output(mock, KEY_A, own.json()["output"]["task_id"])["task_status"] == "SUCCEEDED"
        failed = task_output(mock, KEY_B, foreign.json()["output"]["task_id"])
        assert (failed["task_status"], failed["code"]) == ("FAILED", download_code("liveportrait"))
        assert_error(detect_with(mock, KEY_B, "liveportrait-detect", url), 400, "InvalidURL")
        assert "another account" in last_note(mock, "detectFace")
        assert detect_with(mock, KEY_A, "liveportrait-detect", url).status_code == 200
        with mock.client(headers=auth(KEY_B, resolve=False)) as http:  # the listing keeps the 7-digit display id
            assert http.get("/api/v1/tasks").json()["data"][0]["api_key_id"] == key_id(account(KEY_A))


def test_the_policy_carries_a_hash_of_the_account_never_the_key() -> None:
    with mock_dashscope(key=KEY_A) as mock, mock.client(headers={"Authorization": f"Bearer {KEY_A}"}) as http:
        policy = http.get(POLICY_PATH, params={"action": "getPolicy", "model": "liveportrait"}).json()["data"]
        document = base64.b64decode(policy["policy"]).decode()
        assert KEY_A not in document and KEY_A[3:] not in document
        owner = json.loads(document)["x-mock"]["owner"]
        assert owner != key_id(account(KEY_A)) and len(owner) >= 32


# ---------------------------------------------------------------------------------------------------- getPolicy rate


def get_policy(http: httpx.Client, model: str) -> httpx.Response:
    return http.get(POLICY_PATH, params={"action": "getPolicy", "model": model})


def test_get_policy_is_limited_per_account_and_model() -> None:
    qps = int(limits()["uploads"]["policy_qps_per_model"])
    with mock_dashscope(key=KEY_A) as mock:
        with mock.client(headers={"Authorization": f"Bearer {KEY_A}"}) as http:
            for _ in range(qps):
                assert get_policy(http, "liveportrait").status_code == 200
            refused = get_policy(http, "liveportrait")
            assert_error(refused, 429, "Throttling.RateQuota")
            assert refused.headers["retry-after"] == "1"
            assert get_policy(http, "emo-v1").status_code == 200  # another model: its own window
        with mock.client(headers={"Authorization": f"Bearer {KEY_B}"}) as http:
            assert get_policy(http, "liveportrait").status_code == 200  # another account
        mock.advance(1)
        with mock.client(headers={"Authorization": f"Bearer {KEY_A}"}) as http:
            assert get_policy(http, "liveportrait").status_code == 200
    with mock_dashscope(rate_limit=False) as mock, mock.client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        assert all(get_policy(http, "liveportrait").status_code == 200 for _ in range(qps + 5))


# ---------------------------------------------------------------------------------------------------- model pairs


PAIRS = [("emo-v1", "emo-detect-v1"), ("liveportrait", "liveportrait-detect")]  # as x-leniency.upload_model_pairs
BOTH_WAYS = [(a, b) for pair in PAIRS for a, b in (pair, pair[::-1])]


def use(mock: MockDashScope, key: str, model: str, url: str, *, resolve: bool = True) -> tuple[str, bool]:
    """Use ``url`` with ``model`` (a detect or a submit, then the task's end); the operation and whether it served."""
    if model in DETECT_BODIES:
        answer = detect_with(mock, key, model, url, resolve=resolve)
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            assert_error(answer, 400, "InvalidURL")
        return "detectFace", answer.status_code == 200
    answer = submit_with(mock, key, model, url, resolve=resolve)
    assert answer.status_code == 200, answer.text
    mock.advance(600)
    output = task_output(mock, key, answer.json()["output"]["task_id"])
    if output["task_status"] == "FAILED":
        assert output["code"] == download_code(model)
    return "createVideoSynthesis", output["task_status"] == "SUCCEEDED"


def test_the_spec_records_the_pairs() -> None:
    leniency = load_spec()["x-leniency"]
    assert [tuple(pair) for pair in leniency.get("upload_model_pairs", {}).get("pairs", [])] == PAIRS


@pytest.mark.parametrize(("issued_for", "used_for"), BOTH_WAYS)
def test_an_upload_serves_its_pair_leniently(issued_for: str, used_for: str) -> None:
    with mock_dashscope() as mock:
        url = upload(mock, mock.key, issued_for)
        operation, served = use(mock, mock.key, used_for, url)
        assert served
        note = last_note(mock, operation)
        assert f"issued for model {issued_for}" in note and "x-leniency.upload_model_pairs" in note


@pytest.mark.parametrize(("issued_for", "used_for"), BOTH_WAYS)
def test_strict_fields_keeps_the_documented_binding(issued_for: str, used_for: str) -> None:
    with mock_dashscope(strict_fields=True) as mock:
        url = upload(mock, mock.key, issued_for)
        operation, served = use(mock, mock.key, used_for, url)
        assert not served
        assert f"issued for model {issued_for}" in last_note(mock, operation)
        operation, served = use(mock, mock.key, issued_for, upload(mock, mock.key, issued_for, "again.png"))
        assert served and mock.requests(operation)[-1].note is None  # its own model: resolved, nothing to note


def test_outside_its_pair_an_upload_is_refused() -> None:
    with mock_dashscope() as mock:
        url = upload(mock, mock.key, "liveportrait")
        operation, served = use(mock, mock.key, "emo-detect-v1", url)
        assert not served
        assert "issued for model liveportrait" in last_note(mock, operation)
        operation, served = use(mock, mock.key, "videoretalk", upload(mock, mock.key, "emo-v1", "b.png"))
        assert not served and "issued for model emo-v1" in last_note(mock, operation)


# ---------------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("model", ["liveportrait", "liveportrait-detect"])
def test_every_refusal_says_why_in_the_journal(model: str) -> None:
    with mock_dashscope() as mock:
        paired = "liveportrait"
        missing = f"oss://dashscope-instant/{'0' * 32}/2026-01-01/x/face.png"
        operation, served = use(mock, mock.key, model, missing)
        assert not served and "no such upload" in last_note(mock, operation)

        url = upload(mock, mock.key, paired)
        operation, served = use(mock, mock.key, model, url, resolve=False)
        assert not served and "X-DashScope-OssResourceResolve" in last_note(mock, operation)

        record = mock.backend.store.get_upload(url)
        assert record is not None
        Path(record.path).unlink()
        operation, served = use(mock, mock.key, model, url)
        assert not served and "file gone" in last_note(mock, operation)

        fresh = upload(mock, mock.key, paired, "fresh.png")
        mock.advance(float(limits()["uploads"]["retention_hours"]) * 3600 + 1)
        operation, served = use(mock, mock.key, model, fresh)
        assert not served and "expired" in last_note(mock, operation)
