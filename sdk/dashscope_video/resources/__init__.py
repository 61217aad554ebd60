"""One module per API area; each offers a sync and an async resource built from one set of plans."""

from .face_detect import AsyncFaceDetect, FaceDetect
from .tasks import AsyncTasks, TaskPage, Tasks
from .uploads import AsyncUploads, Uploads
from .video_synthesis import AsyncVideoSynthesis, VideoSynthesis

__all__ = [
    "AsyncFaceDetect",
    "AsyncTasks",
    "AsyncUploads",
    "AsyncVideoSynthesis",
    "FaceDetect",
    "TaskPage",
    "Tasks",
    "Uploads",
    "VideoSynthesis",
]
