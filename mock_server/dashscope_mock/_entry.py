"""The light side of ``dashscope_mock``: the ``dashscope-mock`` console script and the install hint.

The SDK installs without the mock's dependencies (``pip install dashscope-portrait-video``); they come with the
``mock`` extra. This module imports nothing from that extra, so the console script, ``import dashscope_mock`` and the
pytest plugin load in a light install and say how to get the mock instead of failing with a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "MOCK_MODULES", "main", "missing_mock_modules", "mock_extra_error"]

INSTALL_HINT = "the mock server needs the 'mock' extra: pip install 'dashscope-portrait-video[mock]'"

# Top-level modules of the distributions the ``mock`` extra installs (pyproject.toml).
MOCK_MODULES = (
    "connexion",
    "uvicorn",
    "swagger_ui_bundle",
    "rfc3987",
    "jsonschema_rs",
    "av",
    "cv2",
    "dlib",
    "face_recognition_models",
    "numpy",
    "PIL",
    "redis",
)


def missing_mock_modules() -> list[str]:
    """The modules of the ``mock`` extra that cannot be imported here (found without importing them)."""
    return [name for name in MOCK_MODULES if importlib.util.find_spec(name) is None]


def mock_extra_error(error: ModuleNotFoundError) -> ModuleNotFoundError | None:
    """The hint as an error when ``error`` is about a module of the ``mock`` extra; ``None`` for any other module."""
    missing = (error.name or "").partition(".")[0]
    if missing not in MOCK_MODULES:
        return None
    hint = ModuleNotFoundError(f"No module named {missing!r}: {INSTALL_HINT}", name=error.name)
    hint.__cause__ = error
    return hint


def main(argv: Sequence[str] | None = None) -> int:
    """``dashscope-mock``: the real CLI (``dashscope_mock.cli``) when the ``mock`` extra is installed."""
    missing = missing_mock_modules()
    if missing:
        print(f"dashscope-mock: {INSTALL_HINT} (missing: {', '.join(missing)})", file=sys.stderr)
        return 1
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
