"""pytest plugin of the mock server (registered as the ``dashscope_mock`` pytest11 entry point).

Fixtures:

``dashscope_mock``
    A fresh in-process mock per test (``dashscope_mock.testing.MockDashScope``): frozen virtual clock, media
    checks off. ``dashscope_mock.async_client()`` / ``.client()`` / ``.async_transport()`` / ``.transport()``
    talk to it without a socket; ``with dashscope_mock.serve() as base_url:`` runs it on a real port;
    ``.advance(s)``, ``.scenario(model, code)``, ``.fault(kind, operation, ...)``, ``.requests(operation)``,
    ``.clock``, ``.scenarios``, ``.faults``, ``.journal``, ``.backend`` script and inspect it.
    Configure it per test with ``@pytest.mark.dashscope_mock(seed=1, rate_limit=False, ...)`` (``MockConfig``
    fields).

``dashscope_mock_factory``
    ``factory(**config) -> MockDashScope`` for tests that need several mocks or other settings; closed at teardown.

pytest loads this plugin wherever the package is installed, also without the ``mock`` extra: importing it imports
nothing from that extra, and the fixtures raise ``ModuleNotFoundError`` with the install hint when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._entry import mock_extra_error

if TYPE_CHECKING:
    from .testing import MockDashScope


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dashscope_mock(**config): MockConfig fields for the dashscope_mock fixture")


@pytest.fixture
def dashscope_mock_factory() -> Iterator[Callable[..., MockDashScope]]:
    try:
        from .testing import mock_dashscope
    except ModuleNotFoundError as error:
        hint = mock_extra_error(error)
        if hint is None:
            raise
        raise hint from error

    stack: list[Any] = []

    def make(**config: Any) -> MockDashScope:
        manager = mock_dashscope(**config)
        stack.append(manager)
        return manager.__enter__()

    yield make
    while stack:
        stack.pop().__exit__(None, None, None)


@pytest.fixture
def dashscope_mock(
    request: pytest.FixtureRequest, dashscope_mock_factory: Callable[..., MockDashScope]
) -> MockDashScope:
    marker = request.node.get_closest_marker("dashscope_mock")
    config = dict(marker.kwargs) if marker is not None else {}
    return dashscope_mock_factory(**config)
