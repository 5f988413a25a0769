"""Server forms: the apiserver's normalisation is not drift, a real edit still is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from agent_operator.controller.normalise import ServerForms, project, settle, with_server_forms
from agent_operator.controller.plan import Observation, plan_reconcile
from tests.unit.controller.test_plan import NOW, agent_body


@pytest.mark.parametrize(
    ("answer", "sent", "expected"),
    [
        ({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2}, {"a": 1, "b": 2}),  # defaults and extras left out
        ({"a": 1}, {"a": 1, "zero": 0}, {"a": 1}),  # dropped by the server: absent
        ({"cpu": "1"}, {"cpu": "1000m"}, {"cpu": "1"}),  # the server's spelling wins
        ({"l": [{"x": 1, "d": 2}]}, {"l": [{"x": 1}]}, {"l": [{"x": 1}]}),  # lists item by item
        ({"l": [1, 2, 3]}, {"l": [1, 2]}, {"l": [1, 2, 3]}),  # other lengths: the server's list
        ({"a": {"b": 1}}, {"a": "x"}, {"a": {"b": 1}}),
    ],
)
def test_projection(answer: Any, sent: Any, expected: Any) -> None:
    assert project(answer, sent) == expected


# Two omitempty fields of core/v1 (Probe.initialDelaySeconds, PodSpec.hostNetwork); pointer fields
# such as automountServiceAccountToken keep their false.
_OMITEMPTY = frozenset({"initialDelaySeconds", "hostNetwork"})


def _drop_zeros(obj: Any) -> Any:
    """What the apiserver does to omitempty fields: zero values vanish."""
    if isinstance(obj, Mapping):
        return {k: _drop_zeros(v) for k, v in obj.items() if not (k in _OMITEMPTY and v in (0, False))}
    if isinstance(obj, list):
        return [_drop_zeros(v) for v in obj]
    return obj


class DryRuns:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(f"{obj['kind']}/{obj['metadata']['name']}")
        stored: dict[str, Any] = _drop_zeros(obj)
        return {**stored, "metadata": {**stored["metadata"], "resourceVersion": "7"}}


def _settled_state() -> tuple[dict[str, Any], tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    body = agent_body(
        container={
            "image": "registry.example.com/bot@sha256:" + "a" * 64,
            "ports": [{"name": "http", "containerPort": 8080}],
            "probes": {
                "liveness": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 0}
            },
        },
        podTemplate={"hostNetwork": False},
    )
    first = plan_reconcile(Observation(agent=body, now=NOW))
    assert first.status is not None
    live = tuple(_drop_zeros(o) for o in first.apply if o["kind"] != "ControllerRevision")
    history = tuple(o for o in first.apply if o["kind"] == "ControllerRevision")
    return {**body, "status": first.status}, live, history


def test_the_raw_render_sees_normalisation_as_drift() -> None:
    """Why server forms exist: compared with the raw render, the Deployment is rewritten forever."""
    body, live, history = _settled_state()
    plan = plan_reconcile(Observation(agent=body, children=live, history=history, now=NOW))
    assert [o["kind"] for o in plan.apply] == ["Deployment"]


def test_server_forms_settle_it_with_one_dry_run_then_none() -> None:
    body, live, history = _settled_state()
    forms, dry_runs = ServerForms(), DryRuns()
    obs = with_server_forms(Observation(agent=body, children=live, history=history, now=NOW), forms)
    plan = settle(obs, plan_reconcile(obs), forms, dry_runs, plan_reconcile)
    assert plan.apply == ()
    assert plan.events == ()
    assert plan.status is None
    assert len(dry_runs.calls) == 1

    again = with_server_forms(Observation(agent=body, children=live, history=history, now=NOW), forms)
    assert settle(again, plan_reconcile(again), forms, dry_runs, plan_reconcile).apply == ()
    assert len(dry_runs.calls) == 1, "a known server form costs no request"


def test_a_real_edit_is_still_reverted() -> None:
    body, live, history = _settled_state()
    forms, dry_runs = ServerForms(), DryRuns()
    obs = with_server_forms(Observation(agent=body, children=live, history=history, now=NOW), forms)
    settle(obs, plan_reconcile(obs), forms, dry_runs, plan_reconcile)

    edited = [dict(o) for o in live]
    deployment = next(o for o in edited if o["kind"] == "Deployment")
    deployment["spec"] = {**deployment["spec"], "replicas": 9}
    obs = with_server_forms(Observation(agent=body, children=tuple(edited), history=history, now=NOW), forms)
    plan = settle(obs, plan_reconcile(obs), forms, dry_runs, plan_reconcile)
    assert [o["kind"] for o in plan.apply] == ["Deployment"]


def test_forget_drops_a_namespace() -> None:
    forms = ServerForms()
    obj = {"kind": "Service", "metadata": {"name": "s", "namespace": "a", "annotations": {}}}
    forms.learn(
        {**obj, "metadata": {**obj["metadata"], "annotations": {"agentoperator.dev/applied-hash": "h"}}}, obj
    )
    assert forms.known("a") == {
        "h": {"kind": "Service", "metadata": {"name": "s", "namespace": "a", "annotations": {}}}
    }
    assert forms.known("b") == {}, "a reconcile sees its own namespace's forms only"
    forms.forget("a")
    assert forms.known("a") == {}
