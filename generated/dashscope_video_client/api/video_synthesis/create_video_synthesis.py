from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_video_synthesis_x_dash_scope_async import (
    CreateVideoSynthesisXDashScopeAsync,
)
from ...models.create_video_synthesis_x_dash_scope_oss_resource_resolve import (
    CreateVideoSynthesisXDashScopeOssResourceResolve,
)
from ...models.emo_request import EmoRequest
from ...models.error import Error
from ...models.live_portrait_request import LivePortraitRequest
from ...models.submit_response import SubmitResponse
from ...models.video_retalk_request import VideoRetalkRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmoRequest | LivePortraitRequest | VideoRetalkRequest,
    x_dash_scope_async: CreateVideoSynthesisXDashScopeAsync,
    x_dash_scope_oss_resource_resolve: CreateVideoSynthesisXDashScopeOssResourceResolve | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-DashScope-Async"] = str(x_dash_scope_async)

    if not isinstance(x_dash_scope_oss_resource_resolve, Unset):
        headers["X-DashScope-OssResourceResolve"] = str(x_dash_scope_oss_resource_resolve)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/services/aigc/image2video/video-synthesis/",
    }

    if isinstance(body, LivePortraitRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, EmoRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | SubmitResponse | None:
    if response.status_code == 200:
        response_200 = SubmitResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | SubmitResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmoRequest | LivePortraitRequest | VideoRetalkRequest,
    x_dash_scope_async: CreateVideoSynthesisXDashScopeAsync,
    x_dash_scope_oss_resource_resolve: CreateVideoSynthesisXDashScopeOssResourceResolve | Unset = UNSET,
) -> Response[Error | SubmitResponse]:
    """Submit a liveportrait, emo-v1 or videoretalk task

     Asynchronous only: `X-DashScope-Async: enable` is required (without it the service answers 403
    `AccessDenied`
    "current user api does not support synchronous calls"). Returns a task id to poll with `getTask`.
    Inputs are downloaded and checked after submission; media problems end the task as FAILED (see
    `x-error-catalogue`, `stage: task`). A submit has no idempotency key: do not retry it after a read
    timeout.

    Args:
        x_dash_scope_async (CreateVideoSynthesisXDashScopeAsync):
        x_dash_scope_oss_resource_resolve (CreateVideoSynthesisXDashScopeOssResourceResolve |
            Unset):
        body (EmoRequest | LivePortraitRequest | VideoRetalkRequest): The submit body; `model`
            selects the branch.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SubmitResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_dash_scope_async=x_dash_scope_async,
        x_dash_scope_oss_resource_resolve=x_dash_scope_oss_resource_resolve,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EmoRequest | LivePortraitRequest | VideoRetalkRequest,
    x_dash_scope_async: CreateVideoSynthesisXDashScopeAsync,
    x_dash_scope_oss_resource_resolve: CreateVideoSynthesisXDashScopeOssResourceResolve | Unset = UNSET,
) -> Error | SubmitResponse | None:
    """Submit a liveportrait, emo-v1 or videoretalk task

     Asynchronous only: `X-DashScope-Async: enable` is required (without it the service answers 403
    `AccessDenied`
    "current user api does not support synchronous calls"). Returns a task id to poll with `getTask`.
    Inputs are downloaded and checked after submission; media problems end the task as FAILED (see
    `x-error-catalogue`, `stage: task`). A submit has no idempotency key: do not retry it after a read
    timeout.

    Args:
        x_dash_scope_async (CreateVideoSynthesisXDashScopeAsync):
        x_dash_scope_oss_resource_resolve (CreateVideoSynthesisXDashScopeOssResourceResolve |
            Unset):
        body (EmoRequest | LivePortraitRequest | VideoRetalkRequest): The submit body; `model`
            selects the branch.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SubmitResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        x_dash_scope_async=x_dash_scope_async,
        x_dash_scope_oss_resource_resolve=x_dash_scope_oss_resource_resolve,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmoRequest | LivePortraitRequest | VideoRetalkRequest,
    x_dash_scope_async: CreateVideoSynthesisXDashScopeAsync,
    x_dash_scope_oss_resource_resolve: CreateVideoSynthesisXDashScopeOssResourceResolve | Unset = UNSET,
) -> Response[Error | SubmitResponse]:
    """Submit a liveportrait, emo-v1 or videoretalk task

     Asynchronous only: `X-DashScope-Async: enable` is required (without it the service answers 403
    `AccessDenied`
    "current user api does not support synchronous calls"). Returns a task id to poll with `getTask`.
    Inputs are downloaded and checked after submission; media problems end the task as FAILED (see
    `x-error-catalogue`, `stage: task`). A submit has no idempotency key: do not retry it after a read
    timeout.

    Args:
        x_dash_scope_async (CreateVideoSynthesisXDashScopeAsync):
        x_dash_scope_oss_resource_resolve (CreateVideoSynthesisXDashScopeOssResourceResolve |
            Unset):
        body (EmoRequest | LivePortraitRequest | VideoRetalkRequest): The submit body; `model`
            selects the branch.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SubmitResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_dash_scope_async=x_dash_scope_async,
        x_dash_scope_oss_resource_resolve=x_dash_scope_oss_resource_resolve,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmoRequest | LivePortraitRequest | VideoRetalkRequest,
    x_dash_scope_async: CreateVideoSynthesisXDashScopeAsync,
    x_dash_scope_oss_resource_resolve: CreateVideoSynthesisXDashScopeOssResourceResolve | Unset = UNSET,
) -> Error | SubmitResponse | None:
    """Submit a liveportrait, emo-v1 or videoretalk task

     Asynchronous only: `X-DashScope-Async: enable` is required (without it the service answers 403
    `AccessDenied`
    "current user api does not support synchronous calls"). Returns a task id to poll with `getTask`.
    Inputs are downloaded and checked after submission; media problems end the task as FAILED (see
    `x-error-catalogue`, `stage: task`). A submit has no idempotency key: do not retry it after a read
    timeout.

    Args:
        x_dash_scope_async (CreateVideoSynthesisXDashScopeAsync):
        x_dash_scope_oss_resource_resolve (CreateVideoSynthesisXDashScopeOssResourceResolve |
            Unset):
        body (EmoRequest | LivePortraitRequest | VideoRetalkRequest): The submit body; `model`
            selects the branch.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SubmitResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_dash_scope_async=x_dash_scope_async,
            x_dash_scope_oss_resource_resolve=x_dash_scope_oss_resource_resolve,
        )
    ).parsed
