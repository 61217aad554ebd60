from typing import Literal

VideoRatio = Literal["1:1", "3:4", "standard"]

VIDEO_RATIO_VALUES: set[VideoRatio] = {
    "1:1",
    "3:4",
    "standard",
}


def check_video_ratio(value: str) -> VideoRatio:
    if value in VIDEO_RATIO_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {VIDEO_RATIO_VALUES!r}")
