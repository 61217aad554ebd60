from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.emo_request_model import EmoRequestModel, check_emo_request_model
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.emo_input import EmoInput
    from ..models.emo_parameters import EmoParameters


T = TypeVar("T", bound="EmoRequest")


@_attrs_define
class EmoRequest:
    """emo-v1 — an image that passed emo-detect-v1, its boxes, and a voice audio. The service accepts and ignores
    keys that `input` and `parameters` do not document (`x-leniency.unknown_keys`: open objects here; this
    toolkit's client and `--strict-fields` refuse them).

    """

    model: EmoRequestModel
    input_: EmoInput
    parameters: EmoParameters | Unset = UNSET

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
        from ..models.emo_input import EmoInput  # noqa: PLC0415
        from ..models.emo_parameters import EmoParameters  # noqa: PLC0415

        d = dict(src_dict)
        model = check_emo_request_model(d.pop("model"))

        input_ = EmoInput.from_dict(d.pop("input"))

        _parameters = d.pop("parameters", UNSET)
        parameters: EmoParameters | Unset
        if isinstance(_parameters, Unset):
            parameters = UNSET
        else:
            parameters = EmoParameters.from_dict(_parameters)

        emo_request = cls(
            model=model,
            input_=input_,
            parameters=parameters,
        )

        return emo_request
