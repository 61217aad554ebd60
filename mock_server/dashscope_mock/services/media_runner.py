"""Where one task's media work runs, once a worker of the pool (``services.work_pool``) has claimed it.

- ``InlineRunner``: on the mock's own event loop (in-process tests, custom ``Media`` objects).
- ``ProcessRunner``: in child processes at a lower CPU priority (``dashscope-mock serve`` with media checks on), so
  that decoding, face analysis and rendering never compete with the API for the server's core: a burst of submits
  costs the API only the records, and face-detect (its own lane, on the server) never waits behind task work.

Both answer a ``RecordedOutcome``. An exception inside media work is a bug of the mock (or of a model module), not a
property of the input: it is logged, kept in ``unexpected`` (the in-process test helper fails the test with it) and
the task ends ``InternalError.Algo``, as the service reports its own failures.

Isolation (``ProcessRunner``): a child works on one task at a time and a task on one child, so a child that dies (a
decoder crash, the OOM killer, kill -9) is the death of that task's work alone. Decision: the task whose child died
FAILS with ``InternalError.Algo`` (logged, kept in ``unexpected``); it is not re-queued, as a death is most likely
caused by the task's own input (a crashing decoder, a render too big for the memory) and running it again would kill
child after child. Its neighbours are untouched, so nothing is re-run: they go on on their own children. The dead
child's work folders (its task's inputs, and the result it was rendering: ``media.kit`` renders in the work folder and
moves a result into place only once complete) are removed at once, and a fresh child replaces it for the next task;
living children are reused, as each loads the face models once (~2 s). Children are spawned on first use, at most
``workers``.

Children ignore SIGINT and SIGTERM: a Ctrl-C in a terminal, or a service manager's SIGTERM, reaches the whole process
group, and the server decides, not the signal: its graceful shutdown (``close``) kills the children and removes their
work folders without recording a failure for the work in flight (with a shared store the next process redoes it). A
child leaves by itself once the server is gone (killed with SIGKILL), removing its own work folders first. Folders
left anyway (a child and its server killed together) are swept by the next process that finds them
(``services.workdirs``): when a mock starts (``Backend``) and, at most once a minute, when a job starts here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import multiprocessing.resource_tracker
import multiprocessing.util
import os
import signal
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Protocol

from ..seam import Media, MediaJob, RecordedOutcome
from ..store.workdirs import Sweeper, remove_owned

__all__ = ["InlineRunner", "ProcessRunner", "Runner"]

logger = logging.getLogger("dashscope_mock.media")

CHILD_NICENESS = 10  # the API first: media work gets the CPU the API leaves
STOP_SECONDS = 10.0  # how long ``close`` waits for a killed child to be gone


class Runner(Protocol):
    unexpected: list[str]

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        """The outcome right away when the media never does I/O (media checks off), else ``None``."""
        ...

    async def run(self, job: MediaJob) -> RecordedOutcome: ...

    def close(self) -> None: ...


def _unexpected(job: MediaJob, error: BaseException) -> RecordedOutcome:
    logger.error("media work of task %s (%s) failed unexpectedly", job.task_id, job.model, exc_info=error)
    return RecordedOutcome.internal_error(job.model, f"{type(error).__name__}: {error}")


class InlineRunner:
    def __init__(self, media: Media) -> None:
        self.media = media
        self.unexpected: list[str] = []

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        if not getattr(self.media, "immediate", False):  # optional, see seam.Media
            return None
        coroutine = self.media.prepare(job)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return RecordedOutcome.of(done.value)
        coroutine.close()
        raise RuntimeError(f"{type(self.media).__name__}.prepare suspended though it says it is immediate")

    async def run(self, job: MediaJob) -> RecordedOutcome:
        try:
            return RecordedOutcome.of(await self.media.prepare(job))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            recorded = _unexpected(job, error)
            self.unexpected.append(str(recorded.unexpected))
            return recorded

    def close(self) -> None:
        return None  # the media belongs to the backend (face-detect uses it too)


# ---------------------------------------------------------------------------------------------------- child side
_child_media: Media | None = None


def _watch_parent(parent: int, work_root: Path | None) -> None:
    """A child outlives a parent killed with SIGKILL unless it looks: leave when the parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    remove_owned(work_root, os.getpid())
    os._exit(0)


def _child_init(
    model_modules: tuple[str, ...],
    parent: int,
    fetch_private: bool,
    allow_fetch: tuple[str, ...],
    work_root: Path | None = None,
) -> None:
    global _child_media
    for stop in (signal.SIGINT, signal.SIGTERM):  # the server stops its children (see the module's docstring)
        signal.signal(stop, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))  # blocked since the spawn: dropped now
    os.nice(CHILD_NICENESS)
    threading.Thread(target=_watch_parent, args=(parent, work_root), name="parent-watch", daemon=True).start()
    from ..media import real_media
    from ..plugins import load_registry

    _child_media = real_media(load_registry(model_modules), fetch_private, allow_fetch, work_root)


def _child_run(job: MediaJob) -> RecordedOutcome:
    assert _child_media is not None, "_child_init sets it"
    try:
        return RecordedOutcome.of(asyncio.run(_child_media.prepare(job)))
    except Exception as error:
        return _unexpected(job, error)


_Init = tuple[tuple[str, ...], int, bool, tuple[str, ...], Path | None]  # ``_child_init``'s arguments


def _child_main(conn: Connection, init: _Init) -> None:
    """A child's life: load the models, then answer one job after another until the parent hangs up."""
    _child_init(*init)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_child_run(job))


# ---------------------------------------------------------------------------------------------------- parent side
class ChildDied(RuntimeError):
    """The child process working on a task died before it answered."""


class _Child:
    """One spawned child and the parent's end of its pipe."""

    def __init__(self, init: _Init) -> None:
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        self.process = context.Process(target=_child_main, args=(there, init), name="dashscope-mock-media", daemon=True)
        # Started with SIGINT/SIGTERM blocked (a mask survives exec): one sent while the child imports stays pending
        # until _child_init ignores it, instead of a KeyboardInterrupt traceback and a task failed as a dead child.
        # (The resource tracker first: starting it unblocks both signals in the calling thread.)
        multiprocessing.resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM))
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        there.close()
        self.conn = here
        assert self.process.pid is not None, "started"
        self.pid: int = self.process.pid

    def ask(self, job: MediaJob) -> RecordedOutcome | None:
        """The child's answer for ``job``; ``None`` when it died first."""
        try:
            self.conn.send(job)
            if self.conn not in wait([self.conn, self.process.sentinel]):
                return None
            answer = self.conn.recv()
        except (EOFError, OSError):
            return None
        assert isinstance(answer, RecordedOutcome), type(answer)
        return answer

    def end(self, work_root: Path | None) -> int:
        """Kill the child (if it still runs), remove its work folders and reap it (in that order: its pid is not
        reused before); the count of folders removed."""
        self.process.kill()
        wait([self.process.sentinel], STOP_SECONDS)
        removed = remove_owned(work_root, self.pid)
        self.process.join(STOP_SECONDS)
        return removed


class ProcessRunner:
    """At most ``workers`` child processes (spawned on first use), each working on one task at a time; a task's work
    folders go to ``work_root`` (the mock's, see ``services.workdirs``)."""

    def __init__(
        self,
        workers: int,
        model_modules: tuple[str, ...],
        fetch_private: bool,
        allow_fetch: tuple[str, ...],
        work_root: Path | None = None,
    ) -> None:
        self.workers = workers
        self.model_modules = model_modules
        self.fetch_policy = (fetch_private, allow_fetch)  # the children build their fetcher from it
        self.work_root = work_root
        self.unexpected: list[str] = []
        self._sweeper = Sweeper(work_root)
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._children: set[_Child] = set()
        self._generation = 0  # ``close`` starts a new one: what a thread of the old one still does is dropped
        self._threads: ThreadPoolExecutor | None = None
        _runners.add(self)

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        return None

    async def run(self, job: MediaJob) -> RecordedOutcome:
        with self._lock:
            if self._threads is None:  # one per child: each waits for its child's answer
                self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="dashscope-mock-media")
            threads, generation = self._threads, self._generation
        try:
            recorded = await asyncio.get_running_loop().run_in_executor(threads, self._work, job, generation)
        except Exception as error:
            recorded = _unexpected(job, error)
        if recorded.unexpected is not None:
            self.unexpected.append(recorded.unexpected)
        return recorded

    def _work(self, job: MediaJob, generation: int) -> RecordedOutcome:
        """In one of the runner's threads: ``job`` on a child of its own, from sending it to the answer."""
        self._sweeper.maybe()
        child = self._take(generation)
        if child is None:
            return _stopped(job)
        try:
            answer = child.ask(job)
        except BaseException:
            self._give_back(child, generation)
            raise
        if answer is not None:
            self._give_back(child, generation)
            return answer
        with self._lock:
            self._children.discard(child)
            stopped = generation != self._generation
        removed = child.end(self.work_root)
        child.conn.close()
        code = child.process.exitcode
        if stopped:
            return _stopped(job)
        died = ChildDied(
            f"the media child process {child.pid} died (exit code {code}) while working on task {job.task_id}; "
            f"{removed} work folder(s) removed"
        )
        return _unexpected(job, died)

    def _take(self, generation: int) -> _Child | None:
        """An idle child, or a new one; ``None`` once the runner was closed."""
        dead: list[_Child] = []
        found: _Child | None = None
        with self._lock:
            while found is None and self._idle and generation == self._generation:
                candidate = self._idle.pop()
                if candidate.process.is_alive():
                    found = candidate
                else:  # killed while idle
                    dead.append(candidate)
                    self._children.discard(candidate)
            closed = generation != self._generation
        for gone in dead:
            logger.warning("the idle media child process %d died (exit code %s)", gone.pid, gone.process.exitcode)
            gone.end(self.work_root)
            gone.conn.close()
        if found is not None or closed:
            return found
        fetch_private, allow_fetch = self.fetch_policy
        child = _Child((self.model_modules, os.getpid(), fetch_private, allow_fetch, self.work_root))
        with self._lock:
            if generation == self._generation:
                self._children.add(child)
                return child
        child.end(self.work_root)  # closed while it started
        child.conn.close()
        return None

    def _give_back(self, child: _Child, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._idle.append(child)
                return
        child.end(self.work_root)  # closed meanwhile (``close`` killed it already)
        child.conn.close()

    def close(self) -> None:
        """Kill the children, removing their work folders; work in flight ends without an outcome of its own."""
        with self._lock:
            self._generation += 1
            children, self._children, self._idle = self._children, set(), []
            threads, self._threads = self._threads, None
        for child in children:
            child.process.kill()  # they ignore SIGTERM
        for child in children:  # a busy child's thread sees it die, and closes its pipe
            child.end(self.work_root)
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)


def _stopped(job: MediaJob) -> RecordedOutcome:
    """The outcome of work the runner's ``close`` stopped: a failure, not a bug (its caller was cancelled anyway)."""
    return dataclasses.replace(RecordedOutcome.internal_error(job.model, "stopped"), unexpected=None)


_runners: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()


def _close_all() -> None:
    for runner in list(_runners):
        runner.close()


# At exit, before multiprocessing terminates and joins its children (which ignore SIGTERM): kill them.
multiprocessing.util.Finalize(None, _close_all, exitpriority=100)
