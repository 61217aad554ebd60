from typing import Literal

ListTasksStatus = Literal["CANCELED", "FAILED", "PENDING", "RUNNING", "SUCCEEDED"]

LIST_TASKS_STATUS_VALUES: set[ListTasksStatus] = {
    "CANCELED",
    "FAILED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
}


def check_list_tasks_status(value: str) -> ListTasksStatus:
    if value in LIST_TASKS_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_TASKS_STATUS_VALUES!r}")
