from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.video_retalk_request_model import VideoRetalkRequestModel, check_video_retalk_request_model
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.video_retalk_input import VideoRetalkInput
    from ..models.video_retalk_parameters import VideoRetalkParameters


T = TypeVar("T", bound="VideoRetalkRequest")


@_attrs_define
class VideoRetalkRequest:
    """videoretalk — re-lip-sync a person's video to a new voice audio. The service accepts and ignores keys that
    `input` and `parameters` do not document (`x-leniency.unknown_keys`: open objects here; this toolkit's client
    and `--strict-fields` refuse them).

    """

    model: VideoRetalkRequestModel
    input_: VideoRetalkInput
    parameters: VideoRetalkParameters | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        model: str = self.model

        input_ = self.input_.to_dict()

        parameters: dict[str, Any] | Unset = UNSET
        if not isinstance(self.parameters, Unset):
            parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model": model,
                "input": input_,
            }
        )
        if parameters is not UNSET:
            field_dict["parameters"] = parameters

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.video_retalk_input import VideoRetalkInput  # noqa: PLC0415
        from ..models.video_retalk_parameters import VideoRetalkParameters  # noqa: PLC0415

        d = dict(src_dict)
        model = check_video_retalk_request_model(d.pop("model"))

        input_ = VideoRetalkInput.from_dict(d.pop("input"))

        _parameters = d.pop("parameters", UNSET)
        parameters: VideoRetalkParameters | Unset
        if isinstance(_parameters, Unset):
            parameters = UNSET
        else:
            parameters = VideoRetalkParameters.from_dict(_parameters)

        video_retalk_request = cls(
            model=model,
            input_=input_,
            parameters=parameters,
        )

        return video_retalk_request
