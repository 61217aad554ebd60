"""compose.yaml's topology without containers: its two mock replicas as two ``dashscope-mock serve`` processes with the
file's own arguments and environment (bound to 0.0.0.0 as in the image, one control token, the public host names, one
uploads folder) on one ``redis-server``: one service to their clients.

The containers themselves are tested by ``make image-test``."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .services import redis_server, served_cli

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 120.0  # seconds: only turns a hang into a failure
TOKEN = "compose-token-for-the-test"
KEY = "sk-compose"
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
UPLOADS_IN_IMAGE = "/var/lib/dashscope-mock/uploads"


def replicas() -> dict[str, dict[str, Any]]:
    """compose.yaml's mock services (those built from the image), their YAML anchors merged."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return {name: s for name, s in compose["services"].items() if "dashscope-mock" in str(s.get("image", ""))}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, from ``variables``."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in variables:
            return variables[name]
        if op == ":?":
            raise AssertionError(f"compose.yaml needs {name}: {rest}")
        return rest

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


@contextlib.contextmanager
def replica(service: dict[str, Any], variables: dict[str, str], redis_url: str, uploads: Path) -> Iterator[str]:
    """One replica as the image runs it (``serve --host 0.0.0.0`` + the service's command and environment), with
    Redis and the uploads volume at their places on this machine; yields its loopback base URL once healthy."""
    args = [interpolate(a, variables).replace("redis://redis:6379/0", redis_url) for a in service["command"]]
    env = {k: interpolate(str(v), variables) for k, v in service["environment"].items()}
    assert env["DASHSCOPE_MOCK_UPLOAD_DIR"] == UPLOADS_IN_IMAGE
    assert any(v.startswith("uploads:" + UPLOADS_IN_IMAGE) for v in service["volumes"]), "uploads is not shared"
    env["DASHSCOPE_MOCK_UPLOAD_DIR"] = str(uploads)
    env = {**env, "DASHSCOPE_MOCK_MEDIA_CHECKS": "off", "DASHSCOPE_MOCK_LOG_LEVEL": "warning"}
    with served_cli("--host", "0.0.0.0", *args, env=env) as mock:
        yield mock.base
    assert "control-plane token" not in mock.stderr, "a replica made its own token: compose's was not used"


def upload(base: str, model: str, name: str, content: bytes) -> str:
    """An upload as the SDKs make it: getPolicy, then the OSS form POST to the policy's host; the ``oss://`` URL."""
    policy = httpx.get(
        f"{base}/api/v1/uploads", params={"action": "getPolicy", "model": model}, headers=auth(), timeout=30
    )
    assert policy.status_code == 200, policy.text
    data = policy.json()["data"]
    key = f"{data['upload_dir']}/{name}"
    form = {
        "OSSAccessKeyId": data["oss_access_key_id"],
        "Signature": data["signature"],
        "policy": data["policy"],
        "x-oss-object-acl": data["x_oss_object_acl"],
        "x-oss-forbid-overwrite": data["x_oss_forbid_overwrite"],
        "key": key,
        "success_action_status": "200",
    }
    posted = httpx.post(data["upload_host"], data=form, files={"file": (name, content)}, timeout=30)
    assert posted.status_code == 200, posted.text
    return f"oss://{key}"


def auth(**more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", **more}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def test_compose_yaml_has_two_replicas_on_one_redis_with_one_token(redis_url: str, tmp_path: Path) -> None:
    services = replicas()
    assert len(services) == 2, services.keys()
    with pytest.raises(AssertionError, match="DASHSCOPE_MOCK_CONTROL_TOKEN"):
        interpolate(next(iter(services.values()))["environment"]["DASHSCOPE_MOCK_CONTROL_TOKEN"], {})
    variables = {"DASHSCOPE_MOCK_CONTROL_TOKEN": TOKEN}
    uploads = tmp_path / "uploads"  # the shared volume
    (a_name, a), (b_name, b) = services.items()
    with replica(a, variables, redis_url, uploads) as one, replica(b, variables, redis_url, uploads) as two:
        control = {"Authorization": f"Bearer {TOKEN}"}
        for base in (one, two):
            assert httpx.get(f"{base}/_mock/clock", timeout=30).status_code == 401  # the control plane wants it
            assert httpx.get(f"{base}/_mock/clock", headers=control, timeout=30).status_code == 200
        # The services' names are accepted Host headers (other services of the file reach them so).
        for name, base in ((a_name, one), (b_name, two)):
            named = httpx.get(f"{base}/_mock/health", headers={"Host": f"{name}:8000"}, timeout=30)
            assert named.status_code == 200, named.text
        # A scenario set through one replica applies to a task submitted through the other.
        scenario = {"model": "liveportrait", "code": "InternalError.Algo", "times": 1}
        assert httpx.post(f"{one}/_mock/scenarios", json=scenario, headers=control, timeout=30).status_code < 300
        # Inputs uploaded through one replica (the shared uploads folder) are inputs of a task submitted through
        # the other, which a third query through the first sees end.
        image = upload(one, "liveportrait", "face.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        audio = upload(one, "liveportrait", "voice.wav", b"RIFF" + b"\0" * 64)
        assert len([p for p in (uploads / "uploads").iterdir() if p.is_file()]) == 2, (
            "the uploads are not in the shared folder"
        )
        body = {"model": "liveportrait", "input": {"image_url": image, "audio_url": audio}}
        headers = auth(**{"X-DashScope-Async": "enable", "X-DashScope-OssResourceResolve": "enable"})
        ids = []
        for _ in range(2):
            submitted = httpx.post(f"{two}{SUBMIT}", json=body, headers=headers, timeout=30)
            assert submitted.status_code == 200, submitted.text
            ids.append(submitted.json()["output"]["task_id"])
        ended: list[dict[str, Any]] = []
        deadline = time.monotonic() + HANG_GUARD
        for task_id in ids:
            while True:
                output = httpx.get(f"{one}/api/v1/tasks/{task_id}", headers=auth(), timeout=30).json()["output"]
                if output["task_status"] in ("SUCCEEDED", "FAILED"):
                    ended.append(output)
                    break
                assert time.monotonic() < deadline, output
                time.sleep(0.2)
        assert [o["task_status"] for o in ended] == ["FAILED", "SUCCEEDED"], ended
        assert ended[0]["code"] == "InternalError.Algo"
