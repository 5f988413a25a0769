"""The watch cache's store: add, update, delete, relist, the index by agent, newer-wins and
tombstones (the rules that keep a read from going back in time)."""

from __future__ import annotations

from typing import Any

import pytest

from agent_operator.kube.kinds import CONFIG_MAP, DEPLOYMENT, POD
from agent_operator.kube.store import ObjectStore

LABEL = "agentoperator.dev/agent"


def obj(
    name: str,
    rv: int | str | None,
    *,
    ns: str = "a",
    agent: str | None = "bot",
    uid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": ns, "name": name, "uid": uid or f"uid-{name}"}
    if rv is not None:
        meta["resourceVersion"] = str(rv)
    if agent:
        meta["labels"] = {LABEL: agent}
    return {"metadata": meta, **extra}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> ObjectStore:
    return ObjectStore(LABEL, clock=clock)


def test_add_update_delete_and_the_changes_they_report(store: ObjectStore) -> None:
    added = store.upsert(DEPLOYMENT, obj("d", 1))
    assert added is not None
    assert added.type == "ADDED"
    assert store.get(DEPLOYMENT, "a", "d") == obj("d", 1)
    modified = store.upsert(DEPLOYMENT, obj("d", 2, spec={"replicas": 3}))
    assert modified is not None
    assert (modified.type, modified.old) == ("MODIFIED", obj("d", 1))
    assert store.upsert(DEPLOYMENT, obj("d", 2, spec={"replicas": 3})) is None  # same version: no change
    deleted = store.remove(DEPLOYMENT, obj("d", 3))
    assert deleted is not None
    assert deleted.type == "DELETED"
    assert store.get(DEPLOYMENT, "a", "d") is None
    assert store.remove(DEPLOYMENT, obj("d", 3)) is None


def test_an_older_copy_never_replaces_a_newer_one(store: ObjectStore) -> None:
    """Our own write (write-through) is newer than the watch event that trails it."""
    store.upsert(DEPLOYMENT, obj("d", 10, spec={"replicas": 2}))
    assert store.upsert(DEPLOYMENT, obj("d", 9, spec={"replicas": 1})) is None
    assert store.get(DEPLOYMENT, "a", "d") == obj("d", 10, spec={"replicas": 2})


@pytest.mark.parametrize(
    ("incoming", "stored", "older"),
    [(1, 2, True), (2, 2, False), (3, 2, False), ("x", 2, False), (1, "x", False), (1, None, False)],
)
def test_versions_compare_as_numbers_and_unknown_ones_count_as_newer(
    store: ObjectStore, incoming: int | str, stored: int | str | None, older: bool
) -> None:
    store.upsert(DEPLOYMENT, obj("d", stored, spec={"copy": "stored"}))
    store.upsert(DEPLOYMENT, obj("d", incoming, spec={"copy": "incoming"}))
    kept = older or incoming == stored  # the same version is the same object: nothing to replace
    current = store.get(DEPLOYMENT, "a", "d")
    assert current is not None
    assert current["spec"]["copy"] == ("stored" if kept else "incoming")


def test_a_late_event_of_a_deleted_object_does_not_bring_it_back(store: ObjectStore, clock: Clock) -> None:
    store.upsert(DEPLOYMENT, obj("d", 5))
    store.remove(DEPLOYMENT, obj("d", 7))
    assert store.upsert(DEPLOYMENT, obj("d", 6)) is None
    assert store.get(DEPLOYMENT, "a", "d") is None
    # A new object of the same name has a new uid: it is not the deleted one.
    assert store.upsert(DEPLOYMENT, obj("d", 8, uid="new")) is not None
    clock.now += 3600  # tombstones expire
    store.remove(DEPLOYMENT, obj("d", 9, uid="new"))
    clock.now += 3600
    assert store.upsert(DEPLOYMENT, obj("d", 8, uid="new")) is not None


def test_our_own_delete_hides_the_object_until_a_newer_version_shows_it_is_still_there(
    store: ObjectStore,
) -> None:
    store.upsert(DEPLOYMENT, obj("d", 5))
    store.remove(DEPLOYMENT, obj("d", 5))  # write-through of a delete: the version we had
    assert store.upsert(DEPLOYMENT, obj("d", 5)) is None
    terminating = obj("d", 6)
    terminating["metadata"]["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    assert store.upsert(DEPLOYMENT, terminating) is not None  # e.g. held by a finalizer


def test_deleting_by_name_spares_a_newer_object_of_the_same_name(store: ObjectStore) -> None:
    store.upsert(DEPLOYMENT, obj("d", 5, uid="new"))
    assert store.remove(DEPLOYMENT, obj("d", 4, uid="old")) is None
    assert store.get(DEPLOYMENT, "a", "d") is not None


def test_the_index_by_agent_follows_label_changes_and_deletes(store: ObjectStore) -> None:
    store.upsert(CONFIG_MAP, obj("c1", 1, agent="bot"))
    store.upsert(CONFIG_MAP, obj("c2", 1, agent="bot"))
    store.upsert(CONFIG_MAP, obj("c3", 1, agent="other"))
    store.upsert(CONFIG_MAP, obj("c4", 1, ns="b", agent="bot"))
    store.upsert(CONFIG_MAP, obj("c5", 1, agent=None))
    assert [o["metadata"]["name"] for o in store.for_agent(CONFIG_MAP, "a", "bot")] == ["c1", "c2"]
    store.upsert(CONFIG_MAP, obj("c2", 2, agent="other"))
    assert [o["metadata"]["name"] for o in store.for_agent(CONFIG_MAP, "a", "bot")] == ["c1"]
    assert [o["metadata"]["name"] for o in store.for_agent(CONFIG_MAP, "a", "other")] == ["c2", "c3"]
    store.remove(CONFIG_MAP, obj("c1", 3))
    assert store.for_agent(CONFIG_MAP, "a", "bot") == []
    assert store.for_agent(DEPLOYMENT, "a", "bot") == []
    assert [o["metadata"]["name"] for o in store.for_agent(CONFIG_MAP, "b", "bot")] == ["c4"]
    assert len(store.all(CONFIG_MAP)) == 4
    assert len(store.all(CONFIG_MAP, "b")) == 1


def test_a_relist_replaces_its_scope_and_reports_what_changed_while_the_watch_was_down(
    store: ObjectStore,
) -> None:
    store.upsert(POD, obj("kept", 1))
    store.upsert(POD, obj("changed", 1))
    store.upsert(POD, obj("gone", 1))
    store.upsert(POD, obj("elsewhere", 1, ns="b"))
    changes = store.replace(POD, [obj("kept", 1), obj("changed", 4), obj("new", 5)], "a")
    assert sorted((c.type, c.obj["metadata"]["name"]) for c in changes) == [
        ("ADDED", "new"),
        ("DELETED", "gone"),
        ("MODIFIED", "changed"),
    ]
    assert store.get(POD, "b", "elsewhere") is not None  # another namespace's source owns it
    assert [o["metadata"]["name"] for o in store.for_agent(POD, "a", "bot")] == ["changed", "kept", "new"]
    # A cluster-wide relist replaces every namespace.
    store.replace(POD, [], None)
    assert store.all(POD) == []


def test_a_relist_is_the_truth_even_against_a_tombstone(store: ObjectStore) -> None:
    store.upsert(POD, obj("p", 5))
    store.remove(POD, obj("p", 5))
    store.replace(POD, [obj("p", 5)], "a")
    assert store.get(POD, "a", "p") is not None


def test_a_kind_is_synced_once_every_source_of_it_has_listed(store: ObjectStore) -> None:
    assert store.synced()
    store.expect(POD)
    store.expect(POD)
    store.expect(DEPLOYMENT)
    assert not store.synced()
    assert store.stale_kinds() == ["Deployment", "Pod"]
    store.mark_synced(POD)
    store.mark_synced(DEPLOYMENT)
    assert store.synced([DEPLOYMENT])
    assert not store.synced()
    store.mark_synced(POD)
    assert store.synced()
    store.mark_stale(DEPLOYMENT)  # a watch went down
    assert not store.synced()
    store.mark_synced(DEPLOYMENT)
    assert store.synced()
