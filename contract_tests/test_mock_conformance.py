"""Mock conformance: schemathesis against the in-process app (``from_asgi``), all checks, response validation on.

The parametrized tests run the spec's examples, the coverage phase (boundary values) and fuzzing, in positive and
negative modes; the state machine follows the spec's links (submit → getTask / cancelTask). The control-plane spec
is tested the same way. Fixed seed, small example counts: it stays fast and must find nothing. The mock runs as
``make mock`` serves it (no ``strict_fields``): the spec states what the service accepts, its ``x-leniency``
included (``input``/``parameters`` open to undocumented keys), so the default mock answers exactly as the schemas
say. ``--strict-fields`` is stricter than the spec on purpose (tests/mock_server/test_leniency.py).
One check is swapped, not dropped: see ``service_400``.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dashscope_mock import MockConfig, create_app
from dashscope_openapi import error_catalogue

KEY = "sk-schemathesis"
AUTH = {"Authorization": f"Bearer {KEY}"}

# The in-process app, without the per-key query limit (thousands of generated queries in one frozen second).
APP = create_app(MockConfig(frozen_clock=True, rate_limit=False, seed=1, media_checks=False))

public = schemathesis.openapi.from_asgi("/openapi.json", APP)
control = schemathesis.openapi.from_asgi("/_mock/openapi.json", APP)
public.config.update(base_url="http://dashscope.mock")
control.config.update(base_url="http://dashscope.mock/_mock")
for schema in (public, control):
    schema.config.generation.update(max_examples=8)
    schema.config.seed = 1

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


# Schema-valid requests the service still answers 400, by design (see ``service_400``).
ANSWERS_400 = {
    # canceling a drawn id that is not a PENDING task (recorded exchange)
    "/cancel": ("UnsupportedOperation", "cancel_not_pending"),
    # face-detect of an image that cannot be downloaded (a drawn oss:// URL that is no upload of this key)
    "/face-detect": ("InvalidURL", "detect_download"),
}


def _expected_400(case: Any) -> tuple[str, str] | None:
    return next((v for k, v in ANSWERS_400.items() if case.operation.path.endswith(k)), None)


def excluded(case: Any) -> list[Any]:
    return [positive_data_acceptance] if _expected_400(case) else []


def service_400(ctx: Any, response: Any, case: Any) -> bool | None:
    """Replaces positive_data_acceptance where the service answers valid data with a documented 400."""
    expected = _expected_400(case)
    if expected is not None and response.status_code == 400:
        body = response.json()
        if error_catalogue().find(body["code"], stages=["submit"]) is None:  # else: request validation
            entry = error_catalogue().find(expected[0], reason=expected[1])
            assert entry is not None
            assert (body["code"], body["message"]) == (entry.code, entry.message), body
    return None


@public.parametrize()
@SETTINGS
def test_public_api(case: Any) -> None:
    case.call_and_validate(headers=AUTH, excluded_checks=excluded(case), additional_checks=[service_400])


# A script that cannot take effect is refused naming the field (schemathesis.toml, createFault/createScenario).
SCRIPTS = {"createFault": "fault.", "createScenario": "scenario."}


def script_400(ctx: Any, response: Any, case: Any) -> bool | None:
    """Replaces positive_data_acceptance for the scripting operations: their 400 names the field."""
    prefix = SCRIPTS.get(str(case.operation.definition.raw.get("operationId")))
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if prefix is not None and positive and response.status_code == 400:
        body = response.json()
        assert body["code"] == "InvalidParameter" and body["message"].startswith(prefix), body
    return None


@control.parametrize()
@SETTINGS
def test_control_plane(case: Any) -> None:
    scripting = str(case.operation.definition.raw.get("operationId")) in SCRIPTS
    try:
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance] if scripting else [], additional_checks=[script_400]
        )
    finally:
        # A fault a case made would fire on the next cases of the faultable control routes (getResult, postObject):
        # each case starts without one, so every answer judged is the mock's own.
        if scripting:
            APP.backend.faults.clear()


class PublicStateMachine(public.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTH}

    def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(
            response,
            additional_checks=[service_400],
            excluded_checks=excluded(case),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


TestPublicStateful = PublicStateMachine.TestCase
TestPublicStateful.settings = settings(
    max_examples=15, stateful_step_count=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(autouse=True, scope="module")
def _reset_between_modules() -> Any:
    yield
    APP.backend.reset()
