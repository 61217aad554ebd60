from typing import Literal

LivePortraitDetectRequestModel = Literal["liveportrait-detect"]

LIVE_PORTRAIT_DETECT_REQUEST_MODEL_VALUES: set[LivePortraitDetectRequestModel] = {
    "liveportrait-detect",
}


def check_live_portrait_detect_request_model(value: str) -> LivePortraitDetectRequestModel:
    if value in LIVE_PORTRAIT_DETECT_REQUEST_MODEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIVE_PORTRAIT_DETECT_REQUEST_MODEL_VALUES!r}")
