"""The light side of ``dashscope_mock``: the ``dashscope-mock`` console script and the install hint.

The SDK installs without the mock's dependencies (``pip install .`` from a checkout); they come with the ``mock``
extra. This module imports nothing from that extra, so the console script, ``import dashscope_mock`` and the pytest
plugin load in a light install and say how to get the mock instead of failing with a traceback.

The package is not published on PyPI, so the hint gives forms that install from a checkout, and names the very folder
this install came from when pip recorded one (``direct_url.json``, PEP 610).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

__all__ = [
    "DISTRIBUTION",
    "INSTALL_HINT",
    "MEDIA_MODULES",
    "MOCK_MODULES",
    "SERVE_MODULES",
    "install_hint",
    "installed_from",
    "main",
    "missing_media_modules",
    "missing_mock_modules",
    "mock_extra_error",
]

DISTRIBUTION = "dashscope-portrait-video"

# The name form stays last: it works only where an index carries the package (a private one), never from PyPI.
_NAME_FORM = f"pip install '{DISTRIBUTION}[mock]' works only with an index that carries the package"

INSTALL_HINT = (
    f"the mock server needs the 'mock' extra, and {DISTRIBUTION} is not published on PyPI: from a checkout of its "
    f"repository, pip install '.[mock]'; from anywhere else, pip install "
    f"'{DISTRIBUTION}[mock] @ file:///path/to/the/checkout' ({_NAME_FORM})"
)
"""The hint when this install's source folder is unknown (see ``install_hint``)."""

# Top-level modules of the distributions the ``serve`` extra installs (pyproject.toml): what serving needs.
SERVE_MODULES = (
    "connexion",
    "uvicorn",
    "swagger_ui_bundle",
    "rfc3987",
    "jsonschema_rs",
    "redis",
)
# Top-level modules of the media stack the ``mock`` extra adds to ``serve``: what media checks need (media checks off
# import none of them).
MEDIA_MODULES = (
    "av",
    "cv2",
    "dlib",
    "face_recognition_models",
    "numpy",
    "PIL",
)
MOCK_MODULES = SERVE_MODULES + MEDIA_MODULES
"""Top-level modules of the distributions the ``mock`` extra installs (``serve`` and the media stack)."""


def _missing(names: Sequence[str]) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


def missing_mock_modules() -> list[str]:
    """The modules serving needs (the ``serve`` extra's) that cannot be imported here (found without importing
    them). The console script starts without the media stack (media checks then default to off)."""
    return _missing(SERVE_MODULES)


def missing_media_modules() -> list[str]:
    """The modules of the media stack (the ``mock`` extra's beyond ``serve``) that cannot be imported here."""
    return _missing(MEDIA_MODULES)


def installed_from() -> tuple[Path, bool] | None:
    """The checkout this install was made from and whether it is editable, from pip's record of a direct install;
    ``None`` for an install from an index or a wheel, or when that folder is no longer a project."""
    try:
        record_text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        record = json.loads(record_text or "")
    except ValueError:
        return None
    url = record.get("url") if isinstance(record, dict) else None
    dir_info = record.get("dir_info") if isinstance(record, dict) else None
    if not isinstance(url, str) or not url.startswith("file://") or not isinstance(dir_info, dict):
        return None
    folder = Path(url2pathname(urlparse(url).path))
    if not (folder / "pyproject.toml").is_file():
        return None
    return folder, bool(dir_info.get("editable"))


def install_hint() -> str:
    """How to install the ``mock`` extra here: from the checkout this install came from when it is known, else
    ``INSTALL_HINT``'s general forms."""
    source = installed_from()
    if source is None:
        return INSTALL_HINT
    folder, editable = source
    command = f"pip install {'-e ' if editable else ''}{shlex.quote(f'{folder}[mock]')}"
    return (
        f"the mock server needs the 'mock' extra: {command} (this install came from {folder}; {DISTRIBUTION} is not "
        f"published on PyPI, so {_NAME_FORM})"
    )


def mock_extra_error(error: ModuleNotFoundError) -> ModuleNotFoundError | None:
    """The hint as an error when ``error`` is about a module of the ``mock`` extra; ``None`` for any other module."""
    missing = (error.name or "").partition(".")[0]
    if missing not in MOCK_MODULES:
        return None
    hint = ModuleNotFoundError(f"No module named {missing!r}: {install_hint()}", name=error.name)
    hint.__cause__ = error
    return hint


def main(argv: Sequence[str] | None = None) -> int:
    """``dashscope-mock``: the real CLI (``dashscope_mock.cli``) when what serving needs is installed (the ``serve``
    extra, or ``mock``: ``serve`` and the media stack)."""
    missing = missing_mock_modules()
    if missing:
        print(f"dashscope-mock: {install_hint()} (missing: {', '.join(missing)})", file=sys.stderr)
        return 1
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
