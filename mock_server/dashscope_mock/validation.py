"""Request validation with the service's messages.

Connexion validates a ``oneOf`` body as a whole and says only "is not valid under any of the given schemas". The
service answers per model (liveportrait ``InvalidParamter.OutOfDefinition`` naming the parameter, emo-v1
``InvalidParameter`` "The style_level is invalid.", videoretalk "Field required: input.video_url"). So the body
validator dispatches on ``model`` to the branch the spec's discriminator names, validates against that branch only,
and maps the first error to ``error_catalogue().for_request_error(model, "missing"|"invalid", "<dotted.path>")``.
The parameter validator turns the ``X-DashScope-Async`` header checks into the service's 403s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]

from dashscope_openapi import error_catalogue

from .errors import ApiError, catalogue_error

__all__ = ["DashScopeBodyValidator", "DashScopeParameterValidator", "error_path", "invalid_request"]

ASYNC_HEADER = "X-DashScope-Async"


def invalid_request(model: str | None = None, kind: str = "invalid", path: str = "*") -> ApiError:
    """The catalogue's request-validation error for ``path`` (``*``: the body as a whole)."""
    found = error_catalogue().for_request_error(model, "missing" if kind == "missing" else "invalid", path)
    return ApiError.from_entry(found, parameter=path)


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


def _branches(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    branches: dict[str, Mapping[str, Any]] = {}
    for branch in schema.get("oneOf", ()):
        enum = branch.get("properties", {}).get("model", {}).get("enum", ())
        for value in enum:
            branches[str(value)] = branch
    return branches


class DashScopeBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """JSON body validation with per-model branches and catalogue messages."""

    async def _parse(self, stream: Any, scope: Any) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        try:
            text = raw.decode(self._encoding or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise invalid_request() from exc
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise invalid_request() from exc

    def _validate(self, body: Any) -> None:
        if body is None:
            raise invalid_request()
        branches = _branches(self._schema)
        if not branches:
            self._check(self._schema, body, None)
            return
        if not isinstance(body, dict):
            raise invalid_request()
        if "model" not in body:
            raise invalid_request(None, "missing", "model")
        model = body["model"]
        if not isinstance(model, str):
            raise invalid_request(None, "invalid", "model")
        if model not in branches:
            raise catalogue_error("ModelNotFound")
        self._check(branches[model], body, model)

    def _check(self, schema: Mapping[str, Any], body: Any, model: str | None) -> None:
        validator = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        error = best_match(validator.iter_errors(body), key=_error_order)
        if error is None:
            return
        kind, path = error_path(error)
        raise invalid_request(model, kind, path)


def _error_order(error: ValidationError) -> tuple[int, int]:
    # best_match's key: prefer shallow errors and "required" over value errors at the same depth.
    return (-len(error.absolute_path), 1 if error.validator == "required" else 0)


class DashScopeParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Parameter validation; ``X-DashScope-Async`` mismatches answer 403 ``AccessDenied`` like the service."""

    def validate_request(self, request: Any) -> None:
        for param in self.parameters.get("header", []):
            if param["name"].lower() != ASYNC_HEADER.lower():
                continue
            value = request.headers.get(ASYNC_HEADER)
            if param.get("required") and value != "enable":
                raise catalogue_error("AccessDenied", reason="sync_call")
            if not param.get("required") and value == "enable":
                raise catalogue_error("AccessDenied", reason="async_call")
        super().validate_request(request)
