from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.detect_usage import DetectUsage
    from ..models.emo_detect_output import EmoDetectOutput
    from ..models.live_portrait_detect_output import LivePortraitDetectOutput


T = TypeVar("T", bound="FaceDetectResponse")


@_attrs_define
class FaceDetectResponse:
    output: EmoDetectOutput | LivePortraitDetectOutput
    request_id: str
    usage: DetectUsage | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.emo_detect_output import EmoDetectOutput  # noqa: PLC0415

        output: dict[str, Any]
        if isinstance(self.output, EmoDetectOutput):
            output = self.output.to_dict()
        else:
            output = self.output.to_dict()

        request_id = self.request_id

        usage: dict[str, Any] | Unset = UNSET
        if not isinstance(self.usage, Unset):
            usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "output": output,
                "request_id": request_id,
            }
        )
        if usage is not UNSET:
            field_dict["usage"] = usage

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.detect_usage import DetectUsage  # noqa: PLC0415
        from ..models.emo_detect_output import EmoDetectOutput  # noqa: PLC0415
        from ..models.live_portrait_detect_output import LivePortraitDetectOutput  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_output(data: object) -> EmoDetectOutput | LivePortraitDetectOutput:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                output_type_0 = EmoDetectOutput.from_dict(data)

                return output_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            output_type_1 = LivePortraitDetectOutput.from_dict(data)

            return output_type_1

        output = _parse_output(d.pop("output"))

        request_id = d.pop("request_id")

        _usage = d.pop("usage", UNSET)
        usage: DetectUsage | Unset
        if isinstance(_usage, Unset):
            usage = UNSET
        else:
            usage = DetectUsage.from_dict(_usage)

        face_detect_response = cls(
            output=output,
            request_id=request_id,
            usage=usage,
        )

        return face_detect_response
