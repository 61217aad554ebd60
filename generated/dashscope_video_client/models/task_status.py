from typing import Literal

TaskStatus = Literal[
    "CANCELED", "FAILED", "PENDING", "POST-PROCESSING", "PRE-PROCESSING", "RUNNING", "SUCCEEDED", "SUSPENDED", "UNKNOWN"
]

TASK_STATUS_VALUES: set[TaskStatus] = {
    "CANCELED",
    "FAILED",
    "PENDING",
    "POST-PROCESSING",
    "PRE-PROCESSING",
    "RUNNING",
    "SUCCEEDED",
    "SUSPENDED",
    "UNKNOWN",
}


def check_task_status(value: str) -> TaskStatus:
    if value in TASK_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TASK_STATUS_VALUES!r}")
