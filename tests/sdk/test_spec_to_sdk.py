"""A parameter added to the spec reaches the SDK's parameters object and the CLI by regeneration alone.

The test copies the spec, gives liveportrait a new parameter, regenerates the client from the copy with the project's
own script (``scripts/generate_client.sh``), and runs the unchanged SDK against both in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import contextlib, io, json, sys
import httpx
import attrs
import dashscope_video_client
from dashscope_video import LivePortraitParameters, cli

sent = []

def answer(request: httpx.Request) -> httpx.Response:
    sent.append(json.loads(request.content))
    return httpx.Response(200, json={"request_id": "r", "output": {"task_id": "t", "task_status": "PENDING"}})

help_text = io.StringIO()
with contextlib.redirect_stdout(help_text):
    cli.main(["liveportrait", "--help"])
argv = ["--api-key", "sk-test", "--base-url", "https://dashscope.test", "liveportrait",
        "--image", "https://x.test/f.png", "--audio", "https://x.test/v.mp3", "--lip-sync-boost", "1.5"]
with contextlib.redirect_stdout(io.StringIO()):
    code = cli.main(argv, transport=httpx.MockTransport(answer))
print(json.dumps({
    "client_from": dashscope_video_client.__file__,
    "fields": [f.name for f in attrs.fields(LivePortraitParameters)],
    "help": help_text.getvalue(),
    "exit": code,
    "parameters": sent[0].get("parameters") if sent else None,
}))
"""


def test_a_new_spec_parameter_surfaces_in_the_parameters_object_and_the_cli(tmp_path: Path) -> None:
    specs = tmp_path / "openapi"
    shutil.copytree(ROOT / "openapi", specs)
    spec_file = specs / "dashscope-video.yaml"
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    spec["components"]["schemas"]["LivePortraitParameters"]["properties"]["lip_sync_boost"] = {
        "type": "number",
        "minimum": 0,
        "maximum": 2,
        "description": "A parameter the service gained after this SDK was written.",
    }
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "generated"
    env = {**os.environ, "SPEC": str(spec_file), "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "generate_client.sh"), str(out)], check=True, env=env, capture_output=True
    )

    env = {**os.environ, "PYTHONPATH": str(out), "DASHSCOPE_OPENAPI_DIR": str(specs)}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert Path(seen["client_from"]).is_relative_to(out), seen["client_from"]  # the regenerated client was used
    assert "lip_sync_boost" in seen["fields"]
    help_text = " ".join(seen["help"].split())
    assert "--lip-sync-boost FLOAT A parameter the service gained after this SDK was written." in help_text
    assert seen["exit"] == 0
    assert seen["parameters"] == {"lip_sync_boost": 1.5}


def test_the_checked_in_client_has_no_such_parameter() -> None:
    """The test above can fail: without regeneration the parameter does not exist."""
    import attrs

    from dashscope_video import LivePortraitParameters

    assert "lip_sync_boost" not in [f.name for f in attrs.fields(LivePortraitParameters)]
