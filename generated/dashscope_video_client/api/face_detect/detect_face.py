from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.emo_detect_request import EmoDetectRequest
from ...models.error import Error
from ...models.face_detect_response import FaceDetectResponse
from ...models.live_portrait_detect_request import LivePortraitDetectRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmoDetectRequest | LivePortraitDetectRequest,
    x_dash_scope_async: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_dash_scope_async, Unset):
        headers["X-DashScope-Async"] = x_dash_scope_async

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/services/aigc/image2video/face-detect",
    }

    if isinstance(body, EmoDetectRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | FaceDetectResponse | None:
    if response.status_code == 200:
        response_200 = FaceDetectResponse.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | FaceDetectResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmoDetectRequest | LivePortraitDetectRequest,
    x_dash_scope_async: str | Unset = UNSET,
) -> Response[Error | FaceDetectResponse]:
    """Check a portrait for liveportrait (liveportrait-detect) or emo-v1 (emo-detect-v1)

     Synchronous only: sending `X-DashScope-Async: enable` answers 403 `AccessDenied` "current user api
    does not
    support asynchronous calls". emo-detect-v1 returns `check_pass` and the `face_bbox`/`ext_bbox` to
    pass to
    emo-v1; liveportrait-detect returns `pass` and a `message`. A valid request whose image is
    unsuitable is still
    a 200 (and still billed for emo-detect-v1) with `check_pass: false` and the reason in
    `code`/`message`.

    Args:
        x_dash_scope_async (str | Unset):
        body (EmoDetectRequest | LivePortraitDetectRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FaceDetectResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_dash_scope_async=x_dash_scope_async,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EmoDetectRequest | LivePortraitDetectRequest,
    x_dash_scope_async: str | Unset = UNSET,
) -> Error | FaceDetectResponse | None:
    """Check a portrait for liveportrait (liveportrait-detect) or emo-v1 (emo-detect-v1)

     Synchronous only: sending `X-DashScope-Async: enable` answers 403 `AccessDenied` "current user api
    does not
    support asynchronous calls". emo-detect-v1 returns `check_pass` and the `face_bbox`/`ext_bbox` to
    pass to
    emo-v1; liveportrait-detect returns `pass` and a `message`. A valid request whose image is
    unsuitable is still
    a 200 (and still billed for emo-detect-v1) with `check_pass: false` and the reason in
    `code`/`message`.

    Args:
        x_dash_scope_async (str | Unset):
        body (EmoDetectRequest | LivePortraitDetectRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FaceDetectResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        x_dash_scope_async=x_dash_scope_async,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EmoDetectRequest | LivePortraitDetectRequest,
    x_dash_scope_async: str | Unset = UNSET,
) -> Response[Error | FaceDetectResponse]:
    """Check a portrait for liveportrait (liveportrait-detect) or emo-v1 (emo-detect-v1)

     Synchronous only: sending `X-DashScope-Async: enable` answers 403 `AccessDenied` "current user api
    does not
    support asynchronous calls". emo-detect-v1 returns `check_pass` and the `face_bbox`/`ext_bbox` to
    pass to
    emo-v1; liveportrait-detect returns `pass` and a `message`. A valid request whose image is
    unsuitable is still
    a 200 (and still billed for emo-detect-v1) with `check_pass: false` and the reason in
    `code`/`message`.

    Args:
        x_dash_scope_async (str | Unset):
        body (EmoDetectRequest | LivePortraitDetectRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | FaceDetectResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        x_dash_scope_async=x_dash_scope_async,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EmoDetectRequest | LivePortraitDetectRequest,
    x_dash_scope_async: str | Unset = UNSET,
) -> Error | FaceDetectResponse | None:
    """Check a portrait for liveportrait (liveportrait-detect) or emo-v1 (emo-detect-v1)

     Synchronous only: sending `X-DashScope-Async: enable` answers 403 `AccessDenied` "current user api
    does not
    support asynchronous calls". emo-detect-v1 returns `check_pass` and the `face_bbox`/`ext_bbox` to
    pass to
    emo-v1; liveportrait-detect returns `pass` and a `message`. A valid request whose image is
    unsuitable is still
    a 200 (and still billed for emo-detect-v1) with `check_pass: false` and the reason in
    `code`/`message`.

    Args:
        x_dash_scope_async (str | Unset):
        body (EmoDetectRequest | LivePortraitDetectRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | FaceDetectResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_dash_scope_async=x_dash_scope_async,
        )
    ).parsed
