"""What an exchange with the service says about the spec: every way an answer (or the request it answered) departs
from ``openapi/dashscope-video.yaml``, as ``Finding``s with a severity and the spec line they concern.

Severities (issue: the real-service loop): ``critical`` when a client written from the spec could break (an
undocumented HTTP status, a body that is not the declared JSON, a missing required field, a wrong type, a task status
or an error code the spec does not know, a request the spec refuses that the service accepted); ``warning`` when
the spec is incomplete or the mock would answer otherwise (an undocumented field, another message text, a header
missing, a request the spec accepts that the service refused); ``info`` for timings.

Requests are checked by the mock's own validators (``validation.operation_validators``: the one request pipeline);
answers by the spec's response schemas, which nothing else in the mock checks at run time.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from connexion.json_schema import resolve_refs

from dashscope_openapi import SPEC_FILE, CatalogueEntry, error_catalogue, load_spec, task_statuses

from ..domain.errors import ApiError
from ..http.validation import SchemaCheck, operation_validators
from .findings import SEVERITIES, Finding

__all__ = ["SEVERITIES", "Finding", "request_findings", "response_findings", "spec_line"]


# ---------------------------------------------------------------------------------------------------- spec lines
@functools.cache
def _node_lines() -> Mapping[str, int]:
    """JSON pointer → 1-based line of every mapping key and list item of the public spec."""
    with SPEC_FILE.open(encoding="utf-8") as handle:
        root = yaml.compose(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, pointer: str) -> None:
        lines[pointer] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{pointer}/{key.value}"
                lines[child] = key.start_mark.line + 1
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{pointer}/{index}")

    if root is not None:
        walk(root, "")
    return lines


def spec_line(pointer: str) -> str:
    """``openapi/dashscope-video.yaml:<line>`` of the deepest existing node on ``pointer`` (``/components/...``)."""
    lines = _node_lines()
    while pointer and pointer not in lines:
        pointer = pointer.rsplit("/", 1)[0]
    return f"openapi/{SPEC_FILE.name}:{lines.get(pointer, 1)}"


def _catalogue_line(entry: CatalogueEntry) -> str:
    return spec_line(f"/x-error-catalogue/errors/{error_catalogue().entries.index(entry)}")


# ---------------------------------------------------------------------------------------------------- operations
@dataclass(frozen=True)
class _Answer:
    """One documented answer of an operation: its schema (refs resolved) and where it is written."""

    schema: Mapping[str, Any] | None
    pointer: str
    headers: tuple[str, ...]
    check: SchemaCheck | None  # the schema compiled once: a quick yes, and every error when there are some


@functools.cache
def _operations() -> Mapping[str, tuple[str, Mapping[str, _Answer]]]:
    """operationId → (its pointer, status → documented answer)."""
    spec = load_spec()
    resolved = resolve_refs(copy.deepcopy(dict(spec)))
    found: dict[str, tuple[str, Mapping[str, _Answer]]] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            pointer = f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
            answers: dict[str, _Answer] = {}
            for status, raw in operation.get("responses", {}).items():
                at = f"{pointer}/responses/{status}"
                if "$ref" in raw:
                    at = raw["$ref"].removeprefix("#")
                full = resolved["paths"][path][method]["responses"][status]
                schema = full.get("content", {}).get("application/json", {}).get("schema")
                names = tuple(name.lower() for name in full.get("headers", {}))
                answers[str(status)] = _Answer(schema, at, names, SchemaCheck(schema) if schema is not None else None)
            found[operation["operationId"]] = (pointer, answers)
    return found


def _schema_pointer(answer: _Answer) -> str:
    """Where the answer's schema is written (its ``$ref`` target when it has one)."""
    spec = load_spec()
    node: Any = spec
    for part in answer.pointer.strip("/").split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    ref = node.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.removeprefix("#") if ref else answer.pointer


# ---------------------------------------------------------------------------------------------------- requests
def request_findings(operation: str, headers: Mapping[str, str], body: Any, answered: int) -> list[Finding]:
    """What the spec says of the request, against what the service did with it (``answered``: its HTTP status).

    A request the spec refuses and the service accepted means the spec (and the mock) is too strict: critical, since
    the mock must accept everything the service accepts. One the spec accepts and the service refused: a warning (a
    limit the spec does not state)."""
    validator = operation_validators().get(operation)
    ops = _operations()
    if validator is None or operation not in ops:
        return []
    where = ops[operation][0]
    refused: ApiError | None = None
    try:
        validator.check_headers({name.lower(): value for name, value in headers.items()})
        if validator.has_json_body:
            validator.check_body(body, strict=False)
    except ApiError as error:
        refused = error
    if refused is not None and answered < 400:
        return [
            Finding(
                "critical",
                "request",
                f"the service accepted ({answered}) a request the spec refuses: {refused.code} {refused.message}",
                operation,
                spec_line(where),
            )
        ]
    if refused is None and answered in (400, 403) and validator.has_json_body:
        return [
            Finding(
                "warning",
                "limit",
                f"the service refused ({answered}) a request the spec accepts: a limit the spec does not state",
                operation,
                spec_line(where),
            )
        ]
    return []


# ---------------------------------------------------------------------------------------------------- answers
def response_findings(
    operation: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    json_answer: bool = True,
    model: str | None = None,
) -> list[Finding]:
    """What the answer breaks of the spec. ``body`` is the parsed JSON (``json_answer`` False: it was not JSON);
    ``headers`` with lower-case names; ``model`` the request's, for the catalogue's per-model messages."""
    ops = _operations()
    if operation not in ops:
        return []
    pointer, answers = ops[operation]
    answer = answers.get(str(status)) or answers.get("default")
    if answer is None:
        return [
            Finding(
                "critical",
                "status",
                f"HTTP {status} is not documented for {operation}",
                operation,
                spec_line(f"{pointer}/responses"),
            )
        ]
    findings: list[Finding] = []
    for name in answer.headers if json_answer else ():  # a non-JSON answer is not the service's at all: see below
        if name not in headers:
            findings.append(
                Finding("warning", "header", f"header {name} is missing", operation, spec_line(answer.pointer))
            )
    if answer.schema is None:
        return findings
    schema_at = _schema_pointer(answer)
    if not json_answer:
        findings.append(
            Finding("critical", "shape", f"HTTP {status}: the answer is not JSON", operation, spec_line(schema_at))
        )
        return findings
    assert answer.check is not None
    for error in answer.check.errors(body):
        if error.validator == "additionalProperties":
            continue  # an undocumented field: a warning below, not a broken shape
        path = ".".join(str(part) for part in error.absolute_path)
        kind = "required" if error.validator == "required" else "type"
        findings.append(
            Finding(
                "critical",
                kind,
                f"{path or 'body'}: {error.message}",
                f"{operation} {path}".strip(),
                spec_line(schema_at),
            )
        )
    findings.extend(
        Finding("warning", "field", f"undocumented field {path}", f"{operation} {path}", spec_line(schema_at))
        for path in _undocumented(answer.schema, body)
    )
    findings.extend(_status_findings(operation, body))
    findings.extend(_result_findings(operation, body, model))
    findings.extend(_code_findings(operation, status, body, model))
    return findings


def _undocumented(schema: Mapping[str, Any], value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of object keys no schema branch declares (where the schema lists properties)."""
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                yield from _undocumented(items, item, f"{path}[{index}]")
        return
    if not isinstance(value, dict):
        return
    declared, nested = _declared(schema)
    if not declared:
        return
    for key, inner in value.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in declared:
            yield here
        else:
            for sub in nested.get(key, ()):
                yield from _undocumented(sub, inner, here)


def _declared(schema: Mapping[str, Any]) -> tuple[set[str], dict[str, list[Mapping[str, Any]]]]:
    """The property names a schema (with its allOf/oneOf/anyOf branches) declares, and each one's schemas."""
    names: set[str] = set()
    nested: dict[str, list[Mapping[str, Any]]] = {}
    if schema.get("additionalProperties") not in (None, False):
        return set(), {}  # a map: any key is documented
    for name, sub in schema.get("properties", {}).items():
        names.add(name)
        nested.setdefault(name, []).append(sub)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(combinator, ()):
            more, more_nested = _declared(branch)
            names |= more
            for name, subs in more_nested.items():
                nested.setdefault(name, []).extend(subs)
    return names, nested


def _task_status_of(body: Any) -> str | None:
    output = body.get("output") if isinstance(body, dict) else None
    status = output.get("task_status") if isinstance(output, dict) else None
    return status if isinstance(status, str) else None


def _status_findings(operation: str, body: Any) -> list[Finding]:
    status = _task_status_of(body)
    if status is None or status in task_statuses():
        return []
    return [
        Finding(
            "critical",
            "task_status",
            f"task status {status!r} is not in the spec",
            f"{operation} output.task_status",
            spec_line("/components/schemas/TaskStatus"),
        )
    ]


def _result_findings(operation: str, body: Any, model: str | None) -> list[Finding]:
    """A SUCCEEDED answer without a result field the model's page documents (``x-models.<model>.result``)."""
    models: Mapping[str, Any] = load_spec()["x-models"]
    if model is None or model not in models or _task_status_of(body) != "SUCCEEDED":
        return []
    missing = []
    for dotted in models[model].get("result", {}).values():
        node: Any = body
        for part in str(dotted).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            missing.append(str(dotted))
    if not missing:
        return []
    return [
        Finding(
            "critical",
            "required",
            f"a SUCCEEDED {model} answer without {', '.join(missing)}",
            f"{operation} {missing[0]}",
            spec_line(f"/x-models/{model}/result"),
        )
    ]


_PLACEHOLDER = re.compile(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}")


def _message_matches(entry: CatalogueEntry, message: str) -> bool:
    if entry.template is None:
        return message == entry.message
    pattern = _PLACEHOLDER.sub(".*", re.escape(entry.template))
    return re.fullmatch(pattern, message, flags=re.DOTALL) is not None


def _code_findings(operation: str, status: int, body: Any, model: str | None) -> list[Finding]:
    """The error code (of an error answer, or of a FAILED task) against ``x-error-catalogue``."""
    if not isinstance(body, dict):
        return []
    holder = body
    task_failed = _task_status_of(body) == "FAILED"
    if task_failed:
        holder = body.get("output", {})
    code, message = holder.get("code"), holder.get("message")
    if not isinstance(code, str) or not code or (status < 400 and not task_failed):
        return []
    entries = error_catalogue().entries_for(code)
    where = f"{operation} {'output.code' if task_failed else 'code'}"
    if not entries:
        return [
            Finding(
                "critical", "code", f"code {code!r} is not in x-error-catalogue", where, spec_line("/x-error-catalogue")
            )
        ]
    fitting = [entry for entry in entries if entry.applies_to(model)] or list(entries)
    if not task_failed and all(entry.status != status for entry in fitting):
        statuses = sorted({entry.status for entry in fitting})
        return [
            Finding(
                "critical",
                "status",
                f"code {code!r} came with HTTP {status}; the spec says {statuses}",
                where,
                _catalogue_line(fitting[0]),
            )
        ]
    if isinstance(message, str) and not any(_message_matches(entry, message) for entry in fitting):
        return [
            Finding(
                "warning",
                "message",
                f"code {code!r}: message {message!r} differs from the catalogue's",
                where,
                _catalogue_line(fitting[0]),
            )
        ]
    return []
