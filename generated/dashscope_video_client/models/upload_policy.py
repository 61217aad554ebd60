from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UploadPolicy")


@_attrs_define
class UploadPolicy:
    policy: str
    signature: str
    upload_dir: str
    """ `dashscope-instant/<hash>/<date>/<uuid>`; object key = `<upload_dir>/<name>`. """
    upload_host: str
    """ Where to POST the form. """
    expire_in_seconds: int
    max_file_size_mb: int
    oss_access_key_id: str
    x_oss_object_acl: str
    x_oss_forbid_overwrite: str
    capacity_limit_mb: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        policy = self.policy

        signature = self.signature

        upload_dir = self.upload_dir

        upload_host = self.upload_host

        expire_in_seconds = self.expire_in_seconds

        max_file_size_mb = self.max_file_size_mb

        oss_access_key_id = self.oss_access_key_id

        x_oss_object_acl = self.x_oss_object_acl

        x_oss_forbid_overwrite = self.x_oss_forbid_overwrite

        capacity_limit_mb = self.capacity_limit_mb

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "policy": policy,
                "signature": signature,
                "upload_dir": upload_dir,
                "upload_host": upload_host,
                "expire_in_seconds": expire_in_seconds,
                "max_file_size_mb": max_file_size_mb,
                "oss_access_key_id": oss_access_key_id,
                "x_oss_object_acl": x_oss_object_acl,
                "x_oss_forbid_overwrite": x_oss_forbid_overwrite,
            }
        )
        if capacity_limit_mb is not UNSET:
            field_dict["capacity_limit_mb"] = capacity_limit_mb

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        policy = d.pop("policy")

        signature = d.pop("signature")

        upload_dir = d.pop("upload_dir")

        upload_host = d.pop("upload_host")

        expire_in_seconds = d.pop("expire_in_seconds")

        max_file_size_mb = d.pop("max_file_size_mb")

        oss_access_key_id = d.pop("oss_access_key_id")

        x_oss_object_acl = d.pop("x_oss_object_acl")

        x_oss_forbid_overwrite = d.pop("x_oss_forbid_overwrite")

        capacity_limit_mb = d.pop("capacity_limit_mb", UNSET)

        upload_policy = cls(
            policy=policy,
            signature=signature,
            upload_dir=upload_dir,
            upload_host=upload_host,
            expire_in_seconds=expire_in_seconds,
            max_file_size_mb=max_file_size_mb,
            oss_access_key_id=oss_access_key_id,
            x_oss_object_acl=x_oss_object_acl,
            x_oss_forbid_overwrite=x_oss_forbid_overwrite,
            capacity_limit_mb=capacity_limit_mb,
        )

        return upload_policy
