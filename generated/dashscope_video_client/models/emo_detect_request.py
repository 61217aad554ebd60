from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.emo_detect_request_model import EmoDetectRequestModel, check_emo_detect_request_model

if TYPE_CHECKING:
    from ..models.detect_input import DetectInput
    from ..models.emo_detect_parameters import EmoDetectParameters


T = TypeVar("T", bound="EmoDetectRequest")


@_attrs_define
class EmoDetectRequest:
    """`parameters` is required (without it: `BadRequest.EmptyParameters`); `ratio` in it may be left out and then
    takes its documented default (`1:1`). The service accepts and ignores keys that `input` and `parameters` do
    not document (`x-leniency.unknown_keys`: open objects here; this toolkit's client and `--strict-fields` refuse
    them).

    """

    model: EmoDetectRequestModel
    input_: DetectInput
    parameters: EmoDetectParameters

    def to_dict(self) -> dict[str, Any]:
        model: str = self.model

        input_ = self.input_.to_dict()

        parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model": model,
                "input": input_,
                "parameters": parameters,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.detect_input import DetectInput  # noqa: PLC0415
        from ..models.emo_detect_parameters import EmoDetectParameters  # noqa: PLC0415

        d = dict(src_dict)
        model = check_emo_detect_request_model(d.pop("model"))

        input_ = DetectInput.from_dict(d.pop("input"))

        parameters = EmoDetectParameters.from_dict(d.pop("parameters"))

        emo_detect_request = cls(
            model=model,
            input_=input_,
            parameters=parameters,
        )

        return emo_detect_request
