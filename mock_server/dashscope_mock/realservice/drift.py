"""``dashscope-mock drift --recordings DIR``: what the recorded service does otherwise than the spec says and than the
mock does, as a report for a person (Markdown) and for CI (JSON), with an exit code by severity threshold.

Findings come from three sources, each naming the recording files and the spec line they concern:

- ``spec``: every recorded exchange, submit, poll body and end checked again with ``conformance`` (the spec as it
  is now, not as it was when recorded). A finding stored in a recording that the check no longer reproduces is kept
  only where the check cannot see what the proxy saw: a poll's headers (not kept), the values of a poll whose body
  was not kept (its shape and status were: an undocumented field or status is always reproduced), anything once a
  task kept its most bodies (``poll_bodies_kept``). Elsewhere the spec has changed since and the finding is stale.
- ``mock``: the requests replayed on an in-process mock (``drift_compare``): warnings where the mock answers
  otherwise. Dedupe rule: a mock finding is dropped when the spec check found anything at the same point of the
  same recording (the submit, the answer, the end; for the status sequence, any ``task_status`` finding), since the
  spec finding already names that difference and its line.
- ``timing`` (info): the time a task spent in each documented status, bracketed by the polls around it (at least
  the span between its first and last sighting, at most the span between the polls just outside them), against the
  model's timing in ``profile``. Within tolerance when some time in the bracket is within 5 s of the profile's, or
  within a factor of 2 of it (0.5x to 2x); the spec line is the model's ``x-models`` entry.

Identical findings of several recordings are one finding listing them. Bounds: at most ``MAX_RECORDINGS``
recordings per report, at most ``drift_compare.MAX_POLLS`` polls replayed per task.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from dashscope_openapi import task_statuses, terminal_statuses

from ..plugins import PROFILES, Profile
from .conformance import SEVERITIES, Finding, request_findings, response_findings, spec_line
from .drift_compare import REPLAY_KEY, compare_with_mock, model_timing, placeholder_body
from .recording import Recording, RecordingError, defaults, load_recordings

__all__ = ["MAX_RECORDINGS", "TOLERANCE_FACTOR", "TOLERANCE_SECONDS", "Report", "build_report", "run"]

MAX_RECORDINGS = int(defaults()["drift_max_recordings"])
TOLERANCE_SECONDS = 5.0
TOLERANCE_FACTOR = 2.0
Threshold = Literal["critical", "warning", "info", "never"]
# Stored findings a task's kept bodies always reproduce: every new shape and every status is kept.
REPRODUCIBLE = frozenset({"field", "task_status"})
# Spec findings that already name a difference the mock comparison would report at the same point.
ANSWER_KINDS = frozenset({"status", "shape", "code", "request", "limit", "required", "type", "task_status"})


@dataclass(frozen=True)
class DriftFinding:
    """One finding, with the recordings (file names) that show it."""

    source: str  # spec, mock, timing
    finding: Finding
    recordings: tuple[str, ...]

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        f = self.finding
        return (SEVERITIES.index(f.severity), f.kind, f.where, f.message, f.spec_line, self.source)

    def as_dict(self) -> dict[str, Any]:
        f = self.finding
        return {
            "severity": f.severity,
            "kind": f.kind,
            "where": f.where,
            "message": f.message,
            "spec_line": f.spec_line,
            "source": self.source,
            "recordings": list(self.recordings),
        }


@dataclass(frozen=True)
class Report:
    findings: tuple[DriftFinding, ...]
    recordings: int
    profile: str
    by_recording: Mapping[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {severity: sum(f.finding.severity == severity for f in self.findings) for severity in SEVERITIES}

    def as_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {**self.counts(), "total": len(self.findings)}
        summary.update(recordings=self.recordings, profile=self.profile)
        return {"summary": summary, "findings": [finding.as_dict() for finding in self.findings]}

    def as_markdown(self) -> str:
        counts = self.counts()
        lines = [
            "# Drift report",
            "",
            f"{self.recordings} recording(s) compared with the spec and with the mock (profile `{self.profile}`): "
            + ", ".join(f"{counts[severity]} {severity}" for severity in SEVERITIES)
            + ".",
        ]
        if not self.findings:
            lines += ["", "No drift: the recorded service answers as the spec says and as the mock does."]
        for severity in SEVERITIES:
            mine = [f for f in self.findings if f.finding.severity == severity]
            if not mine:
                continue
            lines += ["", f"## {severity.capitalize()} ({len(mine)})", ""]
            for item in mine:
                f = item.finding
                names = ", ".join(f"`{name}`" for name in item.recordings)
                lines.append(
                    f"- **{f.kind}** `{f.where}`: {_markdown_text(f.message)} "
                    f"(spec: `{f.spec_line}`; from the {item.source}; recordings: {names})"
                )
        return "\n".join(lines) + "\n"

    def exit_code(self, fail_on: Threshold) -> int:
        """1 when a finding at or above ``fail_on`` exists (``never``: always 0), else 0."""
        if fail_on == "never":
            return 0
        if fail_on not in SEVERITIES:
            raise ValueError(f"fail_on: {fail_on!r} is not one of {', '.join((*SEVERITIES, 'never'))}")
        worst = SEVERITIES.index(fail_on)
        return int(any(SEVERITIES.index(f.finding.severity) <= worst for f in self.findings))


def _markdown_text(text: str) -> str:
    return text.replace("\n", " ")


# ---------------------------------------------------------------------------------------------------- spec findings
class _AllHeaders(dict[str, str]):
    """The headers of a poll, which recordings do not keep: every documented header counts as present (the proxy
    checked them live; its stored findings carry what it found)."""

    def __contains__(self, key: object) -> bool:
        return True


def _model(recording: Recording) -> str | None:
    body = recording.request_body
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _request_headers(recording: Recording) -> dict[str, str]:
    """The recorded request's headers, with the masked key replaced by one of a valid form."""
    headers = dict(recording.data.get("request", {}).get("headers", {}))
    if "authorization" in headers:
        headers["authorization"] = f"Bearer {REPLAY_KEY}"
    return headers


def _answer_findings(operation: str, answer: Mapping[str, Any], model: str | None) -> list[Finding]:
    status = int(answer.get("status", 0))
    headers = {str(k).lower(): str(v) for k, v in answer.get("headers", {}).items()}
    json_answer = "content_type" not in answer
    return response_findings(operation, status, headers, answer.get("body"), json_answer=json_answer, model=model)


def _poll_findings(poll: Mapping[str, Any], model: str | None) -> list[Finding]:
    if "body" in poll:
        body, status = poll["body"], int(poll["status"])
        return response_findings("getTask", status, _AllHeaders(), body, json_answer=True, model=model)
    task_status = poll.get("task_status")
    if isinstance(task_status, str) and task_status not in task_statuses():
        # as conformance names it for a body (only the status of this poll was kept)
        message = f"task status {task_status!r} is not in the spec"
        line = spec_line("/components/schemas/TaskStatus")
        return [Finding("critical", "task_status", message, "getTask output.task_status", line)]
    return []


def spec_points(recording: Recording) -> dict[str, list[Finding]]:
    """The spec's findings of a recording, by point: ``submit``/``answer`` (the request and its answer), ``polls``,
    ``end``."""
    model = _model(recording)
    operation = recording.operation
    response: Mapping[str, Any] = recording.data.get("response", {})
    body = placeholder_body(recording.request_body)
    first = "submit" if recording.kind == "task" else "answer"
    points: dict[str, list[Finding]] = {first: [], "polls": [], "end": []}
    if operation != "postObject":
        points[first] += request_findings(operation, _request_headers(recording), body, int(response.get("status", 0)))
    points[first] += _answer_findings(operation, response, model)
    for poll in recording.polls:
        points["polls"] += _poll_findings(poll, model)
    end = recording.end
    if end is not None:
        points["end"] += _poll_findings(end, model)
    return points


def _stored(recording: Recording, computed: list[Finding]) -> list[Finding]:
    """Stored findings the check could not reproduce from what the recording kept (see the module docstring)."""
    if recording.kind != "task":
        return []
    kept = sum("body" in poll for poll in recording.polls)
    unseen = kept < len(recording.polls)  # some poll's body (of a shape seen before) was not kept
    full = kept >= int(defaults()["poll_bodies_kept"])  # new shapes may have gone unkept too
    seen = {(f.severity, f.kind, f.where, f.message) for f in computed}

    def unseeable(finding: Finding) -> bool:
        if finding.kind == "header" or full:
            return True
        return unseen and finding.kind not in REPRODUCIBLE

    return [f for f in recording.findings() if (f.severity, f.kind, f.where, f.message) not in seen and unseeable(f)]


# ---------------------------------------------------------------------------------------------------- timings
def _allowed(expected: float) -> tuple[float, float]:
    low = min(expected - TOLERANCE_SECONDS, expected / TOLERANCE_FACTOR)
    high = max(expected + TOLERANCE_SECONDS, expected * TOLERANCE_FACTOR)
    return max(low, 0.0), high


def _brackets(recording: Recording) -> dict[str, tuple[float, float]]:
    """Each documented non-terminal status's time, as (least, most) seconds, from the polls around it."""
    timeline: list[tuple[float, str]] = [(0.0, str(_status_of(recording.data.get("response", {}).get("body"))))]
    timeline += [(float(p["offset_seconds"]), str(p.get("task_status", ""))) for p in recording.polls]
    brackets: dict[str, tuple[float, float]] = {}
    index = 0
    while index < len(timeline):
        status = timeline[index][1]
        last = index
        while last + 1 < len(timeline) and timeline[last + 1][1] == status:
            last += 1
        if status in task_statuses() and status not in terminal_statuses() and status not in brackets:
            before = timeline[index - 1][0] if index > 0 else 0.0
            after = timeline[last + 1][0] if last + 1 < len(timeline) else math.inf
            brackets[status] = (timeline[last][0] - timeline[index][0], after - before)
        index = last + 1
    return brackets


def _status_of(body: Any) -> str | None:
    output = body.get("output") if isinstance(body, dict) else None
    status = output.get("task_status") if isinstance(output, dict) else None
    return status if isinstance(status, str) else None


def timing_findings(recording: Recording, profile: Profile) -> list[Finding]:
    model = _model(recording)
    timing = model_timing(model, profile) if recording.kind == "task" and model is not None else None
    if timing is None or int(recording.data.get("response", {}).get("status", 0)) != 200:
        return []
    expected = {"PENDING": timing.pending, **dict(timing.phases)}
    found = []
    for status, (least, most) in _brackets(recording).items():
        if status not in expected:
            continue  # a status the model does not go through: the mock comparison names it
        low, high = _allowed(expected[status])
        if most < low or least > high:
            took = f"{least:g}-{most:g} s" if math.isfinite(most) else f"at least {least:g} s"
            message = (
                f"{model} spent {took} in {status}; the {profile} profile says {expected[status]:g} s "
                f"(tolerance {low:g}-{high:g} s)"
            )
            found.append(Finding("info", "timing", message, f"getTask {status}", spec_line(f"/x-models/{model}")))
    return found


# ---------------------------------------------------------------------------------------------------- the report
def _recording_findings(recording: Recording, profile: Profile) -> list[tuple[str, Finding]]:
    points = spec_points(recording)
    computed = [finding for found in points.values() for finding in found]
    spec = list(dict.fromkeys(computed + _stored(recording, computed)))
    flagged = {point for point, found in points.items() if any(f.kind in ANSWER_KINDS for f in found)}
    status_flagged = any(f.kind == "task_status" for f in spec)
    mock = []
    for item in compare_with_mock(recording, profile):
        point = item.point
        if point in flagged or (point in ("statuses", "end") and status_flagged):
            continue
        mock.append(item.finding)
    return (
        [("spec", f) for f in spec]
        + [("mock", f) for f in dict.fromkeys(mock)]
        + [("timing", f) for f in timing_findings(recording, profile)]
    )


def build_report(recordings: Iterable[Recording], *, profile: str = "realistic") -> Report:
    """The drift report of ``recordings`` (at most ``MAX_RECORDINGS``) against the spec, the mock in ``profile``
    and its timings."""
    if profile not in PROFILES:
        raise ValueError(f"profile: {profile!r} is not one of {', '.join(PROFILES)}")
    chosen: Profile = "fast" if profile == "fast" else "realistic"
    listed = list(recordings)
    if len(listed) > MAX_RECORDINGS:
        raise RecordingError(f"{len(listed)} recordings: a report compares at most {MAX_RECORDINGS}; split them")
    grouped: dict[tuple[str, Finding], list[str]] = {}
    per_recording: dict[str, int] = {}
    for recording in listed:
        found = list(dict.fromkeys(_recording_findings(recording, chosen)))
        per_recording[recording.path.name] = len(found)
        for key in found:
            grouped.setdefault(key, []).append(recording.path.name)
    findings = sorted(
        (DriftFinding(source, finding, tuple(sorted(names))) for (source, finding), names in grouped.items()),
        key=DriftFinding.sort_key,
    )
    return Report(tuple(findings), len(listed), chosen, per_recording)


def run(
    recordings_dir: Path,
    *,
    profile: str = "realistic",
    fail_on: Threshold = "critical",
    markdown_path: Path | None = None,
    json_path: Path | None = None,
    stream: TextIO | None = None,
) -> int:
    """The report of a directory of recordings: Markdown on ``stream`` (or into ``markdown_path``, with a one-line
    summary on ``stream``), JSON into ``json_path``; returns the exit code for ``fail_on``. A directory that cannot
    be read raises ``RecordingError``."""
    out = sys.stdout if stream is None else stream
    report = build_report(load_recordings(recordings_dir), profile=profile)
    markdown = report.as_markdown()
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if markdown_path is not None:
        markdown_path.write_text(markdown, encoding="utf-8")
        counts = report.counts()
        out.write(
            f"drift: {report.recordings} recording(s): "
            + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
            + f"; report in {markdown_path}\n"
        )
    else:
        out.write(markdown)
    return report.exit_code(fail_on)
