"""The console script's options reach the app (uvicorn itself is not started here)."""

from __future__ import annotations

from typing import Any

import pytest

from dashscope_mock import cli


def test_serve_passes_options_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    for name in ("PROFILE", "STATE", "SEED", "KEYS", "MEDIA_CHECKS", "RATE_LIMIT", "LOG_LEVEL"):
        monkeypatch.setenv(cli.ENV_PREFIX + name, "")  # recorded, so that teardown removes what main() sets
        monkeypatch.delenv(cli.ENV_PREFIX + name)
    argv = [
        "serve",
        "--port",
        "0",
        "--profile",
        "realistic",
        "--seed",
        "5",
        "--media-checks",
        "off",
        "--keys",
        "sk-a,sk-b",
        "--rate-limit",
        "off",
    ]
    assert cli.main(argv) == 0
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["factory"] is True and calls[0]["access_log"] is False
    app = cli.app_from_env()
    config = app.backend.config
    assert (config.profile, config.seed, config.media_checks, config.rate_limit) == ("realistic", 5, False, False)
    assert config.keys == frozenset({"sk-a", "sk-b"})


def test_several_workers_need_shared_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    for name in ("PROFILE", "STATE", "MEDIA_CHECKS", "RATE_LIMIT", "LOG_LEVEL"):
        monkeypatch.setenv(cli.ENV_PREFIX + name, "")
        monkeypatch.delenv(cli.ENV_PREFIX + name)
    assert cli.main(["serve", "--workers", "2", "--media-checks", "off"]) == 2
