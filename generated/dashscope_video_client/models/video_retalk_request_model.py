from typing import Literal

VideoRetalkRequestModel = Literal["videoretalk"]

VIDEO_RETALK_REQUEST_MODEL_VALUES: set[VideoRetalkRequestModel] = {
    "videoretalk",
}


def check_video_retalk_request_model(value: str) -> VideoRetalkRequestModel:
    if value in VIDEO_RETALK_REQUEST_MODEL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {VIDEO_RETALK_REQUEST_MODEL_VALUES!r}")
