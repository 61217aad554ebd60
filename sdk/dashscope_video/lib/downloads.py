"""Downloading a result video: streamed to a temporary file next to the target, then renamed into place."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx

from .. import _effects as fx
from .._base_client import USER_AGENT, BaseClient, wrap_transport_error
from .._errors import DownloadError, ResultExpired, TaskNotFinished, parse_error_body, result_validity_hours
from .._retry import parse_retry_after, status_is_retryable
from ..types import Task
from .waiting import SUCCEEDED, raise_if_finished

__all__ = ["as_result_url", "download", "result_url"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def as_result_url(text: str) -> str | None:
    """``text`` when it is a result URL (``http(s)://``), ``None`` when it is a task id; ``ValueError`` for another
    scheme, which neither the result links nor task ids use (``oss://`` is an input, not a result)."""
    if text.lower().startswith(("http://", "https://")):
        return text
    if _SCHEME.match(text):
        raise ValueError(f"download takes a task id or an http(s) result URL, not {text!r}")
    return None


def result_url(task: Task[Any]) -> str:
    """The result link of a SUCCEEDED task; for any other status, why there is none as a typed error."""
    if task.result is not None:
        url: str = task.result.video_url
        return url
    raise_if_finished(task)  # FAILED, CANCELED, UNKNOWN: the same errors ``wait`` raises
    if task.status == SUCCEEDED:  # without a link: the answer was incomplete
        raise DownloadError(f"task {task.task_id} SUCCEEDED without a result video", url="")
    raise TaskNotFinished(
        f"task {task.task_id} is {task.status}: it has no result yet; wait for it first (tasks.wait), then download",
        task_id=task.task_id,
        task=task,
        status=str(task.status),
    )


def download(client: BaseClient[Any, Any], source: Task[Any] | str, path: str | os.PathLike[str]) -> fx.Plan[Path]:
    """The plan behind ``tasks.download`` (see its docstring there), once the task is known: ``source`` is a ``Task``
    or a result URL."""
    url = source if isinstance(source, str) else result_url(source)
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
