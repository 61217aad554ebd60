from typing import Literal

LivePortraitParametersTemplateId = Literal["active", "calm", "normal"]

LIVE_PORTRAIT_PARAMETERS_TEMPLATE_ID_VALUES: set[LivePortraitParametersTemplateId] = {
    "active",
    "calm",
    "normal",
}


def check_live_portrait_parameters_template_id(value: str) -> LivePortraitParametersTemplateId:
    if value in LIVE_PORTRAIT_PARAMETERS_TEMPLATE_ID_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIVE_PORTRAIT_PARAMETERS_TEMPLATE_ID_VALUES!r}")
