"""schemathesis hooks for ``make contract``; scripts/contract_cli.sh loads them (``SCHEMATHESIS_HOOKS``).

Two answers the spec documents that schemathesis' built-in checks would call failures, each accepted exactly:

- ``documented_400`` (a check): schemathesis.toml lets two operations answer a schema-valid request with 400. Such
  a 400 must be that operation's ``x-error-catalogue`` entry, code and message, so a 400 for any other reason (a
  validation bug rejecting a valid body) still fails the run.
- ``filter_failure`` (a hook): the service ignores undocumented keys inside the request-body objects
  ``x-leniency.unknown_keys`` names (``input``, ``parameters``) and undocumented query parameters
  (``x-leniency.unknown_query_parameters``), so the mock accepts them. A "schema-violating request accepted"
  (ST201) is dropped only when each part of the request generated invalid (the body, the query) breaks the schema
  by such keys alone; an invalid header or path, or any other violation, keeps it.

- ``map_case`` (a hook): the control-plane run arms faults (``POST /_mock/faults``: latency up to 60 s, dropped
  connections, errors) that would fire on the run's own requests (OSS uploads, result downloads, even the liveness
  probe ``HEAD /``) and cut it short. A schema-valid fault is armed as generated but with ``path_contains`` set to
  a path no request of the run uses: the control plane's answers are checked, the run itself is not sabotaged.
  Firing faults is the mock's own tests' subject (tests/mock_server).

A request schemathesis labels positive that the spec's schema rejects is left to ``negative_data_rejection``: its
coverage phase builds some face-detect bodies from another ``oneOf`` branch's ``required`` list (an emo-detect-v1
body without ``parameters``), and the mock rightly answers those with a request-validation 400.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import schemathesis

from dashscope_openapi import error_catalogue, load_spec

# operationId → (code, reason) of the catalogue entry answering a schema-valid request with 400 (see schemathesis.toml)
DOCUMENTED_400: dict[str, tuple[str, str]] = {
    "detectFace": ("InvalidURL", "detect_download"),
    "cancelTask": ("UnsupportedOperation", "cancel_not_pending"),
}
# operationId → the start of the message of the control plane's 400 to a script that cannot take effect (see
# schemathesis.toml): ``dashscope_mock.http.script_checks.ScriptError``
SCRIPT_400: dict[str, str] = {"createFault": "fault.", "createScenario": "scenario."}
ACCEPTED_NEGATIVE_DATA = "ST201"
# Where the faults the control-plane run arms fire: a path no request of the run uses.
FAULT_PATH = "/contract-run/faults-fire-here-only"


def _inline(node: Any, components: Mapping[str, Any]) -> Any:
    """``node`` with every ``#/components/...`` reference replaced by what it names (the spec has no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            section, name = ref.removeprefix("#/components/").split("/", 1)
            return _inline(components[section][name], components)
        return {key: _inline(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, components) for item in node]
    return node


def _body_schema(path: str, method: str) -> dict[str, Any] | None:
    spec = load_spec()
    content = spec["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json")
    return None if content is None else dict(_inline(content["schema"], spec["components"]))


def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft4Validator:
    """Draft 4 with the format checker, as the mock validates."""
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


@functools.cache
def _body_validator(path: str, method: str) -> jsonschema.Draft4Validator | None:
    """The operation's JSON body schema, or ``None`` without a body."""
    schema = _body_schema(path, method)
    return None if schema is None else _validator(schema)


@functools.cache
def _lenient_body_validator(path: str, method: str) -> jsonschema.Draft4Validator | None:
    """The same schema with the ``x-leniency.unknown_keys.objects`` of each body branch open to undocumented keys."""
    schema = _body_schema(path, method)
    if schema is None:
        return None
    opened = copy.deepcopy(schema)
    for branch in opened.get("oneOf", [opened]):
        for name in load_spec().get("x-leniency", {}).get("unknown_keys", {}).get("objects", ()):
            inner = branch.get("properties", {}).get(name)
            if isinstance(inner, dict):
                inner.pop("additionalProperties", None)
    return _validator(opened)


@functools.cache
def _query_validators(path: str, method: str) -> tuple[jsonschema.Draft4Validator, jsonschema.Draft4Validator | None]:
    """The operation's query parameters as one object schema: as documented, and (when ``x-leniency`` says unknown
    query parameters are ignored) open to undocumented ones."""
    spec = load_spec()
    item = spec["paths"][path]
    params = [*item.get("parameters", []), *item[method].get("parameters", [])]
    params = [_inline(param, spec["components"]) for param in params]
    query = [param for param in params if param.get("in") == "query"]
    schema = {
        "type": "object",
        "properties": {param["name"]: param.get("schema", {}) for param in query},
        "required": [param["name"] for param in query if param.get("required")] or None,
    }
    schema = {key: value for key, value in schema.items() if value is not None}
    lenient = spec.get("x-leniency", {}).get("unknown_query_parameters", {}).get("ignored") is True
    return _validator({**schema, "additionalProperties": False}), _validator(schema) if lenient else None


@schemathesis.check
def documented_400(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 400 to a schema-valid request of a ``DOCUMENTED_400`` operation is that operation's catalogue entry; of a
    ``SCRIPT_400`` operation, the refusal naming the field."""
    operation_id = str(case.operation.definition.raw.get("operationId"))
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if operation_id in SCRIPT_400 and positive and response.status_code == 400:
        body = response.json()
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if body.get("code") != "InvalidParameter" or not message.startswith(SCRIPT_400[operation_id]):
            raise AssertionError(f"{case.operation.label} answered 400 {body!r}, not a refusal naming the field")
        return None
    expected = DOCUMENTED_400.get(operation_id)
    meta = case.meta
    if expected is None or response.status_code != 400 or meta is None or not meta.generation.mode.is_positive:
        return None
    validator = _body_validator(case.operation.path, case.method.lower())
    if validator is not None and not validator.is_valid(case.body):
        return None  # not schema-valid after all (see the module docstring)
    entry = error_catalogue().find(expected[0], reason=expected[1])
    assert entry is not None, f"x-error-catalogue has no {expected[0]} entry with reason {expected[1]}"
    body = response.json()
    got = (body.get("code"), body.get("message")) if isinstance(body, dict) else (None, None)
    if got != (entry.code, entry.message):
        raise AssertionError(
            f"A schema-valid request answered 400 {got[0]!r} ({got[1]!r}); the documented 400 of "
            f"{case.operation.label} is {entry.code!r} ({entry.message!r})"
        )
    return None


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but an ST201 whose only schema violations are what ``x-leniency`` lets the service ignore."""
    meta = case.meta
    if getattr(failure, "code", None) != ACCEPTED_NEGATIVE_DATA or meta is None:
        return True
    path, method = case.operation.path, case.method.lower()
    negative = [location for location, info in meta.components.items() if info.mode.is_negative]
    if not negative:
        return True
    for location in negative:
        if location == "body":
            strict, lenient, value = _body_validator(path, method), _lenient_body_validator(path, method), case.body
        elif location == "query":
            (strict, lenient), value = _query_validators(path, method), dict(case.query or {})
        else:
            return True  # a header, path parameter or cookie: x-leniency excuses none of them
        if strict is None or lenient is None or strict.is_valid(value) or not lenient.is_valid(value):
            return True
    return False


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """A schema-valid ``createFault`` body gets ``path_contains: FAULT_PATH`` (see the module docstring)."""
    meta = case.meta
    if (
        case.operation.definition.raw.get("operationId") == "createFault"
        and isinstance(case.body, dict)
        and meta is not None
        and meta.generation.mode.is_positive
    ):
        case.body = {**case.body, "path_contains": FAULT_PATH}
    return case
