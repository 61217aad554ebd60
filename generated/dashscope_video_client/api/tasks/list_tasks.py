from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.list_tasks_status import ListTasksStatus
from ...models.task_list_response import TaskListResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    start_time: str | Unset = UNSET,
    end_time: str | Unset = UNSET,
    model_name: str | Unset = UNSET,
    api_key_id: str | Unset = UNSET,
    region: str | Unset = UNSET,
    status: ListTasksStatus | Unset = UNSET,
    task_id: str | Unset = UNSET,
    page_no: int | Unset = 1,
    page_size: int | Unset = 10,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["start_time"] = start_time

    params["end_time"] = end_time

    params["model_name"] = model_name

    params["api_key_id"] = api_key_id

    params["region"] = region

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    params["task_id"] = task_id

    params["page_no"] = page_no

    params["page_size"] = page_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/tasks",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | TaskListResponse | None:
    if response.status_code == 200:
        response_200 = TaskListResponse.from_dict(response.json())

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
) -> Response[Error | TaskListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    start_time: str | Unset = UNSET,
    end_time: str | Unset = UNSET,
    model_name: str | Unset = UNSET,
    api_key_id: str | Unset = UNSET,
    region: str | Unset = UNSET,
    status: ListTasksStatus | Unset = UNSET,
    task_id: str | Unset = UNSET,
    page_no: int | Unset = 1,
    page_size: int | Unset = 10,
) -> Response[Error | TaskListResponse]:
    """List the account's tasks (last 24 h), paginated

     The flat paginated shape (no `output` wrapper); times in epoch milliseconds.

    Args:
        start_time (str | Unset):  Example: 20230420000000.
        end_time (str | Unset):
        model_name (str | Unset):  Example: emo-v1.
        api_key_id (str | Unset):
        region (str | Unset):  Example: cn-beijing.
        status (ListTasksStatus | Unset):
        task_id (str | Unset):
        page_no (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TaskListResponse]
    """

    kwargs = _get_kwargs(
        start_time=start_time,
        end_time=end_time,
        model_name=model_name,
        api_key_id=api_key_id,
        region=region,
        status=status,
        task_id=task_id,
        page_no=page_no,
        page_size=page_size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    start_time: str | Unset = UNSET,
    end_time: str | Unset = UNSET,
    model_name: str | Unset = UNSET,
    api_key_id: str | Unset = UNSET,
    region: str | Unset = UNSET,
    status: ListTasksStatus | Unset = UNSET,
    task_id: str | Unset = UNSET,
    page_no: int | Unset = 1,
    page_size: int | Unset = 10,
) -> Error | TaskListResponse | None:
    """List the account's tasks (last 24 h), paginated

     The flat paginated shape (no `output` wrapper); times in epoch milliseconds.

    Args:
        start_time (str | Unset):  Example: 20230420000000.
        end_time (str | Unset):
        model_name (str | Unset):  Example: emo-v1.
        api_key_id (str | Unset):
        region (str | Unset):  Example: cn-beijing.
        status (ListTasksStatus | Unset):
        task_id (str | Unset):
        page_no (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TaskListResponse
    """

    return sync_detailed(
        client=client,
        start_time=start_time,
        end_time=end_time,
        model_name=model_name,
        api_key_id=api_key_id,
        region=region,
        status=status,
        task_id=task_id,
        page_no=page_no,
        page_size=page_size,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    start_time: str | Unset = UNSET,
    end_time: str | Unset = UNSET,
    model_name: str | Unset = UNSET,
    api_key_id: str | Unset = UNSET,
    region: str | Unset = UNSET,
    status: ListTasksStatus | Unset = UNSET,
    task_id: str | Unset = UNSET,
    page_no: int | Unset = 1,
    page_size: int | Unset = 10,
) -> Response[Error | TaskListResponse]:
    """List the account's tasks (last 24 h), paginated

     The flat paginated shape (no `output` wrapper); times in epoch milliseconds.

    Args:
        start_time (str | Unset):  Example: 20230420000000.
        end_time (str | Unset):
        model_name (str | Unset):  Example: emo-v1.
        api_key_id (str | Unset):
        region (str | Unset):  Example: cn-beijing.
        status (ListTasksStatus | Unset):
        task_id (str | Unset):
        page_no (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TaskListResponse]
    """

    kwargs = _get_kwargs(
        start_time=start_time,
        end_time=end_time,
        model_name=model_name,
        api_key_id=api_key_id,
        region=region,
        status=status,
        task_id=task_id,
        page_no=page_no,
        page_size=page_size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    start_time: str | Unset = UNSET,
    end_time: str | Unset = UNSET,
    model_name: str | Unset = UNSET,
    api_key_id: str | Unset = UNSET,
    region: str | Unset = UNSET,
    status: ListTasksStatus | Unset = UNSET,
    task_id: str | Unset = UNSET,
    page_no: int | Unset = 1,
    page_size: int | Unset = 10,
) -> Error | TaskListResponse | None:
    """List the account's tasks (last 24 h), paginated

     The flat paginated shape (no `output` wrapper); times in epoch milliseconds.

    Args:
        start_time (str | Unset):  Example: 20230420000000.
        end_time (str | Unset):
        model_name (str | Unset):  Example: emo-v1.
        api_key_id (str | Unset):
        region (str | Unset):  Example: cn-beijing.
        status (ListTasksStatus | Unset):
        task_id (str | Unset):
        page_no (int | Unset):  Default: 1.
        page_size (int | Unset):  Default: 10.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TaskListResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            start_time=start_time,
            end_time=end_time,
            model_name=model_name,
            api_key_id=api_key_id,
            region=region,
            status=status,
            task_id=task_id,
            page_no=page_no,
            page_size=page_size,
        )
    ).parsed
