"""The mock's state and behaviour, moto-style: one resettable ``Backend`` composing small services.

State, all in one ``Store`` (memory, SQLite or Redis; shared by every process that opens the same one): tasks and
uploads, the work queue, scenarios, faults, the request journal, the per-key rate windows and the clock's offset.
Time: an injectable clock (``VirtualClock`` by default). Models: the checked model modules
(``plugins.load_registry``). Media: the seam (``seam.Media``): ``LifecycleOnlyMedia`` with media checks off,
``media.RealMedia`` with them on. Services: ``tasks``, ``scheduler``, ``uploads``, ``pool`` (this process's media
workers) with its ``runner`` (where media work runs), ``detection`` (face-detect: its own lane, never queued) and
``rates``; ``views`` shapes their answers.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dashscope_openapi import CatalogueEntry, error_catalogue

from .config import MockConfig
from .domain.clock import Clock, RealClock, VirtualClock, clock_latest, format_service_time, service_timezone
from .domain.errors import StateUnavailable
from .domain.ids import IdFactory
from .domain.loops import running_loop
from .domain.scripting import Fault, Scenario
from .http.script_checks import ScriptError, check_fault, check_scenario_fields
from .plugins import ModelRegistry, ModelTiming, load_registry
from .realservice.replay import Replays
from .seam import LifecycleOnlyMedia, Media
from .services.detection import DetectService
from .services.media_runner import InlineRunner, ProcessRunner, Runner
from .services.rates import WINDOW_SECONDS, RateLimiter
from .services.results import ResultLinks
from .services.scheduling import Scheduler
from .services.task_work import TaskWork
from .services.tasks import TaskService
from .services.uploads import UploadService
from .services.work_pool import WorkPool
from .store import Store, open_store
from .store.base import RateHit
from .store.workdirs import pid_alive, sweep, work_root

__all__ = ["Backend", "load_media", "remove_abandoned_folders"]

FILES_PREFIX = "dashscope-mock-"
OWNER_FILE = ".owner-pid"


def remove_abandoned_folders(root: Path | None = None) -> int:
    """Remove the temporary folders of mocks whose process is gone (killed before ``close``); their count."""
    removed = 0
    for folder in Path(root or tempfile.gettempdir()).glob(FILES_PREFIX + "*"):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge: no owner recorded (or not readable)
        if owner == os.getpid() or pid_alive(owner):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def load_media(config: MockConfig, registry: ModelRegistry, work: Path | None = None) -> Media:
    """The media seam for ``config``: real media work with media checks on (its work folders in ``work``, see
    ``services.workdirs``), placeholders without."""
    if not config.media_checks:
        return LifecycleOnlyMedia(registry)
    from .media import real_media

    return real_media(registry, config.fetch_private, config.allow_fetch, work)


class Backend:
    """Everything the mock knows. ``reset()`` forgets it all and brings the clock back to real time."""

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        clock: Clock | None = None,
        media: Media | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config or MockConfig()
        self.registry = load_registry(self.config.model_modules)
        self.clock: Clock = (
            clock if clock is not None else VirtualClock(frozen=self.config.frozen_clock, start=self.config.clock_start)
        )
        self.store: Store = store if store is not None else open_store(self.config.state)
        self.scenarios = self.store.scenarios
        self.faults = self.store.faults
        self.journal = self.store.journal
        self.ids = IdFactory(self.config.seed)
        self.tz = service_timezone(self.config.timezone_offset_hours)
        self._own_files = False
        if self.config.upload_dir:
            self.files_dir = Path(self.config.upload_dir)
        elif self.store.files_dir is not None:
            self.files_dir = self.store.files_dir
        else:
            remove_abandoned_folders()
            self.files_dir = Path(tempfile.mkdtemp(prefix=FILES_PREFIX))
            (self.files_dir / OWNER_FILE).write_text(str(os.getpid()))
            self._own_files = True
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.work_root = work_root(self.files_dir)  # media work folders, named after their process
        sweep(self.work_root)  # those of processes killed before they could remove them
        self.media: Media = media if media is not None else load_media(self.config, self.registry, self.work_root)
        retry_after = self.config.retry_after_seconds
        self.rates = RateLimiter(self.config.query_qps(), retry_after, self.now, self.store.rates)
        self.scheduler = Scheduler(self.config, self.store, self.timing, self.now)
        self.uploads = UploadService(
            store=self.store,
            ids=self.ids,
            scenarios=self.scenarios,
            now=self.now,
            tz=self.tz,
            files_dir=self.files_dir,
            secret=self.store.secret,
            retry_after_seconds=retry_after,
        )
        workers = int(self.config.engine("media_workers"))
        self.runner: Runner = (
            ProcessRunner(
                workers, self.config.model_modules, self.config.fetch_private, self.config.allow_fetch, self.work_root
            )
            if self.config.media_processes and media is None and self.config.media_checks
            else InlineRunner(self.media)
        )
        self.tasks = TaskService(
            config=self.config,
            store=self.store,
            ids=self.ids,
            scenarios=self.scenarios,
            scheduler=self.scheduler,
            uploads=self.uploads,
            runner=self.runner,
            timing=self.timing,
            now=self.now,
            tz=self.tz,
            results_dir=self.files_dir / "results",
            replays=self._replays(),
        )
        self.results = ResultLinks(self.tasks)
        self.task_work = TaskWork(
            tasks=self.tasks,
            store=self.store,
            runner=self.runner,
            scheduler=self.scheduler,
            journal=self.journal,
            format_time=self.format_time,
        )
        self.pool = WorkPool(
            self.store.work,
            self.task_work.work,
            on_claimed=self.task_work.claimed,
            workers=workers,
            lease_seconds=self.config.engine("lease_seconds"),
            shared=self.store.shared,
            call=self.store.call if self.store.remote else None,
        )
        self.tasks.kick = self.pool.kick
        self.detection = DetectService(self.media, self.uploads, self.scenarios, retry_after, self.store.call)
        if not (self.store.remote and running_loop()):  # on a loop (an app factory's) the server's start reads it
            self.sync_clock()

    # ------------------------------------------------------------------ time, ids, auth
    def now(self) -> float:
        return self.clock.now()

    def format_time(self, epoch: float) -> str:
        return format_service_time(epoch, self.tz)

    def sync_clock(self) -> None:
        """Adopt the store's clock offset (a shared store: every worker and replica sees the same time). The offset
        never goes back but by a reset: a Redis that lost it is re-seeded from the latest one this process knew."""
        if self.store.shared and isinstance(self.clock, VirtualClock):
            self.clock.set_offset(self.store.clock_offset())

    async def begin_request(self, task_id: str | None = None, query_key: str | None = None) -> None:
        """``sync_clock`` as a request's first state read, awaited (``Store.begin_request``); ``task_id``: the task a
        query asks for, read in the same round trip, and ``query_key`` the account whose query limit the store may
        count in it (``check_query_rate`` then takes that count)."""
        if self.store.shared and isinstance(self.clock, VirtualClock):
            rate = None
            if query_key is not None and self.config.rate_limit:
                clock = self.clock
                rate = RateHit(query_key, clock.now(), self.rates.qps, WINDOW_SECONDS, clock.offset)
            self.clock.set_offset(await self.store.begin_request(task_id, rate))

    def advance(self, seconds: float) -> float:
        """Move the virtual clock forward; ``ValueError`` for anything but a finite, non-negative number."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("the clock cannot be advanced")
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"the clock moves forward by a finite number of seconds, not {seconds!r}")
        self.sync_clock()
        latest = clock_latest()
        if self.clock.now() + seconds > latest:  # nothing changes: the answer and every listing stay writable
            raise ValueError(
                f"seconds: {seconds!r} would move the clock past {format_service_time(latest, self.tz)}, the latest "
                f"instant it can reach (x-clock-latest); it is {self.format_time(self.clock.now())}"
            )
        self.clock.set_offset(self.store.advance_clock(float(seconds)))
        return self.clock.now()

    def new_request_id(self) -> str:
        return self.ids.request_id()

    def key_allowed(self, key: str) -> bool:
        return self.config.key_allowed(key)

    def timing(self, model: str) -> ModelTiming:
        if model in self.config.timings:
            return self.config.timings[model]
        return self.registry.video(model).timings[self.config.profile]

    def check_query_rate(self, key: str) -> None:
        """``x-limits.task_query_qps_per_account`` per key; 429 above it (unless the config turns it off)."""
        if self.config.rate_limit:
            self.rates.check(key)

    # ------------------------------------------------------------------ scenarios
    def add_scenario(
        self,
        *,
        model: str,
        code: str | None = None,
        reason: str | None = None,
        times: int = 1,
        url_contains: str | None = None,
        extra_seconds: Mapping[str, float] | None = None,
        values: Mapping[str, Any] | None = None,
        operation: str | None = None,
    ) -> Scenario:
        """Script the next ``times`` requests of ``model``; ``ScriptError`` (a ``ValueError``) naming the field for
        anything that could not take effect: an unknown model, code or status."""
        known = model in self.registry.names()
        detector = known and self.registry.is_detector(model)
        statuses = self.timing(model).statuses if known and not detector else None
        check_scenario_fields(model, self.registry.names(), statuses, extra_seconds)
        found: CatalogueEntry | None = None
        if code is not None:
            found = error_catalogue().find(code, model=model, reason=reason)
            if found is None and detector:
                # A detector reports its model's check failures (liveportrait-detect: "No human face detected.").
                found = error_catalogue().find(code, reason=reason)
            if found is None:
                field, value = (
                    ("reason", reason) if reason and error_catalogue().find(code, model=model) else ("code", code)
                )
                raise ScriptError(
                    "scenario",
                    field,
                    value,
                    f"x-error-catalogue has no such entry for {model!r}: see GET /_mock/catalogue",
                )
        elif not extra_seconds:
            raise ScriptError("scenario", "code", None, "a scenario needs a code, extra_seconds or both")
        if operation is None:
            stage = found.stage if found is not None else "task"
            operation = {"cancel": "cancel", "upload": "upload"}.get(stage, "detect" if detector else "submit")
        return self.scenarios.add(
            model=model,
            times=times,
            operation=operation,
            entry=found,
            url_contains=url_contains,
            extra_seconds=dict(extra_seconds or {}),
            values=dict(values or {}),
        )

    def add_fault(self, **fields: Any) -> Fault:
        """A fault on matching requests; ``ScriptError`` naming the field when it could not fire as written."""
        check_fault(fields)
        return self.faults.add(**fields)

    # ------------------------------------------------------------------ reset
    def _replays(self) -> Replays | None:
        """The recordings to replay (``config.replay``); a file that cannot be read raises ``RecordingError``."""
        if self.config.replay is None:
            return None
        return Replays.from_dir(os.fspath(self.config.replay), strict=self.config.replay_strict)

    async def start(self) -> None:
        """On server start (ASGI lifespan): adopt the shared clock, resume the work a previous run left, and with a
        shared store keep watching for work of other processes."""
        with contextlib.suppress(StateUnavailable):  # Redis is down (its breaker said so): the first request that
            await self.begin_request()  # reaches it adopts the clock, and the server answers 503 until then
        self.pool.kick(self.pool.workers)

    def reset(self) -> None:
        self.pool.close()
        self.store.clear()
        self.ids.reseed(self.config.seed)
        if self.tasks.replays is not None:
            self.tasks.replays.reset()
        if isinstance(self.clock, VirtualClock | RealClock):
            self.clock.reset()
        shutil.rmtree(self.files_dir, ignore_errors=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        if self._own_files:
            (self.files_dir / OWNER_FILE).write_text(str(os.getpid()))

    async def drain(self) -> None:
        """Work until no queued media work is left (tests)."""
        await self.pool.drain()

    def close(self) -> None:
        self.pool.close()
        self.runner.close()
        self.media.close()
        self.store.close()
        if self._own_files:  # a temporary folder of this mock: gone with it
            shutil.rmtree(self.files_dir, ignore_errors=True)
