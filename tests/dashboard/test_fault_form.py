"""The scripting tab's fault form adds every kind with its own fields (POST /_mock/faults), and only those."""

from __future__ import annotations

from typing import Any

import pytest

from .page import Dashboard, Served

# kind -> (the form's inputs: css -> value, what GET /_mock/faults must show)
FORMS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "latency": (
        {"#fault-latency-distribution": "uniform", "#fault-latency-min": "0.5", "#fault-latency-max": "2"},
        {"latency_distribution": "uniform", "latency_min_seconds": 0.5, "latency_max_seconds": 2},
    ),
    "chunked_dribble": (
        {"#fault-dribble-bytes": "8", "#fault-dribble-interval": "50"},
        {"dribble_bytes": 8, "dribble_interval_ms": 50},
    ),
    "wrong_type": (
        {"#fault-operation": "getTask", "#fault-field": "output.task_status"},
        {"field": "output.task_status"},
    ),
    "unknown_status": ({"#fault-task-status": "QUEUED"}, {"operation": "getTask", "task_status": "QUEUED"}),
    "result_link_error": ({"#fault-result-status": "404"}, {"operation": "getResult", "result_status": 404}),
    "connection_reset": ({"#fault-model": "emo-v1"}, {"model": "emo-v1"}),
}


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_the_fault_form_adds_each_kind_with_its_fields(dashboard: Dashboard, served: Served, kind: str) -> None:
    inputs, shown = FORMS[kind]
    dashboard.open()
    dashboard.tab("scripting")
    dashboard.select("#fault-kind", kind)
    if "#fault-model" in inputs:
        dashboard.click(".fault-selection summary")
    for css, value in inputs.items():
        if css.endswith("distribution") or css.endswith("result-status"):
            dashboard.select(css, value)
        else:
            dashboard.fill(css, value)
    dashboard.click("#fault-add")
    [fault] = dashboard.wait(lambda d: served.get("/_mock/faults")["data"], "a fault in GET /_mock/faults")
    assert fault["kind"] == kind
    assert {name: fault.get(name) for name in shown} == shown
    dashboard.visible(f"#faults-list li[data-id='{fault['id']}']", "the fault in #faults-list")
