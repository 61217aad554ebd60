"""Media work folders: where they live, whose they are, and removing those nobody owns any more.

A task's (or a face-detect's) media work downloads its inputs and writes its result in a work folder of its own
(``media.MediaKit.workdir``), removed when the work ends. A process killed meanwhile (a media child killed by the OOM
killer, a server killed with SIGKILL) cannot remove its folders, so each is named after the process that made it
(``<pid>-<model>-<random>``) and whoever finds it with that process gone removes it (:func:`sweep`).

The mock's folders live under its files folder (``Backend.files_dir``), in ``work/<host>`` (:func:`work_root`): the
files folder may be storage shared by replicas on several hosts (``--upload-dir``), where a pid means something only
on its own host, so a process judges the folders of its own host only. Folders not named by a pid are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["SWEEP_SECONDS", "Sweeper", "make_workdir", "owner", "pid_alive", "remove_owned", "sweep", "work_root"]

SWEEP_SECONDS = 60.0
"""A runner sweeps at most this often (when it starts a job): no ticker of its own."""

_OWNED = re.compile(r"(\d+)-")


def work_root(files_dir: Path) -> Path:
    """This host's work folders under a mock's files folder."""
    host = socket.gethostname().replace(os.sep, "_").strip(".") or "localhost"
    return Path(files_dir) / "work" / host


def make_workdir(root: Path | None, model: str) -> Path:
    """A fresh work folder of this process for ``model``'s work, in ``root`` (``None``: the system's temp dir; made
    when missing, as after a reset of the mock's files)."""
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{model}-", dir=root))


def owner(folder: Path) -> int | None:
    """The pid a work folder is named after, ``None`` for a name that is not a work folder's."""
    found = _OWNED.match(folder.name)
    return int(found.group(1)) if found else None


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie, not yet reaped by its parent, still does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _folders(root: Path) -> list[Path]:
    try:
        return [entry for entry in Path(root).iterdir() if entry.is_dir() and owner(entry) is not None]
    except OSError:  # no work folder yet
        return []


def remove_owned(root: Path | None, pid: int) -> int:
    """Remove the work folders of process ``pid`` (a child that died, or stopped); their count."""
    if root is None:
        return 0
    gone = [folder for folder in _folders(root) if owner(folder) == pid]
    for folder in gone:
        shutil.rmtree(folder, ignore_errors=True)
    return len(gone)


def sweep(root: Path | None) -> int:
    """Remove the work folders in ``root`` whose process is gone; their count."""
    if root is None:
        return 0
    removed = 0
    for folder in _folders(root):
        pid = owner(folder)
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


class Sweeper:
    """:func:`sweep` of ``root``, at most once per ``period`` seconds (the first call sweeps); thread-safe."""

    def __init__(self, root: Path | None, period: float = SWEEP_SECONDS) -> None:
        self.root = root
        self.period = period
        self._lock = threading.Lock()
        self._last: float | None = None

    def maybe(self) -> int:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last < self.period:
                return 0
            self._last = now
        return sweep(self.root)
