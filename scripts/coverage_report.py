"""``make coverage-report``: which parts of the spec's catalogues the test suite names, as docs/COVERAGE.md.

    python scripts/coverage_report.py [--spec FILE] [--tests DIR ...] [--out FILE] [--check]

What counts as reached: a test module (``test_*.py`` under ``tests/`` and ``contract_tests/``) names it in its code:
a string literal holding the code, status or key (``"InvalidFile.FaceNotMach"``, ``"CANCELED"``,
``limits()["task_timeout_hours"]``). The scan reads the source (Python's ``ast``), so it is exact, fast and needs no
test run; its limit is that a test iterating over the whole catalogue (``for entry in error_catalogue()``) reaches
every code without naming one, and does not count: a code needs a test of its own (tests/sdk/test_catalogue_codes.py
holds the ones no other test names). Four tables:

- ``x-error-catalogue`` codes (every entry of a code counted together), with the test modules naming each;
- ``x-limits`` entries (each leaf, e.g. ``models.liveportrait.audio.max_seconds``): a module naming its key and,
  for a nested entry, its parent's key;
- parameters' bounds: each documented ``minimum``/``maximum``/``enum`` of a request's ``input``/``parameters``; the
  bound counts when a module names the parameter and holds a number at or beyond the bound (an enum: names a value);
- task statuses (``TaskStatus``).

``--check`` fails (exit 1) when a catalogue code is named by no test: CI runs it (``make coverage-report``), and the
report lists the codes. The other tables are reported, not enforced. ``--out -`` prints the Markdown.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = (ROOT / "tests", ROOT / "contract_tests")
DEFAULT_OUT = ROOT / "docs" / "COVERAGE.md"


@dataclass
class Module:
    name: str
    strings: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)


def scan(roots: Iterable[Path]) -> list[Module]:
    """Every test module's string and number literals (f-string parts included)."""
    modules: list[Module] = []
    for root in roots:
        for path in sorted(root.rglob("test_*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            module = Module(path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix())
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant):
                    if isinstance(node.value, str):
                        module.strings.add(node.value)
                    elif isinstance(node.value, int | float) and not isinstance(node.value, bool):
                        module.numbers.add(float(node.value))
                elif (
                    isinstance(node, ast.UnaryOp)
                    and isinstance(node.op, ast.USub)
                    and isinstance(node.operand, ast.Constant)
                    and isinstance(node.operand.value, int | float)
                ):
                    module.numbers.add(-float(node.operand.value))
            modules.append(module)
    return modules


def _token(name: str) -> re.Pattern[str]:
    """``name`` as a whole token: ``InvalidFile.FaceNotMatch`` is not reached by ``InvalidFile.FaceNotMatched``."""
    return re.compile(r"(?<![\w.])" + re.escape(name) + r"(?![\w])")


def naming(modules: Iterable[Module], name: str) -> list[str]:
    pattern = _token(name)
    return [module.name for module in modules if any(pattern.search(text) for text in module.strings)]


# ---------------------------------------------------------------------------------------------------------------- rows
def catalogue_rows(spec: Mapping[str, Any], modules: list[Module]) -> list[tuple[str, str, list[str]]]:
    """(code, its stages, modules naming it), in catalogue order."""
    stages: dict[str, list[str]] = defaultdict(list)
    for entry in spec["x-error-catalogue"]["errors"]:
        if entry["stage"] not in stages[entry["code"]]:
            stages[entry["code"]].append(entry["stage"])
    return [(code, ", ".join(found), naming(modules, code)) for code, found in stages.items()]


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path


def limit_rows(spec: Mapping[str, Any], modules: list[Module]) -> list[tuple[str, list[str]]]:
    rows = []
    for path in _leaves(spec["x-limits"]):
        key, parent = path[-1], path[-2] if len(path) > 1 else None
        found = [
            name
            for name in naming(modules, key)
            if parent is None or name in naming([m for m in modules if m.name == name], parent)
        ]
        rows.append((".".join(path), found))
    return rows


def _resolve(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = schemas[str(schema["$ref"]).rsplit("/", 1)[-1]]
    return schema


def bound_rows(spec: Mapping[str, Any], modules: list[Module]) -> list[tuple[str, str, list[str]]]:
    """(``model.object.parameter``, ``minimum 15`` / ``maximum 30`` / ``enum``, modules testing it)."""
    schemas = spec["components"]["schemas"]
    rows: list[tuple[str, str, list[str]]] = []
    for union in ("VideoSynthesisRequest", "FaceDetectRequest"):
        for model, ref in schemas[union]["discriminator"]["mapping"].items():
            request = _resolve({"$ref": ref}, schemas)
            for part in ("input", "parameters"):
                if part not in request.get("properties", {}):
                    continue
                obj = _resolve(request["properties"][part], schemas)
                for name, prop in obj.get("properties", {}).items():
                    prop = _resolve(prop, schemas)
                    named = naming(modules, name)
                    by_name = {m.name: m for m in modules}
                    label = f"{model}.{part}.{name}"
                    if "minimum" in prop:
                        low = float(prop["minimum"])
                        hits = [n for n in named if any(x <= low for x in by_name[n].numbers)]
                        rows.append((label, f"minimum {prop['minimum']}", hits))
                    if "maximum" in prop:
                        high = float(prop["maximum"])
                        hits = [n for n in named if any(x >= high for x in by_name[n].numbers)]
                        rows.append((label, f"maximum {prop['maximum']}", hits))
                    if "enum" in prop:
                        values = [str(v) for v in prop["enum"]]
                        hits = [n for n in named if any(v in by_name[n].strings for v in values)]
                        rows.append((label, "enum " + "/".join(values), hits))
    return rows


def status_rows(spec: Mapping[str, Any], modules: list[Module]) -> list[tuple[str, list[str]]]:
    return [(status, naming(modules, status)) for status in spec["components"]["schemas"]["TaskStatus"]["enum"]]


# -------------------------------------------------------------------------------------------------------------- output
def _tests(found: list[str], most: int = 3) -> str:
    if not found:
        return "**none**"
    shown = ", ".join(f"`{Path(name).name}`" for name in found[:most])
    return shown + (f" (+{len(found) - most})" if len(found) > most else "")


def _summary(label: str, rows: list[Any]) -> tuple[str, int, int]:
    reached = sum(1 for row in rows if row[-1])
    return label, reached, len(rows)


def render(spec: Mapping[str, Any], modules: list[Module]) -> tuple[str, list[str]]:
    """The Markdown report and the catalogue codes no test names."""
    codes, limits_, bounds, statuses = (
        catalogue_rows(spec, modules),
        limit_rows(spec, modules),
        bound_rows(spec, modules),
        status_rows(spec, modules),
    )
    unreached_codes = [code for code, _, found in codes if not found]
    lines = [
        "# Spec coverage of the test suite",
        "",
        "Generated by `make coverage-report` (scripts/coverage_report.py) from openapi/dashscope-video.yaml and",
        "the test modules under tests/ and contract_tests/: an item is reached when a test module names it (a",
        "string literal holding the code, status or key; a parameter's bound also needs a number at or beyond it",
        "in that module). A test iterating over a whole catalogue does not count. CI fails when an",
        "`x-error-catalogue` code is named by no test; the other tables are reported. Do not edit: run",
        "`make coverage-report`.",
        "",
        "| Catalogue | Reached | Total |",
        "| --- | ---: | ---: |",
    ]
    for label, reached, total in (
        _summary("`x-error-catalogue` codes", codes),
        _summary("`x-limits` entries", limits_),
        _summary("parameters' bounds", bounds),
        _summary("task statuses", statuses),
    ):
        lines.append(f"| {label} | {reached} | {total} |")

    def unreached(names: list[str]) -> list[str]:
        return ["", "Unreached: " + (", ".join(f"`{n}`" for n in names) if names else "none."), ""]

    lines += ["", "## `x-error-catalogue` codes", *unreached(unreached_codes)]
    lines += ["| Code | Stage | Tests naming it |", "| --- | --- | --- |"]
    lines += [f"| `{code}` | {stage} | {_tests(found)} |" for code, stage, found in codes]
    lines += ["", "## `x-limits` entries", *unreached([p for p, found in limits_ if not found])]
    lines += ["| Entry | Tests naming it |", "| --- | --- |"]
    lines += [f"| `{path}` | {_tests(found)} |" for path, found in limits_]
    lines += ["", "## Parameters' bounds", *unreached([f"{p} {b}" for p, b, found in bounds if not found])]
    lines += ["| Parameter | Bound | Tests reaching it |", "| --- | --- | --- |"]
    lines += [f"| `{param}` | {bound} | {_tests(found)} |" for param, bound, found in bounds]
    lines += ["", "## Task statuses", *unreached([s for s, found in statuses if not found])]
    lines += ["| Status | Tests naming it |", "| --- | --- |"]
    lines += [f"| `{status}` | {_tests(found)} |" for status, found in statuses]
    return "\n".join(lines) + "\n", unreached_codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "openapi" / "dashscope-video.yaml")
    parser.add_argument("--tests", type=Path, nargs="+", default=list(DEFAULT_TESTS))
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where the Markdown goes (- for stdout)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a catalogue code is named by no test")
    args = parser.parse_args(argv)
    spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    report, unreached_codes = render(spec, scan(args.tests))
    if args.out == "-":
        sys.stdout.write(report)
    else:
        Path(args.out).write_text(report, encoding="utf-8")
        print(f"coverage report: {args.out}")
    if unreached_codes:
        print(
            f"{len(unreached_codes)} x-error-catalogue code(s) named by no test: {', '.join(unreached_codes)}",
            file=sys.stderr,
        )
        return 1 if args.check else 0
    print("every x-error-catalogue code is named by a test")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
