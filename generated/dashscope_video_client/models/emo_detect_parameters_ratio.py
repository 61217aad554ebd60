from typing import Literal

EmoDetectParametersRatio = Literal["1:1", "3:4"]

EMO_DETECT_PARAMETERS_RATIO_VALUES: set[EmoDetectParametersRatio] = {
    "1:1",
    "3:4",
}


def check_emo_detect_parameters_ratio(value: str) -> EmoDetectParametersRatio:
    if value in EMO_DETECT_PARAMETERS_RATIO_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EMO_DETECT_PARAMETERS_RATIO_VALUES!r}")
