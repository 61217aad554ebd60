from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.upload_policy import UploadPolicy


T = TypeVar("T", bound="UploadPolicyResponse")


@_attrs_define
class UploadPolicyResponse:
    data: UploadPolicy
    request_id: str

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        request_id = self.request_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data": data,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.upload_policy import UploadPolicy  # noqa: PLC0415

        d = dict(src_dict)
        data = UploadPolicy.from_dict(d.pop("data"))

        request_id = d.pop("request_id")

        upload_policy_response = cls(
            data=data,
            request_id=request_id,
        )

        return upload_policy_response
