"""The command lines: ``dashscope-mock proxy`` (served, recording, a report when it stops), ``serve --replay`` with
a bad recording, ``drift``'s exit status, and ``make contract-live``'s test module run through the proxy against the
project's own mock (its wiring; the real service needs a key)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dashscope_mock import mock_dashscope
from dashscope_mock.http.serving import serve_in_thread
from tests.services import free_port

from .conftest import HEADERS, LIVEPORTRAIT
from .standin import SUBMIT, Clock, StandIn

ROOT = Path(__file__).parents[2]
CLI = [sys.executable, "-m", "dashscope_mock.cli"]


def _wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_the_proxy_command_records_and_writes_a_drift_report_when_it_stops(tmp_path: Path) -> None:
    standin = StandIn(Clock(), frozenset({"extra_field"}))
    with serve_in_thread(standin) as upstream:
        standin.base = upstream
        port = free_port()
        command = [*CLI, "proxy", "--upstream", upstream, "--port", str(port), "--record", str(tmp_path)]
        process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/api/v1/tasks/x", process)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS) as client:
                task_id = client.post(SUBMIT, json=LIVEPORTRAIT).json()["output"]["task_id"]
                assert client.get(f"/api/v1/tasks/{task_id}").json()["output"]["trace_code"] == "x1"
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert f"-> {upstream}" in stderr and f"recording into {tmp_path}" in stderr
    report = json.loads((tmp_path / "report" / "drift-report.json").read_text())
    assert {f["kind"] for f in report["findings"]} == {"field"}  # the planted undocumented field
    assert "trace_code" in (tmp_path / "report" / "drift-report.md").read_text()
    done = subprocess.run([*CLI, "drift", "--recordings", str(tmp_path), "--fail-on", "warning"], cwd=ROOT, check=False)
    assert done.returncode == 1  # the recordings read again after the run, the report's folder beside them


def test_a_plain_http_upstream_that_is_not_loopback_is_refused_by_the_command() -> None:
    done = subprocess.run(
        [*CLI, "proxy", "--upstream", "http://dashscope.aliyuncs.com", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "only a loopback upstream may be plain http" in done.stderr


def test_serve_refuses_a_bad_recording_before_it_starts(tmp_path: Path) -> None:
    (tmp_path / "20270101T000000-00001-x.json").write_text(json.dumps({"format": "dashscope-mock-recording"}))
    done = subprocess.run(
        [*CLI, "serve", "--port", "0", "--replay", str(tmp_path), "--media-checks", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--replay:" in done.stderr and "20270101T000000-00001-x.json: version: None" in done.stderr


def test_make_contract_live_runs_through_the_proxy_and_leaves_recordings_and_a_report(tmp_path: Path) -> None:
    """``contract_tests/test_live.py`` as ``make contract-live`` runs it, with the project's own mock standing in for
    the service: every free check passes, the exchanges are recorded, and the drift report is empty."""
    key = "sk-live-wiring"
    with mock_dashscope(keys=frozenset({key}), media_checks=False) as mock, mock.serve() as url:
        env = {
            **os.environ,
            "DASHSCOPE_LIVE": "1",
            "DASHSCOPE_API_KEY": key,
            "DASHSCOPE_BASE_URL": url,
            "DASHSCOPE_LIVE_ARTIFACTS": str(tmp_path),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        env.pop("ALLOW_BILLABLE", None)
        command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist"]
        done = subprocess.run(
            [*command, "contract_tests/test_live.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    assert "3 passed, 1 skipped" in done.stdout, done.stdout + done.stderr
    recordings = sorted((tmp_path / "recordings").glob("*.json"))
    assert len(recordings) == 3
    artifacts = [*recordings, tmp_path / "drift-report.md", tmp_path / "drift-report.json"]
    assert key not in "".join(path.read_text() for path in artifacts)  # the key is nowhere in clear
    report = json.loads((tmp_path / "drift-report.json").read_text())
    assert report["findings"] == [], report
