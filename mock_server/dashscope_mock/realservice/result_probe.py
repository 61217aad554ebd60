"""What the proxy says of a recorded task's result file: fetched once (bounded), probed with the mock's own media
probe (container, codecs, duration, sides); the bytes are kept only when the recorder keeps media."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from dashscope_openapi import load_spec

__all__ = ["describe_result", "result_url"]


async def describe_result(client: httpx.AsyncClient, url: str, most: int) -> tuple[dict[str, Any], bytes | None]:
    """The metadata of the file at ``url`` and its bytes (``None`` when it could not be fetched within ``most``)."""
    content: bytes | None = None
    metadata: dict[str, Any] = {}
    try:
        async with client.stream("GET", url) as response:
            metadata["content_type"] = response.headers.get("content-type", "")
            if response.status_code != 200:
                metadata["error"] = f"HTTP {response.status_code}"
            else:
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > most:
                        metadata["error"] = f"larger than {most} bytes: not kept, not probed"
                        break
                    chunks.append(chunk)
                metadata["size_bytes"] = size
                if "error" not in metadata:
                    content = b"".join(chunks)
    except httpx.HTTPError as error:
        metadata["error"] = f"{type(error).__name__}: {error}"
    if content is not None:
        metadata.update(await asyncio.to_thread(_probe, content))
    return metadata, content


def result_url(body: Any, model: str | None) -> str | None:
    """The result URL of a SUCCEEDED answer, where ``x-models.<model>.result.video_url`` says it is."""
    models: Mapping[str, Any] = load_spec()["x-models"]
    output = body.get("output") if isinstance(body, dict) else None
    if model is None or model not in models or not isinstance(output, dict) or output.get("task_status") != "SUCCEEDED":
        return None
    node: Any = body
    for part in str(models[model]["result"]["video_url"]).split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, str) and node.startswith(("http://", "https://")) else None


def _probe(content: bytes) -> dict[str, Any]:
    """The result's container, codecs, duration and sides (``media.probe``), or why not."""
    try:
        from ..media.probe import ProbeError, probe_audio, probe_video
    except ImportError:
        return {"error": "the media stack is not installed: not probed"}
    with tempfile.TemporaryDirectory(prefix="dashscope-proxy-") as folder:
        path = Path(folder) / "result"
        path.write_bytes(content)
        try:
            video = probe_video(path)
        except ProbeError as error:
            return {"error": f"not a video: {error}"}
        found: dict[str, Any] = {
            "container": ",".join(sorted(video.formats)),
            "video_codec": video.codec,
            "duration_seconds": round(video.duration, 3),
            "width": video.width,
            "height": video.height,
        }
        if video.has_audio:
            with contextlib.suppress(ProbeError):
                found["audio_codec"] = probe_audio(path).codec
        return found
