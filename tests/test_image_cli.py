"""What the container image relies on in ``dashscope-mock serve``: the control token from a file or the environment
(a mounted secret, never baked into the image), ``--public-host`` from ``DASHSCOPE_MOCK_PUBLIC_HOST``, and a state or
upload folder the mock cannot write failing at start with its path named (exit status 2) instead of in a worker.

The image itself is tested by ``make image-test`` (buildah; not part of ``make test``)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashscope_mock.cli import control_token, state_folders, unwritable_folder

from .services import clean_env, served_cli

HANG_GUARD = 120.0  # seconds: only turns a hang into a failure
TOKEN_ENV = "DASHSCOPE_MOCK_CONTROL_TOKEN"
FILE_ENV = "DASHSCOPE_MOCK_CONTROL_TOKEN_FILE"


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``dashscope-mock serve`` run to its end (for the refusals, which end it before it binds)."""
    return subprocess.run(
        [sys.executable, "-m", "dashscope_mock.cli", "serve", "--media-checks", "off", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
        env={**clean_env(), **(env or {})},
    )


@contextlib.contextmanager
def served(*args: str, env: dict[str, str]) -> Iterator[str]:
    """A served mock on a free loopback port; yields its base URL once ``/_mock/health`` answers."""
    with served_cli("--media-checks", "off", *args, env=env) as mock:
        yield mock.base


# --------------------------------------------------------------------------------------------------- control token
def test_the_token_comes_from_the_first_source_given(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text("from-file\n")
    assert control_token("flag", None, {TOKEN_ENV: "env"}) == "flag"
    assert control_token(None, str(file), {TOKEN_ENV: "env"}) == "from-file"  # the trailing newline is not part of it
    assert control_token(None, None, {TOKEN_ENV: "env"}) == "env"
    assert control_token(None, None, {FILE_ENV: str(file)}) == "from-file"
    assert control_token(None, None, {}) is None
    assert control_token(None, None, {TOKEN_ENV: ""}) is None  # empty is unset: a non-loopback bind still gets one


@pytest.mark.parametrize(
    ("flag", "flag_file", "environ", "named"),
    [
        ("a", "f", {}, "not both"),
        (None, None, {TOKEN_ENV: "a", FILE_ENV: "f"}, "not both"),
        (None, "{missing}", {}, "--control-token-file: cannot read the control token from {missing}"),
        (None, None, {FILE_ENV: "{missing}"}, f"{FILE_ENV}: cannot read the control token from {{missing}}"),
        (None, "{empty}", {}, "must hold the control token alone"),
        (None, "{two}", {}, "must hold the control token alone"),
    ],
)
def test_a_token_source_that_gives_no_token_is_refused_by_name(
    tmp_path: Path, flag: str | None, flag_file: str | None, environ: dict[str, str], named: str
) -> None:
    paths = {"missing": str(tmp_path / "missing"), "empty": str(tmp_path / "empty"), "two": str(tmp_path / "two")}
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "two").write_text("one two\n")
    environ = {k: v.format(**paths) for k, v in environ.items()}
    with pytest.raises(ValueError) as caught:
        control_token(flag, flag_file.format(**paths) if flag_file else None, environ)
    assert named.format(**paths) in str(caught.value)


def test_an_unreadable_token_file_stops_the_start_with_status_2(tmp_path: Path) -> None:
    missing = tmp_path / "secret"
    done = serve("--host", "0.0.0.0", "--port", "0", env={FILE_ENV: str(missing)})
    assert done.returncode == 2, done.stderr
    assert str(missing) in done.stderr and FILE_ENV in done.stderr
    assert "http://" not in done.stderr  # it stopped before binding


def test_a_token_file_and_a_public_host_from_the_environment_are_what_the_served_mock_uses(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token\n")
    env = {FILE_ENV: str(secret), "DASHSCOPE_MOCK_PUBLIC_HOST": "mock.example"}
    with served(env=env) as base:
        assert httpx.get(f"{base}/_mock/clock", timeout=HANG_GUARD).status_code == 401
        authorized = {"Authorization": "Bearer s3cret-token"}
        assert httpx.get(f"{base}/_mock/clock", headers=authorized, timeout=HANG_GUARD).status_code == 200
        named = {"Host": "mock.example"}
        assert httpx.get(f"{base}/_mock/health", headers=named, timeout=HANG_GUARD).status_code == 200
        foreign = {"Host": "other.example"}
        assert httpx.get(f"{base}/_mock/health", headers=foreign, timeout=HANG_GUARD).status_code == 403
        assert httpx.get(f"{base}/_mock/health", timeout=HANG_GUARD).json() == {"status": "ok"}  # no token needed


# ------------------------------------------------------------------------------------------------- state folders
def test_the_folders_checked_are_the_sqlite_files_and_the_uploads(tmp_path: Path) -> None:
    assert state_folders("memory", None) == []
    assert state_folders("redis://127.0.0.1:6379/0", None) == []
    assert state_folders(f"sqlite:///{tmp_path}/a/mock.db", str(tmp_path / "up")) == [
        ("--state", tmp_path / "a"),
        ("--upload-dir", tmp_path / "up"),
    ]
    assert unwritable_folder(tmp_path / "made" / "here") is None  # a missing folder is made
    assert (tmp_path / "made" / "here").is_dir()


@pytest.mark.parametrize("option", ["--state", "--upload-dir", "DASHSCOPE_MOCK_STATE", "DASHSCOPE_MOCK_UPLOAD_DIR"])
def test_a_folder_the_mock_cannot_write_fails_at_start_naming_it(tmp_path: Path, option: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a file where the folder should be: unwritable for root too
    folder = blocker / "state"
    value = f"sqlite:///{folder}/mock.db" if option.endswith("STATE") or option == "--state" else str(folder)
    as_argument = option.startswith("--")
    done = serve("--port", "0", *((option, value) if as_argument else ()), env={} if as_argument else {option: value})
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    named = "--state" if "STATE" in option.upper() and "UPLOAD" not in option.upper() else "--upload-dir"
    assert lines[0].startswith(f"dashscope-mock: {named}: cannot write to {folder} ("), lines[0]
