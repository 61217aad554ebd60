"""``dashscope-mock serve``: the mock under uvicorn (``proxy`` and ``drift``: ``realservice.commands``).

```
dashscope-mock serve --host 127.0.0.1 --port 8000 --profile fast|realistic \
    --state memory|sqlite:///path.db|redis://host:port/db --seed N --media-checks on|off --keys sk-a,sk-b \
    [--workers N] [--media-workers N] [--concurrency model=N,...] [--rate-limit on|off] \
    [--replay DIR [--replay-mode lenient|strict]] [--control-token-file PATH] [--public-host NAME[,NAME]]
```

Binds 127.0.0.1 by default and logs one line per request. The port is bound and listening before the links are
printed, and uvicorn serves that very socket: a port in use is one line and exit status 1, never links to another
process's server. With ``--workers N`` (> 1) use SQLite or Redis state so that the workers share one state; several
``serve`` processes on several hosts share a Redis state the same way.
With media checks on, each server process runs media work in ``--media-workers`` child processes. The settings reach
uvicorn's workers through ``DASHSCOPE_MOCK_*`` environment variables.

The control token comes from ``--control-token``, ``--control-token-file PATH`` (a mounted secret), or the environment
(``DASHSCOPE_MOCK_CONTROL_TOKEN`` / ``DASHSCOPE_MOCK_CONTROL_TOKEN_FILE``); a non-loopback bind without one makes one
and prints it. The folders the mock writes (a SQLite state's, ``--upload-dir``) are made and checked before it binds:
one it cannot write is one line naming it and exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import ipaddress
import logging
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import ENV_PREFIX, SETTINGS, MockConfig, unknown_variables
from .realservice.commands import add_commands, run_drift, run_proxy

__all__ = ["app_from_env", "is_loopback_host", "main"]

BACKLOG = 2048  # uvicorn's default


def _media_available() -> bool:
    """Whether media checks can run here: the media stack (PyAV, OpenCV, dlib, NumPy, Pillow) is installed (found
    without importing it). A ``serve``-only install (the slim image) defaults to media checks off."""
    media = ("av", "cv2", "dlib", "face_recognition_models", "numpy", "PIL")  # _entry.MEDIA_MODULES (it imports us)
    return all(importlib.util.find_spec(name) is not None for name in media)


def _read_token(path: str, source: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ValueError(f"{source}: cannot read the control token from {path}: {why}") from None
    token = text.strip()
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"{source}: {path} must hold the control token alone (one line, no spaces); it is {text!r}")
    return token


def control_token(flag: str | None, flag_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The control token from ``--control-token``, ``--control-token-file``, ``$DASHSCOPE_MOCK_CONTROL_TOKEN`` or
    ``$DASHSCOPE_MOCK_CONTROL_TOKEN_FILE`` (arguments before the environment; an empty value counts as unset);
    ``None`` when none is given. Raises ``ValueError`` naming the problem (two sources at one level, a file that
    cannot be read or holds no token)."""
    if flag and flag_file:
        raise ValueError("give --control-token or --control-token-file, not both")
    if flag:
        return flag
    if flag_file:
        return _read_token(flag_file, "--control-token-file")
    value, file = environ.get(ENV_PREFIX + "CONTROL_TOKEN"), environ.get(ENV_PREFIX + "CONTROL_TOKEN_FILE")
    if value and file:
        raise ValueError(f"set {ENV_PREFIX}CONTROL_TOKEN or {ENV_PREFIX}CONTROL_TOKEN_FILE, not both")
    if value:
        return value
    if file:
        return _read_token(file, ENV_PREFIX + "CONTROL_TOKEN_FILE")
    return None


def unwritable_folder(folder: Path) -> str | None:
    """Why the mock could not write in ``folder`` (made when missing), or ``None`` when it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def state_folders(state: str, upload_dir: str | None) -> list[tuple[str, Path]]:
    """The folders the mock writes at start, each with the option that names it: a SQLite state's and the uploads'."""
    folders: list[tuple[str, Path]] = []
    if state.startswith("sqlite:///"):
        folders.append(("--state", Path(state[len("sqlite:///") :]).absolute().parent))
    if upload_dir:
        folders.append(("--upload-dir", Path(upload_dir).absolute()))
    return folders


def is_loopback_host(host: str) -> bool:
    """Whether a bind address (or name) only listens on this machine."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening; uvicorn serves it (``fd``), so no other process can take the port
    between this check and the server's start, and connections made meanwhile wait for the app instead of failing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn's own bind_socket
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart need not wait out TIME_WAIT
        # uvicorn wraps an fd as AF_UNIX, so asyncio does not set TCP_NODELAY on the connections it accepts; they
        # inherit it from the listening socket instead (Linux), as they had it when uvicorn bound the port itself.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def app_from_env() -> Any:
    """uvicorn factory (``--workers``): the app from ``DASHSCOPE_MOCK_*``."""
    from .http.app import create_app

    _configure_logging(os.environ.get(ENV_PREFIX + "LOG_LEVEL", "info"))
    return create_app(MockConfig.from_env())


def _configure_logging(level: str) -> None:
    """One line per request from the ``dashscope_mock`` logger (also in uvicorn's worker processes)."""
    logger = logging.getLogger("dashscope_mock")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dashscope-mock", description="DashScope portrait-video mock server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (shared state needed)")
    for setting in SETTINGS:  # every other option is a setting: its variable, when not given, is the default
        if setting.flag is None:
            continue
        shown = f"{setting.help} (env {ENV_PREFIX}{setting.env})"
        if setting.switch:
            serve.add_argument(setting.flag, action="store_true", help=shown)
        else:
            serve.add_argument(setting.flag, default=None, choices=setting.choices, metavar=setting.metavar, help=shown)
    serve.add_argument(
        "--control-token-file",
        default=None,
        metavar="PATH",
        help="read the control token from a file, e.g. a mounted secret (env DASHSCOPE_MOCK_CONTROL_TOKEN_FILE)",
    )
    serve.add_argument("--log-level", default="info")
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "proxy":
        return run_proxy(args, _listen, _configure_logging)
    if args.command == "drift":
        return run_drift(args)
    import uvicorn

    from .http.serving import DashScopeHttpProtocol

    env: dict[str, str] = {}
    for setting in SETTINGS:  # what the command line says; a setting it leaves out keeps its variable, if any
        value = getattr(args, setting.flag.lstrip("-").replace("-", "_")) if setting.flag else None
        if setting.switch and value:
            env[setting.env] = "on"
        elif not setting.switch and value is not None:
            env[setting.env] = setting.to_env(value)
    if "MEDIA_CHECKS" not in env and not os.environ.get(ENV_PREFIX + "MEDIA_CHECKS"):
        env["MEDIA_CHECKS"] = "on" if _media_available() else "off"
    loopback = is_loopback_host(args.host)
    env.update(HOST=args.host, LOG_LEVEL=args.log_level, MEDIA_PROCESSES="on")
    env["FETCH_PRIVATE"] = "on" if loopback else "off"  # a mock others can reach fetches no private address
    try:
        token = control_token(args.control_token, args.control_token_file, os.environ)
    except ValueError as error:
        print(f"dashscope-mock: {error}", file=sys.stderr)
        return 2
    made_token = token is None and not loopback
    if made_token:
        token = secrets.token_urlsafe(24)
    if token:
        env["CONTROL_TOKEN"] = token
    for name, value in env.items():
        os.environ[ENV_PREFIX + name] = value
    unknown = unknown_variables(os.environ)
    if unknown:
        print(
            f"dashscope-mock: {', '.join(unknown)}: no such setting (see dashscope-mock serve --help)", file=sys.stderr
        )
        return 2
    try:
        config = MockConfig.from_env()  # fail here, naming the setting, not in each worker
    except ValueError as error:
        print(f"dashscope-mock: {error}", file=sys.stderr)
        return 2
    if config.media_checks and not _media_available():
        print(
            "dashscope-mock: media checks need the media packages (PyAV, OpenCV, NumPy, Pillow, dlib): "
            "pip install 'dashscope-portrait-video[mock]', or serve with --media-checks off",
            file=sys.stderr,
        )
        return 2
    if config.replay:
        from .realservice.recording import RecordingError
        from .realservice.replay import Replays

        try:
            Replays.from_dir(config.replay)  # fail here, naming the file and the field, not in each worker
        except RecordingError as error:
            print(f"dashscope-mock: --replay: {error}", file=sys.stderr)
            return 2
    for option, folder in state_folders(config.state, config.upload_dir):
        why = unwritable_folder(folder)
        if why is not None:
            print(
                f"dashscope-mock: {option}: cannot write to {folder} ({why}); make it writable by this user "
                f"(uid {os.getuid()}) or choose another folder",
                file=sys.stderr,
            )
            return 2
    if args.workers > 1 and config.state == "memory":
        print(
            "dashscope-mock: several workers need shared state: --state sqlite:///path.db or redis://host:port/db",
            file=sys.stderr,
        )
        return 2
    host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host  # an IPv6 address
    try:
        sock = _listen(args.host, args.port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            why = (
                f"port {args.port} is already in use (another server, or a mock still running?); "
                "choose another with --port N (make mock PORT=N)"
            )
        else:  # an address not of this machine, a name that does not resolve, a privileged port
            why = f"{error.strerror or error}; check --host and --port"
        print(f"dashscope-mock: cannot listen on {host}:{args.port}: {why}", file=sys.stderr)
        return 1
    with sock:
        port: int = sock.getsockname()[1]  # the one the system chose for --port 0
        if made_token:
            print(f"dashscope-mock: control-plane token (Authorization: Bearer …): {token}", file=sys.stderr)
        base = f"http://{host}:{port}"
        print(
            f"dashscope-mock: {base} (profile {config.profile}, state {config.state}, "
            f"media checks {'on' if config.media_checks else 'off'}); Swagger UI at /ui, control plane at /_mock/ui",
            file=sys.stderr,
        )
        print(f"dashscope-mock: dashboard: {base}/_mock/dashboard", file=sys.stderr)
        uvicorn.run(
            "dashscope_mock.cli:app_from_env",
            factory=True,
            host=args.host,
            port=port,
            fd=sock.fileno(),  # serve the socket bound above (uvicorn then ignores host and port)
            workers=args.workers,
            access_log=False,
            log_level=args.log_level,
            http=DashScopeHttpProtocol,  # a request uvicorn's parser rejects still gets the service's JSON 400
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
