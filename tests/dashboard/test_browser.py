"""The dashboard (``/_mock/dashboard``) in a real headless Chromium: tasks appear and progress as the page moves the
mock's clock, a result video loads, a scenario added from the page fails the next task, the journal filters, the clock
and the reset work, and a control token is asked for. Each test saves a screenshot to ``out/screenshots/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from dashscope_video import Client

from ..media import factory
from .page import Dashboard, Served

IMAGE_URL = "https://example.com/face.png"  # media checks off: lifecycle only, any URL
AUDIO_URL = "https://example.com/voice.mp3"
NO_FACE = "InvalidImage.NoHumanFace"  # x-error-catalogue: liveportrait, stage task
MEDIA_WAIT = 90.0  # real media work (decode, faces, the H.264 render) runs beside the frozen clock


@pytest.mark.dashboard_mock(media_checks=True)
def test_a_task_submitted_through_the_sdk_succeeds_as_the_page_advances_the_clock_and_its_video_loads(
    dashboard: Dashboard, sdk: Client, served: Served, tmp_path: Path
) -> None:
    # Media checks on, with real inputs uploaded by the SDK: the result is a real H.264 MP4 the browser can play
    # (with media checks off the mock's result is a placeholder of the documented shape, not a decodable video).
    face, voice = tmp_path / "face.jpg", tmp_path / "voice.wav"
    face.write_bytes(factory.FACE_JPG.read_bytes())
    voice.write_bytes(factory.wav_bytes(2.0))
    dashboard.open()
    task_id = sdk.video_synthesis.liveportrait(face, voice).task_id

    dashboard.wait_row(task_id)
    assert dashboard.cell(task_id, "model") == "liveportrait"
    assert dashboard.cell(task_id, "status") in {"PENDING", "RUNNING"}
    assert dashboard.cell(task_id, "key") == served.get("/_mock/tasks")["data"][0]["key"]  # masked, never the key

    dashboard.click("#advance-60")
    dashboard.wait_cell(task_id, "status", ["SUCCEEDED"], MEDIA_WAIT)  # the clock moved; the media work is real
    assert dashboard.cell(task_id, "end")

    detail = served.get(f"/_mock/tasks/{task_id}")
    dashboard.open_task(task_id)
    dashboard.wait(lambda d: dashboard.timeline()[-1:] == ["SUCCEEDED"], "a timeline ending in SUCCEEDED")
    timeline = dashboard.timeline()
    assert timeline[0] == "PENDING" and timeline == [step["status"] for step in detail["timeline"]]
    assert dashboard.json_of("#task-request")["input"]["image_url"].startswith("oss://")  # uploaded by the SDK

    video = dashboard.visible("#task-video")
    assert video.get_attribute("src") == detail["result_url"]
    dashboard.wait(
        lambda d: d.execute_script("return document.querySelector('#task-video').readyState") >= 1,
        "#task-video to load its metadata (readyState >= 1)",
    )
    width = dashboard.driver.execute_script("return document.querySelector('#task-video').videoWidth")
    error = dashboard.driver.execute_script("const e = document.querySelector('#task-video').error; return e && e.code")
    assert width > 0 and error is None, (width, error)
    dashboard.screenshot()


def test_a_scenario_added_on_the_page_fails_the_next_task_with_its_code(
    dashboard: Dashboard, sdk: Client, served: Served
) -> None:
    dashboard.open()
    dashboard.tab("scripting")
    dashboard.select("#scenario-model", "liveportrait")
    dashboard.select("#scenario-code", NO_FACE)
    dashboard.fill("#scenario-times", "1")
    dashboard.click("#scenario-add")

    [scenario] = dashboard.wait(lambda d: served.get("/_mock/scenarios")["data"], "a scenario in GET /_mock/scenarios")
    assert (scenario["model"], scenario["code"], scenario["remaining"]) == ("liveportrait", NO_FACE, 1)
    item_css = f"#scenarios-list li[data-id='{scenario['id']}']"
    dashboard.visible(item_css, "the scenario in #scenarios-list")
    shown = dashboard.text(item_css)
    assert "liveportrait" in shown and NO_FACE in shown
    assert remaining_shown(shown) == 1, shown

    task_id = sdk.video_synthesis.liveportrait(IMAGE_URL, AUDIO_URL).task_id
    dashboard.tab("tasks")
    dashboard.wait_row(task_id)
    dashboard.click("#advance-60")
    dashboard.wait_cell(task_id, "status", ["FAILED"])
    assert dashboard.cell(task_id, "code") == NO_FACE

    dashboard.tab("scripting")
    left = [s for s in served.get("/_mock/scenarios")["data"] if s["id"] == scenario["id"]]
    if left:  # the API keeps a used-up scenario with remaining 0: the page shows 0
        assert left[0]["remaining"] == 0
        dashboard.wait(lambda d: remaining_shown(dashboard.text(item_css)) == 0, "remaining 0 in the list")
    else:  # the API drops it: so does the page
        dashboard.wait(ec.invisibility_of_element_located((By.CSS_SELECTOR, item_css)), "the scenario gone")
    dashboard.screenshot("-scripting")

    dashboard.tab("tasks")
    dashboard.open_task(task_id)
    dashboard.visible("#task-failure")
    failure = dashboard.text("#task-failure")
    assert failure.startswith(f"{NO_FACE}:") and "No human face detected." in failure, failure
    assert dashboard.timeline()[-1] == "FAILED"
    dashboard.screenshot()


REMAINING = (r"(\d+)\s+of\s+\d+\s+(?:left|remaining)", r"remaining\W{0,3}(\d+)", r"(\d+)\s*(?:remaining|left)")


def remaining_shown(text: str) -> int | None:
    """The remaining count a scenario's list item shows ("1 of 1 left", "remaining: 1", "1 remaining", ...)."""
    for pattern in REMAINING:
        if match := re.search(pattern, text, re.IGNORECASE):
            return int(match.group(1))
    return None


def test_the_journal_lists_sdk_calls_and_filters_them_by_text_and_operation(
    dashboard: Dashboard, sdk: Client, served: Served
) -> None:
    handle = sdk.video_synthesis.liveportrait(IMAGE_URL, AUDIO_URL)
    assert sdk.tasks.get(handle).status == "PENDING"
    assert sdk.tasks.get("0f0e0d0c-0000-4000-8000-000000000000").status == "UNKNOWN"
    entries: list[dict[str, Any]] = served.get("/_mock/requests")["data"]
    by_operation = {entry["operation"]: entry for entry in entries}
    assert [entry["operation"] for entry in entries].count("getTask") == 2, entries
    submit_operation = next(op for op in by_operation if op != "getTask")

    dashboard.open()
    dashboard.tab("journal")
    every = sorted(entry["seq"] for entry in entries)
    dashboard.wait(lambda d: sorted(dashboard.journal_rows()) == every, f"journal rows {every}")
    seq = entries[0]["seq"]
    row = f"#journal-table tr[data-seq='{seq}']"
    assert dashboard.text(f"{row} td.method") == entries[0]["method"]
    assert dashboard.text(f"{row} td.status") == str(entries[0]["status"])
    assert dashboard.text(f"{row} td.request-id") == entries[0]["request_id"]

    # the text filter: getTask is the operation of two entries and appears in no other field of the third
    gets = sorted(e["seq"] for e in entries if e["operation"] == "getTask")
    assert all("gettask" not in str(e).lower() for e in entries if e["operation"] != "getTask")
    dashboard.fill("#journal-filter", "getTask")
    dashboard.wait(lambda d: sorted(dashboard.journal_rows()) == gets, f"only getTask rows {gets} shown")
    unknown = next(e for e in entries if "0f0e0d0c" in e["path"])
    dashboard.fill("#journal-filter", "0f0e0d0c")  # part of a path
    dashboard.wait(lambda d: dashboard.journal_rows() == [unknown["seq"]], "only the unknown task's query shown")

    dashboard.fill("#journal-filter", "")
    dashboard.wait(lambda d: sorted(dashboard.journal_rows()) == every, "every row again")
    dashboard.select("#journal-operation", submit_operation)
    submits = [e["seq"] for e in entries if e["operation"] == submit_operation]
    dashboard.wait(lambda d: dashboard.journal_rows() == submits, f"only {submit_operation} rows shown")

    dashboard.find(f"#journal-table tr[data-seq='{submits[0]}']").click()
    detail = dashboard.wait(
        lambda d: (
            isinstance(shown := dashboard.json_of("#request-detail"), dict) and shown.get("seq") == submits[0] and shown
        ),
        "#request-detail with the submit's JSON",
    )
    assert detail == by_operation[submit_operation]  # the entry's JSON, as GET /_mock/requests has it
    dashboard.screenshot()


def test_the_clock_advances_by_a_typed_value_and_reset_after_confirming_empties_the_tasks(
    dashboard: Dashboard, sdk: Client, served: Served
) -> None:
    task_ids = [sdk.video_synthesis.liveportrait(IMAGE_URL, AUDIO_URL).task_id for _ in range(2)]
    dashboard.open()
    dashboard.wait_connected()
    before = served.get("/_mock/clock")
    assert before["frozen"] is True and dashboard.text("#clock-frozen") == "frozen"
    zone = f"(UTC{before['utc_offset']})"  # every time column says the service's zone
    dashboard.wait(lambda d: dashboard.text("#journal-table th .tz") == zone, f"the journal's time column in {zone}")
    for task_id in task_ids:
        dashboard.wait_row(task_id)

    dashboard.fill("#advance-seconds", "90")
    dashboard.click("#advance-go")
    after = dashboard.wait(
        lambda d: (clock := served.get("/_mock/clock"))["now"] != before["now"] and clock, "the clock to move"
    )
    assert after["now"] - before["now"] == pytest.approx(90, abs=1e-6)
    dashboard.wait(lambda d: dashboard.text("#clock-time") == after["time"], f"#clock-time {after['time']!r}")

    dashboard.click("#reset")
    alert = dashboard.wait(ec.alert_is_present(), "the reset's confirmation")
    alert.accept()
    dashboard.wait(lambda d: not dashboard.task_rows(), "an empty tasks table")
    assert served.get("/_mock/tasks")["data"] == []
    dashboard.wait_connected()  # the header follows the reset clock too
    dashboard.screenshot()


@pytest.mark.dashboard_mock(control_token="dashboard-secret-token")
def test_with_a_control_token_the_page_asks_for_it_and_then_shows_the_tasks(
    dashboard: Dashboard, sdk: Client, served: Served
) -> None:
    assert httpx.get(f"{served.base_url}/_mock/tasks").status_code == 401  # the control plane wants the token
    task_id = sdk.video_synthesis.liveportrait(IMAGE_URL, AUDIO_URL).task_id  # the service's API needs no token
    dashboard.open()
    dashboard.visible("#token-form", "#token-form after a 401")
    assert not dashboard.task_rows()
    # nothing read yet: the page must not claim there are no tasks (there is one)
    assert not dashboard.find("#tasks-empty").is_displayed()
    dashboard.screenshot("-token")

    dashboard.fill("#token", "dashboard-secret-token")
    dashboard.click("#token-save")
    dashboard.wait_row(task_id)
    assert dashboard.cell(task_id, "status") in {"PENDING", "RUNNING"}
    dashboard.wait(ec.invisibility_of_element_located((By.CSS_SELECTOR, "#token-form")), "#token-form hidden")
    dashboard.wait_connected()
    dashboard.screenshot()
