"""Configuration: API key, base URL and region presets.

The region presets are the spec's ``servers`` list (``openapi/dashscope-video.yaml``); only their short names live
here, each matched against a server's description, so a URL is never typed twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dashscope_openapi import load_spec

__all__ = ["ENV_API_KEY", "ENV_BASE_URL", "ENV_REGION", "REGIONS", "Region", "resolve_api_key", "resolve_base_url"]

ENV_API_KEY = "DASHSCOPE_API_KEY"
ENV_BASE_URL = "DASHSCOPE_BASE_URL"
ENV_REGION = "DASHSCOPE_REGION"

# Short name -> (words the spec's server description contains, Alibaba Cloud region id).
_PRESETS: Mapping[str, tuple[str, str]] = {
    "beijing": ("Beijing", "cn-beijing"),
    "singapore": ("Singapore", "ap-southeast-1"),
    "us": ("US", "us-east-1"),
    "hongkong": ("Hong Kong", "cn-hongkong"),
}
DEFAULT_REGION = "beijing"


@dataclass(frozen=True)
class Region:
    """A region preset from the spec's ``servers``: its name, region id and base URL."""

    name: str
    region_id: str
    base_url: str
    description: str


def _regions() -> Mapping[str, Region]:
    servers = load_spec()["servers"]
    found: dict[str, Region] = {}
    for name, (words, region_id) in _PRESETS.items():
        matches = [s for s in servers if words in str(s.get("description", "")).split(" — ")[0]]
        if len(matches) != 1:
            raise LookupError(f"region preset {name!r} matches {len(matches)} servers of the spec")
        server = matches[0]
        found[name] = Region(name, region_id, str(server["url"]).rstrip("/"), str(server.get("description", "")))
    return MappingProxyType(found)


REGIONS: Mapping[str, Region] = _regions()
"""The region presets by short name (``beijing``, ``singapore``, ``us``, ``hongkong``), URLs from the spec."""


def region(name: str) -> Region:
    """A preset by short name or Alibaba Cloud region id (``cn-beijing``, ``ap-southeast-1``, ...)."""
    key = name.strip().lower().replace("_", "-")
    for preset in REGIONS.values():
        if key in (preset.name, preset.region_id, preset.name.replace("hongkong", "hong-kong")):
            return preset
    raise ValueError(
        f"unknown region {name!r}; known: {', '.join(REGIONS)} (or {', '.join(r.region_id for r in REGIONS.values())})"
    )


def normalise_base_url(url: str) -> str:
    """Strip a trailing ``/`` and ``/api/v1``: the official SDK's base URLs include it, the spec's paths do too."""
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://, got {url!r}")
    return url


def resolve_base_url(base_url: str | None = None, region_name: str | None = None) -> str:
    """``base_url`` argument, else ``region`` argument, else ``$DASHSCOPE_BASE_URL``, else ``$DASHSCOPE_REGION``,
    else Beijing (the only region the spec documents for these models)."""
    if base_url is not None and region_name is not None:
        raise ValueError("pass either base_url or region, not both")
    if base_url is not None:
        return normalise_base_url(base_url)
    if region_name is not None:
        return region(region_name).base_url
    env_url = os.environ.get(ENV_BASE_URL)
    if env_url:
        return normalise_base_url(env_url)
    env_region = os.environ.get(ENV_REGION)
    if env_region:
        return region(env_region).base_url
    return REGIONS[DEFAULT_REGION].base_url


def resolve_api_key(api_key: str | None = None) -> str | None:
    """``api_key`` argument, else ``$DASHSCOPE_API_KEY``; ``None`` when neither is set."""
    if api_key:
        return api_key
    return os.environ.get(ENV_API_KEY) or None
