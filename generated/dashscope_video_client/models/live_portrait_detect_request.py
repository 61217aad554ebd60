from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.live_portrait_detect_request_model import (
    LivePortraitDetectRequestModel,
    check_live_portrait_detect_request_model,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.detect_input import DetectInput
    from ..models.no_parameters import NoParameters


T = TypeVar("T", bound="LivePortraitDetectRequest")


@_attrs_define
class LivePortraitDetectRequest:
    """No documented parameter. An empty `parameters` object is accepted: the official SDK sends `"parameters": {}`
    on every call (`BaseApi.call`), face-detect included, and works against the service. The service accepts and
    ignores keys that `input` and `parameters` do not document (`x-leniency.unknown_keys`: open objects here; this
    toolkit's client and `--strict-fields` refuse them).

    """

    model: LivePortraitDetectRequestModel
    input_: DetectInput
    parameters: NoParameters | Unset = UNSET
    """ An operation without documented parameters. """

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
        from ..models.detect_input import DetectInput  # noqa: PLC0415
        from ..models.no_parameters import NoParameters  # noqa: PLC0415

        d = dict(src_dict)
        model = check_live_portrait_detect_request_model(d.pop("model"))

        input_ = DetectInput.from_dict(d.pop("input"))

        _parameters = d.pop("parameters", UNSET)
        parameters: NoParameters | Unset
        if isinstance(_parameters, Unset):
            parameters = UNSET
        else:
            parameters = NoParameters.from_dict(_parameters)

        live_portrait_detect_request = cls(
            model=model,
            input_=input_,
            parameters=parameters,
        )

        return live_portrait_detect_request
