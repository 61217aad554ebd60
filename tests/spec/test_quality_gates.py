"""The three gates fail on a planted problem, each with its reason:

- ``make coverage-report`` (scripts/coverage_report.py --check): a catalogue code no test names;
- ``make api-check`` (scripts/api_check.py): a public function removed, a parameter renamed (griffe's explanation);
- the default-config schemathesis run of ``make contract`` (scripts/contract_defaults.sh and its verdict): a spec that
  closes ``parameters`` again while the mock ignores undocumented keys (ST201), and any failure but the two
  documented 400s.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashscope_openapi import error_catalogue

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
PYTHON = sys.executable


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


# ------------------------------------------------------------------------------------------------ coverage report
PLANTED = ".".join(["Planted", "NoTestNamesMe"])  # built, not written: this module must not name it


def test_the_coverage_report_passes_on_the_spec_and_writes_its_tables() -> None:
    done = run(PYTHON, SCRIPTS / "coverage_report.py", "--check", "--out", "-")
    assert done.returncode == 0, done.stderr
    assert "every x-error-catalogue code is named by a test" in done.stdout
    for heading in (
        "## `x-error-catalogue` codes",
        "## `x-limits` entries",
        "## Parameters' bounds",
        "## Task statuses",
    ):
        assert heading in done.stdout


def test_a_catalogue_code_without_a_test_fails_the_coverage_report(tmp_path: Path) -> None:
    spec = yaml.safe_load((ROOT / "openapi" / "dashscope-video.yaml").read_text(encoding="utf-8"))
    spec["x-error-catalogue"]["errors"].append(
        {
            "code": PLANTED,
            "status": 400,
            "models": ["*"],
            "stage": "task",
            "retryable": False,
            "message": "planted",
            "source": "tests/spec/test_quality_gates.py",
        }
    )
    planted = tmp_path / "dashscope-video.yaml"
    planted.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "COVERAGE.md"
    done = run(PYTHON, SCRIPTS / "coverage_report.py", "--spec", planted, "--out", out, "--check")
    assert done.returncode == 1
    assert f"1 x-error-catalogue code(s) named by no test: {PLANTED}" in done.stderr
    assert f"Unreached: `{PLANTED}`" in out.read_text(encoding="utf-8")
    assert f"| `{PLANTED}` | task | **none** |" in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------------ api check
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the checked packages (``sdk/dashscope_video``, ``generated/dashscope_video_client``) to break."""
    (tmp_path / "sdk").mkdir()
    (tmp_path / "generated").mkdir()
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "sdk" / "dashscope_video", tmp_path / "sdk" / "dashscope_video", ignore=ignore)
    shutil.copytree(
        ROOT / "generated" / "dashscope_video_client", tmp_path / "generated" / "dashscope_video_client", ignore=ignore
    )
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def api_check(new: Path, changelog: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run(PYTHON, SCRIPTS / "api_check.py", "--old", ROOT, "--new", new, "--changelog", changelog or os.devnull)


def test_an_unchanged_api_passes(tree: Path) -> None:
    done = api_check(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 breaking change(s)" in done.stdout


def test_a_removed_public_function_and_a_renamed_parameter_fail_with_griffes_explanation(tree: Path) -> None:
    _edit(tree / "sdk/dashscope_video/lib/waiting.py", "def default_wait_timeout(", "def default_wait_deadline(")
    _edit(
        tree / "sdk/dashscope_video/resources/tasks.py",
        "    def download(self, task: str | TaskHandle[Any] | Task[Any], path: str | os.PathLike[str])",
        "    def download(self, task: str | TaskHandle[Any] | Task[Any], target: str | os.PathLike[str])",
    )
    done = api_check(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "default_wait_timeout: Public object was removed" in done.stdout
    assert "TaskPlans.download(path): Parameter was removed" in done.stdout
    assert "TaskPlans.download(target): Parameter was added as required" in done.stdout
    assert "3 breaking change(s) of the public API" in done.stdout


def test_a_break_of_the_generated_client_fails_too(tree: Path) -> None:
    path = tree / "generated/dashscope_video_client/models/live_portrait_parameters.py"
    _edit(path, "    def to_dict(self) -> dict[str, Any]:", "    def as_dict(self) -> dict[str, Any]:")
    done = api_check(tree)
    assert done.returncode == 1, done.stdout
    assert "dashscope_video_client.models.live_portrait_parameters.LivePortraitParameters.to_dict" in done.stdout
    assert "Public object was removed" in done.stdout


def test_a_break_listed_in_the_changelog_is_acknowledged(tree: Path, tmp_path: Path) -> None:
    _edit(tree / "sdk/dashscope_video/lib/waiting.py", "def default_wait_timeout(", "def default_wait_deadline(")
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(
        "# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- **Breaking**: `waiting.default_wait_timeout`.\n\n"
        "## [0.1.0] - 2026-11-22\n",
        encoding="utf-8",
    )
    done = api_check(tree, changelog)
    assert done.returncode == 0, done.stdout
    assert "acknowledged in CHANGELOG.md [Unreleased]: dashscope_video.lib.waiting.default_wait_timeout" in done.stdout
    changelog.write_text(changelog.read_text(encoding="utf-8").replace("## [Unreleased]", "## [0.0.9]"), "utf-8")
    assert api_check(tree, changelog).returncode == 1  # a released section acknowledges nothing new


# ----------------------------------------------------------------------------------------- schemathesis defaults
def _scenario(label: str, code: str | None, status: int, body: dict[str, Any], *, ok: int = 0) -> dict[str, Any]:
    checks = [{"name": "not_a_server_error", "status": "success"}] * ok
    if code is not None:
        checks = [
            *checks,
            {
                "name": "positive_data_acceptance" if code == "ST202" else "negative_data_rejection",
                "status": "failure",
                "failure_info": {"failure": {"code": code, "operation": label, "title": "planted"}},
            },
        ]
    content = {"$base64": base64.b64encode(json.dumps(body).encode()).decode()}
    return {
        "ScenarioFinished": {
            "recorder": {
                "label": label,
                "checks": {"c1": checks or [{"name": "not_a_server_error", "status": "success"}]},
                "interactions": {
                    "c1": {
                        "request": {"method": label.split()[0], "uri": "http://127.0.0.1:1" + label.split()[1]},
                        "response": {"status_code": status, "content": content},
                    }
                },
            }
        }
    }


CANCEL = "POST /api/v1/tasks/{task_id}/cancel"
SUBMIT = "POST /api/v1/services/aigc/image2video/video-synthesis/"


def _catalogued(code: str, reason: str) -> dict[str, str]:
    entry = error_catalogue().find(code, reason=reason)
    assert entry is not None
    return {"request_id": "r", "code": entry.code, "message": entry.message}


def verdict(tmp_path: Path, *events: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "report.ndjson"
    report.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return run(PYTHON, SCRIPTS / "contract_defaults_verdict.py", report)


def test_the_verdict_excuses_only_the_documented_400s(tmp_path: Path) -> None:
    fine = _scenario("GET /api/v1/tasks", None, 200, {"ok": True})
    cancel_400 = _scenario(CANCEL, "ST202", 400, _catalogued("UnsupportedOperation", "cancel_not_pending"))
    done = verdict(tmp_path, fine, cancel_400)
    assert done.returncode == 0, done.stdout
    assert "excused (documented 400 to a schema-valid request, ST202)" in done.stdout

    other_400 = _scenario(CANCEL, "ST202", 400, {"request_id": "r", "code": "InvalidParameter", "message": "m"})
    assert verdict(tmp_path, fine, other_400).returncode == 1
    submit_400 = _scenario(SUBMIT, "ST202", 400, _catalogued("UnsupportedOperation", "cancel_not_pending"))
    assert verdict(tmp_path, fine, submit_400).returncode == 1  # not that operation's documented 400


def test_the_verdict_fails_an_accepted_schema_violation(tmp_path: Path) -> None:
    fine = _scenario("GET /api/v1/tasks", None, 200, {"ok": True})
    accepted = _scenario(SUBMIT, "ST201", 200, {"output": {"task_id": "t", "task_status": "PENDING"}})
    done = verdict(tmp_path, fine, accepted)
    assert done.returncode == 1
    assert "FAILURE ST201" in done.stdout


def test_the_verdict_fails_a_run_that_reached_only_401s(tmp_path: Path) -> None:
    refused = _scenario("GET /api/v1/tasks", None, 401, {"code": "InvalidApiKey"})
    done = verdict(tmp_path, refused)
    assert done.returncode == 1
    assert "every answer was 401/403" in done.stdout


@pytest.fixture
def planted_closed_spec(tmp_path: Path) -> Path:
    """A copy of openapi/ whose videoretalk ``parameters`` are closed again (the spec before the leniency policy)."""
    specs = tmp_path / "openapi"
    shutil.copytree(ROOT / "openapi", specs)
    path = specs / "dashscope-video.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "    VideoRetalkParameters:\n      type: object\n"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + "      additionalProperties: false\n"), encoding="utf-8")
    return specs


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(specs: Path | None) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ}
    if specs is not None:
        env["DASHSCOPE_OPENAPI_DIR"] = str(specs)
    command = [str(ROOT / ".venv" / "bin" / "dashscope-mock"), "serve", "--port", str(port), "--media-checks", "off"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/_mock/clock", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the mock did not start") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


SUBMIT_ONLY = ["--include-operation-id", "createVideoSynthesis", "--phases", "coverage"]


def defaults_run(base_url: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTRACT_DEFAULTS_OUT": str(out)}
    return run("bash", SCRIPTS / "contract_defaults.sh", base_url, *SUBMIT_ONLY, env=env, timeout=600)


def test_the_default_config_run_finds_nothing_on_the_spec(tmp_path: Path) -> None:
    for base_url in _serve(None):
        done = defaults_run(base_url, tmp_path / "report")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "0 failures" in done.stdout


def test_the_default_config_run_fails_a_spec_closing_what_the_mock_accepts(
    tmp_path: Path, planted_closed_spec: Path
) -> None:
    for base_url in _serve(planted_closed_spec):
        done = defaults_run(base_url, tmp_path / "report")
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
        assert "ST201 Schema-violating request accepted" in done.stdout
        assert "FAILURE ST201" in done.stdout
