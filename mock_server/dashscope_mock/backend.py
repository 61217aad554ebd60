"""The mock's state and behaviour, moto-style: one resettable ``Backend`` composing small services.

State: tasks and uploads (in a ``Store``: memory or SQLite), scenarios, faults, the request journal and the
per-key rate windows. Time: an injectable clock (``VirtualClock`` by default). Models: the checked model modules
(``plugins.load_registry``). Media: the seam (``seam.Media``): ``LifecycleOnlyMedia`` with media checks off,
``media.RealMedia`` with them on. Services: ``tasks``, ``scheduler``, ``uploads``, ``runner`` (media work),
``detection`` and ``rates``; ``views`` shapes their answers.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dashscope_openapi import CatalogueEntry, error_catalogue

from .clock import Clock, RealClock, VirtualClock, format_service_time, service_timezone
from .config import MockConfig
from .ids import IdFactory
from .plugins import ModelRegistry, ModelTiming, load_registry
from .scripting import Faults, Journal, Scenario, Scenarios
from .seam import LifecycleOnlyMedia, Media
from .services.detection import DetectService
from .services.media_runner import MediaRunner
from .services.rates import QueryRateLimiter
from .services.scheduling import Scheduler
from .services.tasks import TaskService
from .services.uploads import UploadService
from .store import SqliteStore, Store, open_store

__all__ = ["Backend", "load_media"]


def load_media(config: MockConfig, registry: ModelRegistry) -> Media:
    """The media seam for ``config``: real media work with media checks on, placeholders without."""
    if not config.media_checks:
        return LifecycleOnlyMedia(registry)
    from .media import RealMedia

    return RealMedia(registry)


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
        self.clock: Clock = clock if clock is not None else VirtualClock(frozen=self.config.frozen_clock)
        self.media: Media = media if media is not None else load_media(self.config, self.registry)
        self.store: Store = store if store is not None else open_store(self.config.state)
        self.scenarios = Scenarios()
        self.faults = Faults()
        self.journal = Journal()
        self.ids = IdFactory(self.config.seed)
        self.tz = service_timezone(self.config.timezone_offset_hours)
        if self.config.upload_dir:
            self.files_dir = Path(self.config.upload_dir)
        elif isinstance(self.store, SqliteStore):
            self.files_dir = self.store.path.with_name(self.store.path.name + ".files")
        else:
            self.files_dir = Path(tempfile.mkdtemp(prefix="dashscope-mock-"))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        retry_after = self.config.retry_after_seconds
        self.rates = QueryRateLimiter(self.config.query_qps(), retry_after, self.now)
        self.scheduler = Scheduler(self.config, self.store, self.timing, self.now)
        self.uploads = UploadService(
            store=self.store,
            ids=self.ids,
            scenarios=self.scenarios,
            models=self.registry.names,
            now=self.now,
            tz=self.tz,
            files_dir=self.files_dir,
            secret=f"dashscope-mock:{self.config.seed}".encode(),
            retry_after_seconds=retry_after,
        )
        self.runner = MediaRunner(self.media, self.store, self.now, self._after_outcome)
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
        )
        self.detection = DetectService(self.media, self.uploads, self.scenarios, retry_after)
        self.sync_clock()

    # ------------------------------------------------------------------ time, ids, auth
    def now(self) -> float:
        return self.clock.now()

    def format_time(self, epoch: float) -> str:
        return format_service_time(epoch, self.tz)

    def sync_clock(self) -> None:
        """Adopt the shared clock offset (SQLite state: all workers see the same advanced time)."""
        if isinstance(self.clock, VirtualClock) and isinstance(self.store, SqliteStore):
            self.clock.set_offset(self.store.clock_offset())

    def advance(self, seconds: float) -> float:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("the clock cannot be advanced")
        now = self.clock.advance(seconds)
        self.store.set_clock_offset(self.clock.offset)
        return now

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

    def _after_outcome(self, record: Any) -> None:
        if self.config.concurrency_for(record.model) is not None:
            self.scheduler.replan(record.key, record.model)

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
        """Script the next ``times`` requests of ``model``; raises ``ValueError`` for an unknown code."""
        detector = self.registry.is_detector(model)
        found: CatalogueEntry | None = None
        if code is not None:
            found = error_catalogue().find(code, model=model, reason=reason)
            if found is None and detector:
                # A detector reports its model's check failures (liveportrait-detect: "No human face detected.").
                found = error_catalogue().find(code, reason=reason)
            if found is None:
                raise ValueError(f"x-error-catalogue has no code {code!r} for model {model!r} (reason {reason!r})")
        elif not extra_seconds:
            raise ValueError("a scenario needs a code, extra_seconds or both")
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

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        self.runner.cancel_all()
        self.store.clear()
        self.scenarios.clear()
        self.faults.clear()
        self.journal.clear()
        self.rates.clear()
        self.ids.reseed(self.config.seed)
        if isinstance(self.clock, VirtualClock | RealClock):
            self.clock.reset()
        shutil.rmtree(self.files_dir, ignore_errors=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)

    async def drain(self) -> None:
        """Wait for the media work in flight (tests)."""
        await self.runner.drain()

    def close(self) -> None:
        self.runner.cancel_all()
        self.media.close()
        self.store.close()
