"""What a test scripts (faults, scenarios) is checked when it is made, against the specs: a typo must fail the test
that made it, not leave a fault that never fires. The same checks serve the Python shortcuts (``testing``) and the
control plane (``POST /_mock/faults``, ``/_mock/scenarios``): the request schema of the control spec (the very
``SchemaCheck`` connexion's hook uses), then what the schema cannot say (an operation of either spec that a fault can
reach, fields that only one kind uses, a model's statuses). A refusal is a ``ScriptError`` naming the field, the value
given and what is allowed; the control plane answers it as a 400 with that message."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match

from dashscope_openapi import load_control_spec, load_spec, task_statuses

from .faults import BEHAVIOURS, LATENCY_FIELDS, fault_operations, response_fields
from .routing import SERVICE_CONTROL_OPERATIONS, control_operations, router

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
    """A schema error of a control-plane request as a ``ScriptError``: the field, the value, the rule broken. A fault
    (``FaultRequest``, one ``oneOf`` branch per kind) is described by the branch of its ``kind``, never as "not
    valid under any of the given schemas"."""
    if operation_id == "createFault" and isinstance(body, Mapping):
        refused = _fault_schema_error(body)
        if refused is not None:
            return refused
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


@functools.cache
def _fault_schemas() -> tuple[Draft4Validator, Mapping[str, Draft4Validator]]:
    """``FaultRequest`` without its ``oneOf`` (the fields every fault may have), and its branches by kind."""
    schema = dict(load_control_spec()["components"]["schemas"]["FaultRequest"])
    branches = schema.pop("oneOf", ())
    by_kind = {str(branch["properties"]["kind"]["enum"][0]): Draft4Validator(branch) for branch in branches}
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER), by_kind


def _fault_schema_error(body: Mapping[str, Any]) -> ScriptError | None:
    common, by_kind = _fault_schemas()
    error = best_match(common.iter_errors(body))
    if error is not None:
        return describe_schema_error("fault", error, body)
    kind = str(body["kind"])
    error = best_match(by_kind[kind].iter_errors(body)) if kind in by_kind else None
    if error is None:
        return None
    field = ".".join(map(str, error.path))
    if error.validator == "not" and field:  # a field of another kind
        owner = next((other for other, b in BEHAVIOURS.items() if field in b.fields), "another kind")
        return ScriptError("fault", field, error.instance, f"only for kind {owner!r} (this fault is {kind!r})")
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in body), "?")
        return ScriptError("fault", missing, None, f"required for kind {kind!r}")
    if error.validator == "enum":
        allowed = f"a {kind!r} fault is for {_listing(error.validator_value)} only"
        return ScriptError("fault", field, error.instance, allowed)
    return describe_schema_error("fault", error, body)


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
    if fields.get("probability", 1.0) == 0:
        raise ScriptError("fault", "probability", 0, "a fault with probability 0 never fires: > 0")
    _check_selection(fields)
    required = fault_operations(kind)
    if required is not None and operation != required:
        raise ScriptError("fault", "operation", operation, f"a {kind!r} fault is for {required!r} only: name it")
    if kind == "latency":
        _check_latency(fields)
    elif kind == "wrong_type":
        _check_wrong_type(operation, fields.get("field"))
    elif kind == "unknown_status":
        status = fields.get("task_status")
        if status is None or status in task_statuses():
            known = f"a status the spec does not document (not {_listing(task_statuses())})"
            raise ScriptError("fault", "task_status", status, known)


def _check_selection(fields: Mapping[str, Any]) -> None:
    """The request selectors the schema cannot check: a known model, a window that is not empty, a name that does
    not read as another fault's id."""
    model = fields.get("model")
    known = sorted(load_spec()["x-models"])
    if model is not None and model not in known:
        raise ScriptError("fault", "model", model, f"allowed: {_listing(known)}")
    start, end = fields.get("active_from"), fields.get("active_until")
    if start is not None and end is not None and end <= start:
        raise ScriptError("fault", "active_until", end, f"the window ends after it starts (active_from {start!r})")
    name = fields.get("name")
    if name is not None and str(name).strip().isdigit():
        raise ScriptError("fault", "name", name, "a name that is not a number (X-Mock-Fault names ids by number)")
    if name is not None and "," in str(name):
        raise ScriptError("fault", "name", name, "a name without a comma (X-Mock-Fault separates names by commas)")


def _check_latency(fields: Mapping[str, Any]) -> None:
    distribution = fields.get("latency_distribution") or "fixed"
    for other, names in LATENCY_FIELDS.items():
        for name in names:
            if other != distribution and fields.get(name) is not None:
                raise ScriptError("fault", name, fields[name], f"only for latency_distribution {other!r}")
    if distribution == "fixed" and not fields.get("latency_seconds"):
        raise ScriptError("fault", "latency_seconds", fields.get("latency_seconds"), "a latency fault needs > 0")
    if distribution == "uniform":
        low, high = fields.get("latency_min_seconds"), fields.get("latency_max_seconds")
        if low is None:
            raise ScriptError("fault", "latency_min_seconds", None, "required for a uniform latency")
        if high is None or high <= 0 or high < low:
            raise ScriptError("fault", "latency_max_seconds", high, f"> 0 and >= latency_min_seconds ({low!r})")
    if distribution == "lognormal" and not fields.get("latency_median_seconds"):
        median = fields.get("latency_median_seconds")
        raise ScriptError("fault", "latency_median_seconds", median, "a lognormal latency needs a median > 0")


def _check_wrong_type(operation: str, field: Any) -> None:
    answer = response_fields(operation) if operation != "*" else {}
    if not answer:
        faulted = sorted(o for o in _operation_methods() if response_fields(o))
        allowed = f"an operation whose answer is JSON: {_listing(faulted)}"
        raise ScriptError("fault", "operation", operation, allowed)
    if field not in answer:
        raise ScriptError("fault", "field", field, f"a property of {operation}'s answer: {_listing(sorted(answer))}")


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
