from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="EmoInput")


@_attrs_define
class EmoInput:
    image_url: str
    """ An HTTP(S) URL the service can download, or an `oss://` URL of a temporary upload (then send
    `X-DashScope-OssResourceResolve: enable`). Local paths and other schemes are not supported.
     """
    audio_url: str
    """ An HTTP(S) URL the service can download, or an `oss://` URL of a temporary upload (then send
    `X-DashScope-OssResourceResolve: enable`). Local paths and other schemes are not supported.
     """
    face_bbox: list[int]
    """ `[x1, y1, x2, y2]` in pixels, as returned by emo-detect-v1. """
    ext_bbox: list[int]
    """ `[x1, y1, x2, y2]` in pixels, as returned by emo-detect-v1. """

    def to_dict(self) -> dict[str, Any]:
        image_url = self.image_url

        audio_url = self.audio_url

        face_bbox = self.face_bbox

        ext_bbox = self.ext_bbox

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "image_url": image_url,
                "audio_url": audio_url,
                "face_bbox": face_bbox,
                "ext_bbox": ext_bbox,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image_url = d.pop("image_url")

        audio_url = d.pop("audio_url")

        face_bbox = cast(list[int], d.pop("face_bbox"))

        ext_bbox = cast(list[int], d.pop("ext_bbox"))

        emo_input = cls(
            image_url=image_url,
            audio_url=audio_url,
            face_bbox=face_bbox,
            ext_bbox=ext_bbox,
        )

        return emo_input
