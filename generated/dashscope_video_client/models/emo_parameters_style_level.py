from typing import Literal

EmoParametersStyleLevel = Literal["active", "calm", "normal"]

EMO_PARAMETERS_STYLE_LEVEL_VALUES: set[EmoParametersStyleLevel] = {
    "active",
    "calm",
    "normal",
}


def check_emo_parameters_style_level(value: str) -> EmoParametersStyleLevel:
    if value in EMO_PARAMETERS_STYLE_LEVEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EMO_PARAMETERS_STYLE_LEVEL_VALUES!r}")
