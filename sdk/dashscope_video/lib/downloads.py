"""Downloading a result video: streamed to a temporary file next to the target, then renamed into place."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx

from .. import _effects as fx
from .._base_client import USER_AGENT, BaseClient, wrap_transport_error
from .._errors import DownloadError, ResultExpired, parse_error_body, result_validity_hours
from .._retry import parse_retry_after, status_is_retryable
from ..types import Task

__all__ = ["download"]


def download(client: BaseClient[Any, Any], task: Task[Any] | str, path: str | os.PathLike[str]) -> fx.Plan[Path]:
    """The plan behind ``tasks.download`` (see its docstring there)."""
    if isinstance(task, str):
        url = task
    elif not isinstance(task, Task):
        raise TypeError(f"download takes a Task (from tasks.get or wait) or a result URL, not {type(task).__name__}")
    elif task.result is not None:
        url = task.result.video_url
    else:
        raise DownloadError(f"the task has no result video (status {task.status})", url="")
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        request = httpx.Request(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT},  # the result link is pre-signed: no API key
            extensions={"timeout": client.timeout_dict()},
        )
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            response = yield from fx.send(request, stream=True, follow_redirects=True)
            if response.status_code == 403:
                yield from fx.read(response)
                _, message, _, _ = parse_error_body(response)
                raise ResultExpired(
                    f"the result link answered 403 ({message}): result URLs are valid for "
                    f"{result_validity_hours():g} h after the task ends; submit the task again",
                    url=url,
                    response=response,
                )
            if not response.is_success:
                yield from fx.read(response)
                if attempt < client.retry.max_retries and status_is_retryable(response):
                    yield from fx.sleep(client.retry.delay(attempt, parse_retry_after(response), client.rng))
                    attempt += 1
                    continue
                raise DownloadError(
                    f"download failed: HTTP {response.status_code} from {response.url.host}", url=url, response=response
                )
            yield from fx.save(response, temp)
            os.replace(temp, target)
            return target
        except httpx.TransportError as exc:
            if attempt < client.retry.max_retries:
                yield from fx.sleep(client.retry.delay(attempt, None, client.rng))
                attempt += 1
                continue
            raise wrap_transport_error(exc) from exc
        finally:
            temp.unlink(missing_ok=True)
