"""Helpers shared by the contract tests: the spec's operations, strategies drawn from its schemas, openapi-core."""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from dashscope_openapi import SPEC_FILE, load_client_spec, load_spec


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    operation_id: str
    tag: str
    spec: Mapping[str, Any]

    @property
    def module(self) -> ModuleType:
        """The generated client's module for this operation."""
        return importlib.import_module(f"dashscope_video_client.api.{_snake(self.tag)}.{_snake(self.operation_id)}")


def operations() -> Iterator[Operation]:
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            yield Operation(path, method.upper(), operation["operationId"], operation["tags"][0], operation)


def response_schema_name(operation: Operation, status: str) -> str:
    response = operation.spec["responses"][status]
    if "$ref" in response:
        response = load_spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").lower()


@cache
def schema_strategy(schema_name: str, *, client: bool = False) -> st.SearchStrategy[Any]:
    """Values of ``#/components/schemas/<schema_name>``, drawn by schemathesis from the spec itself (``client``: from
    the spec as this toolkit's clients send requests, ``load_client_spec``, with no undocumented keys).

    schemathesis generates request bodies only, so the schema becomes the body of a synthetic operation in a copy of
    the spec that keeps every component (toolchain-notes §4).
    """
    spec = copy.deepcopy(dict(load_client_spec() if client else load_spec()))
    derived = {
        "openapi": spec["openapi"],
        "info": {"title": "derived", "version": "1"},
        "components": spec["components"],
        "paths": {
            "/draw": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
                    },
                    "responses": {"200": {"description": "unused"}},
                }
            }
        },
    }
    strategy: st.SearchStrategy[Any] = (
        schemathesis.openapi.from_dict(derived)["/draw"]["POST"].as_strategy().map(lambda case: case.body)
    )
    return strategy


@cache
def openapi_core_spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_FILE))


class HttpxOpenAPIRequest:
    """An httpx request seen through openapi-core's Request protocol; ``host_url`` stands for the request's own
    (a request sent through a proxy, judged as if sent to the service)."""

    def __init__(self, request: httpx.Request, host_url: str | None = None) -> None:
        self._request = request
        self._host_url = host_url
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        if self._host_url is not None:
            return self._host_url
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "")


def validate_request(request: httpx.Request) -> None:
    """Raise openapi-core's error when ``request`` does not conform to the spec."""
    openapi_core_spec().validate_request(HttpxOpenAPIRequest(request))


class HttpxOpenAPIResponse:
    """An httpx response seen through openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "").split(";")[0]

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))


def validate_response(response: httpx.Response, host_url: str | None = None) -> None:
    """Raise openapi-core's error when ``response`` (to its request) does not conform to the spec; ``host_url``: the
    server the request stands for (one of the spec's ``servers``) when it went elsewhere (through a proxy)."""
    request = HttpxOpenAPIRequest(response.request, host_url)
    openapi_core_spec().validate_response(request, HttpxOpenAPIResponse(response))
