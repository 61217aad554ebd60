"""``make api-check``: griffe's breaking-change check of the public Python API against a baseline.

    python scripts/api_check.py [--against REF] [--old DIR] [--new DIR] [--changelog FILE] [--fetch]

Checked packages: ``dashscope_video`` (the SDK) and ``dashscope_video_client`` (the generated client: the SDK
re-exports its parameter classes, and users may import it). griffe loads each package statically from ``sdk/`` and
``generated/`` of the two trees and ``griffe.find_breaking_changes`` compares them; each breakage is printed with
griffe's own explanation.

The baseline (``--against``, ``make api-check API_BASE=...``) is, by default, the newest release tag ``v*`` reachable
from HEAD; without one (no release yet), ``HEAD~1``, the state before the last commit (CI on main: the last commit's
changes, plus any uncommitted ones locally). A branch compares against its fork point: ``API_BASE=origin/main``. The
baseline's files are read with ``git archive`` into a temporary folder: nothing in the repository changes (griffe's
own ``--against`` would add a worktree and a branch). In a shallow clone that lacks the baseline, ``--fetch``
(``API_FETCH=1``, what .ci/run sets) deepens the clone first (``git fetch --unshallow --tags``); without it the check
stops and says so. A repository with a single commit and no tag has no baseline: the check says so and passes.

A deliberate break is listed in CHANGELOG.md, section ``[Unreleased]``, in an item marked ``**Breaking**`` with the
object's path in backticks, as this check prints it or a tail of it (``TaskPlans.download``): it is then reported as
acknowledged and does not fail the check. docs/SPEC.md states the promise and the version bump rule.
Exit status: 0 (no unacknowledged breakage), 1 (breakages), 2 (no baseline to read, bad arguments).
``--old DIR`` / ``--new DIR``: trees (with ``sdk/`` and ``generated/``) to compare instead of git (the tests' planted
breaks).
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dashscope_video", "dashscope_video_client")
SOURCE_DIRS = {"dashscope_video": "sdk", "dashscope_video_client": "generated"}


@dataclass(frozen=True)
class Finding:
    package: str
    path: str
    explanation: str
    acknowledged: bool


def _git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _has_commit(ref: str) -> bool:
    return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def default_baseline() -> str | None:
    """The newest release tag ``v*`` reachable from HEAD, else ``HEAD~1``; ``None`` when neither exists."""
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD")
    if tag.returncode == 0 and tag.stdout.strip():
        return tag.stdout.strip()
    return "HEAD~1"


def _is_shallow() -> bool:
    return _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def extract(ref: str, into: Path) -> None:
    """The baseline's ``sdk/`` and ``generated/`` packages, by ``git archive`` (read-only)."""
    paths = [f"{SOURCE_DIRS[name]}/{name}" for name in PACKAGES]
    archive = into / "baseline.tar"
    with archive.open("wb") as handle:
        done = subprocess.run(
            ["git", "archive", "--format=tar", ref, "--", *paths], cwd=ROOT, stdout=handle, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"api-check: git archive {ref} failed")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()


def load(tree: Path) -> dict[str, griffe.Object | griffe.Alias]:
    """Each checked package of ``tree``, loaded statically by griffe with its aliases resolved (the SDK's re-exports
    of the generated classes included)."""
    loader = griffe.GriffeLoader(
        search_paths=[tree / SOURCE_DIRS[name] for name in PACKAGES],
        allow_inspection=False,
    )
    packages = {name: loader.load(name) for name in PACKAGES}
    loader.resolve_aliases(implicit=False, external=None)
    return packages


def acknowledged_paths(changelog: Path) -> set[str]:
    """Backticked names on the lines marked **Breaking** of the ``[Unreleased]`` section of the changelog (a list
    item and its continuation lines)."""
    if not changelog.is_file():
        return set()
    text = changelog.read_text(encoding="utf-8")
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if not match:
        return set()
    items = re.split(r"\n(?=\s*[-*] )", match.group(1))
    marked = [item for item in items if re.search(r"\*\*Breaking\*\*|BREAKING", item)]
    return {name for item in marked for name in re.findall(r"`([A-Za-z_][\w.]*)`", item)}


def _acknowledged(path: str, known: set[str]) -> bool:
    """Whether the changelog names ``path``: in full (``dashscope_video.lib.waiting.default_wait_timeout``) or by a
    tail of it (``waiting.default_wait_timeout``, ``TaskPlans.download``, ``default_wait_timeout``)."""
    return any(path == name or path.endswith(f".{name}") for name in known)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def compare(
    old: Mapping[str, griffe.Object | griffe.Alias],
    new: Mapping[str, griffe.Object | griffe.Alias],
    acknowledged: Iterable[str] = (),
) -> list[Finding]:
    known = set(acknowledged)
    findings: list[Finding] = []
    for name in PACKAGES:
        for breakage in griffe.find_breaking_changes(old[name], new[name]):
            findings.append(
                Finding(
                    package=name,
                    path=breakage.obj.path,
                    explanation=_ANSI.sub("", breakage.explain(style=griffe.ExplanationStyle.ONE_LINE)),
                    acknowledged=_acknowledged(breakage.obj.path, known),
                )
            )
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="git reference of the baseline (default: newest v* tag, else HEAD~1)")
    parser.add_argument("--old", type=Path, help="a baseline tree instead of a git reference")
    parser.add_argument("--new", type=Path, default=ROOT, help="the tree to check (default: this checkout)")
    parser.add_argument("--changelog", type=Path, help="where deliberate breaks are listed (default: NEW/CHANGELOG.md)")
    parser.add_argument("--fetch", action="store_true", help="deepen a shallow clone that lacks the baseline")
    args = parser.parse_args(argv)
    logging.getLogger("griffe").setLevel(logging.ERROR)  # griffe's loading chatter; breakages are printed below
    changelog = args.changelog or args.new / "CHANGELOG.md"

    with tempfile.TemporaryDirectory(prefix="api-check-") as tmp:
        if args.old is not None:
            old_tree, label = args.old, str(args.old)
        else:
            ref = args.against or default_baseline()
            assert ref is not None
            if not _has_commit(ref) and args.fetch and _is_shallow():
                print(f"api-check: {ref} is not in this shallow clone; fetching the history", file=sys.stderr)
                _git("fetch", "--quiet", "--unshallow", "--tags")
            if not _has_commit(ref):
                if args.against is None and not _is_shallow() and not _has_commit("HEAD~1"):
                    print("api-check: no release tag and a single commit: nothing to compare against (passed)")
                    return 0
                hint = " (a shallow clone: make api-check API_FETCH=1)" if _is_shallow() else ""
                print(f"api-check: the baseline {ref} is not a commit here{hint}", file=sys.stderr)
                return 2
            old_tree, label = Path(tmp), ref
            extract(ref, old_tree)
        findings = compare(load(old_tree), load(args.new), acknowledged_paths(changelog))

    broken = [finding for finding in findings if not finding.acknowledged]
    print(f"api-check: {', '.join(PACKAGES)} against {label}: {len(findings)} breaking change(s)")
    for finding in findings:
        mark = "acknowledged in CHANGELOG.md [Unreleased]" if finding.acknowledged else "BREAKING"
        print(f"  {mark}: {finding.path}\n      {finding.explanation}")
    if broken:
        print(
            f"{len(broken)} breaking change(s) of the public API. If deliberate: list each in CHANGELOG.md under "
            "[Unreleased], marked **Breaking** (its path in backticks), and bump the version as docs/SPEC.md says; "
            "otherwise restore it."
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
