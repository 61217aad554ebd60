from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.task_status import TaskStatus, check_task_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_metrics import TaskMetrics
    from ..models.task_results import TaskResults


T = TypeVar("T", bound="TaskOutput")


@_attrs_define
class TaskOutput:
    """One shape for every status. The result URL is model-specific, exactly as documented: liveportrait and
    emo-v1 put it in `results.video_url`, videoretalk in `video_url`. It stays valid 24 h after `end_time`.

    """

    task_id: str
    task_status: str | TaskStatus
    """ A `TaskStatus`, or a status added by the service later (treat it as not terminal). """
    submit_time: str | Unset = UNSET
    """ `YYYY-MM-DD HH:MM:SS.mmm`, service time. """
    scheduled_time: str | Unset = UNSET
    """ `YYYY-MM-DD HH:MM:SS.mmm`, service time. """
    end_time: str | Unset = UNSET
    """ `YYYY-MM-DD HH:MM:SS.mmm`, service time. """
    results: TaskResults | Unset = UNSET
    """ liveportrait and emo-v1 results. """
    video_url: str | Unset = UNSET
    """ videoretalk's result URL. """
    code: str | Unset = UNSET
    """ On FAILED, the error code (see `x-error-catalogue`; open set). """
    message: str | Unset = UNSET
    """ On FAILED, the error message. """
    task_metrics: TaskMetrics | Unset = UNSET
    """ Sub-task counts some task types report. """

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        task_status: str
        if isinstance(self.task_status, str):
            task_status = self.task_status
        else:
            task_status = self.task_status

        submit_time = self.submit_time

        scheduled_time = self.scheduled_time

        end_time = self.end_time

        results: dict[str, Any] | Unset = UNSET
        if not isinstance(self.results, Unset):
            results = self.results.to_dict()

        video_url = self.video_url

        code = self.code

        message = self.message

        task_metrics: dict[str, Any] | Unset = UNSET
        if not isinstance(self.task_metrics, Unset):
            task_metrics = self.task_metrics.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "task_id": task_id,
                "task_status": task_status,
            }
        )
        if submit_time is not UNSET:
            field_dict["submit_time"] = submit_time
        if scheduled_time is not UNSET:
            field_dict["scheduled_time"] = scheduled_time
        if end_time is not UNSET:
            field_dict["end_time"] = end_time
        if results is not UNSET:
            field_dict["results"] = results
        if video_url is not UNSET:
            field_dict["video_url"] = video_url
        if code is not UNSET:
            field_dict["code"] = code
        if message is not UNSET:
            field_dict["message"] = message
        if task_metrics is not UNSET:
            field_dict["task_metrics"] = task_metrics

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_metrics import TaskMetrics  # noqa: PLC0415
        from ..models.task_results import TaskResults  # noqa: PLC0415

        d = dict(src_dict)
        task_id = d.pop("task_id")

        def _parse_task_status(data: object) -> str | TaskStatus:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_task_status_value_type_0 = check_task_status(data)

                return componentsschemas_task_status_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TaskStatus, data)

        task_status = _parse_task_status(d.pop("task_status"))

        submit_time = d.pop("submit_time", UNSET)

        scheduled_time = d.pop("scheduled_time", UNSET)

        end_time = d.pop("end_time", UNSET)

        _results = d.pop("results", UNSET)
        results: TaskResults | Unset
        if isinstance(_results, Unset):
            results = UNSET
        else:
            results = TaskResults.from_dict(_results)

        video_url = d.pop("video_url", UNSET)

        code = d.pop("code", UNSET)

        message = d.pop("message", UNSET)

        _task_metrics = d.pop("task_metrics", UNSET)
        task_metrics: TaskMetrics | Unset
        if isinstance(_task_metrics, Unset):
            task_metrics = UNSET
        else:
            task_metrics = TaskMetrics.from_dict(_task_metrics)

        task_output = cls(
            task_id=task_id,
            task_status=task_status,
            submit_time=submit_time,
            scheduled_time=scheduled_time,
            end_time=end_time,
            results=results,
            video_url=video_url,
            code=code,
            message=message,
            task_metrics=task_metrics,
        )

        return task_output
