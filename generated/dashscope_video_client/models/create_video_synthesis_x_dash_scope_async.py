from typing import Literal

CreateVideoSynthesisXDashScopeAsync = Literal["enable"]

CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_ASYNC_VALUES: set[CreateVideoSynthesisXDashScopeAsync] = {
    "enable",
}


def check_create_video_synthesis_x_dash_scope_async(value: str) -> CreateVideoSynthesisXDashScopeAsync:
    if value in CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_ASYNC_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_ASYNC_VALUES!r}")
