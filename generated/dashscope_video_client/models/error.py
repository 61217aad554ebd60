from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """Every error body of the service (never problem+json). `code` is an open set: the known codes are in
    `x-error-catalogue`; a client must accept codes it has not seen.

    """

    request_id: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        request_id = self.request_id

        code = self.code

        message = self.message

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "request_id": request_id,
                "code": code,
                "message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        request_id = d.pop("request_id")

        code = d.pop("code")

        message = d.pop("message")

        error = cls(
            request_id=request_id,
            code=code,
            message=message,
        )

        return error
