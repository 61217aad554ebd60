"""Temporary uploads of local files: getPolicy + OSS form POST, addressed as ``oss://``.

* A policy is fetched per model (uploads are bound to the model named at getPolicy: ``emo-detect-v1`` and ``emo-v1``
  upload separately) and reused until it is older than its ``expire_in_seconds`` minus a margin.
* Object names are ``<upload_dir>/<uuid>-<safe basename>``: two files with the same basename never collide (the
  official SDK uses the bare basename with ``x-oss-forbid-overwrite: true``, so the second one fails).
* The same file (path, size, mtime) uploaded for the same model is reused while the upload is retained (48 h per the
  spec, minus a margin), so ``emo`` after ``detect`` does not upload the image twice for ``emo-v1``.
"""

from __future__ import annotations

import mimetypes
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias
from urllib.parse import unquote, urlparse

from dashscope_openapi import limits
from dashscope_video_client.models import UploadPolicy

__all__ = ["MediaInput", "local_path", "needs_resolve"]

MediaInput: TypeAlias = str | os.PathLike[str]
"""An input: an ``http(s)://`` or ``oss://`` URL (sent as is), a ``file://`` URL or a local path (uploaded)."""

_REMOTE_SCHEMES = ("http://", "https://", "oss://")


def local_path(value: MediaInput) -> Path | None:
    """The local file behind ``value``, or ``None`` when ``value`` is a remote URL. Raises for a missing file or an
    unsupported scheme, before anything is sent."""
    if isinstance(value, os.PathLike):
        path = Path(value)
    else:
        text = str(value)
        if text.startswith(_REMOTE_SCHEMES):
            return None
        if text.startswith("file://"):
            parsed = urlparse(text)
            path = Path(unquote(parsed.path))
        elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", text):
            raise ValueError(f"unsupported URL scheme in {text!r}: use http(s)://, oss://, file:// or a local path")
        else:
            path = Path(text)
    path = path.expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path.resolve()


def needs_resolve(url: str) -> bool:
    """Whether a request carrying ``url`` must send ``X-DashScope-OssResourceResolve: enable``."""
    return url.startswith("oss://")


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[-100:]


def object_key(upload_dir: str, path: Path) -> str:
    return f"{upload_dir.rstrip('/')}/{uuid.uuid4().hex}-{safe_name(path.name)}"


def content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def form_fields(policy: UploadPolicy, key: str, path: Path) -> dict[str, str]:
    """The form fields in the documented order; the file goes last (httpx puts ``files`` after ``data``)."""
    return {
        "OSSAccessKeyId": policy.oss_access_key_id,
        "Signature": policy.signature,
        "policy": policy.policy,
        "key": key,
        "x-oss-object-acl": policy.x_oss_object_acl,
        "x-oss-forbid-overwrite": policy.x_oss_forbid_overwrite,
        "success_action_status": "200",
        "x-oss-content-type": content_type(path),
    }


@dataclass
class _CachedPolicy:
    policy: UploadPolicy
    fetched_at: float

    def fresh(self, now: float) -> bool:
        ttl = self.policy.expire_in_seconds
        margin = min(30.0, ttl * 0.1)
        return now - self.fetched_at < ttl - margin


class UploadState:
    """Per-client caches of policies (per model) and finished uploads (per model + file identity)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policies: dict[str, _CachedPolicy] = {}
        self._uploads: dict[tuple[str, str, int, int], tuple[str, float]] = {}

    def policy(self, model: str, now: float) -> UploadPolicy | None:
        with self._lock:
            cached = self._policies.get(model)
            return cached.policy if cached is not None and cached.fresh(now) else None

    def store_policy(self, model: str, policy: UploadPolicy, now: float) -> None:
        with self._lock:
            self._policies[model] = _CachedPolicy(policy, now)

    def forget_policy(self, model: str) -> None:
        with self._lock:
            self._policies.pop(model, None)

    @staticmethod
    def _file_key(model: str, path: Path) -> tuple[str, str, int, int]:
        stat = path.stat()
        return (model, str(path), stat.st_size, stat.st_mtime_ns)

    def uploaded(self, model: str, path: Path, now: float) -> str | None:
        retention = float(limits()["uploads"]["retention_hours"]) * 3600.0
        with self._lock:
            found = self._uploads.get(self._file_key(model, path))
        if found is None:
            return None
        url, at = found
        return url if now - at < retention - 3600.0 else None

    def store_upload(self, model: str, path: Path, url: str, now: float) -> None:
        with self._lock:
            self._uploads[self._file_key(model, path)] = (url, now)
