"""Temporary uploads, as the service's getPolicy + OSS form flow: a signed policy per model and key, the form POST
that stores a file as ``oss://<upload_dir>/<name>``, and the resolution of such URLs for tasks and detects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dashscope_openapi import limits, load_control_spec

from ..errors import OssError, oss_error
from ..ids import IdFactory
from ..records import UploadRecord
from ..signing import ACCESS_KEY_ID, sign
from ..store import ScenarioKeeper, Store

__all__ = ["OSS_PREFIX", "UploadService", "key_id", "short_hash"]

OSS_PREFIX = "oss://"
HOUR = 3600.0
CHUNK = 1024 * 1024
_SAFE_SUFFIX = re.compile(r"(\.[A-Za-z0-9]{1,8})?")


def _valid_object_name(key: str) -> bool:
    """OSS's naming rules: 1-1023 bytes of UTF-8, no control characters."""
    limit = int(load_control_spec()["x-oss-object-name-max-bytes"])
    return 0 < len(key.encode("utf-8", "surrogatepass")) <= limit and not any(ord(c) < 32 or c == "\x7f" for c in key)


async def _stream_to(path: Path, read: Callable[[int], Awaitable[bytes]], max_bytes: int) -> int:
    """Copy ``read`` to ``path`` chunk by chunk; OSS's ``EntityTooLarge`` (and nothing kept) past ``max_bytes``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    size = 0
    try:
        with partial.open("wb") as out:
            while chunk := await read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise oss_error("size")
                out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return size


def short_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def key_id(key: str) -> str:
    """A stable numeric id for a key (``api_key_id`` in the task list, the owner of an upload)."""
    return str(int(short_hash(key, 12), 16) % 10**7).rjust(7, "0")


class UploadService:
    def __init__(
        self,
        *,
        store: Store,
        ids: IdFactory,
        scenarios: ScenarioKeeper,
        now: Callable[[], float],
        tz: timezone,
        files_dir: Path,
        secret: Callable[[], str],
        retry_after_seconds: int,
    ) -> None:
        self.store = store
        self.ids = ids
        self.scenarios = scenarios
        self.now = now
        self.tz = tz
        self.files_dir = files_dir
        self.secret = secret  # the state's (``Store.secret``): every worker signs and checks alike
        self.retry_after_seconds = retry_after_seconds

    def policy(self, key: str, model: str, base_url: str) -> dict[str, Any]:
        """The ``data`` of getPolicy: a policy signed for ``model`` (any name, as the service) and ``key``, valid for
        the documented time."""
        now = self.now()
        uploads = limits()["uploads"]
        expire_in = int(uploads["policy_expire_in_seconds"])
        day = datetime.fromtimestamp(now, self.tz).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{short_hash(key, 32)}/{day}/{self.ids.upload_id()}"
        document = {
            "expiration": datetime.fromtimestamp(now + expire_in, self.tz).isoformat(),
            "conditions": [["starts-with", "$key", upload_dir + "/"]],
            "x-mock": {"model": model, "owner": key_id(key), "upload_dir": upload_dir, "expires_at": now + expire_in},
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": f"{base_url.rstrip('/')}/_mock/oss",
            "expire_in_seconds": expire_in,
            "max_file_size_mb": int(uploads["max_file_size_mb"]),
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def _sign(self, policy: str) -> str:
        return sign(self.secret(), policy)

    async def store_upload(self, fields: Mapping[str, str], read: Callable[[int], Awaitable[bytes]]) -> UploadRecord:
        """The OSS form POST: check the signed policy and the object name, then stream the file (``read(n)``) to disk,
        refusing it as soon as it passes the size limit; kept as ``oss://<key>``."""
        policy = fields.get("policy", "")
        if not hmac.compare_digest(self._sign(policy).encode(), fields.get("Signature", "").encode()):
            raise oss_error("signature")
        try:
            document = json.loads(base64.b64decode(policy))
            meta = document["x-mock"]
        except (ValueError, KeyError, TypeError) as exc:
            raise oss_error("policy") from exc
        model = str(meta["model"])
        scenario = self.scenarios.take(model, "upload")
        if scenario is not None and scenario.entry is not None:  # scripted: the catalogue's code, in OSS's XML
            scripted = scenario.error(self.retry_after_seconds)
            raise OssError(scripted.status, scripted.code, scripted.message, scripted.headers)
        now = self.now()
        if now > float(meta["expires_at"]):
            raise oss_error("policy_expired")
        object_key = fields.get("key", "")
        if not _valid_object_name(object_key):
            raise oss_error("object_name")
        upload_dir = str(meta["upload_dir"])
        name = object_key[len(upload_dir) + 1 :] if object_key.startswith(upload_dir + "/") else ""
        if not name or "/" in name or name in (".", ".."):
            raise oss_error("policy_condition", upload_dir=upload_dir)
        url = OSS_PREFIX + object_key
        if self.store.get_upload(url) is not None and fields.get("x-oss-forbid-overwrite", "false") == "true":
            raise oss_error("overwrite")
        # On disk under a hash of the key (a client's name is never a path), with the name's extension kept.
        suffix = Path(name).suffix if _SAFE_SUFFIX.fullmatch(Path(name).suffix) else ""
        path = self.files_dir / "uploads" / f"{short_hash(object_key, 32)}{suffix}"
        size = await _stream_to(path, read, int(limits()["uploads"]["max_file_size_mb"]) * 1024 * 1024)
        record = UploadRecord(url=url, model=model, owner=str(meta["owner"]), created_at=now, path=str(path), size=size)
        self.store.add_upload(record)
        return record

    def resolve(self, url: str, model: str, key: str, *, oss_resolve: bool) -> str | None:
        """``file://`` URL of an ``oss://`` upload the caller may use, else ``None``.

        Resolved only with ``X-DashScope-OssResourceResolve: enable``, for the key that uploaded it, for the model
        the policy was issued for, within ``x-limits.uploads.retention_hours``.
        """
        if not oss_resolve:
            return None
        record = self.store.get_upload(url)
        if record is None or record.model != model or record.owner != key_id(key):
            return None
        if self.now() - record.created_at > float(limits()["uploads"]["retention_hours"]) * HOUR:
            return None
        path = Path(record.path)
        return path.as_uri() if path.exists() else None
