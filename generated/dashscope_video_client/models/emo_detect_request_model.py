from typing import Literal

EmoDetectRequestModel = Literal["emo-detect-v1"]

EMO_DETECT_REQUEST_MODEL_VALUES: set[EmoDetectRequestModel] = {
    "emo-detect-v1",
}


def check_emo_detect_request_model(value: str) -> EmoDetectRequestModel:
    if value in EMO_DETECT_REQUEST_MODEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EMO_DETECT_REQUEST_MODEL_VALUES!r}")
