"""``Client`` and ``AsyncClient``: the SDK over the generated client.

The generated client (``dashscope_video_client``) builds every request (its per-operation ``_get_kwargs``: path,
query, headers, JSON body from its attrs models) and its models parse every answer. This layer owns the sending —
timeouts on every call, retries, the query-rate limit, waiting, uploads and downloads — so it can see every status
and header, retry safely and stream. ``client.generated`` is the configured ``AuthenticatedClient`` for anyone who
wants to call the generated functions directly.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self, TypeAlias, TypeVar, cast

import attrs
import httpx

from dashscope_openapi import error_catalogue
from dashscope_video_client import AuthenticatedClient
from dashscope_video_client.api.face_detect import detect_face as _detect_api
from dashscope_video_client.api.tasks import cancel_task as _cancel_api
from dashscope_video_client.api.tasks import get_task as _get_api
from dashscope_video_client.api.tasks import list_tasks as _list_api
from dashscope_video_client.api.uploads import get_upload_policy as _policy_api
from dashscope_video_client.api.video_synthesis import create_video_synthesis as _submit_api
from dashscope_video_client.models import (
    CancelResponse,
    DetectInput,
    EmoDetectOutput,
    EmoDetectParameters,
    EmoDetectParametersRatio,
    EmoDetectRequest,
    EmoInput,
    EmoParameters,
    EmoParametersStyleLevel,
    EmoRequest,
    FaceDetectResponse,
    ListTasksStatus,
    LivePortraitDetectOutput,
    LivePortraitDetectRequest,
    LivePortraitInput,
    LivePortraitParameters,
    LivePortraitParametersTemplateId,
    LivePortraitRequest,
    SubmitResponse,
    TaskListItem,
    TaskListResponse,
    TaskResponse,
    UploadPolicy,
    UploadPolicyResponse,
    VideoRetalkInput,
    VideoRetalkParameters,
    VideoRetalkRequest,
)
from dashscope_video_client.types import UNSET, Unset

from . import _effects as fx
from ._clock import Clock, SleepHook, make_clock
from ._config import resolve_api_key, resolve_base_url
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DashScopeError,
    DownloadError,
    ResultExpired,
    TaskCanceled,
    TaskNotFound,
    UploadError,
    WaitTimeout,
    from_response,
    parse_error_body,
    result_validity_hours,
    task_failed,
)
from ._limiter import QueryLimiter, limiter_for
from ._retry import PollPolicy, RetryPolicy, parse_retry_after, status_is_retryable, transport_error_is_retryable
from ._uploads import MediaInput, UploadState, form_fields, local_path, needs_resolve, object_key
from ._wait import CANCELED, FAILED, SUCCEEDED, UNKNOWN, ProgressCallback, WaitProgress, status_of

__all__ = [
    "AsyncClient",
    "Client",
    "DetectionRejected",
    "EmoDetection",
    "LivePortraitDetection",
    "TaskRef",
    "VideoRequest",
    "result_url",
]

__version__ = "0.1.0"
USER_AGENT = f"dashscope-video/{__version__} httpx/{httpx.__version__}"

VideoRequest: TypeAlias = LivePortraitRequest | EmoRequest | VideoRetalkRequest
TaskRef: TypeAlias = str | SubmitResponse | TaskResponse
M = TypeVar("M")

DEFAULT_TIMEOUT = 60.0
DEFAULT_UPLOAD_TIMEOUT = 600.0


@dataclass(frozen=True)
class LivePortraitDetection:
    """liveportrait-detect's verdict. ``passed`` is ``output.pass``."""

    passed: bool
    message: str | None
    request_id: str | None
    response: FaceDetectResponse | None = None
    error: APIStatusError | None = None
    """Set when the service delivered the rejection as a 400 check-failure code instead of ``pass: false``."""


@dataclass(frozen=True)
class EmoDetection:
    """emo-detect-v1's verdict and the boxes to pass to emo-v1."""

    passed: bool
    face_bbox: builtins.list[int] | None
    ext_bbox: builtins.list[int] | None
    code: str | None
    message: str | None
    request_id: str | None
    response: FaceDetectResponse | None = None
    error: APIStatusError | None = None
    """Set when the service delivered the rejection as a 400 check-failure code instead of ``check_pass: false``."""


class DetectionRejected(DashScopeError):
    """``submit_emo`` without boxes ran emo-detect-v1 first, and it rejected the image."""

    def __init__(self, detection: EmoDetection) -> None:
        super().__init__(f"emo-detect-v1 rejected the image: {detection.code or ''} {detection.message or ''}".strip())
        self.detection = detection
        self.code = detection.code


def task_id_of(task: TaskRef) -> str:
    if isinstance(task, str):
        return task
    return task.output.task_id


def result_url(task: TaskResponse) -> str | None:
    """The result video's URL: ``output.results.video_url`` (liveportrait, emo-v1) or ``output.video_url``
    (videoretalk); ``None`` before SUCCEEDED."""
    out = task.output
    if not isinstance(out.results, Unset):
        return out.results.video_url
    if not isinstance(out.video_url, Unset):
        return out.video_url
    return None


def _unset(value: M | None) -> M | Unset:
    return UNSET if value is None else value


def _as_url(value: MediaInput) -> str:
    """A media input as the string the generated models hold; local files become ``file://`` URLs, uploaded later."""
    if isinstance(value, os.PathLike):
        return Path(value).expanduser().resolve().as_uri()
    return str(value)


class _Base:
    """Configuration and the plans (see ``_effects``) both clients run."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        clock: Clock | None = None,
        sleep: SleepHook | None = None,
        monotonic: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        limiter: QueryLimiter | None = None,
    ) -> None:
        key = resolve_api_key(api_key)
        if not key:
            raise ConfigurationError("no API key: pass api_key=... or set DASHSCOPE_API_KEY")
        try:
            self.base_url = resolve_base_url(base_url, region)
        except (LookupError, ValueError) as exc:
            raise ConfigurationError(str(exc)) from exc
        if timeout <= 0 or upload_timeout <= 0:
            raise ConfigurationError("timeouts must be positive")
        self._api_key = key
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.clock = make_clock(clock, sleep, monotonic)
        self.limiter = limiter or limiter_for(self.clock)
        self._rng = rng or random.Random()
        self._uploads = UploadState()

    def _generated(self, transport: Any, http_client: Any, *, is_async: bool) -> AuthenticatedClient:
        httpx_args: dict[str, Any] = {}
        if transport is not None:
            httpx_args["transport"] = transport
        gen = AuthenticatedClient(
            base_url=self.base_url, token=self._api_key, timeout=httpx.Timeout(self.timeout), httpx_args=httpx_args
        )
        if http_client is not None:
            if is_async:
                gen.set_async_httpx_client(http_client)
            else:
                gen.set_httpx_client(http_client)
        return gen

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # ------------------------------------------------------------------------------------------- requests
    def _timeout(self, seconds: float | None = None) -> dict[str, float | None]:
        value: dict[str, float | None] = httpx.Timeout(seconds if seconds is not None else self.timeout).as_dict()
        return value

    def _request(
        self, kwargs: dict[str, Any], *, headers: dict[str, str] | None = None, timeout: float | None = None
    ) -> httpx.Request:
        """An ``httpx.Request`` from a generated ``_get_kwargs`` result, with auth, user agent and timeout."""
        all_headers = {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT}
        all_headers.update({str(k): str(v) for k, v in kwargs.get("headers", {}).items()})
        all_headers.update(headers or {})
        return httpx.Request(
            str(kwargs["method"]).upper(),
            self.base_url + str(kwargs["url"]),
            params=kwargs.get("params"),
            json=kwargs.get("json"),
            headers=all_headers,
            extensions={"timeout": self._timeout(timeout)},
        )

    @staticmethod
    def _parse(response: httpx.Response, model: Callable[[Any], M]) -> M:
        try:
            return model(response.json())
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise APIResponseValidationError(
                f"unexpected {response.status_code} answer from {response.request.url.path}: {exc!r}",
                response=response,
            ) from exc

    def _call(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool,
        model: str | None = None,
        limited: bool = False,
    ) -> fx.Plan[httpx.Response]:
        """Send with the retry rules of ``_retry`` and raise the catalogue's exception on an error answer."""
        attempt = 0
        while True:
            if limited:
                yield from fx.sleep(self.limiter.reserve())
            request = build()
            try:
                response = yield from fx.send(request)
            except httpx.TransportError as exc:
                if attempt < self.retry.max_retries and transport_error_is_retryable(exc, idempotent=idempotent):
                    yield from fx.sleep(self.retry.delay(attempt, None, self._rng))
                    attempt += 1
                    continue
                raise _wrap_transport(exc) from exc
            if response.is_success:
                return response
            if idempotent and attempt < self.retry.max_retries and status_is_retryable(response):
                yield from fx.sleep(self.retry.delay(attempt, parse_retry_after(response), self._rng))
                attempt += 1
                continue
            raise from_response(response, model=model)

    # ------------------------------------------------------------------------------------------- uploads
    def _policy_plan(self, model: str) -> fx.Plan[UploadPolicy]:
        fetched_at = self.clock.monotonic()
        kwargs = _policy_api._get_kwargs(action="getPolicy", model=model)
        response = yield from self._call(lambda: self._request(kwargs), idempotent=True, model=model)
        policy = self._parse(response, UploadPolicyResponse.from_dict).data
        self._uploads.store_policy(model, policy, fetched_at)
        return policy

    def _upload_plan(self, path: Path, model: str) -> fx.Plan[str]:
        cached = self._uploads.uploaded(model, path, self.clock.monotonic())
        if cached is not None:
            return cached
        for renewal in range(2):
            policy = self._uploads.policy(model, self.clock.monotonic())
            if policy is None:
                policy = yield from self._policy_plan(model)
            size = path.stat().st_size
            if size > policy.max_file_size_mb * 1024 * 1024:
                raise UploadError(f"{path} is {size} bytes; uploads are limited to {policy.max_file_size_mb} MB")
            keys: builtins.list[str] = []
            handles: builtins.list[BinaryIO] = []
            timeout = httpx.Timeout(self.timeout, read=self.upload_timeout, write=self.upload_timeout).as_dict()

            def build(
                policy: UploadPolicy = policy,
                timeout: dict[str, float | None] = timeout,
                keys: builtins.list[str] = keys,
                handles: builtins.list[BinaryIO] = handles,
            ) -> httpx.Request:
                # A fresh object name per attempt: with x-oss-forbid-overwrite a retried POST whose first attempt
                # did land would otherwise be refused.
                key = object_key(policy.upload_dir, path)
                keys.append(key)
                fields = form_fields(policy, key, path)
                handle = path.open("rb")
                handles.append(handle)
                return httpx.Request(
                    "POST",
                    policy.upload_host,
                    data=fields,
                    files={"file": (path.name, handle, fields["x-oss-content-type"])},
                    headers={"User-Agent": USER_AGENT},  # never the API key: the upload host is not DashScope
                    extensions={"timeout": timeout},
                )

            try:
                yield from self._call(build, idempotent=True, model=model)
            except APIStatusError as exc:
                if exc.status == 403 and renewal == 0:  # expired or revoked policy: renew once
                    self._uploads.forget_policy(model)
                    continue
                raise UploadError(f"upload of {path.name} failed: {exc}", response=exc.response, code=exc.code) from exc
            finally:
                for handle in handles:
                    handle.close()
            url = f"oss://{keys[-1]}"
            self._uploads.store_upload(model, path, url, self.clock.monotonic())
            return url
        raise AssertionError("unreachable")  # pragma: no cover

    def _media_plan(self, value: str, model: str) -> fx.Plan[str]:
        path = local_path(value)
        if path is None:
            return value
        return (yield from self._upload_plan(path, model))

    def _prepare_plan(self, request: VideoRequest) -> fx.Plan[tuple[VideoRequest, bool]]:
        """Upload the request's local inputs for its model; tell whether the resolve header is needed."""
        model = str(request.model)
        inp = request.input_
        changes: dict[str, str] = {}
        for field in attrs.fields(type(inp)):
            value = getattr(inp, field.name)
            if field.name.endswith("_url") and isinstance(value, str) and value:
                new = yield from self._media_plan(value, model)
                if new != value:
                    changes[field.name] = new
        if changes:
            # attrs.evolve over a union of attrs classes does not type-check; the field names come from attrs.fields.
            new_input: Any = attrs.evolve(cast(Any, inp), **changes)
            request = cast(VideoRequest, attrs.evolve(cast(Any, request), input_=new_input))
        resolve = any(
            isinstance(getattr(request.input_, f.name), str) and needs_resolve(getattr(request.input_, f.name))
            for f in attrs.fields(type(request.input_))
        )
        return request, resolve

    # ------------------------------------------------------------------------------------------- operations
    def _submit_plan(self, request: VideoRequest) -> fx.Plan[SubmitResponse]:
        request, resolve = yield from self._prepare_plan(request)
        kwargs = _submit_api._get_kwargs(
            body=request, x_dash_scope_async="enable", x_dash_scope_oss_resource_resolve="enable" if resolve else UNSET
        )
        response = yield from self._call(lambda: self._request(kwargs), idempotent=False, model=str(request.model))
        return self._parse(response, SubmitResponse.from_dict)

    def _get_plan(self, task: TaskRef) -> fx.Plan[TaskResponse]:
        kwargs = _get_api._get_kwargs(task_id_of(task))
        response = yield from self._call(lambda: self._request(kwargs), idempotent=True, limited=True)
        return self._parse(response, TaskResponse.from_dict)

    def _cancel_plan(self, task: TaskRef) -> fx.Plan[CancelResponse]:
        kwargs = _cancel_api._get_kwargs(task_id_of(task))
        response = yield from self._call(lambda: self._request(kwargs), idempotent=True, limited=True)
        return self._parse(response, CancelResponse.from_dict)

    def _list_plan(
        self,
        *,
        status: ListTasksStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        task_id: str | None = None,
        region: str | None = None,
        api_key_id: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> fx.Plan[TaskListResponse]:
        kwargs = _list_api._get_kwargs(
            status=_unset(status),
            model_name=_unset(model_name),
            start_time=_unset(start_time),
            end_time=_unset(end_time),
            task_id=_unset(task_id),
            region=_unset(region),
            api_key_id=_unset(api_key_id),
            page_no=page_no,
            page_size=page_size,
        )
        response = yield from self._call(lambda: self._request(kwargs), idempotent=True, limited=True)
        return self._parse(response, TaskListResponse.from_dict)

    def _detect_plan(
        self, body: EmoDetectRequest | LivePortraitDetectRequest
    ) -> fx.Plan[FaceDetectResponse | APIStatusError]:
        model = str(body.model)
        url = yield from self._media_plan(body.input_.image_url, model)
        body = attrs.evolve(body, input_=DetectInput(image_url=url))
        kwargs = _detect_api._get_kwargs(body=body)
        headers = {"X-DashScope-OssResourceResolve": "enable"} if needs_resolve(url) else None
        try:
            response = yield from self._call(
                lambda: self._request(kwargs, headers=headers), idempotent=True, model=model
            )
        except APIStatusError as exc:
            if _is_check_failure(exc, model):
                return exc
            raise
        return self._parse(response, FaceDetectResponse.from_dict)

    def _detect_liveportrait_plan(self, image: MediaInput) -> fx.Plan[LivePortraitDetection]:
        body = LivePortraitDetectRequest(model="liveportrait-detect", input_=DetectInput(image_url=_as_url(image)))
        answer = yield from self._detect_plan(body)
        if isinstance(answer, APIStatusError):
            return LivePortraitDetection(False, answer.message, answer.request_id, None, answer)
        out = answer.output
        if not isinstance(out, LivePortraitDetectOutput):
            raise APIResponseValidationError("liveportrait-detect answered without `pass`", response=_no_response())
        message = None if isinstance(out.message, Unset) else out.message
        return LivePortraitDetection(out.pass_, message, answer.request_id, answer)

    def _detect_emo_plan(self, image: MediaInput, ratio: EmoDetectParametersRatio) -> fx.Plan[EmoDetection]:
        body = EmoDetectRequest(
            model="emo-detect-v1",
            input_=DetectInput(image_url=_as_url(image)),
            parameters=EmoDetectParameters(ratio=ratio),
        )
        answer = yield from self._detect_plan(body)
        if isinstance(answer, APIStatusError):
            return EmoDetection(False, None, None, answer.code, answer.message, answer.request_id, None, answer)
        out = answer.output
        if not isinstance(out, EmoDetectOutput):
            raise APIResponseValidationError("emo-detect-v1 answered without `check_pass`", response=_no_response())
        return EmoDetection(
            passed=out.check_pass,
            face_bbox=None if isinstance(out.face_bbox, Unset) else out.face_bbox,
            ext_bbox=None if isinstance(out.ext_bbox, Unset) else out.ext_bbox,
            code=None if isinstance(out.code, Unset) else out.code,
            message=None if isinstance(out.message, Unset) else out.message,
            request_id=answer.request_id,
            response=answer,
        )

    def _emo_plan(
        self,
        image: MediaInput,
        audio: MediaInput,
        face_bbox: Sequence[int] | None,
        ext_bbox: Sequence[int] | None,
        ratio: EmoDetectParametersRatio,
        style_level: EmoParametersStyleLevel | None,
    ) -> fx.Plan[SubmitResponse]:
        if (face_bbox is None) != (ext_bbox is None):
            raise ValueError("pass both face_bbox and ext_bbox, or neither (then emo-detect-v1 finds them)")
        if face_bbox is None or ext_bbox is None:
            detection = yield from self._detect_emo_plan(image, ratio)
            if not detection.passed or detection.face_bbox is None or detection.ext_bbox is None:
                raise DetectionRejected(detection)
            face_bbox, ext_bbox = detection.face_bbox, detection.ext_bbox
        request = emo_request(image, audio, face_bbox=face_bbox, ext_bbox=ext_bbox, style_level=style_level)
        return (yield from self._submit_plan(request))

    # ------------------------------------------------------------------------------------------- wait
    def _wait_plan(
        self,
        task: TaskRef,
        *,
        timeout: float | None,
        poll: PollPolicy | None,
        on_progress: ProgressCallback | None,
        cancel_on_timeout: bool,
        model: str | None = None,
    ) -> fx.Plan[TaskResponse]:
        task_id = task_id_of(task)
        policy = poll or self.poll
        clock = self.clock
        total = default_wait_timeout() if timeout is None else float(timeout)
        start = clock.monotonic()
        deadline = start + total
        polls = 0
        last: TaskResponse | None = None
        last_status: str | None = None
        kwargs = _get_api._get_kwargs(task_id)
        while True:
            yield from fx.sleep(min(self.limiter.reserve(), max(deadline - clock.monotonic(), 0.0)))
            remaining = deadline - clock.monotonic()
            request = self._request(kwargs, timeout=min(self.timeout, max(remaining, 1.0)))
            error: APIError | None = None
            retry_after: float | None = None
            try:
                response = yield from fx.send(request)
            except httpx.TransportError as exc:
                error = _wrap_transport(exc)
            else:
                if response.is_success:
                    last = self._parse(response, TaskResponse.from_dict)
                    last_status = status_of(last)
                    if last_status == SUCCEEDED:
                        polls += 1
                        _report(on_progress, task_id, last_status, last, polls, clock.monotonic() - start, 0.0, None)
                        return last
                    if last_status == FAILED:
                        raise task_failed(last, model=model)
                    if last_status == CANCELED:
                        raise TaskCanceled(f"task {task_id} was canceled", task_id=task_id, task=last)
                    if last_status == UNKNOWN:
                        raise TaskNotFound(
                            f"task {task_id} reads UNKNOWN: no such task for this account, or older than the "
                            "retention period",
                            task_id=task_id,
                            task=last,
                        )
                elif status_is_retryable(response):
                    error = from_response(response)
                    retry_after = parse_retry_after(response)
                else:
                    raise from_response(response)
            interval = policy.interval(polls, self._rng)
            polls += 1
            if retry_after is not None:
                interval = max(interval, min(retry_after, policy.max_retry_after))
            remaining = deadline - clock.monotonic()
            # A pause never overshoots the deadline; the poll after a pause that reaches it is the last one.
            pause = max(min(interval, remaining), 0.0)
            _report(on_progress, task_id, last_status, last, polls, clock.monotonic() - start, pause, error)
            if remaining <= 0:
                break
            yield from fx.sleep(pause)
        canceled = False
        if cancel_on_timeout:
            try:
                yield from self._cancel_plan(task_id)
                canceled = True
            except DashScopeError:
                canceled = False
        elapsed = clock.monotonic() - start
        raise WaitTimeout(
            f"task {task_id} still {last_status or 'unseen'} after {elapsed:.1f} s (deadline {total:g} s)"
            + ("; canceled" if canceled else ""),
            task_id=task_id,
            task=last,
            last_status=last_status,
            elapsed=elapsed,
            canceled=canceled,
        )

    def _submit_and_wait_plan(
        self,
        request: VideoRequest,
        *,
        timeout: float | None,
        poll: PollPolicy | None,
        on_progress: ProgressCallback | None,
        cancel_on_timeout: bool,
    ) -> fx.Plan[TaskResponse]:
        submitted = yield from self._submit_plan(request)
        return (
            yield from self._wait_plan(
                submitted,
                timeout=timeout,
                poll=poll,
                on_progress=on_progress,
                cancel_on_timeout=cancel_on_timeout,
                model=str(request.model),
            )
        )

    # ------------------------------------------------------------------------------------------- download
    def _download_plan(self, task: TaskResponse | str, path: str | os.PathLike[str]) -> fx.Plan[Path]:
        url = task if isinstance(task, str) else result_url(task)
        if url is None:
            status = status_of(task) if isinstance(task, TaskResponse) else "?"
            raise DownloadError(f"the task has no result video (status {status})", url="")
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            request = httpx.Request(
                "GET",
                url,
                headers={"User-Agent": USER_AGENT},  # the result link is pre-signed: no API key
                extensions={"timeout": self._timeout()},
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
                    if attempt < self.retry.max_retries and status_is_retryable(response):
                        yield from fx.sleep(self.retry.delay(attempt, parse_retry_after(response), self._rng))
                        attempt += 1
                        continue
                    raise DownloadError(
                        f"download failed: HTTP {response.status_code} from {response.url.host}",
                        url=url,
                        response=response,
                    )
                yield from fx.save(response, temp)
                os.replace(temp, target)
                return target
            except httpx.TransportError as exc:
                if attempt < self.retry.max_retries:
                    yield from fx.sleep(self.retry.delay(attempt, None, self._rng))
                    attempt += 1
                    continue
                raise _wrap_transport(exc) from exc
            finally:
                temp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------- request builders
def liveportrait_request(
    image: MediaInput,
    audio: MediaInput,
    *,
    parameters: LivePortraitParameters | None = None,
    template_id: LivePortraitParametersTemplateId | None = None,
    eye_move_freq: float | None = None,
    video_fps: int | None = None,
    mouth_move_strength: float | None = None,
    paste_back: bool | None = None,
    head_move_strength: float | None = None,
) -> LivePortraitRequest:
    """A ``LivePortraitRequest``; unset keyword parameters keep the service's defaults."""
    if parameters is not None and any(
        v is not None
        for v in (template_id, eye_move_freq, video_fps, mouth_move_strength, paste_back, head_move_strength)
    ):
        raise ValueError("pass parameters= or keyword parameters, not both")
    if parameters is None and any(
        v is not None
        for v in (template_id, eye_move_freq, video_fps, mouth_move_strength, paste_back, head_move_strength)
    ):
        parameters = LivePortraitParameters(
            template_id=_unset(template_id),
            eye_move_freq=_unset(eye_move_freq),
            video_fps=_unset(video_fps),
            mouth_move_strength=_unset(mouth_move_strength),
            paste_back=_unset(paste_back),
            head_move_strength=_unset(head_move_strength),
        )
    return LivePortraitRequest(
        model="liveportrait",
        input_=LivePortraitInput(image_url=_as_url(image), audio_url=_as_url(audio)),
        parameters=_unset(parameters),
    )


def emo_request(
    image: MediaInput,
    audio: MediaInput,
    *,
    face_bbox: Sequence[int],
    ext_bbox: Sequence[int],
    style_level: EmoParametersStyleLevel | None = None,
) -> EmoRequest:
    return EmoRequest(
        model="emo-v1",
        input_=EmoInput(
            image_url=_as_url(image), audio_url=_as_url(audio), face_bbox=list(face_bbox), ext_bbox=list(ext_bbox)
        ),
        parameters=UNSET if style_level is None else EmoParameters(style_level=style_level),
    )


def videoretalk_request(
    video: MediaInput,
    audio: MediaInput,
    *,
    ref_image: MediaInput | None = None,
    video_extension: bool | None = None,
) -> VideoRetalkRequest:
    return VideoRetalkRequest(
        model="videoretalk",
        input_=VideoRetalkInput(
            video_url=_as_url(video),
            audio_url=_as_url(audio),
            ref_image_url=UNSET if ref_image is None else _as_url(ref_image),
        ),
        parameters=UNSET if video_extension is None else VideoRetalkParameters(video_extension=video_extension),
    )


def default_wait_timeout() -> float:
    """The default deadline of ``wait``: the service fails a task that has no result after ``task_timeout_hours``
    (``InternalError.Timeout``), so waiting longer cannot help."""
    from dashscope_openapi import limits

    return float(limits()["task_timeout_hours"]) * 3600.0


def _is_check_failure(error: APIStatusError, detector: str) -> bool:
    """A 400 whose code the catalogue documents for this detector: the image was looked at and rejected."""
    if error.status != 400 or error.code is None:
        return False
    return any(detector in entry.models for entry in error_catalogue().entries_for(error.code))


def _no_response() -> httpx.Response:
    return httpx.Response(200, request=httpx.Request("POST", "http://invalid/"))


def _wrap_transport(exc: httpx.TransportError) -> APIConnectionError:
    request = None
    with contextlib.suppress(RuntimeError):  # a transport error raised outside a request has none
        request = exc.request
    where = f" ({request.method} {request.url.host}{request.url.path})" if request is not None else ""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out{where}: {type(exc).__name__}", request=request)
    return APIConnectionError(f"connection failed{where}: {type(exc).__name__}: {exc}", request=request)


def _report(
    callback: ProgressCallback | None,
    task_id: str,
    status: str | None,
    task: TaskResponse | None,
    polls: int,
    elapsed: float,
    pause: float,
    error: APIError | None,
) -> None:
    if callback is not None:
        callback(WaitProgress(task_id, status, task, polls, elapsed, pause, error))


# =============================================================================================== the clients
class Client(_Base):
    """Synchronous client. Configuration from arguments or the environment::

        client = Client()                                   # DASHSCOPE_API_KEY, DASHSCOPE_BASE_URL (or Beijing)
        client = Client("sk-...", region="singapore")       # a preset from the spec's servers
        client = Client(base_url="http://127.0.0.1:8000")   # e.g. the mock

    ``timeout`` bounds every HTTP request (seconds); ``transport`` / ``http_client`` inject an httpx transport or
    client; ``clock`` or ``sleep`` (+ optional ``monotonic``) inject time; ``retry`` / ``poll`` tune retries and
    polling. Use as a context manager or call ``close()``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        sleep: SleepHook | None = None,
        monotonic: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        limiter: QueryLimiter | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            region=region,
            timeout=timeout,
            upload_timeout=upload_timeout,
            retry=retry,
            poll=poll,
            clock=clock,
            sleep=sleep,
            monotonic=monotonic,
            rng=rng,
            limiter=limiter,
        )
        self.generated = self._generated(transport, http_client, is_async=False)
        self._owns_http = http_client is None
        self._http = self.generated.get_httpx_client()

    def _run(self, plan: fx.Plan[M]) -> M:
        return fx.run_sync(plan, self._http, self.clock)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- submit
    def submit(self, request: VideoRequest) -> SubmitResponse:
        """Submit any video request (a generated ``LivePortraitRequest``, ``EmoRequest`` or ``VideoRetalkRequest``).
        Local inputs (``file://`` URLs or paths) are uploaded first. Not retried once sent (see ``_retry``)."""
        return self._run(self._submit_plan(request))

    def submit_liveportrait(
        self,
        image: MediaInput,
        audio: MediaInput,
        *,
        parameters: LivePortraitParameters | None = None,
        template_id: LivePortraitParametersTemplateId | None = None,
        eye_move_freq: float | None = None,
        video_fps: int | None = None,
        mouth_move_strength: float | None = None,
        paste_back: bool | None = None,
        head_move_strength: float | None = None,
    ) -> SubmitResponse:
        return self.submit(
            liveportrait_request(
                image,
                audio,
                parameters=parameters,
                template_id=template_id,
                eye_move_freq=eye_move_freq,
                video_fps=video_fps,
                mouth_move_strength=mouth_move_strength,
                paste_back=paste_back,
                head_move_strength=head_move_strength,
            )
        )

    def submit_emo(
        self,
        image: MediaInput,
        audio: MediaInput,
        *,
        face_bbox: Sequence[int] | None = None,
        ext_bbox: Sequence[int] | None = None,
        ratio: EmoDetectParametersRatio = "1:1",
        style_level: EmoParametersStyleLevel | None = None,
    ) -> SubmitResponse:
        """Submit emo-v1. Without boxes, emo-detect-v1 runs first (with ``ratio``) and ``DetectionRejected`` is
        raised if it rejects the image."""
        return self._run(self._emo_plan(image, audio, face_bbox, ext_bbox, ratio, style_level))

    def submit_videoretalk(
        self,
        video: MediaInput,
        audio: MediaInput,
        *,
        ref_image: MediaInput | None = None,
        video_extension: bool | None = None,
    ) -> SubmitResponse:
        return self.submit(videoretalk_request(video, audio, ref_image=ref_image, video_extension=video_extension))

    # --- tasks
    def get(self, task: TaskRef) -> TaskResponse:
        """Query a task once (retried on 429/5xx/network; counts against the process-wide query limit)."""
        return self._run(self._get_plan(task))

    def cancel(self, task: TaskRef) -> CancelResponse:
        """Cancel a PENDING task (any other status: ``BadRequestError[UnsupportedOperation]``)."""
        return self._run(self._cancel_plan(task))

    def list(
        self,
        *,
        status: ListTasksStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        task_id: str | None = None,
        region: str | None = None,
        api_key_id: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> TaskListResponse:
        """One page of the account's tasks (times ``YYYYMMDDhhmmss``)."""
        return self._run(
            self._list_plan(
                status=status,
                model_name=model_name,
                start_time=start_time,
                end_time=end_time,
                task_id=task_id,
                region=region,
                api_key_id=api_key_id,
                page_no=page_no,
                page_size=page_size,
            )
        )

    def iter_tasks(
        self,
        *,
        status: ListTasksStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        page_size: int = 50,
    ) -> Iterator[TaskListItem]:
        """Every task over all pages."""
        page_no = 1
        while True:
            page = self.list(
                status=status,
                model_name=model_name,
                start_time=start_time,
                end_time=end_time,
                page_no=page_no,
                page_size=page_size,
            )
            yield from page.data
            if page_no >= page.total_page or not page.data:
                return
            page_no += 1

    def wait(
        self,
        task: TaskRef,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_timeout: bool = False,
    ) -> TaskResponse:
        """Poll until the task ends; return it on SUCCEEDED.

        ``timeout``: overall deadline in seconds (default: the spec's ``task_timeout_hours``). Polls at once, then
        every ``poll.initial_interval`` (1 s) growing to ``poll.max_interval`` (8 s), jittered; honours
        ``Retry-After``; keeps polling through 429, 5xx and network errors; all waits of the process share the
        account's query-rate limit. Raises ``TaskFailed`` (FAILED), ``TaskCanceled``, ``TaskNotFound`` (UNKNOWN),
        ``WaitTimeout`` at the deadline (after canceling the task if ``cancel_on_timeout``), and ``APIStatusError``
        for a non-transient error answer (e.g. 401).
        """
        return self._run(
            self._wait_plan(
                task, timeout=timeout, poll=poll, on_progress=on_progress, cancel_on_timeout=cancel_on_timeout
            )
        )

    def submit_and_wait(
        self,
        request: VideoRequest,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_timeout: bool = False,
    ) -> TaskResponse:
        return self._run(
            self._submit_and_wait_plan(
                request, timeout=timeout, poll=poll, on_progress=on_progress, cancel_on_timeout=cancel_on_timeout
            )
        )

    def download(self, task: TaskResponse | str, path: str | os.PathLike[str]) -> Path:
        """Stream the result MP4 of a SUCCEEDED task (or a result URL) to ``path``: written to a temporary file in
        the same folder and renamed, so ``path`` is either complete or absent. ``ResultExpired`` on 403."""
        return self._run(self._download_plan(task, path))

    # --- detect / upload
    def detect_liveportrait(self, image: MediaInput) -> LivePortraitDetection:
        return self._run(self._detect_liveportrait_plan(image))

    def detect_emo(self, image: MediaInput, ratio: EmoDetectParametersRatio = "1:1") -> EmoDetection:
        return self._run(self._detect_emo_plan(image, ratio))

    def upload(self, path: str | os.PathLike[str], model: str) -> str:
        """Upload a local file for ``model``; return its ``oss://`` URL (send it with the resolve header)."""
        found = local_path(os.fspath(path))
        assert found is not None
        return self._run(self._upload_plan(found, model))


class AsyncClient(_Base):
    """The asyncio twin of ``Client``: same arguments (``transport`` is an ``httpx.AsyncBaseTransport``,
    ``http_client`` an ``httpx.AsyncClient``), same methods, awaited."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        sleep: SleepHook | None = None,
        monotonic: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        limiter: QueryLimiter | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            region=region,
            timeout=timeout,
            upload_timeout=upload_timeout,
            retry=retry,
            poll=poll,
            clock=clock,
            sleep=sleep,
            monotonic=monotonic,
            rng=rng,
            limiter=limiter,
        )
        self.generated = self._generated(transport, http_client, is_async=True)
        self._owns_http = http_client is None
        self._http = self.generated.get_async_httpx_client()

    async def _run(self, plan: fx.Plan[M]) -> M:
        return await fx.run_async(plan, self._http, self.clock)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def submit(self, request: VideoRequest) -> SubmitResponse:
        return await self._run(self._submit_plan(request))

    async def submit_liveportrait(
        self,
        image: MediaInput,
        audio: MediaInput,
        *,
        parameters: LivePortraitParameters | None = None,
        template_id: LivePortraitParametersTemplateId | None = None,
        eye_move_freq: float | None = None,
        video_fps: int | None = None,
        mouth_move_strength: float | None = None,
        paste_back: bool | None = None,
        head_move_strength: float | None = None,
    ) -> SubmitResponse:
        return await self.submit(
            liveportrait_request(
                image,
                audio,
                parameters=parameters,
                template_id=template_id,
                eye_move_freq=eye_move_freq,
                video_fps=video_fps,
                mouth_move_strength=mouth_move_strength,
                paste_back=paste_back,
                head_move_strength=head_move_strength,
            )
        )

    async def submit_emo(
        self,
        image: MediaInput,
        audio: MediaInput,
        *,
        face_bbox: Sequence[int] | None = None,
        ext_bbox: Sequence[int] | None = None,
        ratio: EmoDetectParametersRatio = "1:1",
        style_level: EmoParametersStyleLevel | None = None,
    ) -> SubmitResponse:
        return await self._run(self._emo_plan(image, audio, face_bbox, ext_bbox, ratio, style_level))

    async def submit_videoretalk(
        self,
        video: MediaInput,
        audio: MediaInput,
        *,
        ref_image: MediaInput | None = None,
        video_extension: bool | None = None,
    ) -> SubmitResponse:
        return await self.submit(
            videoretalk_request(video, audio, ref_image=ref_image, video_extension=video_extension)
        )

    async def get(self, task: TaskRef) -> TaskResponse:
        return await self._run(self._get_plan(task))

    async def cancel(self, task: TaskRef) -> CancelResponse:
        return await self._run(self._cancel_plan(task))

    async def list(
        self,
        *,
        status: ListTasksStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        task_id: str | None = None,
        region: str | None = None,
        api_key_id: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> TaskListResponse:
        return await self._run(
            self._list_plan(
                status=status,
                model_name=model_name,
                start_time=start_time,
                end_time=end_time,
                task_id=task_id,
                region=region,
                api_key_id=api_key_id,
                page_no=page_no,
                page_size=page_size,
            )
        )

    async def iter_tasks(
        self,
        *,
        status: ListTasksStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[TaskListItem]:
        page_no = 1
        while True:
            page = await self.list(
                status=status,
                model_name=model_name,
                start_time=start_time,
                end_time=end_time,
                page_no=page_no,
                page_size=page_size,
            )
            for item in page.data:
                yield item
            if page_no >= page.total_page or not page.data:
                return
            page_no += 1

    async def wait(
        self,
        task: TaskRef,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_timeout: bool = False,
    ) -> TaskResponse:
        return await self._run(
            self._wait_plan(
                task, timeout=timeout, poll=poll, on_progress=on_progress, cancel_on_timeout=cancel_on_timeout
            )
        )

    async def submit_and_wait(
        self,
        request: VideoRequest,
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_timeout: bool = False,
    ) -> TaskResponse:
        return await self._run(
            self._submit_and_wait_plan(
                request, timeout=timeout, poll=poll, on_progress=on_progress, cancel_on_timeout=cancel_on_timeout
            )
        )

    async def download(self, task: TaskResponse | str, path: str | os.PathLike[str]) -> Path:
        return await self._run(self._download_plan(task, path))

    async def detect_liveportrait(self, image: MediaInput) -> LivePortraitDetection:
        return await self._run(self._detect_liveportrait_plan(image))

    async def detect_emo(self, image: MediaInput, ratio: EmoDetectParametersRatio = "1:1") -> EmoDetection:
        return await self._run(self._detect_emo_plan(image, ratio))

    async def upload(self, path: str | os.PathLike[str], model: str) -> str:
        found = local_path(os.fspath(path))
        assert found is not None
        return await self._run(self._upload_plan(found, model))
