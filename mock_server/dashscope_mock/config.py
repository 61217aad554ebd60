"""Mock configuration: what is *mock policy* (durations, profiles, keys, state) lives here; what the *service
documents* (limits, retention, concurrency, error codes) is read from the spec through ``dashscope_openapi``.

Every setting is one row of ``SETTINGS``: its ``MockConfig`` field, its ``DASHSCOPE_MOCK_*`` environment variable
(read by ``MockConfig.from_env``: uvicorn's workers get their settings that way) and, for most, its ``dashscope-mock
serve`` flag (``cli`` builds its options from the table). Model timings live in the model modules; the task engine's
defaults in the control spec.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from dashscope_openapi import limits, load_control_spec

from .domain.clock import clock_latest
from .plugins import ModelTiming, Profile

__all__ = ["ENV_PREFIX", "SETTINGS", "MockConfig", "Setting", "parse_concurrency", "unknown_variables"]

ENV_PREFIX = "DASHSCOPE_MOCK_"


def parse_concurrency(text: str) -> dict[str, int | None]:
    """``videoretalk=1,emo-v1=2,liveportrait=none`` → per-model limits (``none``: unlimited)."""
    limits_by_model: dict[str, int | None] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        model, _, value = part.partition("=")
        if not value.strip():
            raise ValueError(f"--concurrency wants model=N, got {part!r}")
        limits_by_model[model.strip()] = None if value.strip().lower() == "none" else int(value)
    return limits_by_model


@dataclass(frozen=True)
class MockConfig:
    """Everything that shapes a mock instance.

    ``keys``: ``None`` accepts any ``sk-`` key; a set restricts to those. ``timings`` override the profile per model.
    ``concurrency`` overrides ``x-limits.concurrency`` per model (``None`` = unlimited). ``rate_limit`` turns the
    per-key task-query limit (``x-limits.task_query_qps_per_account``) on or off. ``frozen_clock`` freezes the
    virtual clock (in-process tests); a served mock lets it flow with real time. ``timezone_offset_hours`` is the
    service time printed in ``submit_time`` & co (Beijing, +8, like the real service).
    """

    profile: Profile = "fast"
    keys: frozenset[str] | None = None
    timings: Mapping[str, ModelTiming] = field(default_factory=dict)
    concurrency: Mapping[str, int | None] = field(default_factory=dict)
    rate_limit: bool = True
    task_query_qps: float | None = None
    retry_after_seconds: int = 1
    seed: int | None = None
    state: str = "memory"
    media_checks: bool = True  # the mock behaves as the service; lifecycle-only is the opt-out
    frozen_clock: bool = False
    clock_start: float | None = None  # the virtual clock's first instant (epoch seconds); None: the wall clock
    timezone_offset_hours: float = 8.0
    region: str = "cn-beijing"
    upload_dir: str | None = None
    model_modules: tuple[str, ...] = ()  # extra model modules beside dashscope_mock.models (see ``plugins``)
    # The task engine (``None``: the control spec's ``x-task-engine``). ``media_processes`` runs media work in child
    # processes (the served mock); in process it runs on the event loop.
    media_workers: int | None = None
    lease_seconds: float | None = None
    queue_max: int | None = None
    media_processes: bool = False
    strict_fields: bool = False  # refuse undocumented keys in input/parameters (400), see the spec's x-leniency
    # Safe to share. ``fetch_private``: inputs may come from loopback and private addresses (in process, and a mock
    # bound to loopback only); ``allow_fetch``: CIDRs always allowed (``--allow-fetch``). ``public_hosts``: names the
    # Host header may carry besides loopback names and the bound address. ``control_token``: the control plane
    # wants ``Authorization: Bearer <token>`` (a non-loopback bind always has one).
    fetch_private: bool = True
    allow_fetch: tuple[str, ...] = ()
    bind_host: str | None = None
    public_hosts: tuple[str, ...] = ()
    control_token: str | None = None
    # Replay (``realservice.replay``): a directory of recordings whose matching submits replay the recorded task;
    # ``replay_strict`` refuses a submit no recording matches (else it is simulated as usual).
    replay: str | None = None
    replay_strict: bool = False

    def __post_init__(self) -> None:
        latest = clock_latest()
        if self.clock_start is not None and not (0 <= self.clock_start <= latest):  # NaN fails too
            raise ValueError(
                f"clock_start: {self.clock_start!r} is outside the clock's range, 0 to {latest:.0f} (x-clock-latest)"
            )

    def concurrency_for(self, model: str) -> int | None:
        if model in self.concurrency:
            return self.concurrency[model]
        value = limits().get("concurrency", {}).get(model)
        return int(value) if value is not None else None

    def engine(self, name: str) -> float:
        """A task-engine setting: this config's, else the control spec's default."""
        value = getattr(self, name)
        return float(value if value is not None else load_control_spec()["x-task-engine"][name])

    def query_qps(self) -> float:
        if self.task_query_qps is not None:
            return self.task_query_qps
        return float(limits()["task_query_qps_per_account"])

    def key_allowed(self, key: str) -> bool:
        if self.keys is not None:
            return key in self.keys
        return key.startswith("sk-") and len(key) > 3

    def replace(self, **changes: object) -> MockConfig:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> MockConfig:
        """The settings of ``SETTINGS`` found (non-empty) in ``environ`` (default: the process's), then
        ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for setting in SETTINGS:
            text = env.get(ENV_PREFIX + setting.env)
            if text:
                try:
                    values[setting.field] = setting.parse(text)
                except ValueError as error:
                    named = f"{setting.flag} ({ENV_PREFIX}{setting.env})" if setting.flag else ENV_PREFIX + setting.env
                    raise ValueError(f"{named}: {error}") from error
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


_ON, _OFF = frozenset({"on", "1", "true", "yes"}), frozenset({"off", "0", "false", "no"})


def _on(text: str) -> bool:
    word = text.strip().lower()
    if word not in _ON | _OFF:
        raise ValueError(f"{text!r} is neither on nor off")
    return word in _ON


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text.strip()

    return parse


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Setting:
    """One setting: ``MockConfig.<field>``, ``DASHSCOPE_MOCK_<env>`` (``parse`` reads its text) and, with ``flag``,
    a ``dashscope-mock serve`` option whose value goes to the variable as ``to_env`` writes it (``switch``: an option
    without a value, ``on`` when given)."""

    field: str
    env: str
    parse: Callable[[str], object]
    flag: str | None = None
    help: str = ""
    choices: tuple[str, ...] | None = None
    switch: bool = False
    metavar: str | None = None
    to_env: Callable[[str], str] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "profile",
        "PROFILE",
        _one_of("fast", "realistic"),
        "--profile",
        "timings: fast (default) or realistic",
        ("fast", "realistic"),
    ),
    Setting(
        "state",
        "STATE",
        str,
        "--state",
        "memory (default), sqlite:///path.db (survives restarts; one host) or redis://host:port/db (replicas)",
    ),
    Setting("seed", "SEED", int, "--seed", "reproducible task and request ids"),
    Setting(
        "media_checks",
        "MEDIA_CHECKS",
        _on,
        "--media-checks",
        "download and check inputs, render results (default: on when dashscope_mock.media exists)",
        ("on", "off"),
    ),
    Setting(
        "keys",
        "KEYS",
        lambda text: frozenset(_names(text)),
        "--keys",
        "comma-separated accepted API keys (default: any sk-...)",
    ),
    Setting("rate_limit", "RATE_LIMIT", _on, "--rate-limit", "the task-query QPS limit (default on)", ("on", "off")),
    Setting(
        "media_workers",
        "MEDIA_WORKERS",
        int,
        "--media-workers",
        "media work items at once per server process (default 4)",
    ),
    Setting(
        "concurrency",
        "CONCURRENCY",
        parse_concurrency,
        "--concurrency",
        "per-key running tasks per model, e.g. emo-v1=1,liveportrait=2 (none: off)",
    ),
    Setting(
        "allow_fetch",
        "ALLOW_FETCH",
        _names,
        "--allow-fetch",
        "CIDRs inputs may always be fetched from, e.g. 10.0.0.0/8,192.168.1.0/24",
    ),
    Setting(
        "public_hosts",
        "PUBLIC_HOST",
        lambda text: tuple(name.lower() for name in _names(text)),
        "--public-host",
        "host names clients use to reach the mock (the Host header they send)",
    ),
    Setting(
        "control_token",
        "CONTROL_TOKEN",
        str,
        "--control-token",
        "the control plane's bearer token (a non-loopback bind makes one when none is given)",
    ),
    Setting(
        "strict_fields",
        "STRICT_FIELDS",
        _on,
        "--strict-fields",
        "answer 400 for undocumented keys in input/parameters (default: accept, ignore, note in the journal)",
        switch=True,
    ),
    Setting(
        "upload_dir",
        "UPLOAD_DIR",
        str,
        "--upload-dir",
        "uploads and rendered results (shared storage for replicas on several hosts)",
    ),
    Setting(
        "frozen_clock",
        "FROZEN_CLOCK",
        _on,
        "--clock",
        "frozen: time moves only through POST /_mock/clock/advance (default flowing)",
        ("flowing", "frozen"),
        to_env=lambda text: "on" if text == "frozen" else "off",
    ),
    Setting(
        "clock_start",
        "CLOCK_START",
        float,
        "--clock-start",
        "the clock's first instant, epoch seconds (same on replicas)",
    ),
    Setting(
        "replay",
        "REPLAY",
        str,
        "--replay",
        "replay recorded tasks (dashscope-mock proxy --record DIR)",
        metavar="DIR",
        to_env=os.path.abspath,
    ),
    Setting(
        "replay_strict",
        "REPLAY_MODE",
        lambda text: _one_of("lenient", "strict")(text) == "strict",
        "--replay-mode",
        "strict: a submit no recording matches gets 400 Mock.ReplayUnmatched (default lenient: simulated as usual)",
        ("lenient", "strict"),
    ),
    # Set by the CLI from other options, or by hand for uvicorn's workers.
    Setting("bind_host", "HOST", str),
    Setting("fetch_private", "FETCH_PRIVATE", _on),
    Setting("media_processes", "MEDIA_PROCESSES", _on),
    Setting("model_modules", "MODEL_MODULES", _names),
    Setting("lease_seconds", "LEASE_SECONDS", float),
    Setting("queue_max", "QUEUE_MAX", int),
)
# DASHSCOPE_MOCK_* variables that are not MockConfig fields: the CLI's log level and token file, the image's health
# check URL, the fast path's switch (``make bench``) and compose's image name.
OTHER_VARIABLES = frozenset({"LOG_LEVEL", "CONTROL_TOKEN_FILE", "HEALTH_URL", "FAST_PATH", "IMAGE"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``DASHSCOPE_MOCK_*`` variables of ``environ`` that no setting reads (a misspelt one would do nothing)."""
    known = {setting.env for setting in SETTINGS} | OTHER_VARIABLES
    return sorted(name for name in environ if name.startswith(ENV_PREFIX) and name[len(ENV_PREFIX) :] not in known)
