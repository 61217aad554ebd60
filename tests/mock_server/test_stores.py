"""Every store keeps the same state the same way (memory, SQLite, Redis), and two handles on one SQLite file or one
Redis database see one state: what several workers and replicas rely on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import redis

from dashscope_mock.domain.records import TaskRecord, UploadRecord
from dashscope_mock.domain.scripting import Scenario
from dashscope_mock.store import STORES, SqliteStore, Store, WorkItem, open_store, update_task
from dashscope_openapi import error_catalogue

Opener = Callable[[], Store]


# How this test reaches a state of each store of ``STORES`` (the registry ``open_store`` reads): a store added there
# without a way here fails ``test_every_registered_store_is_held_to_the_contract``, naming it.
STATE_URLS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "memory": lambda request, tmp_path: "memory",
    "sqlite": lambda request, tmp_path: f"sqlite:///{tmp_path / 'state.db'}",
    "redis": lambda request, tmp_path: request.getfixturevalue("redis_url"),
}


def unopenable(stores: Iterable[str]) -> list[str]:
    return [
        f"store {name!r} of dashscope_mock.store.STORES has no STATE_URLS entry here"
        for name in sorted(set(stores) - set(STATE_URLS))
    ]


def test_every_registered_store_is_held_to_the_contract() -> None:
    assert unopenable(STORES) == []


def test_a_store_registered_without_a_way_to_test_it_is_named() -> None:
    assert unopenable([*STORES, "postgres"]) == [
        "store 'postgres' of dashscope_mock.store.STORES has no STATE_URLS entry here"
    ]


@pytest.fixture(params=sorted(STATE_URLS))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens handles on one state (for memory: the same object, as memory is not shared)."""
    opened: list[Store] = []
    url = STATE_URLS[request.param](request, tmp_path)
    if url == "memory":
        single = open_store(url)
        yield lambda: single
        return
    if url.startswith("redis://"):
        redis.Redis.from_url(url).flushdb()

    def open_one() -> Store:
        store = open_store(url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def record(seq: int, key: str = "sk-a", model: str = "liveportrait") -> TaskRecord:
    return TaskRecord(
        task_id=f"task-{seq}",
        key=key,
        model=model,
        seq=seq,
        submit_at=1000.0 + seq,
        start_at=1001.0 + seq,
        durations=(1.0, 2.0),
        inputs_json='{"input":{"image_url":"https://e.com/a.png"},"parameters":{}}',
        request_id=f"req-{seq}",
    )


def test_tasks_are_stored_listed_and_deleted(store: Store) -> None:
    seqs = [store.next_seq() for _ in range(3)]
    assert seqs == [1, 2, 3]
    for seq in seqs:
        store.add_task(record(seq, key="sk-a" if seq < 3 else "sk-b"))
    assert store.get_task("task-1") == record(1)
    assert [r.task_id for r in store.tasks_of("sk-a")] == ["task-1", "task-2"]
    assert sorted(r.task_id for r in store.all_tasks()) == ["task-1", "task-2", "task-3"]
    assert [r.task_id for r in store.queue("sk-a", "liveportrait")] == ["task-1", "task-2"]
    store.close_in_queue(record(1))
    assert [r.task_id for r in store.queue("sk-a", "liveportrait")] == ["task-2"]
    store.delete_tasks(["task-1", "task-3"])
    assert store.get_task("task-1") is None and store.tasks_of("sk-b") == []


def test_replace_is_a_compare_and_set(store: Store) -> None:
    store.add_task(record(1))
    first = dataclasses.replace(store.get_task("task-1"))  # type: ignore[type-var]
    second = dataclasses.replace(first)
    first.known_at = 5.0
    assert store.replace_task(first) and first.version == 1
    second.canceled_at = 4.0
    assert not store.replace_task(second), "a writer that read version 0 must not overwrite version 1"
    stored = store.get_task("task-1")
    assert stored is not None and stored.known_at == 5.0 and stored.canceled_at is None and stored.version == 1


def test_update_task_retries_on_a_conflict_and_can_decline(store: Store) -> None:
    store.add_task(record(1))
    calls = 0

    def change(draft: TaskRecord) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:  # another writer gets in between this read and this write
            other = dataclasses.replace(store.get_task("task-1"))  # type: ignore[type-var]
            other.claimed_at = 1.0
            assert store.replace_task(other)
        draft.known_at = 9.0
        return True

    written = update_task(store, "task-1", change)
    assert calls == 2 and written is not None and written.claimed_at == 1.0 and written.known_at == 9.0
    assert update_task(store, "task-1", lambda draft: False) is None
    assert update_task(store, "missing", lambda draft: True) is None


def test_uploads_and_the_clock(store: Store) -> None:
    upload = UploadRecord(url="oss://d/a.png", model="liveportrait", owner="1", created_at=1.0, path="/x", size=3)
    store.add_upload(upload)
    assert store.get_upload("oss://d/a.png") == upload and store.all_uploads() == [upload]
    assert store.clock_offset() == 0.0
    assert store.advance_clock(2.5) == 2.5 and store.advance_clock(1.5) == 4.0 and store.clock_offset() == 4.0
    store.clear()
    assert store.clock_offset() == 0.0 and store.get_upload("oss://d/a.png") is None


def test_work_is_claimed_in_submit_order_and_leases_expire(store: Store) -> None:
    for seq in (1, 2, 3):
        store.add_task(record(seq), WorkItem())
    assert len(store.work) == 3
    assert store.work.claim("w1", now=100.0, lease_seconds=10) == "task-1"
    assert store.work.claim("w1", now=100.0, lease_seconds=10) == "task-2"
    store.work.renew("w1", ["task-2"], now=105.0, lease_seconds=10)
    # w1 dies: its lease on task-1 runs out at 110, task-2's (renewed) at 115
    assert store.work.claim("w2", now=111.0, lease_seconds=10) == "task-1"
    assert store.work.claim("w2", now=111.0, lease_seconds=10) == "task-3"
    assert store.work.claim("w2", now=111.0, lease_seconds=10) is None
    for task_id in ("task-1", "task-2", "task-3"):
        store.work.finish(task_id)
    store.work.finish("task-3")  # twice: harmless
    assert len(store.work) == 0 and store.work.claim("w2", now=200.0, lease_seconds=10) is None


def test_a_lane_runs_at_most_its_limit(store: Store) -> None:
    lane = WorkItem(lane="sk-a/videoretalk", limit=1)
    store.add_task(record(1, model="videoretalk"), lane)
    store.add_task(record(2, model="videoretalk"), lane)
    store.add_task(record(3, model="videoretalk"), lane)
    store.add_task(record(4, key="sk-b", model="videoretalk"), WorkItem(lane="sk-b/videoretalk", limit=1))
    assert store.work.claim("w", now=0.0, lease_seconds=60) == "task-1"
    assert store.work.claim("w", now=0.0, lease_seconds=60) == "task-4"
    assert store.work.claim("w", now=0.0, lease_seconds=60) is None, "task-2 waits for task-1's slot"
    store.work.finish("task-2")  # canceled while waiting: task-3 is next
    store.work.finish("task-1")
    assert store.work.claim("w", now=0.0, lease_seconds=60) == "task-3"
    assert store.work.claim("w", now=0.0, lease_seconds=60) is None
    assert len(store.work) == 2


def test_deleting_a_task_forgets_its_work(store: Store) -> None:
    store.add_task(record(1), WorkItem())
    store.delete_tasks(["task-1"])
    assert len(store.work) == 0 and store.work.claim("w", now=0.0, lease_seconds=1) is None


def _entry(code: str) -> object:
    found = error_catalogue().find(code, model="liveportrait")
    assert found is not None
    return found


def test_scenarios_are_taken_once_per_use(store: Store) -> None:
    entry = _entry("InvalidImage.NoHumanFace")
    added = store.scenarios.add(
        model="liveportrait", times=2, operation="submit", entry=entry, url_contains="bad", values={"limit": "4"}
    )
    assert isinstance(added, Scenario) and added.id == 1
    assert store.scenarios.take("liveportrait", "submit", ["https://e.com/good.png"]) is None
    taken = store.scenarios.take("liveportrait", "submit", ["https://e.com/bad.png"])
    assert taken is not None and taken.entry == entry and taken.values == {"limit": "4"}
    assert store.scenarios.take("emo-v1", "submit", ["bad"]) is None
    assert store.scenarios.take("liveportrait", "submit", ["bad"]) is not None
    assert store.scenarios.take("liveportrait", "submit", ["bad"]) is None
    assert [s.remaining for s in store.scenarios.list()] == [0]
    store.scenarios.clear()
    assert store.scenarios.list() == []
    assert store.scenarios.add(model="emo-v1", times=1, operation="submit", extra_seconds={"RUNNING": 3}).id == 1


def test_faults_fire_times_and_draw_by_seed(store: Store) -> None:
    once = store.faults.add(kind="error", operation="getTask", times=1, status=503)
    assert [f.id for f in store.faults.pick("GET", "/api/v1/tasks/x", "getTask")] == [once.id]
    assert store.faults.pick("GET", "/api/v1/tasks/x", "getTask") == []
    store.faults.clear()
    store.faults.add(kind="latency", times=None, probability=0.5, seed=7, latency_seconds=0.0)
    fired = [bool(store.faults.pick("GET", "/p", None)) for _ in range(40)]
    assert 5 < sum(fired) < 35
    listed = store.faults.list()
    assert listed[0].fired == sum(fired)
    store.faults.clear()
    store.faults.add(kind="latency", times=None, probability=0.5, seed=7, latency_seconds=0.0)
    assert [bool(store.faults.pick("GET", "/p", None)) for _ in range(40)] == fired, "the same seed, the same draws"


def test_journal_records_filters_and_clears(store: Store) -> None:
    common = {"query": "", "time": 1.0, "time_text": "t", "request_id": "r", "duration_ms": 1.0, "status": 200}
    store.journal.record(method="GET", path="/api/v1/tasks/a", operation="getTask", key="sk-a", **common)
    store.journal.record(method="POST", path="/api/v1/x", operation="createVideoSynthesis", key="sk-b", **common)
    store.journal.record(
        method="-", path="/api/v1/tasks/a", operation=None, key=None, note="late_result_dropped", task_id="a", **common
    )
    entries = store.journal.entries()
    assert [e.seq for e in entries] == [1, 2, 3] and len(store.journal) == 3
    assert entries[2].note == "late_result_dropped" and entries[2].task_id == "a"
    assert [e.seq for e in store.journal.entries(operation="getTask")] == [1]
    assert [e.seq for e in store.journal.entries(key="sk-b")] == [2]
    assert [e.seq for e in store.journal.entries(path_contains="tasks/a")] == [1, 3]
    store.journal.clear()
    assert len(store.journal) == 0 and store.journal.entries() == []


def test_rate_windows_slide(store: Store) -> None:
    assert [store.rates.hit("sk-a", now=10.0 + i * 0.1, limit=3, window=1.0) for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert store.rates.hit("sk-b", now=10.3, limit=3, window=1.0)
    assert store.rates.hit("sk-a", now=11.05, limit=3, window=1.0), "the event at 10.0 left the window"
    store.rates.clear()
    assert all(store.rates.hit("sk-a", now=11.1, limit=3, window=1.0) for _ in range(3))


def test_two_handles_share_one_state(opener: Opener) -> None:
    one, two = opener(), opener()
    one.add_task(record(one.next_seq()), WorkItem())
    assert two.next_seq() == 2 and two.get_task("task-1") == record(1)
    assert two.work.claim("w2", now=0.0, lease_seconds=30) == "task-1"
    assert one.work.claim("w1", now=1.0, lease_seconds=30) is None
    one.advance_clock(60)
    assert two.clock_offset() == 60
    one.scenarios.add(model="liveportrait", times=1, operation="submit", extra_seconds={"RUNNING": 1.0})
    assert two.scenarios.take("liveportrait", "submit") is not None
    assert one.scenarios.take("liveportrait", "submit") is None
    one.faults.add(kind="drop", times=1)
    assert len(two.faults.pick("GET", "/p", None)) == 1 and one.faults.pick("GET", "/p", None) == []
    common = {"query": "", "time": 1.0, "time_text": "t", "request_id": "r", "duration_ms": 1.0, "status": 200}
    one.journal.record(method="GET", path="/a", operation=None, key=None, **common)
    two.journal.record(method="GET", path="/b", operation=None, key=None, **common)
    assert [e.path for e in one.journal.entries()] == ["/a", "/b"]
    assert one.rates.hit("sk-a", now=5.0, limit=1, window=1.0)
    assert not two.rates.hit("sk-a", now=5.5, limit=1, window=1.0)
    two.clear()
    assert one.get_task("task-1") is None and one.clock_offset() == 0 and len(one.journal) == 0


def test_sqlite_keeps_state_across_handles_opened_later(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    first = SqliteStore(path)
    first.add_task(record(first.next_seq()), WorkItem(lane="sk-a/videoretalk", limit=1))
    first.close()
    second = SqliteStore(path)
    assert second.work.claim("w", now=0.0, lease_seconds=1) == "task-1"
    second.close()


def test_the_secret_is_random_shared_and_renewed_by_clear(opener: Opener) -> None:
    one, two = opener(), opener()
    first = one.secret()
    assert len(first) == 64 and two.secret() == first == one.secret()
    two.clear()
    assert one.secret() != first and one.secret() == two.secret()


# --- what the dashboard's control routes and change feed need (issue 12) -----------------------------------------


def test_one_scenario_is_removed_and_its_id_not_handed_out_again(opener: Opener) -> None:
    store, other = opener(), opener()  # another handle: another worker removes it
    entry = _entry("InvalidImage.NoHumanFace")
    first = store.scenarios.add(model="liveportrait", times=1, operation="submit", entry=entry)
    second = store.scenarios.add(model="liveportrait", times=2, operation="submit", entry=entry)
    assert other.scenarios.remove(second.id) is True
    assert other.scenarios.remove(second.id) is False, "already gone"
    assert other.scenarios.remove(99) is False
    assert [s.id for s in store.scenarios.list()] == [first.id]
    assert store.scenarios.add(model="emo-v1", times=1, operation="submit", extra_seconds={"RUNNING": 1}).id == 3
    assert store.scenarios.remove(first.id) is True
    taken = store.scenarios.take("liveportrait", "submit", ["x"])
    assert taken is None, "a removed scenario is never used again"
    store.scenarios.clear()
    assert store.scenarios.add(model="emo-v1", times=1, operation="submit", extra_seconds={"RUNNING": 1}).id == 1


def test_one_fault_is_removed_and_fires_no_more(opener: Opener) -> None:
    store, other = opener(), opener()
    kept = store.faults.add(kind="error", operation="getTask", times=None, status=503)
    gone = store.faults.add(kind="latency", operation="getTask", times=None, latency_seconds=0.0)
    assert [f.kind for f in store.faults.pick("GET", "/api/v1/tasks/x", "getTask")] == ["error", "latency"]
    assert other.faults.remove(gone.id) is True
    assert other.faults.remove(gone.id) is False
    assert [f.id for f in store.faults.list()] == [kept.id]
    assert [f.id for f in store.faults.pick("GET", "/api/v1/tasks/x", "getTask")] == [kept.id]
    assert store.faults.add(kind="drop", times=1).id == 3, "a removed fault's id is not handed out again"
    store.faults.clear()
    assert store.faults.add(kind="drop", times=1).id == 1


def _journal(store: Store, count: int) -> None:
    common = {"query": "", "time": 1.0, "time_text": "t", "request_id": "r", "duration_ms": 1.0, "status": 200}
    for _ in range(count):
        store.journal.record(method="GET", path="/api/v1/tasks/a", operation="getTask", key="sk-a", **common)


def test_journal_entries_after_a_seq_and_the_last_seq(store: Store) -> None:
    assert store.journal.last_seq() == 0 and store.journal.entries(after_seq=3) == []
    _journal(store, 5)
    assert store.journal.last_seq() == 5
    assert [e.seq for e in store.journal.entries(after_seq=3)] == [4, 5]
    assert [e.seq for e in store.journal.entries(after_seq=0)] == [1, 2, 3, 4, 5]
    assert store.journal.entries(after_seq=5) == [] and store.journal.entries(after_seq=9) == []
    filtered = store.journal.entries(after_seq=1, operation="getTask", path_contains="tasks")
    assert [e.seq for e in filtered] == [2, 3, 4, 5]
    assert store.journal.entries(after_seq=1, operation="createVideoSynthesis") == []
    store.journal.clear()
    assert store.journal.last_seq() == 0 and store.journal.entries(after_seq=2) == []
    _journal(store, 1)
    assert store.journal.last_seq() == 1, "numbered from 1 again, as the entries"


def test_recent_tasks_are_the_newest_first(store: Store) -> None:
    for seq in range(1, 6):
        store.add_task(record(store.next_seq(), key="sk-a" if seq % 2 else "sk-b"))
    assert [r.task_id for r in store.recent_tasks(3)] == ["task-5", "task-4", "task-3"]
    assert [r.task_id for r in store.recent_tasks(10)] == [f"task-{i}" for i in range(5, 0, -1)]
    assert store.recent_tasks(0) == []

    def known(draft: TaskRecord) -> bool:
        draft.known_at = 5.0
        return True

    assert update_task(store, "task-2", known) is not None
    assert [r.task_id for r in store.recent_tasks(5)][3] == "task-2", "a change keeps its place"
    store.delete_tasks(["task-5"])
    assert [r.task_id for r in store.recent_tasks(2)] == ["task-4", "task-3"]


def test_the_generation_is_shared_and_renewed_by_clear(opener: Opener) -> None:
    one, two = opener(), opener()
    first = one.generation()
    assert first and one.generation() == first
    if one is not two:
        assert two.generation() == first
    one.journal.clear()  # emptying a part is no new generation
    assert two.generation() == first
    two.clear()
    assert one.generation() not in ("", first)
    assert one.generation() == two.generation()
