"""Which children need a write: the rule behind zero writes on resync and drift repair."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agent_operator.controller.diff import (
    APPLIED_HASH,
    content_hash,
    is_subset,
    needs_apply,
    with_applied_hash,
)


def _service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bot", "namespace": "agents", "labels": {"a": "b"}},
        "spec": {"selector": {"app": "bot"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


def _live(desired: dict[str, Any]) -> dict[str, Any]:
    """What the apiserver hands back: our fields plus defaults and server-set metadata."""
    live = copy.deepcopy(desired)
    live["metadata"].update(
        {"uid": "u1", "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z"}
    )
    live["spec"]["clusterIP"] = "10.0.0.7"
    live["spec"]["ports"][0]["protocol"] = "TCP"
    live["spec"]["sessionAffinity"] = "None"
    return live


def test_unchanged_object_needs_no_write() -> None:
    desired = with_applied_hash(_service())
    assert not needs_apply(desired, _live(desired))


def test_missing_object_is_created() -> None:
    assert needs_apply(with_applied_hash(_service()), None)


def test_hand_edit_to_an_owned_field_is_reverted() -> None:
    desired = with_applied_hash(_service())
    live = _live(desired)
    live["spec"]["selector"] = {"app": "hijacked"}
    assert needs_apply(desired, live)


def test_removed_field_is_noticed_through_the_hash() -> None:
    old = with_applied_hash(_service())
    new_plain = _service()
    del new_plain["metadata"]["labels"]["a"]
    new = with_applied_hash(new_plain)
    # The live object still carries the old label, so it is a superset of the new desired state:
    # only the hash tells that a field must be released.
    assert is_subset({k: v for k, v in new.items() if k != "metadata"}, _live(old))
    assert needs_apply(new, _live(old))


def test_hash_ignores_nothing_but_itself() -> None:
    a = _service()
    b = _service()
    b["spec"]["ports"][0]["port"] = 81
    assert content_hash(a) != content_hash(b)
    assert with_applied_hash(a)["metadata"]["annotations"][APPLIED_HASH] == content_hash(a)


@pytest.mark.parametrize(
    ("desired", "observed", "expected"),
    [
        ({"cpu": "1000m"}, {"cpu": "1"}, True),
        ({"memory": "1Gi"}, {"memory": "1073741824"}, True),
        ({"cpu": 2}, {"cpu": "2"}, True),
        ({"cpu": "500m"}, {"cpu": "1"}, False),
        ({"name": "a"}, {"name": "b"}, False),
        ([1, 2], [1, 2, 3], False),
        ([{"a": 1}], [{"a": 1, "b": 2}], True),
        ({"a": None}, {}, True),
        ({"a": {}}, {"a": {"x": 1}}, True),
        ({"flag": True}, {"flag": "True"}, False),
    ],
)
def test_subset_rules(desired: Any, observed: Any, expected: bool) -> None:
    assert is_subset(desired, observed) is expected
