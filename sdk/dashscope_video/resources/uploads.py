"""Temporary uploads: ``uploads.upload(path, model)`` returns an ``oss://`` URL for that model's requests.

Every other resource uploads its local inputs through ``UploadPlans.media`` (see ``_uploads`` for the policy and
file caches).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import httpx

from .. import _effects as fx
from .._base_client import USER_AGENT
from .._errors import APIStatusError, UploadError
from .._resource import AsyncAPIResource, Plans, SyncAPIResource, awaitable, blocking
from .._uploads import MediaInput, form_fields, local_path, object_key
from .._wire import policy_call, upload_policy
from ..types import UploadPolicy

__all__ = ["AsyncUploads", "UploadPlans", "Uploads"]


class UploadPlans(Plans):
    def policy(self, model: str) -> fx.Plan[UploadPolicy]:
        """A fresh upload policy for ``model`` (uploads are bound to the model named here)."""
        client = self._client
        fetched_at = client.clock.monotonic()
        answer = yield from client.call(policy_call(model), "policy", idempotent=True, model=model)
        policy = upload_policy(answer)
        client.uploads_state.store_policy(model, policy, fetched_at)
        return policy

    def upload(self, path: str | os.PathLike[str], model: str) -> fx.Plan[str]:
        """Upload a local file for ``model``; return its ``oss://`` URL (requests carrying it send the resolve
        header, which the SDK does for you). The same file is uploaded once per model while the upload is kept."""
        found = local_path(os.fspath(path))
        if found is None:
            raise ValueError(f"{path} is a URL, not a local file")
        return (yield from self._upload(found, model))

    def media(self, value: MediaInput | None, model: str) -> fx.Plan[str | None]:
        """An input as the request carries it: URLs unchanged, local files (paths, ``file://``) uploaded."""
        if value is None:
            return None
        path = local_path(value)
        if path is None:
            return str(value)
        return (yield from self._upload(path, model))

    def _upload(self, path: Path, model: str) -> fx.Plan[str]:
        client = self._client
        state = client.uploads_state
        cached = state.uploaded(model, path, client.clock.monotonic())
        if cached is not None:
            return cached
        for renewal in range(2):
            policy = state.policy(model, client.clock.monotonic())
            if policy is None:
                policy = yield from self.policy(model)
            size = path.stat().st_size
            if size > policy.max_file_size_mb * 1024 * 1024:
                raise UploadError(f"{path} is {size} bytes; uploads are limited to {policy.max_file_size_mb} MB")
            keys: list[str] = []
            handles: list[BinaryIO] = []
            timeout = httpx.Timeout(client.timeout, read=client.upload_timeout, write=client.upload_timeout).as_dict()

            def build(
                policy: UploadPolicy = policy,
                timeout: dict[str, float | None] = timeout,
                keys: list[str] = keys,
                handles: list[BinaryIO] = handles,
            ) -> httpx.Request:
                # A fresh object name per attempt: with x-oss-forbid-overwrite a retried POST whose first attempt
                # did land would otherwise be refused.
                key = object_key(policy.upload_dir, path)
                keys.append(key)
                fields = form_fields(policy, key, path)
                handle = path.open("rb")
                handles.append(handle)
                return httpx.Request(
                    "POST",
                    policy.upload_host,
                    data=fields,
                    files={"file": (path.name, handle, fields["x-oss-content-type"])},
                    headers={"User-Agent": USER_AGENT},  # never the API key: the upload host is not DashScope
                    extensions={"timeout": timeout},
                )

            try:
                yield from client.send(build, idempotent=True, model=model)
            except APIStatusError as exc:
                if exc.status == 403 and renewal == 0:  # expired or revoked policy: renew once
                    state.forget_policy(model)
                    continue
                raise UploadError(f"upload of {path.name} failed: {exc}", response=exc.response, code=exc.code) from exc
            finally:
                for handle in handles:
                    handle.close()
            url = f"oss://{keys[-1]}"
            state.store_upload(model, path, url, client.clock.monotonic())
            return url
        raise AssertionError("unreachable")  # pragma: no cover


class Uploads(SyncAPIResource[UploadPlans]):
    _plans_class = UploadPlans
    upload = blocking(UploadPlans.upload)
    policy = blocking(UploadPlans.policy)


class AsyncUploads(AsyncAPIResource[UploadPlans]):
    _plans_class = UploadPlans
    upload = awaitable(UploadPlans.upload)
    policy = awaitable(UploadPlans.policy)
