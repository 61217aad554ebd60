"""connexion's import warns about its own dependencies: starlette's test client wants httpx2, and jsonschema's
``RefResolver`` and ``RefResolutionError`` are deprecated. None is the user's to fix, yet a user's suite under
``-W error`` (or ``filterwarnings = error``) would fail at the mock fixture's first use, and ``dashscope-mock serve``
would print them first thing. ``install()`` puts a finder in front of the import system that, the first time
``connexion`` is imported (by whichever module of the mock comes first), runs that import with exactly these
warnings silenced; every other warning, and every later one, is left alone."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["install"]

# (message regex, category) of each warning connexion's import raises that is not the user's to act on.
SILENCED = (
    (r"Using `httpx` with `starlette\.testclient`", UserWarning),
    (r"jsonschema\.RefResolver is deprecated", DeprecationWarning),
    (r"jsonschema\.exceptions\.RefResolutionError is deprecated", DeprecationWarning),
)


class _QuietLoader(importlib.abc.Loader):
    """The real loader, its module run with ``SILENCED`` ignored; everything else (``get_data`` for the package's
    own files, resource readers) is the real loader's."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with warnings.catch_warnings():
                for message, category in SILENCED:
                    warnings.filterwarnings("ignore", message=message, category=category)
                self.loader.exec_module(module)
        finally:  # imported (or failed for good): the finder's work is done
            sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietFinder)]


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of ``connexion`` (a look-up that does not import, ``importlib.util.find_spec``, gets the
    wrapped spec too); leaves once connexion is imported."""

    _looking = False

    def find_spec(
        self, name: str, path: Any, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "connexion" or self._looking:
            return None
        if "connexion" in sys.modules:  # imported: nothing left to quiet
            self.leave()
            return None
        self._looking = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._looking = False
        if spec is not None and spec.loader is not None and not isinstance(spec.loader, _QuietLoader):
            spec.loader = _QuietLoader(spec.loader)
        return spec

    def leave(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def install() -> None:
    """Quiet connexion's first import (nothing to do once it is imported, or when it is not installed)."""
    if "connexion" in sys.modules or any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder())
