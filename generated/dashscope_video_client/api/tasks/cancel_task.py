from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cancel_response import CancelResponse
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    task_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/tasks/{task_id}/cancel".format(
            task_id=quote(str(task_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CancelResponse | Error | None:
    if response.status_code == 200:
        response_200 = CancelResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[CancelResponse | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CancelResponse | Error]:
    """Cancel a PENDING task

     Only a PENDING task can be canceled; it then reads CANCELED. Any other status answers 400
    `UnsupportedOperation`. Empty body. The success body is not recorded publicly; `{request_id}` is
    assumed.

    Args:
        task_id (str):  Example: a8532587-fa8c-4ef8-82be-0c46b17950d1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelResponse | Error]
    """

    kwargs = _get_kwargs(
        task_id=task_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CancelResponse | Error | None:
    """Cancel a PENDING task

     Only a PENDING task can be canceled; it then reads CANCELED. Any other status answers 400
    `UnsupportedOperation`. Empty body. The success body is not recorded publicly; `{request_id}` is
    assumed.

    Args:
        task_id (str):  Example: a8532587-fa8c-4ef8-82be-0c46b17950d1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelResponse | Error
    """

    return sync_detailed(
        task_id=task_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[CancelResponse | Error]:
    """Cancel a PENDING task

     Only a PENDING task can be canceled; it then reads CANCELED. Any other status answers 400
    `UnsupportedOperation`. Empty body. The success body is not recorded publicly; `{request_id}` is
    assumed.

    Args:
        task_id (str):  Example: a8532587-fa8c-4ef8-82be-0c46b17950d1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CancelResponse | Error]
    """

    kwargs = _get_kwargs(
        task_id=task_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    task_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> CancelResponse | Error | None:
    """Cancel a PENDING task

     Only a PENDING task can be canceled; it then reads CANCELED. Any other status answers 400
    `UnsupportedOperation`. Empty body. The success body is not recorded publicly; `{request_id}` is
    assumed.

    Args:
        task_id (str):  Example: a8532587-fa8c-4ef8-82be-0c46b17950d1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CancelResponse | Error
    """

    return (
        await asyncio_detailed(
            task_id=task_id,
            client=client,
        )
    ).parsed
