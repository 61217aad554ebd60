"""Mock configuration: what is *mock policy* (durations, profiles, keys, state) lives here; what the *service
documents* (limits, retention, concurrency, error codes) is read from the spec through ``dashscope_openapi``.

Environment variables (read by ``MockConfig.from_env``, used by the CLI as defaults):
``DASHSCOPE_MOCK_KEYS`` (comma-separated allowed keys), ``DASHSCOPE_MOCK_PROFILE`` (``fast``/``realistic``),
``DASHSCOPE_MOCK_STATE`` (``memory``, ``sqlite:///path.db`` or ``redis://host:port/db``), ``DASHSCOPE_MOCK_SEED``,
``DASHSCOPE_MOCK_MEDIA_CHECKS`` (``on``/``off``), ``DASHSCOPE_MOCK_RATE_LIMIT`` (``on``/``off``),
``DASHSCOPE_MOCK_MODEL_MODULES`` (comma-separated extra model modules), ``DASHSCOPE_MOCK_MEDIA_WORKERS``,
``DASHSCOPE_MOCK_MEDIA_PROCESSES`` (``on``: media work in child processes), ``DASHSCOPE_MOCK_CONCURRENCY``
(``model=N,...``), ``DASHSCOPE_MOCK_LEASE_SECONDS``, ``DASHSCOPE_MOCK_QUEUE_MAX``, ``DASHSCOPE_MOCK_UPLOAD_DIR``,
``DASHSCOPE_MOCK_STRICT_FIELDS`` (``on``: undocumented keys answer 400), ``DASHSCOPE_MOCK_FETCH_PRIVATE``,
``DASHSCOPE_MOCK_ALLOW_FETCH`` (CIDRs), ``DASHSCOPE_MOCK_HOST``, ``DASHSCOPE_MOCK_PUBLIC_HOST``,
``DASHSCOPE_MOCK_CONTROL_TOKEN``, ``DASHSCOPE_MOCK_FROZEN_CLOCK`` (``on``:
time moves only when advanced), ``DASHSCOPE_MOCK_CLOCK_START`` (epoch seconds). Model timings live in the model
modules; the task engine's defaults in the control spec.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dashscope_openapi import limits, load_control_spec

from .domain.clock import clock_latest
from .plugins import ModelTiming, Profile

__all__ = ["MockConfig", "parse_concurrency"]


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
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if keys := env.get("DASHSCOPE_MOCK_KEYS"):
            values["keys"] = frozenset(k.strip() for k in keys.split(",") if k.strip())
        if profile := env.get("DASHSCOPE_MOCK_PROFILE"):
            values["profile"] = profile
        if state := env.get("DASHSCOPE_MOCK_STATE"):
            values["state"] = state
        if seed := env.get("DASHSCOPE_MOCK_SEED"):
            values["seed"] = int(seed)
        if media := env.get("DASHSCOPE_MOCK_MEDIA_CHECKS"):
            values["media_checks"] = media.lower() in {"on", "1", "true", "yes"}
        if modules := env.get("DASHSCOPE_MOCK_MODEL_MODULES"):
            values["model_modules"] = tuple(m.strip() for m in modules.split(",") if m.strip())
        if workers := env.get("DASHSCOPE_MOCK_MEDIA_WORKERS"):
            values["media_workers"] = int(workers)
        if processes := env.get("DASHSCOPE_MOCK_MEDIA_PROCESSES"):
            values["media_processes"] = processes.lower() in {"on", "1", "true", "yes"}
        if concurrency := env.get("DASHSCOPE_MOCK_CONCURRENCY"):
            values["concurrency"] = parse_concurrency(concurrency)
        if fetch_private := env.get("DASHSCOPE_MOCK_FETCH_PRIVATE"):
            values["fetch_private"] = fetch_private.lower() in {"on", "1", "true", "yes"}
        if allow_fetch := env.get("DASHSCOPE_MOCK_ALLOW_FETCH"):
            values["allow_fetch"] = tuple(c.strip() for c in allow_fetch.split(",") if c.strip())
        if bind_host := env.get("DASHSCOPE_MOCK_HOST"):
            values["bind_host"] = bind_host
        if public := env.get("DASHSCOPE_MOCK_PUBLIC_HOST"):
            values["public_hosts"] = tuple(h.strip().lower() for h in public.split(",") if h.strip())
        if token := env.get("DASHSCOPE_MOCK_CONTROL_TOKEN"):
            values["control_token"] = token
        if strict := env.get("DASHSCOPE_MOCK_STRICT_FIELDS"):
            values["strict_fields"] = strict.lower() in {"on", "1", "true", "yes"}
        if upload_dir := env.get("DASHSCOPE_MOCK_UPLOAD_DIR"):
            values["upload_dir"] = upload_dir
        if lease := env.get("DASHSCOPE_MOCK_LEASE_SECONDS"):
            values["lease_seconds"] = float(lease)
        if queue_max := env.get("DASHSCOPE_MOCK_QUEUE_MAX"):
            values["queue_max"] = int(queue_max)
        if frozen := env.get("DASHSCOPE_MOCK_FROZEN_CLOCK"):
            values["frozen_clock"] = frozen.lower() in {"on", "1", "true", "yes"}
        if start := env.get("DASHSCOPE_MOCK_CLOCK_START"):
            values["clock_start"] = float(start)
        if replay := env.get("DASHSCOPE_MOCK_REPLAY"):
            values["replay"] = replay
        if replay_mode := env.get("DASHSCOPE_MOCK_REPLAY_MODE"):
            values["replay_strict"] = replay_mode.lower() == "strict"
        if rate := env.get("DASHSCOPE_MOCK_RATE_LIMIT"):
            values["rate_limit"] = rate.lower() in {"on", "1", "true", "yes"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
