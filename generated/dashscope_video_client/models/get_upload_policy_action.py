from typing import Literal

GetUploadPolicyAction = Literal["getPolicy"]

GET_UPLOAD_POLICY_ACTION_VALUES: set[GetUploadPolicyAction] = {
    "getPolicy",
}


def check_get_upload_policy_action(value: str) -> GetUploadPolicyAction:
    if value in GET_UPLOAD_POLICY_ACTION_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {GET_UPLOAD_POLICY_ACTION_VALUES!r}")
