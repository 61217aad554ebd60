"""The request being served: which mock state answers it, who sent it, and its request id.

``MockApp`` sets it for every request; handlers (``handlers``, ``control``), the security hook and the error
handler read it with ``current_request()``. ``bearer_key`` is the one parser of the ``Authorization`` header.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from ..backend import Backend

__all__ = ["RequestContext", "bearer_key", "current_request", "state_work", "use_request"]

P = ParamSpec("P")
T = TypeVar("T")


def bearer_key(value: str | None) -> str | None:
    """The key of ``Authorization: Bearer <key>``, surrounding whitespace dropped; ``None`` when the header is
    missing, of another scheme, or has no key. The security hook, the fast path and the journal all read it here."""
    if not value:
        return None
    parts = value.split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() or None


@dataclass
class RequestContext:
    backend: Backend
    method: str
    path: str
    headers: Mapping[str, str]
    base_url: str
    operation: str | None
    note: str | None = None  # for the journal: what the mock did besides answering (undocumented fields ignored)
    server_send: Any = field(default=None, repr=False)  # the server's own ``send`` (``events.shutdown_probe``)
    _request_id: str | None = field(default=None, repr=False)
    _key: str | None = field(default=None, repr=False)
    _key_read: bool = field(default=False, repr=False)

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            self._request_id = self.backend.new_request_id()
        return self._request_id

    @property
    def assigned_request_id(self) -> str | None:
        """The request id if one was handed out (the journal does not create one)."""
        return self._request_id

    @property
    def key(self) -> str | None:
        if not self._key_read:  # read for the handler, the journal and the log line: parse once
            self._key = bearer_key(self.headers.get("authorization"))
            self._key_read = True
        return self._key

    def add_note(self, text: str) -> None:
        self.note = text if self.note is None else f"{self.note}; {text}"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


_CONTEXT: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("dashscope_mock_request")


def current_request() -> RequestContext:
    return _CONTEXT.get()


def use_request(context: RequestContext) -> contextvars.Token[RequestContext]:
    """Make ``context`` the current request; pass the token to ``release_request``."""
    return _CONTEXT.set(context)


def release_request(token: contextvars.Token[RequestContext]) -> None:
    _CONTEXT.reset(token)


def state_work(handler: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """A handler doing synchronous work on the state, as an async handler that runs it where it cannot block the event
    loop (``Store.call``: a worker thread when the state is on the network, inline otherwise)."""

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await current_request().backend.store.call(functools.partial(handler, *args, **kwargs))

    return run
