"""videoretalk: a video's lips re-synced to a new voice line (``x-limits.models.videoretalk``).

The reference face (``ref_image_url``) must be the same person as a face in ``MATCH_FRAMES`` frames spread over the
video: dlib's 128-d face embeddings closer than ``x-limits.models.videoretalk.ref_image.max_match_distance`` (see
``media.faces``); a reference image without a face, or with several, is ``InvalidFile.Content``. The result keeps the
input's frame rate, longest side at most 1280.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dashscope_openapi import model_limits

from ..plugins import VideoModel, timing
from ..seam import MediaJob
from ._placeholders import documented_ratio

if TYPE_CHECKING:  # the media stack loads only where media work runs (a slim install has none: media checks off)
    from ..media.checks import CheckedImage
    from ..media.kit import MediaKit, Prepared
    from ..media.probe import AudioInfo, VideoInfo

NAME = "videoretalk"
PARAMETERS = "VideoRetalkParameters"


placeholder = documented_ratio  # media checks off: 5 s of the documented ratio


def _match(kit: MediaKit, model: str, ref: CheckedImage, video_path: Path, url: str) -> float:
    """The embedding distance from the reference face to the nearest face of the video."""
    from ..media.checks import max_pixels
    from ..media.errors import failure, input_limits
    from ..media.faces import FaceLimits, best_match, face_embedding
    from ..media.portrait import portrait_face
    from ..media.probe import sample_video_frames

    spec = input_limits(model, "ref_image")
    face = portrait_face(model, "ref_image", ref.rgb, url=url)
    frames = sample_video_frames(video_path, kit.match_frames, max_pixels=max_pixels(input_limits(model, "video")))
    distance = best_match(face_embedding(ref.rgb, face), frames, FaceLimits.from_spec(spec["faces"]))
    if distance > float(spec["max_match_distance"]):
        raise failure(model, "ref_image", "no_match", url=url, detail=f"nearest face at distance {distance:.3f}")
    return distance


async def prepare(kit: MediaKit, job: MediaJob, workdir: Path) -> Prepared:
    from ..media.checks import check_audio, check_image, check_video, max_pixels, max_render_seconds
    from ..media.errors import input_limits
    from ..media.kit import Prepared, param
    from ..media.render import even_size, render_video, video_render_cost

    model, inputs, parameters = job.model, job.input, job.parameters
    video_url, audio_url = inputs.get("video_url"), inputs.get("audio_url")
    ref_url = inputs.get("ref_image_url") or None
    wanted: list[tuple[str, object]] = [("video", video_url), ("audio", audio_url)]
    if ref_url is not None:
        wanted.append(("ref_image", ref_url))
    paths = await kit.fetch_all(model, workdir, wanted, oss_resolve=job.oss_resolve)
    video: VideoInfo = await kit.check(
        model, "video", str(video_url), lambda: check_video(model, "video", paths["video"])
    )
    audio: AudioInfo = await kit.check(
        model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"])
    )
    distance: float | None = None  # to the nearest face of the video
    if ref_url is not None:
        ref = await kit.check(
            model, "ref_image", str(ref_url), lambda: check_image(model, "ref_image", paths["ref_image"])
        )
        distance = await kit.check(
            model, "ref_image", str(ref_url), lambda: _match(kit, model, ref, paths["video"], str(ref_url))
        )
    extension = bool(param(parameters, PARAMETERS, "video_extension"))
    extension = extension and audio.duration > video.duration  # nothing to extend otherwise
    longest = max_render_seconds(model)
    duration = min(round(audio.duration if extension else min(video.duration, audio.duration), 2), longest)
    video_path, audio_path, max_side = paths["video"], paths["audio"], kit.video_max_side
    frame_pixels = max_pixels(input_limits(model, "video"))

    def render(out_path: Path) -> None:
        render_video(
            out_path,
            video_path=video_path,
            audio_path=audio_path,
            duration=duration,
            extension=extension,
            max_seconds=longest,
            max_pixels=frame_pixels,
            max_side=max_side,
        )

    width, height = even_size(video.width, video.height, max_side)
    ratio = str(model_limits(NAME)["output"]["video_ratio"])
    details = {"size": (width, height), "fps": video.fps, "video": video, "audio": audio, "match": distance}
    cost = video_render_cost((video.width, video.height), (width, height), duration, audio.sample_rate, audio.channels)
    return Prepared(model, duration, ratio, workdir, render, details, render_cost=cost)


# One running task per key (x-limits.concurrency); the realistic profile takes minutes.
model = VideoModel(
    name=NAME,
    timings={"fast": timing(0.5, ("RUNNING", 2.0)), "realistic": timing(5.0, ("RUNNING", 120.0))},
    placeholder=placeholder,
    prepare=prepare,
)
