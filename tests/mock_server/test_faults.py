"""The faults module is the one home of fault kinds: the control spec's ``FaultRequest.kind`` enum and
``faults.BEHAVIOURS`` must name the same kinds, and each field the spec documents "For `<kind>`" belongs to that
kind's behaviour. A kind declared without a behaviour (stored, counted as fired, doing nothing) fails here."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import pytest

from dashscope_mock.faults import BEHAVIOURS, FaultBehaviour
from dashscope_openapi import load_control_spec


def table_problems(control: Mapping[str, Any], behaviours: Mapping[str, FaultBehaviour]) -> list[str]:
    request = control["components"]["schemas"]["FaultRequest"]["properties"]
    problems = []
    declared = set(request["kind"]["enum"])
    for kind in sorted(declared - behaviours.keys()):
        problems.append(f"kind {kind!r} is in the control spec's FaultRequest.kind but has no behaviour in faults.py")
    for kind in sorted(behaviours.keys() - declared):
        problems.append(f"kind {kind!r} has a behaviour in faults.py but the control spec does not declare it")
    for name, schema in request.items():
        owner = re.match(r"For `([a-z_]+)`", str(schema.get("description", "")))
        if owner and name not in behaviours.get(owner[1], FaultBehaviour((), _never)).fields:
            problems.append(f"FaultRequest.{name} is documented for {owner[1]!r}, which does not use it")
    for kind, behaviour in behaviours.items():
        for name in behaviour.fields:
            if name not in request:
                problems.append(f"kind {kind!r} uses {name!r}, not a FaultRequest field")
    return problems


async def _never(*_: Any) -> bool:
    return False


def test_the_spec_and_the_table_name_the_same_kinds_and_fields() -> None:
    assert table_problems(load_control_spec(), BEHAVIOURS) == []


def test_a_kind_declared_without_a_behaviour_is_named() -> None:
    control = copy.deepcopy(dict(load_control_spec()))
    control["components"]["schemas"]["FaultRequest"]["properties"]["kind"]["enum"].append("reset_mid_body")
    assert table_problems(control, BEHAVIOURS) == [
        "kind 'reset_mid_body' is in the control spec's FaultRequest.kind but has no behaviour in faults.py"
    ]


def test_a_behaviour_the_spec_does_not_declare_is_named() -> None:
    behaviours = {**BEHAVIOURS, "empty_answer": FaultBehaviour((), _never)}
    assert table_problems(load_control_spec(), behaviours) == [
        "kind 'empty_answer' has a behaviour in faults.py but the control spec does not declare it"
    ]


@pytest.mark.parametrize("field", ["status", "code", "retry_after"])
def test_a_field_documented_for_a_kind_that_does_not_use_it_is_named(field: str) -> None:
    behaviours = {**BEHAVIOURS, "error": FaultBehaviour((), BEHAVIOURS["error"].run)}
    problems = table_problems(load_control_spec(), behaviours)
    assert f"FaultRequest.{field} is documented for 'error', which does not use it" in problems
