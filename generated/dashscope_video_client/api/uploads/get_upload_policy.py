from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.get_upload_policy_action import GetUploadPolicyAction
from ...models.upload_policy_response import UploadPolicyResponse
from ...types import UNSET, Response


def _get_kwargs(
    *,
    action: GetUploadPolicyAction,
    model: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_action: str = action
    params["action"] = json_action

    params["model"] = model

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/uploads",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | UploadPolicyResponse | None:
    if response.status_code == 200:
        response_200 = UploadPolicyResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[Error | UploadPolicyResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    action: GetUploadPolicyAction,
    model: str,
) -> Response[Error | UploadPolicyResponse]:
    """Get a temporary-upload policy for one model

     Step 1 of a temporary upload. Step 2 is a multipart form POST to `data.upload_host` with the fields
    `OSSAccessKeyId`, `Signature`, `policy`, `key` (`<upload_dir>/<name>`), `x-oss-object-acl`,
    `x-oss-forbid-overwrite`, `success_action_status` (`200`) and `file` last. The file is then
    addressed as
    `oss://<upload_dir>/<name>` and a model call must send `X-DashScope-OssResourceResolve: enable`.
    Uploads are
    bound to the model named here, last 48 h, and the policy expires after `expire_in_seconds` (then 403
    "Invalid according to Policy: Policy expired."). Any model name gets a policy, as on the service (a
    recorded
    exchange with `model=qwen-vl-plus` answers 200); the files then serve calls of that model only (and,
    as
    `x-leniency.upload_model_pairs` records, of its face-detect/generation pair). At most
    `x-limits.uploads.policy_qps_per_model` calls per second per account and model, 429
    `Throttling.RateQuota`
    above.

    Args:
        action (GetUploadPolicyAction):
        model (str):  Example: liveportrait.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | UploadPolicyResponse]
    """

    kwargs = _get_kwargs(
        action=action,
        model=model,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    action: GetUploadPolicyAction,
    model: str,
) -> Error | UploadPolicyResponse | None:
    """Get a temporary-upload policy for one model

     Step 1 of a temporary upload. Step 2 is a multipart form POST to `data.upload_host` with the fields
    `OSSAccessKeyId`, `Signature`, `policy`, `key` (`<upload_dir>/<name>`), `x-oss-object-acl`,
    `x-oss-forbid-overwrite`, `success_action_status` (`200`) and `file` last. The file is then
    addressed as
    `oss://<upload_dir>/<name>` and a model call must send `X-DashScope-OssResourceResolve: enable`.
    Uploads are
    bound to the model named here, last 48 h, and the policy expires after `expire_in_seconds` (then 403
    "Invalid according to Policy: Policy expired."). Any model name gets a policy, as on the service (a
    recorded
    exchange with `model=qwen-vl-plus` answers 200); the files then serve calls of that model only (and,
    as
    `x-leniency.upload_model_pairs` records, of its face-detect/generation pair). At most
    `x-limits.uploads.policy_qps_per_model` calls per second per account and model, 429
    `Throttling.RateQuota`
    above.

    Args:
        action (GetUploadPolicyAction):
        model (str):  Example: liveportrait.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | UploadPolicyResponse
    """

    return sync_detailed(
        client=client,
        action=action,
        model=model,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    action: GetUploadPolicyAction,
    model: str,
) -> Response[Error | UploadPolicyResponse]:
    """Get a temporary-upload policy for one model

     Step 1 of a temporary upload. Step 2 is a multipart form POST to `data.upload_host` with the fields
    `OSSAccessKeyId`, `Signature`, `policy`, `key` (`<upload_dir>/<name>`), `x-oss-object-acl`,
    `x-oss-forbid-overwrite`, `success_action_status` (`200`) and `file` last. The file is then
    addressed as
    `oss://<upload_dir>/<name>` and a model call must send `X-DashScope-OssResourceResolve: enable`.
    Uploads are
    bound to the model named here, last 48 h, and the policy expires after `expire_in_seconds` (then 403
    "Invalid according to Policy: Policy expired."). Any model name gets a policy, as on the service (a
    recorded
    exchange with `model=qwen-vl-plus` answers 200); the files then serve calls of that model only (and,
    as
    `x-leniency.upload_model_pairs` records, of its face-detect/generation pair). At most
    `x-limits.uploads.policy_qps_per_model` calls per second per account and model, 429
    `Throttling.RateQuota`
    above.

    Args:
        action (GetUploadPolicyAction):
        model (str):  Example: liveportrait.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | UploadPolicyResponse]
    """

    kwargs = _get_kwargs(
        action=action,
        model=model,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    action: GetUploadPolicyAction,
    model: str,
) -> Error | UploadPolicyResponse | None:
    """Get a temporary-upload policy for one model

     Step 1 of a temporary upload. Step 2 is a multipart form POST to `data.upload_host` with the fields
    `OSSAccessKeyId`, `Signature`, `policy`, `key` (`<upload_dir>/<name>`), `x-oss-object-acl`,
    `x-oss-forbid-overwrite`, `success_action_status` (`200`) and `file` last. The file is then
    addressed as
    `oss://<upload_dir>/<name>` and a model call must send `X-DashScope-OssResourceResolve: enable`.
    Uploads are
    bound to the model named here, last 48 h, and the policy expires after `expire_in_seconds` (then 403
    "Invalid according to Policy: Policy expired."). Any model name gets a policy, as on the service (a
    recorded
    exchange with `model=qwen-vl-plus` answers 200); the files then serve calls of that model only (and,
    as
    `x-leniency.upload_model_pairs` records, of its face-detect/generation pair). At most
    `x-limits.uploads.policy_qps_per_model` calls per second per account and model, 429
    `Throttling.RateQuota`
    above.

    Args:
        action (GetUploadPolicyAction):
        model (str):  Example: liveportrait.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | UploadPolicyResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            action=action,
            model=model,
        )
    ).parsed
