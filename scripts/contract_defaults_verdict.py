"""The verdict of schemathesis run as a third party runs it (scripts/contract_defaults.sh): its NDJSON report in.

    python scripts/contract_defaults_verdict.py REPORT.ndjson

Every failed check of the run is a failure of this verdict, with one documented exception: the service answers two
kinds of schema-valid request with 400 by design, and schemathesis' default ``positive_data_acceptance`` (ST202) does
not expect a 400 (no spec keyword can say otherwise; the project's own run states it in schemathesis.toml):

- ``detectFace`` of an image that cannot be downloaded: 400 ``InvalidURL`` (x-error-catalogue reason
  ``detect_download``); a run's drawn URLs (``https://example.com/portrait.png``, ``oss://`` names of no upload) are
  never downloadable.
- ``cancelTask`` of a task that is not PENDING (a drawn id reads UNKNOWN): 400 ``UnsupportedOperation`` (reason
  ``cancel_not_pending``, a recorded exchange).

Such an ST202 is excused only when it is that operation's catalogue entry, code and message exactly, and the case's
only failed check; everything else (an ST201 "schema-violating request accepted", a schema-valid request refused for
any other reason, a response the spec does not describe, a server error, a run that reached nothing but 401s) fails.
The excused list is ``DOCUMENTED_400`` of scripts/contract_hooks.py, the project's own run's list.
Exit status 0 (nothing unexcused), 1 (findings, each printed with its request), 2 (no report / unreadable).
"""

from __future__ import annotations

import base64
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contract_hooks import DOCUMENTED_400

from dashscope_openapi import error_catalogue, load_spec

EXCUSED_CODE = "ST202"
# A run whose requests were all refused for their credentials tested nothing but the 401.
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class Finding:
    operation: str
    code: str
    title: str
    status: int | None
    body: Any
    request: str
    excused: bool

    def describe(self) -> str:
        status = "no response" if self.status is None else f"HTTP {self.status}"
        head = f"{self.code} {self.title} — {self.operation} ({status})"
        return f"{head}\n    request: {self.request}\n    answer: {self.body!r}"


def _operation_ids() -> dict[str, str]:
    """``"POST /api/v1/tasks/{task_id}/cancel"`` → ``"cancelTask"``, from the spec."""
    found: dict[str, str] = {}
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, Mapping) and "operationId" in operation:
                found[f"{method.upper()} {path}"] = str(operation["operationId"])
    return found


def _decode(content: Any) -> Any:
    if isinstance(content, Mapping) and "$base64" in content:
        raw = base64.b64decode(content["$base64"])
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")
    return content


def _request_line(interaction: Mapping[str, Any]) -> str:
    request = interaction.get("request") or {}
    body = _decode(request.get("body"))
    shown = "" if body is None else f" {json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body}"
    return f"{request.get('method', '?')} {request.get('uri', '?')}{shown}"


def _is_documented_400(operation_id: str | None, status: int | None, body: Any) -> bool:
    expected = DOCUMENTED_400.get(operation_id or "")
    if expected is None or status != 400 or not isinstance(body, Mapping):
        return False
    entry = error_catalogue().find(expected[0], reason=expected[1])
    return entry is not None and (body.get("code"), body.get("message")) == (entry.code, entry.message)


def read_events(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield from json.loads(line).items()


def judge(path: Path) -> tuple[list[Finding], Counter[int], list[str]]:
    """Every failed check of the report, the answers' statuses, and the run's errors."""
    operation_ids = _operation_ids()
    findings: list[Finding] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    for name, payload in read_events(path):
        if name in ("NonFatalError", "FatalError", "Interrupted"):
            errors.append(f"{name}: {payload.get('value') or payload.get('info') or payload.get('label') or payload}")
            continue
        if name != "ScenarioFinished":
            continue
        recorder = payload.get("recorder") or {}
        interactions = recorder.get("interactions") or {}
        for interaction in interactions.values():
            response = interaction.get("response")
            if response:
                statuses[int(response["status_code"])] += 1
        for case_id, checks in (recorder.get("checks") or {}).items():
            failed = [check for check in checks if check.get("status") == "failure"]
            interaction = interactions.get(case_id) or {}
            response = interaction.get("response") or {}
            status = response.get("status_code")
            body = _decode(response.get("content"))
            for check in failed:
                failure = (check.get("failure_info") or {}).get("failure") or {}
                operation = str(failure.get("operation") or recorder.get("label") or "?")
                code = str(failure.get("code") or check.get("name"))
                excused = (
                    len(failed) == 1
                    and code == EXCUSED_CODE
                    and _is_documented_400(operation_ids.get(operation), status, body)
                )
                findings.append(
                    Finding(
                        operation,
                        code,
                        str(failure.get("title", "")),
                        status,
                        body,
                        _request_line(interaction),
                        excused,
                    )
                )
    return findings, statuses, errors


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: contract_defaults_verdict.py REPORT.ndjson (an existing file)", file=sys.stderr)
        return 2
    findings, statuses, errors = judge(Path(argv[0]))
    answered = sum(statuses.values())
    beyond_auth = sum(count for status, count in statuses.items() if status not in AUTH_STATUSES)
    unexcused = [finding for finding in findings if not finding.excused]
    excused = Counter(f"{f.operation} → 400 {f.body.get('code')}" for f in findings if f.excused)
    counts = dict(sorted(statuses.items()))
    print(f"schemathesis defaults run: {answered} answers ({counts}), {len(findings)} failed checks")
    for label, count in sorted(excused.items()):
        print(f"  excused (documented 400 to a schema-valid request, ST202): {label} x{count}")
    for error in errors:
        print(f"  ERROR {error}")
    for finding in unexcused:
        print(f"  FAILURE {finding.describe()}")
    if answered and not beyond_auth:
        print("  FAILURE every answer was 401/403: the run tested nothing (pass an API key the target accepts)")
        return 1
    if not answered:
        print("  FAILURE the run got no answer at all")
        return 1
    if unexcused or errors:
        print(f"{len(unexcused)} unexcused failure(s), {len(errors)} error(s)")
        return 1
    print("0 failures (beyond the documented 400s above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
