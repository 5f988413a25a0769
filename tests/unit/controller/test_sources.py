"""Which reconciles a cache change calls for, and how objects are trimmed before they are stored."""

from __future__ import annotations

from typing import Any

import pytest

from agent_operator.controller.sources import (
    CHILD_EVENT_DELAY_SECONDS,
    OPTIONAL_CRDS,
    Wake,
    cluster_sources,
    namespace_sources,
    wakes,
)
from agent_operator.kube.kinds import (
    AGENT_DEPLOYMENT,
    CONTROLLER_REVISION,
    CUSTOM_RESOURCE_DEFINITION,
    DEPLOYMENT,
    JOB,
    NAMESPACE,
    POD,
    READINESS_POLICY,
    REPLICA_SET,
    SECRET,
    SERVICE_MONITOR,
    Kind,
)
from agent_operator.kube.store import Change
from agent_operator.render import AGENT_LABEL, EVALUATION_ROLE, ROLE_LABEL


def meta(name: str = "x", ns: str = "a", **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, **extra}}


def agent(**extra: Any) -> dict[str, Any]:
    body = meta("bot", **{"uid": "u", "generation": 1, **extra})
    body["status"] = {"phase": "Available"}
    return body


def owned(name: str = "c", **extra: Any) -> dict[str, Any]:
    return meta(name, labels={AGENT_LABEL: "bot", **extra.pop("labels", {})}, **extra)


def pod(restarts: int = 0, **labels: str) -> dict[str, Any]:
    body = owned("p", labels=labels)
    body["status"] = {"containerStatuses": [{"restartCount": restarts}]}
    return body


def change(type_: str, kind: Kind, obj: dict[str, Any], old: dict[str, Any] | None = None) -> Change:
    return Change(type_, kind, obj, old)


CASES: list[tuple[str, Change, Wake | None]] = [
    (
        "a new agent takes the first-run lane",
        change("ADDED", AGENT_DEPLOYMENT, agent()),
        Wake("a", "bot", new=True),
    ),
    ("a spec change", change("MODIFIED", AGENT_DEPLOYMENT, agent(generation=2), agent()), Wake("a", "bot")),
    (
        "a command annotation",
        change("MODIFIED", AGENT_DEPLOYMENT, agent(annotations={"k": "v"}), agent()),
        Wake("a", "bot"),
    ),
    (
        "our own status write wakes nobody",
        change("MODIFIED", AGENT_DEPLOYMENT, {**agent(), "status": {"phase": "Progressing"}}, agent()),
        None,
    ),
    (
        "a deleted agent is forgotten",
        change("DELETED", AGENT_DEPLOYMENT, agent()),
        Wake("a", "bot", gone=True),
    ),
    ("a policy wakes every agent", change("MODIFIED", READINESS_POLICY, meta("p", "")), Wake(None, None)),
    (
        "namespace labels wake its agents",
        change("MODIFIED", NAMESPACE, meta("a", "", labels={"t": "1"}), meta("a", "")),
        Wake("a", None),
    ),
    ("a namespace's status does not", change("MODIFIED", NAMESPACE, meta("a", ""), meta("a", "")), None),
    ("a Secret appearing wakes its namespace", change("ADDED", SECRET, meta("key")), Wake("a", None)),
    ("a Secret's new data does not (values are not read)", change("MODIFIED", SECRET, meta("key")), None),
    (
        "a child's status",
        change("MODIFIED", DEPLOYMENT, owned(), owned()),
        Wake("a", "bot", CHILD_EVENT_DELAY_SECONDS),
    ),
    ("a child of nobody", change("MODIFIED", DEPLOYMENT, meta()), None),
    (
        "a revision record deleted by a human",
        change("DELETED", CONTROLLER_REVISION, owned()),
        Wake("a", "bot", CHILD_EVENT_DELAY_SECONDS),
    ),
    ("a revision record written by us", change("MODIFIED", CONTROLLER_REVISION, owned(), owned()), None),
    ("a pod starting", change("ADDED", POD, pod()), None),
    (
        "a pod restarting",
        change("MODIFIED", POD, pod(1), pod(0)),
        Wake("a", "bot", CHILD_EVENT_DELAY_SECONDS),
    ),
    (
        "an evaluation pod reporting its score",
        change("MODIFIED", POD, pod(**{ROLE_LABEL: EVALUATION_ROLE}), pod(**{ROLE_LABEL: EVALUATION_ROLE})),
        Wake("a", "bot", CHILD_EVENT_DELAY_SECONDS),
    ),
    ("a pod gone", change("DELETED", POD, pod()), Wake("a", "bot", CHILD_EVENT_DELAY_SECONDS)),
    (
        "an add-on CRD installed",
        change("ADDED", CUSTOM_RESOURCE_DEFINITION, meta(next(iter(OPTIONAL_CRDS)), "")),
        Wake(None, None),
    ),
    ("some other CRD", change("ADDED", CUSTOM_RESOURCE_DEFINITION, meta("widgets.example.com", "")), None),
]


@pytest.mark.parametrize(("case", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_change_wakes_exactly_the_agents_it_concerns(
    case: str, event: Change, expected: Wake | None
) -> None:
    assert wakes(event) == expected


def test_sources_filter_on_the_server_and_never_fetch_secret_values() -> None:
    sources = {s.kind: s for s in namespace_sources("a")}
    assert sources[SECRET].metadata_only
    assert sources[SECRET].label_selector is None  # Secrets are referenced by name, not label
    assert sources[AGENT_DEPLOYMENT].label_selector is None
    assert all(s.label_selector for k, s in sources.items() if k not in (AGENT_DEPLOYMENT, SECRET))
    assert all(s.namespace == "a" for s in sources.values())
    assert SERVICE_MONITOR not in sources
    assert SERVICE_MONITOR in {s.kind for s in namespace_sources("a", frozenset({SERVICE_MONITOR}))}
    assert {s.kind for s in cluster_sources()} == {READINESS_POLICY, CUSTOM_RESOURCE_DEFINITION, NAMESPACE}


def test_pods_are_trimmed_to_what_the_planner_reads() -> None:
    (source,) = [s for s in namespace_sources(None) if s.kind == POD]
    assert source.transform is not None
    full = {
        "metadata": {
            "name": "p",
            "namespace": "a",
            "labels": {AGENT_LABEL: "bot"},
            "annotations": {"big": "x" * 999},
        },
        "spec": {"containers": [{"name": "agent", "env": [{"name": "A", "value": "1"}]}]},
        "status": {
            "phase": "Succeeded",
            "conditions": [{"type": "Ready"}],
            "containerStatuses": [
                {
                    "restartCount": 2,
                    "image": "i",
                    "state": {"terminated": {"message": '{"score": 0.5}', "exitCode": 0}},
                }
            ],
        },
    }
    trimmed = source.transform(full)
    assert "spec" not in trimmed
    assert "annotations" not in trimmed["metadata"]
    assert trimmed["metadata"]["labels"] == {AGENT_LABEL: "bot"}
    assert trimmed["status"]["containerStatuses"] == [
        {"restartCount": 2, "state": {"terminated": {"message": '{"score": 0.5}', "exitCode": 0}}}
    ]


def test_secrets_keep_their_names_only() -> None:
    (source,) = [s for s in namespace_sources("a") if s.kind == SECRET]
    assert source.transform is not None
    stored = source.transform(
        {"metadata": {"name": "k", "namespace": "a", "annotations": {"x": "y"}}, "data": {"v": "c2VjcmV0"}}
    )
    assert "data" not in stored
    assert stored["metadata"] == {"name": "k", "namespace": "a"}


def test_replica_sets_are_kept_as_owners_only() -> None:
    (source,) = [s for s in namespace_sources("a") if s.kind == REPLICA_SET]
    assert source.transform is not None
    stored = source.transform(
        {
            "metadata": {"name": "r", "namespace": "a", "labels": {AGENT_LABEL: "bot"}},
            "spec": {"template": {}},
        }
    )
    assert stored == {
        "apiVersion": None,
        "kind": None,
        "metadata": {"name": "r", "namespace": "a", "labels": {AGENT_LABEL: "bot"}},
    }
    assert all(s.transform is None for s in namespace_sources("a") if s.kind in (DEPLOYMENT, JOB))
