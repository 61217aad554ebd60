"""Client conformance (a): every response the spec allows is parsed by the generated client and round-trips.

Bodies are drawn from the spec's own schemas by schemathesis, served through an ``httpx.MockTransport`` to each
operation's ``sync_detailed``, and must come back as the documented model with ``to_dict()`` equal to the body.
A status, field or type the spec allows but the client cannot parse fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

import dashscope_video_client.models as models
from dashscope_video_client import AuthenticatedClient

from ._spec import Operation, operations, response_schema_name, schema_strategy
from .conftest import call_kwargs

CASES = [
    (operation, status)
    for operation in operations()
    for status in operation.spec["responses"]
    if "content" in operation.spec["responses"][status] or "$ref" in operation.spec["responses"][status]
]


@pytest.mark.parametrize(("operation", "status"), CASES, ids=[f"{o.operation_id}-{s}" for o, s in CASES])
def test_every_allowed_response_parses_and_round_trips(operation: Operation, status: str) -> None:
    schema_name = response_schema_name(operation, status)
    expected = getattr(models, schema_name)
    kwargs = call_kwargs(operation)

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(schema_strategy(schema_name))
    def check(body: Any) -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(int(status), json=body))
        client = AuthenticatedClient(
            base_url="https://dashscope.aliyuncs.com", token="sk-contract", httpx_args={"transport": transport}
        )
        response = operation.module.sync_detailed(client=client, **kwargs)
        assert isinstance(response.parsed, expected), (schema_name, body, response.parsed)
        assert response.parsed.to_dict() == body

    check()
