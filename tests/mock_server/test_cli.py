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


def test_every_setting_with_a_flag_is_a_serve_option_with_its_variable() -> None:
    from dashscope_mock.config import ENV_PREFIX, SETTINGS

    parser = cli._parser()
    serve = next(a for a in parser._actions if a.dest == "command").choices["serve"]  # type: ignore[union-attr]
    text = serve.format_help()
    for setting in SETTINGS:
        if setting.flag is not None:
            assert setting.flag in text and f"{ENV_PREFIX}{setting.env}" in text, setting.flag


def test_a_setting_read_from_the_environment_is_parsed_by_its_row() -> None:
    from dashscope_mock.config import MockConfig

    config = MockConfig.from_env(
        {
            "DASHSCOPE_MOCK_KEYS": "sk-a, sk-b",
            "DASHSCOPE_MOCK_CLOCK_START": "1800000000",
            "DASHSCOPE_MOCK_REPLAY_MODE": "strict",
            "DASHSCOPE_MOCK_PUBLIC_HOST": "Mock.Example, other",
            "DASHSCOPE_MOCK_STRICT_FIELDS": "on",
        }
    )
    assert config.keys == frozenset({"sk-a", "sk-b"}) and config.clock_start == 1_800_000_000.0
    assert config.replay_strict and config.strict_fields and config.public_hosts == ("mock.example", "other")


def test_a_setting_that_cannot_be_read_is_refused_naming_its_option_and_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    for name in ("MEDIA_WORKERS", "MEDIA_CHECKS", "LOG_LEVEL"):
        monkeypatch.setenv(cli.ENV_PREFIX + name, "")
        monkeypatch.delenv(cli.ENV_PREFIX + name)
    assert cli.main(["serve", "--port", "0", "--media-checks", "off", "--media-workers", "many"]) == 2
    assert "--media-workers (DASHSCOPE_MOCK_MEDIA_WORKERS): invalid literal for int()" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DASHSCOPE_MOCK_MEDIA_CHECK", "off", "DASHSCOPE_MOCK_MEDIA_CHECK: no such setting"),
        ("DASHSCOPE_MOCK_REPLAY_MODE", "strct", "--replay-mode (DASHSCOPE_MOCK_REPLAY_MODE): 'strct' is not one of"),
        ("DASHSCOPE_MOCK_RATE_LIMIT", "of", "--rate-limit (DASHSCOPE_MOCK_RATE_LIMIT): 'of' is neither on nor off"),
        ("DASHSCOPE_MOCK_PROFILE", "realstic", "--profile (DASHSCOPE_MOCK_PROFILE): 'realstic' is not one of"),
    ],
)
def test_a_misspelt_variable_or_value_is_refused_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, said: str
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    for name in ("MEDIA_CHECKS", "LOG_LEVEL"):
        monkeypatch.setenv(cli.ENV_PREFIX + name, "")
        monkeypatch.delenv(cli.ENV_PREFIX + name)
    monkeypatch.setenv(variable, value)
    assert cli.main(["serve", "--port", "0", "--media-checks", "off"]) == 2
    assert said in capsys.readouterr().err
