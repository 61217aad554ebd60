"""The event loop running on this thread, if any: whether a call may block it, or must be handed to it."""

from __future__ import annotations

import asyncio

__all__ = ["running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's running event loop; ``None`` on a thread that runs none."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
