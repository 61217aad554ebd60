"""Request validation with the service's messages: one ``OperationValidator`` per operation, compiled once per process
from the specs, used by connexion (through its validator hooks) and by the fast path alike.

Connexion validates a ``oneOf`` body as a whole and says only "is not valid under any of the given schemas". The
service answers per model (liveportrait ``InvalidParamter.OutOfDefinition`` naming the parameter, emo-v1
``InvalidParameter`` "The style_level is invalid.", videoretalk "Field required: input.video_url"). So a body is
checked against the branch the spec's discriminator names for its ``model``, and the first error is mapped to
``error_catalogue().for_request_error(model, "missing"|"invalid", "<dotted.path>")``. The ``X-DashScope-Async``
header checks answer the service's 403s. Undocumented keys inside the objects ``x-leniency.unknown_keys`` names
(``input``, ``parameters``) are accepted and named in the journal, unless the mock is strict (``--strict-fields``).

Each schema is compiled twice into one object: ``jsonschema_rs`` decides quickly that a body is valid; when it is not
(or when Rust cannot represent a value: NaN, a lone surrogate), Python's jsonschema (Draft 4 with connexion's request
semantics and format checker) decides and names the error.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

import jsonschema_rs
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from connexion.validators import JSONRequestBodyValidator, MultiPartFormDataValidator, ParameterValidator
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartParser

from dashscope_openapi import limits, load_control_spec, load_spec

from ..domain.errors import ApiError, catalogue_error, invalid_request
from .context import RequestContext, current_request
from .routing import control_operations
from .script_checks import describe_schema_error

__all__ = [
    "ASYNC_HEADER",
    "DashScopeBodyValidator",
    "DashScopeMultiPartValidator",
    "DashScopeParameterValidator",
    "OperationValidator",
    "SchemaCheck",
    "branches",
    "check_body_in",
    "error_path",
    "operation_validators",
    "parse_json_body",
]

ASYNC_HEADER = "X-DashScope-Async"
ROUTING = "connexion_routing"  # where connexion's routing middleware puts the operation id in the ASGI scope


class SchemaCheck:
    """One schema: a fast yes from Rust, and Python's verdict (with the error) when Rust says no or cannot tell."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._fast = jsonschema_rs.Draft4Validator(dict(schema))
        self._full = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def first_error(self, value: Any) -> ValidationError | None:
        try:
            if self._fast.is_valid(value):
                return None
        except Exception:  # a value Rust cannot represent (NaN, a lone surrogate, 10**30): Python decides
            pass
        error: ValidationError | None = best_match(self._full.iter_errors(value), key=_error_order)
        return error

    def accepts(self, value: Any) -> bool:
        return self.first_error(value) is None

    def errors(self, value: Any) -> list[ValidationError]:
        """Every error (none, quickly, for a valid value)."""
        try:
            if self._fast.is_valid(value):
                return []
        except Exception:  # a value Rust cannot represent: Python decides
            pass
        return list(self._full.iter_errors(value))


def error_path(error: ValidationError) -> tuple[str, str]:
    """``("missing"|"invalid", "dotted.path")`` of a jsonschema error."""
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, Mapping):
        for name in error.validator_value:
            if name not in error.instance:
                return "missing", ".".join([*parts, str(name)])
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(name for name in error.instance if name not in allowed)
        if extra:
            return "invalid", ".".join([*parts, str(extra[0])])
    return "invalid", ".".join(parts) or "*"


def _error_order(error: ValidationError) -> tuple[int, int]:
    # best_match's key: prefer shallow errors and "required" over value errors at the same depth.
    return (-len(error.absolute_path), 1 if error.validator == "required" else 0)


def lenient_objects() -> tuple[str, ...]:
    """The objects of a request body whose undocumented keys are ignored (``x-leniency.unknown_keys.objects``)."""
    return tuple(load_spec()["x-leniency"]["unknown_keys"]["objects"])


def _lenient(branch: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, frozenset[str]]]:
    """The branch with its lenient objects open to extra keys (the spec leaves them open: x-leniency.unknown_keys),
    and each object's documented keys."""
    opened = copy.deepcopy(dict(branch))
    documented: dict[str, frozenset[str]] = {}
    for name in lenient_objects():
        inner = opened.get("properties", {}).get(name)
        if isinstance(inner, dict) and "properties" in inner:
            inner.pop("additionalProperties", None)
            documented[name] = frozenset(inner["properties"])
    return opened, documented


def _strict(branch: Mapping[str, Any]) -> dict[str, Any]:
    """The branch as ``--strict-fields`` checks it: its lenient objects closed to undocumented keys, as the client
    view of the spec has them (``dashscope_openapi.load_client_spec``)."""
    closed = copy.deepcopy(dict(branch))
    for name in lenient_objects():
        inner = closed.get("properties", {}).get(name)
        if isinstance(inner, dict) and "properties" in inner:
            inner["additionalProperties"] = False
    return closed


def branches(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The ``oneOf`` branches of a body schema by the ``model`` each pins."""
    found: dict[str, Mapping[str, Any]] = {}
    for branch in schema.get("oneOf", ()):
        for value in branch.get("properties", {}).get("model", {}).get("enum", ()):
            found[str(value)] = branch
    return found


def parse_json_body(raw: bytes, encoding: str = "utf-8") -> Any:
    """The body's JSON (``None`` when empty); undecodable text or invalid JSON is the service's bad request."""
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise invalid_request() from exc
    if not text.strip():
        return None
    if _too_deep(text, int(limits()["request_body_max_depth"])):
        raise invalid_request()
    try:
        # A name twice in an object: the later value wins (x-leniency.duplicate_keys).
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise invalid_request() from exc


def _too_deep(text: str, most: int) -> bool:
    """Whether ``text`` nests arrays and objects more than ``most`` deep (brackets inside strings not counted).
    Only a text with that many brackets at all is scanned."""
    if text.count("[") + text.count("{") <= most:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > most:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are Python's extensions, not JSON (RFC 8259): a bad request."""
    raise ValueError(f"{constant} is not JSON")


class OperationValidator:
    """The request checks of one operation: its headers, path parameters and JSON body."""

    def __init__(self, operation_id: str, item: Mapping[str, Any], operation: Mapping[str, Any]) -> None:
        self.operation_id = operation_id
        params = [*item.get("parameters", []), *operation.get("parameters", [])]
        self.headers = [
            (p["name"].lower(), bool(p.get("required")), SchemaCheck(p.get("schema", {})))
            for p in params
            if p["in"] == "header"
        ]
        self.path_params = {p["name"]: SchemaCheck(p.get("schema", {})) for p in params if p["in"] == "path"}
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        self.body_required = bool(operation.get("requestBody", {}).get("required"))
        self.has_json_body = schema is not None
        found = branches(schema or {})
        self.branches = {model: SchemaCheck(_strict(branch)) for model, branch in found.items()}  # --strict-fields
        self.lenient: dict[str, tuple[SchemaCheck, dict[str, frozenset[str]]]] = {}
        for model, branch in found.items():
            opened, documented = _lenient(branch)
            self.lenient[model] = (SchemaCheck(opened), documented)
        self.body = SchemaCheck(schema) if schema is not None and not self.branches else None

    def check_headers(self, headers: Mapping[str, str]) -> None:
        """``headers`` with lower-case names. ``X-DashScope-Async`` where the operation wants it and nowhere else
        (403 ``AccessDenied``), then every header parameter against its schema (the service's bad request)."""
        for name, required, check in self.headers:
            value = headers.get(name)
            if name == ASYNC_HEADER.lower():
                if required and value != "enable":
                    raise catalogue_error("AccessDenied", reason="sync_call")
                if not required and value == "enable":
                    raise catalogue_error("AccessDenied", reason="async_call")
            if value is None:
                if required:
                    raise invalid_request()
            elif not check.accepts(value):
                raise invalid_request()

    def check_path(self, values: Mapping[str, str]) -> None:
        for name, check in self.path_params.items():
            if name in values and not check.accepts(values[name]):
                raise invalid_request()

    def body_error(self, body: Any) -> ValidationError | None:
        """The first schema error of a body of an operation without per-model branches (the control plane's)."""
        return self.body.first_error(body) if self.body is not None else None

    def check_body(self, body: Any, *, strict: bool = False) -> list[str]:
        """The body against the branch of its ``model`` (or the whole schema), with the catalogue's message. The
        undocumented keys it ignored (``input.prompt``, ...), none when ``strict`` (they are refused then)."""
        if body is None:
            raise invalid_request()
        if not self.branches:
            if self.body is not None:
                self._raise_first(self.body, body, None)
            return []
        if not isinstance(body, dict):
            raise invalid_request()
        if "model" not in body:
            raise invalid_request(None, "missing", "model")
        model = body["model"]
        if not isinstance(model, str):
            raise invalid_request(None, "invalid", "model")
        if model not in self.branches:
            raise catalogue_error("ModelNotFound")
        if strict:
            self._raise_first(self.branches[model], body, model)
            return []
        check, documented = self.lenient[model]
        self._raise_first(check, body, model)
        return [
            f"{name}.{key}"
            for name, known in documented.items()
            if isinstance(body.get(name), dict)
            for key in body[name]
            if key not in known
        ]

    def _raise_first(self, check: SchemaCheck, body: Any, model: str | None) -> None:
        error = check.first_error(body)
        if error is None:
            return
        if self.operation_id in control_operations():  # the mock's own API says what was wrong, and where
            raise ApiError(400, "InvalidParameter", str(describe_schema_error(self.operation_id, error, body)))
        kind, path = error_path(error)
        raise invalid_request(model, kind, path)


def check_body_in(context: RequestContext, validator: OperationValidator, body: Any) -> None:
    """The body's checks as the request's mock is configured (``--strict-fields``); ignored keys go to the journal."""
    ignored = validator.check_body(body, strict=context.backend.config.strict_fields)
    if ignored:
        context.add_note("undocumented fields ignored: " + ", ".join(ignored))


@functools.cache
def operation_validators() -> Mapping[str, OperationValidator]:
    """Every operation of both specs, by operationId, compiled once per process (``$ref``s resolved by connexion's
    own ``resolve_refs``)."""
    found: dict[str, OperationValidator] = {}
    for spec in (load_spec(), load_control_spec()):
        resolved = resolve_refs(copy.deepcopy(dict(spec)))
        for item in resolved["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    found[operation["operationId"]] = OperationValidator(operation["operationId"], item, operation)
    return found


def _validator_of(scope: Mapping[str, Any]) -> OperationValidator:
    operation_id = scope.get("extensions", {}).get(ROUTING, {}).get("operation_id")
    return operation_validators()[str(operation_id)]


class DashScopeBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """connexion's hook for JSON bodies: parses as the fast path does and asks the operation's validator."""

    _operation: OperationValidator | None = None

    async def _parse(self, stream: Any, scope: Any) -> Any:
        self._operation = _validator_of(scope)
        return parse_json_body(b"".join([chunk async for chunk in stream]), self._encoding or "utf-8")

    def _validate(self, body: Any) -> None:
        assert self._operation is not None  # _parse ran first
        check_body_in(current_request(), self._operation, body)


class _ClosingMultiPartParser(MultiPartParser):
    """starlette's multipart parser, its spooled files closed once parsed: connexion's validator parses a form to
    check its fields (the files' contents are not checked) and drops it without closing them (a ``ResourceWarning``
    per upload, an error in a suite under ``-W error``); the handler parses the form again for itself."""

    async def parse(self) -> FormData:
        form = await super().parse()
        await form.close()
        return form


class DashScopeMultiPartValidator(MultiPartFormDataValidator):  # type: ignore[misc]
    """connexion's hook for multipart forms (the upload host's form POST), closing what it parsed."""

    @property
    def _form_parser_cls(self) -> type[MultiPartParser]:
        return _ClosingMultiPartParser


class DashScopeParameterValidator(ParameterValidator):  # type: ignore[misc]
    """connexion's hook for parameters: the operation's validator checks headers and path parameters (the service's
    403s for ``X-DashScope-Async``), connexion the rest. Unknown query parameters of the service's API are ignored
    and journaled (``x-leniency.unknown_query_parameters``), refused with ``--strict-fields``."""

    def validate_request(self, request: Any) -> None:
        _validator_of(request.scope).check_headers(request.headers)
        context = current_request()
        lenient = load_spec()["x-leniency"]["unknown_query_parameters"]["ignored"]
        strict: bool = self.strict_validation  # type: ignore[has-type]  # connexion's attribute, untyped
        if strict and lenient and context.path.startswith("/api/"):
            extra = sorted(self.validate_query_parameter_list(request, self.security_query_params))
            if extra and not context.backend.config.strict_fields:
                context.add_note("undocumented query parameters ignored: " + ", ".join(extra))
                self.strict_validation = False  # this validator serves this one request
        super().validate_request(request)
