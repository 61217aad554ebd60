from __future__ import annotations

import pytest

from dashscope_openapi import load_spec
from dashscope_video import REGIONS, Client
from dashscope_video._config import resolve_base_url
from dashscope_video.errors import ConfigurationError


def test_region_presets_are_the_spec_servers() -> None:
    urls = {server["url"] for server in load_spec()["servers"]}
    assert {region.base_url for region in REGIONS.values()} == urls
    assert set(REGIONS) == {"beijing", "singapore", "us", "hongkong"}


def test_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_BASE_URL", raising=False)
    monkeypatch.delenv("DASHSCOPE_REGION", raising=False)
    assert resolve_base_url() == REGIONS["beijing"].base_url
    monkeypatch.setenv("DASHSCOPE_REGION", "ap-southeast-1")
    assert resolve_base_url() == REGIONS["singapore"].base_url
    monkeypatch.setenv("DASHSCOPE_BASE_URL", "http://127.0.0.1:9/api/v1/")
    assert resolve_base_url() == "http://127.0.0.1:9"
    assert resolve_base_url(region_name="us") == REGIONS["us"].base_url
    assert resolve_base_url(base_url="https://x.test") == "https://x.test"


def test_key_from_env_or_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        Client()
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-env")
    with Client(region="hongkong") as client:
        assert client.base_url == REGIONS["hongkong"].base_url
    with pytest.raises(ConfigurationError):
        Client(region="mars")
