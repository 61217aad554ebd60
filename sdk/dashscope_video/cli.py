"""``dashscope-video``: the SDK from the command line.

Examples::

    dashscope-video liveportrait --image face.png --audio voice.mp3 --wait --out out.mp4
    dashscope-video emo --image face.png --audio voice.mp3 --ratio 3:4 --out emo.mp4     # runs emo-detect-v1 first
    dashscope-video videoretalk --video talk.mp4 --audio voice.wav --extend --out retalk.mp4
    dashscope-video detect --model emo-detect-v1 --image face.png
    dashscope-video status TASK_ID | wait TASK_ID --out out.mp4 | cancel TASK_ID | list --all
    dashscope-video batch jobs.jsonl --out videos/ --concurrency 8      # resumable: rerun the same command

Options common to every command (before or after it): ``--api-key`` (else ``$DASHSCOPE_API_KEY``), ``--base-url``
(else ``$DASHSCOPE_BASE_URL``; e.g. the mock's URL) or ``--region``, ``--request-timeout`` (seconds per HTTP
request), ``--json`` (machine-readable output on stdout), ``--quiet`` (no progress on stderr). ``--timeout`` is the
overall deadline of a wait. Local files are uploaded (temporary upload, bound to the model) automatically.

Exit codes:

==  ========================================================================================================
0   success
1   unexpected error (a bug, or an answer the SDK could not read)
2   bad input or usage: wrong arguments, a missing local file, an HTTP 4xx other than 401/403/429
3   authentication or permission: no API key, 401, 403
4   the task did not succeed (FAILED, CANCELED, UNKNOWN), the detector rejected the image, or the result link
    expired
5   the wait's deadline passed (``--timeout``)
6   network trouble or the service unavailable/throttling, after the SDK's retries (connection errors, timeouts,
    429, 5xx)
130 interrupted (Ctrl-C)
==  ========================================================================================================
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

from dashscope_openapi import request_schemas

from ._cli_batch import add_batch_parser, client_options, run_batch_command
from ._cli_params import add_parameter_flags, parameters_from_args
from ._client import Client
from ._clock import Clock
from ._config import REGIONS
from ._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    DashScopeError,
    DetectionRejected,
    DownloadError,
    PermissionDeniedError,
    ResultExpired,
    TaskError,
    UploadError,
    WaitTimeout,
)
from ._retry import RetryPolicy
from .lib.waiting import WaitProgress
from .types import (
    EmoDetection,
    EmoParameters,
    EmoRatio,
    LivePortraitDetection,
    LivePortraitParameters,
    Task,
    TaskHandle,
    TaskStatus,
    VideoRetalkParameters,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_TASK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_TASK = 4
EXIT_TIMEOUT = 5
EXIT_NETWORK = 6
EXIT_INTERRUPTED = 130

DETECTORS = tuple(request_schemas("FaceDetectRequest"))  # the spec's detectors, in its order
EMO_RATIOS: tuple[EmoRatio, ...] = typing.get_args(EmoRatio)
STATUSES: tuple[TaskStatus, ...] = typing.get_args(TaskStatus)


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------------------------- parsing
def _bbox(text: str) -> list[int]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError("a box is four integers: x1,y1,x2,y2")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError("a box is four integers: x1,y1,x2,y2") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _common(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes; the sub-parsers' copies default to SUPPRESS so that a value given before
    the command is not overwritten by the sub-parser's default."""
    parser = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection and output")
    group.add_argument("--api-key", default=default(None), help="API key (default: $DASHSCOPE_API_KEY)")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--base-url",
        default=default(None),
        help="service URL, e.g. the mock's (default: $DASHSCOPE_BASE_URL, else the Beijing endpoint)",
    )
    where.add_argument("--region", default=default(None), choices=sorted(REGIONS), help="a region preset")
    group.add_argument(
        "--request-timeout",
        type=_positive,
        default=default(60.0),
        metavar="SECONDS",
        help="timeout of each HTTP request (default 60)",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=default(RetryPolicy().max_retries),
        metavar="N",
        help=f"retries of a failed request: 429/5xx/network; a submit only if it never left "
        f"(default {RetryPolicy().max_retries})",
    )
    group.add_argument("--json", action="store_true", default=default(False), help="JSON output on stdout")
    group.add_argument("--quiet", "-q", action="store_true", default=default(False), help="no progress on stderr")
    return parser


def _waiting(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("waiting")
    group.add_argument("--wait", action="store_true", help="wait until the task ends (implied by --out)")
    group.add_argument("--out", type=Path, metavar="FILE.mp4", help="download the result video here")
    group.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="overall deadline of the wait (default: the service's 3 h task limit)",
    )
    group.add_argument("--cancel-on-timeout", action="store_true", help="cancel the task if the deadline passes")


def build_parser() -> argparse.ArgumentParser:
    common = _common(suppress=True)
    parser = argparse.ArgumentParser(
        prog="dashscope-video",
        description="DashScope portrait video (liveportrait, emo-v1, videoretalk) from the command line.",
        epilog="Exit codes: 0 ok, 1 unexpected error, 2 bad input/usage, 3 auth/permission, 4 task failed/canceled/"
        "unknown or image rejected or result expired, 5 wait timed out, 6 network/service trouble.",
        parents=[_common(suppress=False)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lp = sub.add_parser("liveportrait", parents=[common], help="submit a liveportrait task")
    lp.add_argument("--image", required=True, help="portrait (local file or URL)")
    lp.add_argument("--audio", required=True, help="voice (local file or URL)")
    add_parameter_flags(lp, LivePortraitParameters)
    _waiting(lp)

    emo = sub.add_parser("emo", parents=[common], help="submit an emo-v1 task (runs emo-detect-v1 first)")
    emo.add_argument("--image", required=True)
    emo.add_argument("--audio", required=True)
    emo.add_argument(
        "--ratio",
        choices=EMO_RATIOS,
        default="1:1",
        help="1:1 head shot or 3:4 half body (for emo-detect-v1)",
    )
    emo.add_argument("--face-bbox", type=_bbox, metavar="X1,Y1,X2,Y2", help="skip detection: the face box")
    emo.add_argument("--ext-bbox", type=_bbox, metavar="X1,Y1,X2,Y2", help="skip detection: the dynamic-region box")
    add_parameter_flags(emo, EmoParameters)
    _waiting(emo)

    vr = sub.add_parser("videoretalk", parents=[common], help="submit a videoretalk task")
    vr.add_argument("--video", required=True)
    vr.add_argument("--audio", required=True)
    vr.add_argument("--ref-image", help="reference face that appears in the video")
    add_parameter_flags(vr, VideoRetalkParameters)
    _waiting(vr)

    det = sub.add_parser("detect", parents=[common], help="check an image with a face detector")
    det.add_argument("--model", choices=DETECTORS, required=True)
    det.add_argument("--image", required=True)
    det.add_argument("--ratio", choices=EMO_RATIOS, default="1:1", help="emo-detect-v1 only")

    st = sub.add_parser("status", parents=[common], help="query a task once")
    st.add_argument("task_id")
    wt = sub.add_parser("wait", parents=[common], help="wait for a task (and download its result)")
    wt.add_argument("task_id")
    wt.add_argument("--out", type=Path, metavar="FILE.mp4")
    wt.add_argument("--timeout", type=_positive, metavar="SECONDS")
    wt.add_argument("--cancel-on-timeout", action="store_true")
    cn = sub.add_parser("cancel", parents=[common], help="cancel a PENDING task")
    cn.add_argument("task_id")
    ls = sub.add_parser("list", parents=[common], help="list the account's recent tasks")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--model", dest="model_name")
    ls.add_argument("--page", type=int, default=1)
    ls.add_argument("--page-size", type=int, default=10)
    ls.add_argument("--all", action="store_true", help="every page")
    add_batch_parser(sub, common)
    return parser


# ---------------------------------------------------------------------------------------------- output
class Progress:
    """A progress line on stderr: rewritten in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()
        self._last: str | None = None

    def __call__(self, p: WaitProgress) -> None:
        if not self.enabled:
            return
        status = p.status or "waiting"
        note = f" (retrying after {type(p.error).__name__})" if p.error is not None else ""
        if self.tty:
            line = f"\r[{p.elapsed:7.1f} s] {p.task_id} {status:<16} poll {p.polls}, next in {p.next_poll_in:4.1f} s"
            self.stream.write(line + note + "\033[K")
            self.stream.flush()
        elif status + note != self._last:
            self.stream.write(f"[{p.elapsed:7.1f} s] {p.task_id} {status}{note}\n")
            self.stream.flush()
        self._last = status + note

    def done(self) -> None:
        if self.tty and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, sort_keys=True))
    else:
        print(text)


def _task_text(task: Task[Any]) -> str:
    parts = [task.task_id, str(task.status)]
    if task.failure is not None:
        parts.append(f"{task.failure.code}: {task.failure.message}")
    if task.result is not None:
        parts.append(task.result.video_url)
    return "  ".join(parts)


# ---------------------------------------------------------------------------------------------- commands
def _finish_task(client: Client, args: argparse.Namespace, task: str | TaskHandle[Any], progress: Progress) -> int:
    try:
        done = client.tasks.wait(
            task, timeout=args.timeout, on_progress=progress, cancel_on_timeout=args.cancel_on_timeout
        )
    finally:
        progress.done()
    data = dict(done.raw)
    if args.out is not None:
        path = client.tasks.download(done, args.out)
        data["downloaded_to"] = str(path)
        _emit(args, data, f"{_task_text(done)}\nsaved {path}")
    else:
        _emit(args, data, _task_text(done))
    return EXIT_OK


def _submitted(
    client: Client, args: argparse.Namespace, submit: Callable[[], TaskHandle[Any]], progress: Progress
) -> int:
    handle = submit()
    if not (args.wait or args.out is not None):
        data = {"request_id": handle.request_id, "output": {"task_id": handle.task_id, "task_status": handle.status}}
        _emit(args, data, f"{handle.task_id}  {handle.status}")
        return EXIT_OK
    if not args.quiet:
        print(f"submitted {handle.task_id}", file=sys.stderr)
    return _finish_task(client, args, handle, progress)


def _media(value: str) -> str | Path:
    """A URL stays a string; anything else is a local path (checked, then uploaded by the SDK)."""
    if value.startswith(("http://", "https://", "oss://", "file://")):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(f"no such file: {value}")
    return path


def run(args: argparse.Namespace, client: Client, progress: Progress) -> int:
    command = args.command
    if command == "liveportrait":
        image, audio = _media(args.image), _media(args.audio)
        lp_params = parameters_from_args(args, LivePortraitParameters)
        return _submitted(
            client, args, lambda: client.video_synthesis.liveportrait(image, audio, parameters=lp_params), progress
        )
    if command == "emo":
        if (args.face_bbox is None) != (args.ext_bbox is None):
            raise UsageError("give both --face-bbox and --ext-bbox, or neither (then emo-detect-v1 finds them)")
        image, audio = _media(args.image), _media(args.audio)
        emo_params = parameters_from_args(args, EmoParameters)
        return _submitted(
            client,
            args,
            lambda: client.video_synthesis.emo(
                image, audio, face_bbox=args.face_bbox, ext_bbox=args.ext_bbox, ratio=args.ratio, parameters=emo_params
            ),
            progress,
        )
    if command == "videoretalk":
        video, audio = _media(args.video), _media(args.audio)
        ref = _media(args.ref_image) if args.ref_image else None
        vr_params = parameters_from_args(args, VideoRetalkParameters)
        return _submitted(
            client,
            args,
            lambda: client.video_synthesis.videoretalk(video, audio, ref_image=ref, parameters=vr_params),
            progress,
        )
    if command == "detect":
        image = _media(args.image)
        verdict: LivePortraitDetection | EmoDetection
        if args.model == "emo-detect-v1":
            verdict = client.face_detect.emo(image, args.ratio)
            data: dict[str, Any] = {
                "model": args.model,
                "passed": verdict.passed,
                "face_bbox": verdict.face_bbox,
                "ext_bbox": verdict.ext_bbox,
                "code": verdict.code,
                "message": verdict.message,
                "request_id": verdict.request_id,
            }
            text = "passed" if verdict.passed else f"rejected: {verdict.code or ''} {verdict.message or ''}".strip()
            if verdict.passed:
                text += f"  face_bbox={_join(verdict.face_bbox)}  ext_bbox={_join(verdict.ext_bbox)}"
        else:
            verdict = client.face_detect.liveportrait(image)
            data = {
                "model": args.model,
                "passed": verdict.passed,
                "message": verdict.message,
                "request_id": verdict.request_id,
            }
            text = "passed" if verdict.passed else f"rejected: {verdict.message or ''}".strip()
        _emit(args, data, text)
        return EXIT_OK if verdict.passed else EXIT_TASK
    if command == "status":
        task = client.tasks.get(args.task_id)
        _emit(args, dict(task.raw), _task_text(task))
        return EXIT_OK
    if command == "wait":
        return _finish_task(client, args, args.task_id, progress)
    if command == "cancel":
        request_id = client.tasks.cancel(args.task_id)
        _emit(args, {"request_id": request_id}, f"{args.task_id}  canceled")
        return EXIT_OK
    if command == "list":
        if args.all:
            items = [
                dict(item.raw)
                for item in client.tasks.iter(status=args.status, model_name=args.model_name, page_size=args.page_size)
            ]
            payload: dict[str, Any] = {"total": len(items), "data": items}
        else:
            page = client.tasks.list(
                status=args.status, model_name=args.model_name, page_no=args.page, page_size=args.page_size
            )
            payload = dict(page.raw)
            items = [dict(item.raw) for item in page.data]
        lines = [f"{i['task_id']}  {i['status']}  {i.get('model_name', '')}".rstrip() for i in items]
        _emit(args, payload, "\n".join(lines) if lines else "(no tasks)")
        return EXIT_OK
    raise UsageError(f"unknown command {command!r}")  # pragma: no cover - argparse rejects it first


def _join(box: Sequence[int] | None) -> str:
    return ",".join(str(v) for v in box) if box else "-"


def exit_code(error: BaseException) -> int:
    """The exit code for an exception (see the module docstring)."""
    if isinstance(error, (UsageError, FileNotFoundError, ValueError)) and not isinstance(error, DashScopeError):
        return EXIT_USAGE
    if isinstance(error, ConfigurationError):
        return EXIT_AUTH if "API key" in str(error) else EXIT_USAGE
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, WaitTimeout):
        return EXIT_TIMEOUT
    if isinstance(error, (TaskError, DetectionRejected, ResultExpired)):
        return EXIT_TASK
    if isinstance(error, APIConnectionError):
        return EXIT_NETWORK
    if isinstance(error, APIStatusError):
        if error.status == 429 or error.status >= 500:
            return EXIT_NETWORK
        return EXIT_USAGE
    if isinstance(error, UploadError):
        if error.status is None or error.status == 429 or error.status >= 500:
            return EXIT_NETWORK
        return EXIT_AUTH if error.status in (401, 403) else EXIT_USAGE
    if isinstance(error, DownloadError):
        return EXIT_NETWORK if error.status is None or error.status >= 500 else EXIT_TASK
    if isinstance(error, httpx.TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, UsageError) else f"{type(error).__name__}: {error}"


def main(
    argv: Sequence[str] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> int:
    """Run the command line; return the exit code. ``transport`` (``async_transport`` for ``batch``) and ``clock``
    are for in-process tests."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return int(exit_.code or 0)
    progress = Progress(sys.stderr, enabled=not args.quiet)
    try:
        if args.command == "batch":
            return run_batch_command(args, transport=async_transport, clock=clock)
        with Client(**client_options(args), transport=transport, clock=clock) as client:
            return run(args, client, progress)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # every failure becomes a message and an exit code
        code = exit_code(error)
        if args.json:
            print(json.dumps(_error_json(error, code), ensure_ascii=False, sort_keys=True))
        print(f"dashscope-video: {_describe(error)}", file=sys.stderr)
        return code


def _error_json(error: BaseException, code: int) -> dict[str, Any]:
    data: dict[str, Any] = {"error": type(error).__name__, "message": str(error), "exit_code": code}
    for name in ("code", "request_id", "status", "task_id", "last_status"):
        value = getattr(error, name, None)
        if value is not None:
            data[name] = value
    return data


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
