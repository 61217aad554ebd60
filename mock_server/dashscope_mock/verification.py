"""What a test caused, asserted WireMock-style (``MockDashScope.assert_requested``, ``assert_fired``): the failure
message shows the near misses, so a test that expected a request or a fault that did not happen says why.

A fault or scenario handle is the object the shortcut returned; its counts are read again from the mock's state
(with a shared store the handle itself is a copy made at creation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .domain.scripting import Fault, JournalEntry, Scenario

if TYPE_CHECKING:
    from .testing import MockDashScope

__all__ = ["fired", "requested"]

SHOWN = 10  # near misses listed in a message


def _line(entry: JournalEntry) -> str:
    note = f" ({entry.note})" if entry.note else ""
    return f"  #{entry.seq} {entry.method} {entry.path} -> {entry.status} [{entry.operation or 'no operation'}]{note}"


def _listing(entries: list[JournalEntry], title: str) -> str:
    if not entries:
        return f"\n{title}: none"
    shown = "\n".join(_line(entry) for entry in entries[-SHOWN:])
    more = f"\n  ... and {len(entries) - SHOWN} earlier" if len(entries) > SHOWN else ""
    return f"\n{title}:\n{shown}{more}"


def requested(
    mock: MockDashScope, operation: str, *, times: int | None, at_least: int, status: int | None, **filters: Any
) -> list[JournalEntry]:
    same_operation = mock.requests(operation, **filters)
    found = [entry for entry in same_operation if status is None or entry.status == status]
    wanted = f"exactly {times}" if times is not None else f"at least {at_least}"
    if (times is not None and len(found) == times) or (times is None and len(found) >= at_least):
        return found
    answered = f" answered {status}" if status is not None else ""
    message = f"{operation}{answered} was requested {len(found)} time(s), expected {wanted}"
    if status is not None:
        message += _listing([e for e in same_operation if e.status != status], f"{operation} with another status")
    others = [entry for entry in mock.requests() if entry.operation != operation]
    raise AssertionError(message + _listing(others, "other requests (the near misses)"))


def _current(mock: MockDashScope, scripted: Fault | Scenario) -> Fault | Scenario | None:
    keeper = mock.backend.faults if isinstance(scripted, Fault) else mock.backend.scenarios
    items: list[Fault | Scenario] = list(keeper.list())
    return next((item for item in items if item.id == scripted.id), None)


def fired(mock: MockDashScope, scripted: Fault | Scenario, *, times: int | None) -> int:
    now = _current(mock, scripted)
    if isinstance(scripted, Fault):
        what = f"fault #{scripted.id} ({scripted.kind} on {scripted.operation})"
        count = now.fired if isinstance(now, Fault) else None
        candidates = mock.requests(None if scripted.operation == "*" else scripted.operation)
    else:
        what = f"scenario #{scripted.id} ({scripted.model}, {scripted.operation})"
        count = now.used if isinstance(now, Scenario) else None
        candidates = [entry for entry in mock.requests() if entry.operation is not None]
    if count is None:
        raise AssertionError(f"{what} is gone (removed, or the mock was reset): it cannot be checked")
    if (times is None and count >= 1) or count == times:
        return count
    wanted = f"exactly {times}" if times is not None else "at least once"
    raise AssertionError(
        f"{what} fired {count} time(s), expected {wanted}" + _listing(candidates, "requests it could have matched")
    )
