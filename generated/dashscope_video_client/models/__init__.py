"""Contains all the data models used in inputs/outputs"""

from .cancel_response import CancelResponse
from .create_video_synthesis_x_dash_scope_async import CreateVideoSynthesisXDashScopeAsync
from .create_video_synthesis_x_dash_scope_oss_resource_resolve import CreateVideoSynthesisXDashScopeOssResourceResolve
from .detect_input import DetectInput
from .detect_usage import DetectUsage
from .emo_detect_output import EmoDetectOutput
from .emo_detect_parameters import EmoDetectParameters
from .emo_detect_parameters_ratio import EmoDetectParametersRatio
from .emo_detect_request import EmoDetectRequest
from .emo_detect_request_model import EmoDetectRequestModel
from .emo_input import EmoInput
from .emo_parameters import EmoParameters
from .emo_parameters_style_level import EmoParametersStyleLevel
from .emo_request import EmoRequest
from .emo_request_model import EmoRequestModel
from .error import Error
from .face_detect_response import FaceDetectResponse
from .get_upload_policy_action import GetUploadPolicyAction
from .list_tasks_status import ListTasksStatus
from .live_portrait_detect_output import LivePortraitDetectOutput
from .live_portrait_detect_request import LivePortraitDetectRequest
from .live_portrait_detect_request_model import LivePortraitDetectRequestModel
from .live_portrait_input import LivePortraitInput
from .live_portrait_parameters import LivePortraitParameters
from .live_portrait_parameters_template_id import LivePortraitParametersTemplateId
from .live_portrait_request import LivePortraitRequest
from .live_portrait_request_model import LivePortraitRequestModel
from .no_parameters import NoParameters
from .submit_response import SubmitResponse
from .submit_response_output import SubmitResponseOutput
from .task_list_item import TaskListItem
from .task_list_response import TaskListResponse
from .task_metrics import TaskMetrics
from .task_output import TaskOutput
from .task_response import TaskResponse
from .task_results import TaskResults
from .task_status import TaskStatus
from .task_usage import TaskUsage
from .upload_policy import UploadPolicy
from .upload_policy_response import UploadPolicyResponse
from .video_ratio import VideoRatio
from .video_retalk_input import VideoRetalkInput
from .video_retalk_parameters import VideoRetalkParameters
from .video_retalk_request import VideoRetalkRequest
from .video_retalk_request_model import VideoRetalkRequestModel

__all__ = (
    "CancelResponse",
    "CreateVideoSynthesisXDashScopeAsync",
    "CreateVideoSynthesisXDashScopeOssResourceResolve",
    "DetectInput",
    "DetectUsage",
    "EmoDetectOutput",
    "EmoDetectParameters",
    "EmoDetectParametersRatio",
    "EmoDetectRequest",
    "EmoDetectRequestModel",
    "EmoInput",
    "EmoParameters",
    "EmoParametersStyleLevel",
    "EmoRequest",
    "EmoRequestModel",
    "Error",
    "FaceDetectResponse",
    "GetUploadPolicyAction",
    "ListTasksStatus",
    "LivePortraitDetectOutput",
    "LivePortraitDetectRequest",
    "LivePortraitDetectRequestModel",
    "LivePortraitInput",
    "LivePortraitParameters",
    "LivePortraitParametersTemplateId",
    "LivePortraitRequest",
    "LivePortraitRequestModel",
    "NoParameters",
    "SubmitResponse",
    "SubmitResponseOutput",
    "TaskListItem",
    "TaskListResponse",
    "TaskMetrics",
    "TaskOutput",
    "TaskResponse",
    "TaskResults",
    "TaskStatus",
    "TaskUsage",
    "UploadPolicy",
    "UploadPolicyResponse",
    "VideoRatio",
    "VideoRetalkInput",
    "VideoRetalkParameters",
    "VideoRetalkRequest",
    "VideoRetalkRequestModel",
)
