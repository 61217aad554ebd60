from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.submit_response_output import SubmitResponseOutput


T = TypeVar("T", bound="SubmitResponse")


@_attrs_define
class SubmitResponse:
    output: SubmitResponseOutput
    request_id: str

    def to_dict(self) -> dict[str, Any]:
        output = self.output.to_dict()

        request_id = self.request_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "output": output,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.submit_response_output import SubmitResponseOutput  # noqa: PLC0415

        d = dict(src_dict)
        output = SubmitResponseOutput.from_dict(d.pop("output"))

        request_id = d.pop("request_id")

        submit_response = cls(
            output=output,
            request_id=request_id,
        )

        return submit_response
