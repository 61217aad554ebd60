"""The SDK's injectable clock (``_clock``)."""

from __future__ import annotations

import asyncio

from dashscope_video import HookClock


def test_an_async_sleep_hook_that_never_suspends_still_lets_other_tasks_run() -> None:
    order: list[str] = []

    async def hook(seconds: float) -> None:  # completes at once, like a virtual clock's advance
        order.append(f"slept {seconds:g}")

    clock = HookClock(hook)

    async def sleeper(name: str) -> None:
        for _ in range(2):
            await clock.async_sleep(1)
            order.append(name)

    async def main() -> None:
        await asyncio.gather(sleeper("a"), sleeper("b"))

    asyncio.run(main())
    assert [name for name in order if name in ("a", "b")] == ["a", "b", "a", "b"]  # not a, a, b, b
