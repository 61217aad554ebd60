"""``make contract`` against a deployment other than a local mock leaves out the operations the service bills, unless
told otherwise (contract_tests/target.py decides; scripts/contract_cli.sh follows). No test here needs a network: the
script's runs end at its "nothing answers" check, on a port nobody listens on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests import target
from dashscope_openapi import load_spec

from .services import free_port

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "contract_cli.sh"
HELPER = ROOT / "contract_tests" / "target.py"
BILLABLE = ["createVideoSynthesis", "detectFace"]
EXCLUDE_ARGS = ["--exclude-operation-id", "createVideoSynthesis", "--exclude-operation-id", "detectFace"]

LOOPBACK = [
    "http://127.0.0.1:8000",
    "http://127.8.9.10:1234/",
    "http://localhost:8000",
    "http://LOCALHOST",
    "http://[::1]:8000",
    "http://[::ffff:127.0.0.1]:8000",  # an IPv4-mapped 127.0.0.1 is still this machine's loopback
]
ELSEWHERE = [
    "https://dashscope.aliyuncs.com",
    "https://dashscope-intl.aliyuncs.com/",
    "http://10.0.0.5:8000",
    "http://192.168.1.20:8000",
    "http://0.0.0.0:8000",  # any address: not one of the loopback forms the guard trusts
    "http://[::]:8000",
    "http://localhost.example.com:8000",  # a name that merely starts like localhost
    "http://127.0.0.1.nip.io:8000",
    "http://mock.internal:8000",
]


def test_the_excluded_operations_are_the_specs_billable_ones() -> None:
    """A renamed operationId would make --exclude-operation-id exclude nothing: the billable calls would run."""
    ids = {
        operation["operationId"]
        for path in load_spec()["paths"].values()
        for method, operation in path.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert set(target.BILLABLE) <= ids
    assert list(target.BILLABLE) == BILLABLE


@pytest.mark.parametrize("base_url", LOOPBACK)
def test_a_loopback_target_runs_every_operation(base_url: str) -> None:
    plan = target.plan(base_url, allow_billable=False)
    assert plan.local and plan.excluded == () and plan.schemathesis_args() == []
    assert plan.notice() == []


@pytest.mark.parametrize("base_url", ELSEWHERE)
def test_any_other_target_leaves_out_the_billable_operations(base_url: str) -> None:
    plan = target.plan(base_url, allow_billable=False)
    assert not plan.local and list(plan.excluded) == BILLABLE
    assert plan.schemathesis_args() == EXCLUDE_ARGS
    notice = "\n".join(plan.notice())
    for operation in BILLABLE:
        assert operation in notice
    assert "ALLOW_BILLABLE=1" in notice and "--allow-billable" in notice


@pytest.mark.parametrize("base_url", ELSEWHERE[:3])
def test_an_explicit_opt_in_runs_every_operation_and_says_so(base_url: str) -> None:
    plan = target.plan(base_url, allow_billable=True)
    assert not plan.local and plan.excluded == () and plan.schemathesis_args() == []
    notice = "\n".join(plan.notice())
    assert "createVideoSynthesis" in notice and "detectFace" in notice and "bill" in notice


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_allow_billable_values_that_opt_in(value: str) -> None:
    assert target.allow_from_env(value) is True


@pytest.mark.parametrize("value", [None, "", "0", "false", "No", "off"])
def test_allow_billable_values_that_do_not(value: str | None) -> None:
    assert target.allow_from_env(value) is False


@pytest.mark.parametrize("value", ["2", "y", "please", "ture"])
def test_an_unclear_allow_billable_is_refused_not_guessed(value: str) -> None:
    with pytest.raises(ValueError, match="ALLOW_BILLABLE"):
        target.allow_from_env(value)


@pytest.mark.parametrize("base_url", ["dashscope.aliyuncs.com", "ftp://example.com", "http://", ""])
def test_a_base_url_that_is_not_an_http_url_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="BASE_URL"):
        target.plan(base_url, allow_billable=False)


def _helper(*args: str, allow: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ALLOW_BILLABLE"}
    if allow is not None:
        env["ALLOW_BILLABLE"] = allow
    return subprocess.run(
        [sys.executable, str(HELPER), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_helper_prints_schemathesis_arguments_and_the_notice_apart() -> None:
    done = _helper("https://dashscope.aliyuncs.com")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXCLUDE_ARGS  # what the script passes on, one argument per line
    assert "createVideoSynthesis" in done.stderr and "ALLOW_BILLABLE=1" in done.stderr
    for opted_in in (_helper("https://dashscope.aliyuncs.com", allow="1"), _helper("--allow-billable", "http://h:1")):
        assert opted_in.returncode == 0 and opted_in.stdout == "", opted_in.stderr
        assert "createVideoSynthesis" in opted_in.stderr
    local = _helper("http://127.0.0.1:8000", allow="")
    assert (local.returncode, local.stdout, local.stderr) == (0, "", "")
    refused = _helper("https://dashscope.aliyuncs.com", allow="maybe")
    assert refused.returncode == 2 and refused.stdout == "" and "ALLOW_BILLABLE" in refused.stderr


def _script(*args: str, allow: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("ALLOW_BILLABLE", "DASHSCOPE_API_KEY")}
    if allow is not None:
        env["ALLOW_BILLABLE"] = allow
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_script_says_at_start_what_it_leaves_out_of_a_remote_run() -> None:
    # 0.0.0.0 is not a loopback form (the guard applies) yet connects to this machine, where nothing listens on the
    # port: the script stops at its "nothing answers" check, after the notice and before schemathesis.
    done = _script(f"http://0.0.0.0:{free_port()}")
    assert done.returncode == 2
    notice, _, rest = done.stderr.partition("nothing answers")
    assert rest, done.stderr
    for operation in BILLABLE:
        assert operation in notice
    assert "ALLOW_BILLABLE=1" in notice


@pytest.mark.parametrize(("args", "allow"), [(["--allow-billable"], None), ([], "1")])
def test_the_script_takes_the_opt_in_as_a_flag_or_from_the_environment(args: list[str], allow: str | None) -> None:
    done = _script(*args, f"http://0.0.0.0:{free_port()}", allow=allow)
    assert done.returncode == 2 and "nothing answers" in done.stderr
    assert "ALLOW_BILLABLE=1 make contract" not in done.stderr  # no advice to opt in: it has
    assert "createVideoSynthesis" in done.stderr  # still named: they will run


def test_the_script_is_silent_about_billing_against_a_local_mock() -> None:
    done = _script(f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "nothing answers" in done.stderr
    assert "createVideoSynthesis" not in done.stderr and "ALLOW_BILLABLE" not in done.stderr


def test_the_script_refuses_an_unclear_opt_in_before_any_request() -> None:
    done = _script(f"http://0.0.0.0:{free_port()}", allow="maybe")
    assert done.returncode == 2 and "ALLOW_BILLABLE" in done.stderr and "nothing answers" not in done.stderr


def test_make_contract_passes_allow_billable_on() -> None:
    """The Makefile's contract target hands ALLOW_BILLABLE to the script (dry run: nothing is started)."""
    done = subprocess.run(
        ["make", "-n", "contract", "BASE_URL=https://example.com", "ALLOW_BILLABLE=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "contract_cli.sh" in line)
    assert "ALLOW_BILLABLE" in line and "https://example.com" in line
