"""What a test scripts (faults, scenarios) is checked when it is made, against the specs: a typo must fail the test
that made it, not leave a fault that never fires. The same checks serve the Python shortcuts (``testing``) and the
control plane (``POST /_mock/faults``, ``/_mock/scenarios``): the request schema of the control spec (the very
``SchemaCheck`` connexion's hook uses), then what the schema cannot say (an operation of either spec that a fault can
reach, fields that only one kind uses, a model's statuses). A refusal is a ``ScriptError`` naming the field, the value
given and what is allowed; the control plane answers it as a 400 with that message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from ..faults import BEHAVIOURS
from ..routing import SERVICE_CONTROL_OPERATIONS, control_operations, router

__all__ = ["ScriptError", "check_fault", "check_scenario_fields", "describe_schema_error"]


class ScriptError(ValueError):
    """A scripted fault or scenario that could not take effect as written."""

    def __init__(self, what: str, field: str, value: Any, allowed: str) -> None:
        self.what, self.field, self.value, self.allowed = what, field, value, allowed
        super().__init__(f"{what}.{field}: {value!r} is not accepted; {allowed}")


def _listing(values: Iterable[Any]) -> str:
    return ", ".join(repr(value) for value in values)


SCRIPTED = {"createFault": "fault", "createScenario": "scenario"}  # what a control operation's body scripts


def describe_schema_error(operation_id: str, error: ValidationError, body: Any) -> ScriptError:
    """A schema error of a control-plane request as a ``ScriptError``: the field, the value, the rule broken."""
    what = SCRIPTED.get(operation_id, operation_id)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = sorted(set(error.instance) - set(known))
        field = ".".join([*map(str, error.path), extra[0]]) if extra else "?"
        value = error.instance.get(extra[0]) if extra else None
        return ScriptError(what, field, value, f"unknown field; the fields are {_listing(sorted(known))}")
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((name for name in error.validator_value if name not in error.instance), "?")
        return ScriptError(what, missing, None, "required")
    field = ".".join(map(str, error.path)) or "(body)"
    if error.validator == "enum":
        return ScriptError(what, field, error.instance, f"allowed: {_listing(error.validator_value)}")
    rule = f"must satisfy {error.validator} {error.validator_value!r}"
    return ScriptError(what, field, error.instance, rule)


def _operation_methods() -> dict[str, str]:
    """Each operation a fault can reach, with its HTTP method: the public API's and the simulated service's routes
    under the control plane (the rest of the control plane is never faulted: a test can always script and reset)."""
    control = control_operations()
    return {
        route.operation: route.method
        for route in router().routes
        if route.operation not in control or route.operation in SERVICE_CONTROL_OPERATIONS
    }


def check_fault(fields: Mapping[str, Any]) -> None:
    """Refuse a fault that cannot fire as written (the schema's part is checked by the caller's ``SchemaCheck``)."""
    methods = _operation_methods()
    operation = fields.get("operation", "*")
    if operation != "*" and operation not in methods:
        allowed = f"an operationId a fault can reach, or '*': {_listing(sorted(methods))}"
        raise ScriptError("fault", "operation", operation, allowed)
    method = fields.get("method")
    if method is not None and operation != "*" and method.upper() != methods[operation]:
        raise ScriptError("fault", "method", method, f"{operation} is {methods[operation]}")
    kind = fields["kind"]
    for other, behaviour in BEHAVIOURS.items():
        for name in behaviour.fields:
            if other != kind and fields.get(name) is not None:
                raise ScriptError("fault", name, fields[name], f"only for kind {other!r} (this fault is {kind!r})")
    if kind == "latency" and not fields.get("latency_seconds"):
        raise ScriptError("fault", "latency_seconds", fields.get("latency_seconds"), "a latency fault needs > 0")
    if fields.get("probability", 1.0) == 0:
        raise ScriptError("fault", "probability", 0, "a fault with probability 0 never fires: > 0")


def check_scenario_fields(
    model: str, models: Iterable[str], statuses: Iterable[str] | None, extra_seconds: Mapping[str, Any] | None
) -> None:
    """Refuse a scenario of an unknown model, or one delaying a status its model never shows."""
    known = sorted(models)
    if model not in known:
        raise ScriptError("scenario", "model", model, f"allowed: {_listing(known)}")
    if extra_seconds and statuses is not None:
        allowed = ["PENDING", *statuses]
        for status in extra_seconds:
            if status not in allowed:
                raise ScriptError(
                    "scenario",
                    f"extra_seconds.{status}",
                    extra_seconds[status],
                    f"{model}'s statuses: {_listing(allowed)}",
                )
