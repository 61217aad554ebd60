"""A finding: one way an exchange (or a recording) departs from the spec, with its severity and the spec line it
concerns. ``conformance`` finds them in exchanges, ``drift`` in recordings; recordings keep them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["SEVERITIES", "Finding", "Severity"]

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")  # most severe first


@dataclass(frozen=True)
class Finding:
    severity: Severity
    kind: str  # status, shape, required, type, task_status, code, message, field, header, request, limit, timing
    message: str
    where: str = ""  # the operation (and the field's dotted path)
    spec_line: str = ""  # "openapi/dashscope-video.yaml:123"

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value != ""}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**dict(data))
