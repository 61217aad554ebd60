from typing import Literal

CreateVideoSynthesisXDashScopeOssResourceResolve = Literal["enable"]

CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_OSS_RESOURCE_RESOLVE_VALUES: set[
    CreateVideoSynthesisXDashScopeOssResourceResolve
] = {
    "enable",
}


def check_create_video_synthesis_x_dash_scope_oss_resource_resolve(
    value: str,
) -> CreateVideoSynthesisXDashScopeOssResourceResolve:
    if value in CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_OSS_RESOURCE_RESOLVE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_VIDEO_SYNTHESIS_X_DASH_SCOPE_OSS_RESOURCE_RESOLVE_VALUES!r}"
    )
