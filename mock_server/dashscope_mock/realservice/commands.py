"""``dashscope-mock proxy`` and ``dashscope-mock drift``: the command lines of the real-service loop.

```
dashscope-mock proxy [--upstream URL | --region cn-beijing] [--host 127.0.0.1] [--port 8010] \
    [--record DIR [--record-media] [--inputs kept|hashed] [--record-max-bytes N]] [--violations-header]
dashscope-mock drift --recordings DIR [--profile realistic|fast] [--fail-on critical|warning|info|never] \
    [--markdown PATH] [--json PATH]
```

A proxy run that recorded writes its drift report when it ends, into ``DIR/report/`` (``drift-report.md`` and
``drift-report.json``; a folder of its own, so that the recordings folder holds recordings only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "run_drift", "run_proxy"]

REPORT_NAME = "drift-report"


def add_commands(commands: Any) -> None:
    """The ``proxy`` and ``drift`` subcommands on the CLI's subparsers."""
    proxy = commands.add_parser("proxy", help="a validating, recording proxy in front of the real service")
    proxy.add_argument("--upstream", default=None, help="the service's base URL (default: the region's)")
    proxy.add_argument("--region", default="cn-beijing", help="whose documented base URL is the default upstream")
    proxy.add_argument("--host", default="127.0.0.1")
    proxy.add_argument("--port", type=int, default=8010)
    proxy.add_argument("--record", default=None, metavar="DIR", help="write task timelines and exchanges into DIR")
    proxy.add_argument("--record-media", action="store_true", help="keep result files beside their recordings")
    proxy.add_argument("--inputs", choices=["kept", "hashed"], default="kept", help="how input URLs are written")
    proxy.add_argument("--record-max-bytes", type=int, default=None, help="stop recording past this many bytes")
    proxy.add_argument("--violations-header", action="store_true", help="name each answer's spec violations")
    proxy.add_argument("--log-level", default="info")
    drift = commands.add_parser("drift", help="compare recordings with the mock and the spec")
    drift.add_argument("--recordings", required=True, metavar="DIR")
    drift.add_argument("--profile", choices=["realistic", "fast"], default="realistic", help="timings compared")
    drift.add_argument("--fail-on", choices=["critical", "warning", "info", "never"], default="critical")
    drift.add_argument("--markdown", default=None, metavar="PATH", help="write the report for a person here")
    drift.add_argument("--json", default=None, metavar="PATH", help="write the report for CI here")


def run_drift(args: argparse.Namespace) -> int:
    from .drift import run
    from .recording import RecordingError

    try:
        return run(
            Path(args.recordings),
            profile=args.profile,
            fail_on=args.fail_on,
            markdown_path=Path(args.markdown) if args.markdown else None,
            json_path=Path(args.json) if args.json else None,
            stream=sys.stdout,
        )
    except RecordingError as error:
        print(f"dashscope-mock drift: {error}", file=sys.stderr)
        return 2


def run_proxy(args: argparse.Namespace, listen: Any, configure_logging: Any) -> int:
    import uvicorn

    from ..http.serving import DashScopeHttpProtocol
    from .proxy import Proxy, default_upstream
    from .recording import Recorder

    configure_logging(args.log_level)
    try:
        upstream = args.upstream or default_upstream(args.region)
        recorder = None
        if args.record:
            recorder = Recorder(
                Path(args.record),
                upstream=upstream,
                inputs=args.inputs,
                max_bytes=args.record_max_bytes,
                record_media=args.record_media,
            )
        proxy = Proxy(upstream, recorder=recorder, violations_header=args.violations_header)
    except (ValueError, OSError) as error:
        print(f"dashscope-mock proxy: {error}", file=sys.stderr)
        return 2
    try:
        sock = listen(args.host, args.port)
    except OSError as error:
        print(
            f"dashscope-mock proxy: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    with sock:
        port = sock.getsockname()[1]
        print(f"dashscope-mock proxy: http://{args.host}:{port} -> {proxy.upstream}", file=sys.stderr)
        if recorder is not None:
            print(f"dashscope-mock proxy: recording into {recorder.directory}", file=sys.stderr)
        uvicorn.run(
            proxy,
            fd=sock.fileno(),
            access_log=False,
            log_level=args.log_level,
            lifespan="on",
            http=DashScopeHttpProtocol,
        )
    print(f"dashscope-mock proxy: {proxy.exchanges} exchanges, {len(proxy.findings)} findings", file=sys.stderr)
    if recorder is None:
        return 0
    from .drift import run

    folder = recorder.directory / "report"
    folder.mkdir(exist_ok=True)
    return run(
        recorder.directory,
        profile="realistic",
        fail_on="never",
        markdown_path=folder / f"{REPORT_NAME}.md",
        json_path=folder / f"{REPORT_NAME}.json",
        stream=sys.stderr,
    )
