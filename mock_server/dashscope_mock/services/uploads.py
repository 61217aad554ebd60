"""Temporary uploads, as the service's getPolicy + OSS form flow: a signed policy per model and account, the form POST
that stores a file as ``oss://<upload_dir>/<name>``, and the resolution of such URLs for tasks and detects: for the
account that uploaded it (its full hash, ``keys.account_hash``), the model of its policy (and, leniently, that model's
face-detect/generation pair, ``x-leniency.upload_model_pairs``), within the retention; each refusal says why."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dashscope_openapi import limits, load_control_spec, load_spec

from ..domain.errors import OssError, oss_error
from ..domain.ids import IdFactory
from ..domain.keys import account_hash
from ..domain.records import UploadRecord
from ..domain.signing import ACCESS_KEY_ID, sign
from ..store import ScenarioKeeper, Store

__all__ = ["OSS_PREFIX", "OSS_RESOLVE_HEADER", "Resolution", "UploadService", "key_id", "short_hash"]

OSS_PREFIX = "oss://"
OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
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
    """A stable 7-digit id for a key, ``api_key_id`` in the task list (what the service shows). Only a display id:
    two accounts in 10**7 share one, so nothing is matched by it (an upload's owner is ``keys.account_hash``)."""
    return str(int(short_hash(key, 12), 16) % 10**7).rjust(7, "0")


@functools.cache
def _pairs() -> frozenset[frozenset[str]]:
    """``x-leniency.upload_model_pairs``: models whose uploads serve each other."""
    return frozenset(frozenset(pair) for pair in load_spec()["x-leniency"]["upload_model_pairs"]["pairs"])


@dataclass(frozen=True)
class Resolution:
    """What an ``oss://`` URL of a call came to: the stored file (``file_url``) or ``None``, and what the request's
    journal entry should say about it (``reason``: why it was refused, or the leniency that let it through)."""

    file_url: str | None
    reason: str | None = None

    def note(self, field: str) -> str | None:
        """The journal's note for the input ``field`` (``input.image_url``), if there is anything to say."""
        if self.reason is None:
            return None
        if self.file_url is None:
            return f"{field}: oss:// upload not resolved: {self.reason}"
        return f"{field}: oss:// upload {self.reason}"


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
        expires = now + expire_in
        day = datetime.fromtimestamp(now, self.tz).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{short_hash(key, 32)}/{day}/{self.ids.upload_id()}"
        document = {
            "expiration": datetime.fromtimestamp(expires, self.tz).isoformat(),
            "conditions": [["starts-with", "$key", upload_dir + "/"]],
            # signed, but readable by the client: the owner is the account's hash, never the key
            "x-mock": {"model": model, "owner": account_hash(key), "upload_dir": upload_dir, "expires_at": expires},
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
        refusing it as soon as it passes the size limit; kept as ``oss://<key>``. State calls run where they cannot
        block the event loop (``Store.call``)."""
        url, model, owner, path = await self.store.call(self._accept_upload, fields)
        size = await _stream_to(path, read, int(limits()["uploads"]["max_file_size_mb"]) * 1024 * 1024)
        record = UploadRecord(url=url, model=model, owner=owner, created_at=self.now(), path=str(path), size=size)
        await self.store.call(self.store.add_upload, record)
        return record

    def _accept_upload(self, fields: Mapping[str, str]) -> tuple[str, str, str, Path]:
        """The checks of ``store_upload`` before the file is read: its url, model, owner and path on disk."""
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
        return url, model, str(meta["owner"]), path

    def resolve(self, url: str, model: str, key: str, *, oss_resolve: bool, strict: bool = False) -> Resolution:
        """The ``file://`` URL of an ``oss://`` upload the caller may use, or why not.

        Resolved only with ``X-DashScope-OssResourceResolve: enable``, for the account that uploaded it, for the model
        the policy was issued for (or its pair in ``x-leniency.upload_model_pairs``, unless ``strict``), within
        ``x-limits.uploads.retention_hours``, while the file is there.
        """
        if not oss_resolve:
            return Resolution(None, f"header {OSS_RESOLVE_HEADER}: enable missing")
        record = self.store.get_upload(url)
        if record is None:
            return Resolution(None, "no such upload")
        if not hmac.compare_digest(record.owner, account_hash(key)):
            return Resolution(None, "uploaded by another account")
        lenient: str | None = None
        if record.model != model:
            issued = f"issued for model {record.model}"
            paired = frozenset((record.model, model)) in _pairs()
            if strict or not paired:
                kept = " (its pair, but --strict-fields keeps the documented binding)" if paired else ""
                return Resolution(None, f"{issued}, not {model}{kept}")
            lenient = f"{issued} used for {model} (x-leniency.upload_model_pairs)"
        retention = float(limits()["uploads"]["retention_hours"])
        if self.now() - record.created_at > retention * HOUR:
            return Resolution(None, f"expired ({retention:g} h after the upload)")
        path = Path(record.path)
        if not path.exists():
            return Resolution(None, "file gone from the upload directory")
        return Resolution(path.as_uri(), lenient)
