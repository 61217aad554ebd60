from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DetectInput")


@_attrs_define
class DetectInput:
    image_url: str
    """ An HTTP(S) URL the service can download, or an `oss://` URL of a temporary upload (then send
    `X-DashScope-OssResourceResolve: enable`). Local paths and other schemes are not supported.
     """

    def to_dict(self) -> dict[str, Any]:
        image_url = self.image_url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "image_url": image_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image_url = d.pop("image_url")

        detect_input = cls(
            image_url=image_url,
        )

        return detect_input
