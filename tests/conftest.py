from __future__ import annotations

from collections.abc import Iterator

import pytest

from .services import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the session (never skipped: ``make test`` installs it when missing)."""
    with redis_server() as url:
        yield url
