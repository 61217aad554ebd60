"""Placeholder outcomes (media checks off) shared by model modules."""

from __future__ import annotations

from dashscope_openapi import model_limits

from ..seam import MediaJob, MediaOutcome

PLACEHOLDER_DURATION = 5.0


def documented_ratio(job: MediaJob) -> MediaOutcome:
    """A deterministic 5 s result of the ratio the model documents (``x-limits.models.<model>.output``)."""
    ratio = str(model_limits(job.model).get("output", {}).get("video_ratio", "standard"))
    return MediaOutcome.succeeded(video_duration=PLACEHOLDER_DURATION, video_ratio=ratio)
