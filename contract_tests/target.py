"""Which operations ``make contract`` may run against a BASE_URL; scripts/contract_cli.sh asks before it starts.

The spec's examples are real, downloadable inputs, so schemathesis' calls of the operations the service bills would
be billed against a real deployment with a real key: ``createVideoSynthesis`` creates tasks (billed per second of
video they generate) and ``detectFace`` runs a face check (billed per image, for emo-detect-v1 even when the check
fails: the spec's detectFace description). The other operations cost nothing: ``getTask``/``listTasks`` read,
``cancelTask`` reaches only tasks a run created (drawn ids name none) and ``getUploadPolicy`` hands out a policy
but uploads nothing.

Loopback targets (127.0.0.0/8, ::1, ``localhost``) are a mock on this machine: every operation runs. Any other
target runs without the billable ones unless the caller opts in (``ALLOW_BILLABLE=1`` or ``--allow-billable``);
either way it is said at start. Only the literal loopback forms count: a name that resolves to 127.0.0.1, or
0.0.0.0, is treated as remote (a false "remote" costs a flag, a false "local" costs money).

    python contract_tests/target.py [--allow-billable] BASE_URL

prints schemathesis' filter arguments on stdout, one per line (none when every operation runs), and the notice on
stderr; exit status 2 for a BASE_URL that is not an http(s) URL or an ALLOW_BILLABLE that is neither yes nor no.
Standard library only: the script runs it by path, without the test packages' imports.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import sys
import urllib.parse
from collections.abc import Mapping, Sequence

__all__ = ["BILLABLE", "Plan", "allow_from_env", "is_loopback_url", "main", "plan"]

# operationId → what the real service bills for it (tests/test_contract_guard.py checks the ids against the spec).
BILLABLE: dict[str, str] = {
    "createVideoSynthesis": "creates a task, billed per second of generated video",
    "detectFace": "checks an image, billed per image",
}
YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"", "0", "false", "no", "off"})


def allow_from_env(value: str | None) -> bool:
    """``ALLOW_BILLABLE``'s value as a yes or no; anything unclear is refused rather than guessed."""
    if value is None or value.strip().lower() in NO:
        return False
    if value.strip().lower() in YES:
        return True
    raise ValueError(f"ALLOW_BILLABLE={value!r}: use 1 to run the billable operations, 0 (or unset) not to")


def is_loopback_url(base_url: str) -> bool:
    """Whether ``base_url`` names this machine's loopback literally: 127.0.0.0/8, ::1 or ``localhost``."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"BASE_URL {base_url!r} is not an http(s) URL with a host")
    host = parts.hostname  # lower-cased, IPv6 brackets removed
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: where it resolves is not this check's to trust
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@dataclasses.dataclass(frozen=True)
class Plan:
    base_url: str
    local: bool
    allow_billable: bool
    excluded: tuple[str, ...]

    def schemathesis_args(self) -> list[str]:
        """schemathesis' own operation filters: the excluded operations are neither generated nor linked to."""
        return [arg for operation in self.excluded for arg in ("--exclude-operation-id", operation)]

    def notice(self) -> list[str]:
        """What to say at start: nothing against a local mock, what is left out (or kept in) otherwise."""
        if self.local:
            return []
        billed = [f"  {operation} ({why})" for operation, why in BILLABLE.items()]
        if self.excluded:
            return [
                f"make contract: {self.base_url} is not a loopback address, so it may be the real service: the "
                "operations it bills are LEFT OUT of this run:",
                *billed,
                "To run them too (billable with a real key): ALLOW_BILLABLE=1 make contract BASE_URL=... "
                "(or scripts/contract_cli.sh --allow-billable BASE_URL).",
            ]
        return [
            f"make contract: {self.base_url} is not a loopback address and the billable operations were allowed "
            "(ALLOW_BILLABLE=1 / --allow-billable): every operation runs, including these, which the real "
            "service bills:",
            *billed,
        ]


def plan(base_url: str, allow_billable: bool) -> Plan:
    local = is_loopback_url(base_url)
    excluded = () if local or allow_billable else tuple(BILLABLE)
    return Plan(base_url=base_url, local=local, allow_billable=allow_billable, excluded=excluded)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="contract_tests/target.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", metavar="BASE_URL")
    parser.add_argument("--allow-billable", action="store_true", help="run the billable operations against any host")
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        chosen = plan(args.base_url, args.allow_billable or allow_from_env(env.get("ALLOW_BILLABLE")))
    except ValueError as error:
        print(f"make contract: {error}", file=sys.stderr)
        return 2
    for line in chosen.notice():
        print(line, file=sys.stderr)
    for arg in chosen.schemathesis_args():
        print(arg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
