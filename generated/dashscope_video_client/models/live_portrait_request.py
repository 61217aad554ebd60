from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.live_portrait_request_model import LivePortraitRequestModel, check_live_portrait_request_model
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.live_portrait_input import LivePortraitInput
    from ..models.live_portrait_parameters import LivePortraitParameters


T = TypeVar("T", bound="LivePortraitRequest")


@_attrs_define
class LivePortraitRequest:
    """liveportrait — an image that passed liveportrait-detect plus a voice audio. The service accepts and ignores
    keys that `input` and `parameters` do not document (`x-leniency.unknown_keys`: open objects here; this
    toolkit's client and `--strict-fields` refuse them).

    """

    model: LivePortraitRequestModel
    input_: LivePortraitInput
    parameters: LivePortraitParameters | Unset = UNSET

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
        from ..models.live_portrait_input import LivePortraitInput  # noqa: PLC0415
        from ..models.live_portrait_parameters import LivePortraitParameters  # noqa: PLC0415

        d = dict(src_dict)
        model = check_live_portrait_request_model(d.pop("model"))

        input_ = LivePortraitInput.from_dict(d.pop("input"))

        _parameters = d.pop("parameters", UNSET)
        parameters: LivePortraitParameters | Unset
        if isinstance(_parameters, Unset):
            parameters = UNSET
        else:
            parameters = LivePortraitParameters.from_dict(_parameters)

        live_portrait_request = cls(
            model=model,
            input_=input_,
            parameters=parameters,
        )

        return live_portrait_request
