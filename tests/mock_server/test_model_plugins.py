"""A model is the spec plus one module: a fourth video model added by a spec fixture and one module is served end to
end with media checks on; without its module the mock refuses to start and names it.

The fixture spec is the real one with ``portrait-echo`` added (a copy of liveportrait's schema, limits, catalogue
entries and example under a new name). It runs in a subprocess, since the spec is read once per process
(``DASHSCOPE_OPENAPI_DIR`` points the subprocess at the fixture).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from dashscope_openapi import CONTROL_SPEC_FILE, SPEC_FILE

from ..media import factory

NEW = "portrait-echo"

MODULE = '''
"""portrait-echo: a test model that animates a portrait as liveportrait does."""
from dashscope_mock.models import liveportrait
from dashscope_mock.plugins import VideoModel, timing

model = VideoModel(
    name="portrait-echo",
    timings={"fast": timing(0.5, ("RUNNING", 1.0)), "realistic": timing(1.0, ("RUNNING", 5.0))},
    placeholder=liveportrait.placeholder,
    prepare=liveportrait.prepare,
)
'''

SCRIPT = """
import http.server, json, sys, threading
from functools import partial
from pathlib import Path

from dashscope_mock import SUBMIT_PATH, ModelSetupError, mock_dashscope

work = Path(sys.argv[1])
try:
    with mock_dashscope(media_checks=True):
        pass
except ModelSetupError as error:
    print("WITHOUT MODULE:", str(error).replace("\\n", " | "))
else:
    print("WITHOUT MODULE: started")

handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(work / "files"))
http.server.SimpleHTTPRequestHandler.log_message = lambda *args: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_address[1]}"

import asyncio

async def main():
    with mock_dashscope(media_checks=True, model_modules=("echo_model",)) as mock:
        async with mock.async_client(headers=mock.headers) as http:
            body = {"model": "portrait-echo", "input": {"image_url": base + "/face.jpg", "audio_url": base + "/a.wav"}}
            submitted = await http.post(SUBMIT_PATH, json=body)
            task_id = submitted.json()["output"]["task_id"]
            await mock.backend.drain()
            mock.advance(60)
            task = (await http.get(f"/api/v1/tasks/{task_id}")).json()
            video = await http.get(task["output"]["results"]["video_url"])
            print("TASK:", json.dumps({"status": task["output"]["task_status"], "usage": task.get("usage"),
                                       "video_bytes": len(video.content), "video_type": video.headers["content-type"]}))

asyncio.run(main())
server.shutdown()
"""


def _fixture_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    branch = copy.deepcopy(schemas["LivePortraitRequest"])
    branch["properties"]["model"] = {"type": "string", "enum": [NEW]}
    schemas["PortraitEchoRequest"] = branch
    union = schemas["VideoSynthesisRequest"]
    union["oneOf"].append({"$ref": "#/components/schemas/PortraitEchoRequest"})
    union["discriminator"]["mapping"][NEW] = "#/components/schemas/PortraitEchoRequest"
    spec["x-models"][NEW] = copy.deepcopy(spec["x-models"]["liveportrait"])
    spec["x-limits"]["models"][NEW] = copy.deepcopy(spec["x-limits"]["models"]["liveportrait"])
    for item in spec["x-error-catalogue"]["errors"]:
        if "liveportrait" in item.get("models", []):
            item["models"].append(NEW)
    submit = spec["paths"]["/api/v1/services/aigc/image2video/video-synthesis/"]["post"]
    examples = submit["requestBody"]["content"]["application/json"]["examples"]
    examples["portrait_echo"] = {"value": {**copy.deepcopy(examples["liveportrait"]["value"]), "model": NEW}}
    return spec


def test_a_fourth_model_is_one_spec_fixture_and_one_module(tmp_path: Path) -> None:
    spec_dir = tmp_path / "openapi"
    spec_dir.mkdir()
    (spec_dir / "dashscope-video.yaml").write_text(yaml.safe_dump(_fixture_spec(), sort_keys=False), encoding="utf-8")
    (spec_dir / "mock-control.yaml").write_text(CONTROL_SPEC_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "echo_model.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "face.jpg").write_bytes(factory.FACE_JPG.read_bytes())
    (tmp_path / "files" / "a.wav").write_bytes(factory.wav_bytes(1.5))
    env = {
        **os.environ,
        "DASHSCOPE_OPENAPI_DIR": str(spec_dir),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "modules"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert "portrait-echo" in lines["WITHOUT MODULE"] and "has no module" in lines["WITHOUT MODULE"]
    task = json.loads(lines["TASK"])
    assert task["status"] == "SUCCEEDED"
    assert task["usage"] == {"video_duration": 1.5, "video_ratio": "standard"}
    assert task["video_type"] == "video/mp4" and task["video_bytes"] > 1000  # a rendered MP4, not the placeholder


def test_every_spec_model_has_its_module_and_every_module_its_model() -> None:
    from dashscope_mock.plugins import load_registry, spec_detect_models, spec_video_models

    registry = load_registry()
    assert set(registry.videos) == set(spec_video_models())
    assert set(registry.detectors) == set(spec_detect_models())
