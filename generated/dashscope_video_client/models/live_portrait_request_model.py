from typing import Literal

LivePortraitRequestModel = Literal["liveportrait"]

LIVE_PORTRAIT_REQUEST_MODEL_VALUES: set[LivePortraitRequestModel] = {
    "liveportrait",
}


def check_live_portrait_request_model(value: str) -> LivePortraitRequestModel:
    if value in LIVE_PORTRAIT_REQUEST_MODEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIVE_PORTRAIT_REQUEST_MODEL_VALUES!r}")
