from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource

from dashscope_openapi import SPEC_FILE, load_spec

Validate = Callable[[str, Any], None]


def schema_validator(spec: Mapping[str, Any]) -> Callable[[str, Any], None]:
    """Validate a value against ``#/components/schemas/<name>`` with OpenAPI 3.0 semantics (formats checked)."""
    registry: Registry[Any] = Registry().with_resource(SPEC_FILE.as_uri(), Resource.opaque(dict(spec)))

    def validate(name: str, value: Any) -> None:
        ref = {"$ref": f"{SPEC_FILE.as_uri()}#/components/schemas/{name}"}
        OAS30Validator(ref, registry=registry, format_checker=OAS30Validator.FORMAT_CHECKER).validate(value)

    return validate


@pytest.fixture(scope="session")
def spec() -> Mapping[str, Any]:
    return load_spec()


@pytest.fixture(scope="session")
def validate(spec: Mapping[str, Any]) -> Validate:
    return schema_validator(spec)


@pytest.fixture(scope="session")
def rejects(validate: Validate) -> Callable[[str, Any], ValidationError]:
    def check(name: str, value: Any) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            validate(name, value)
        return caught.value

    return check
