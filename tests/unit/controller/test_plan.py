"""The reconcile planner on observations built by hand (what the controller reads from the API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent_operator.controller.history import parse_history
from agent_operator.controller.plan import Observation, plan_reconcile, stalled_plan
from agent_operator.controller.status import internal_error_message

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def agent_body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "agents", "uid": "u-1", "generation": 1},
        "spec": {
            "environment": "development",
            "replicas": 2,
            "container": {
                "image": "registry.example.com/bot@sha256:" + "a" * 64,
                "ports": [{"name": "http", "containerPort": 8080}],
            },
            **spec,
        },
    }


def test_first_deploy_records_its_revision_as_promoted_stable() -> None:
    plan = plan_reconcile(Observation(agent=agent_body(), now=NOW))
    revisions = [o for o in plan.apply if o["kind"] == "ControllerRevision"]
    assert len(revisions) == 1, "one record, created with its outcome"
    assert revisions[0]["revision"] == 1
    # The record round-trips into the history the next reconcile reads.
    history = parse_history([{**revisions[0], "metadata": {**revisions[0]["metadata"]}}])
    (entry,) = history.values()
    assert entry.annotations.outcome == "Promoted"
    assert entry.entry().served_as_stable
    assert entry.spec is not None
    assert entry.spec.replicas == 2


def test_invalid_spec_touches_nothing_and_stalls() -> None:
    body = agent_body(replicas=-1)
    plan = plan_reconcile(Observation(agent=body, now=NOW))
    assert plan.apply == ()
    assert plan.delete == ()
    assert plan.status is not None
    stalled = next(c for c in plan.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert "spec.replicas" in stalled["message"]


def test_missing_secret_holds_the_rollout_and_asks_to_look_again() -> None:
    plan = plan_reconcile(Observation(agent=agent_body(secrets=[{"name": "model-key"}]), now=NOW))
    assert not [o for o in plan.apply if o["kind"] == "Deployment"]
    assert plan.status is not None
    assert plan.status["missingSecrets"] == ["model-key"]
    assert plan.requeue_after is not None


def test_replanning_an_applied_state_writes_nothing() -> None:
    """Feed the first plan's objects and status back as the observation: nothing left to do."""
    first = plan_reconcile(Observation(agent=agent_body(), now=NOW))
    assert first.status is not None
    body = {**agent_body(), "status": first.status}
    live = tuple(o for o in first.apply if o["kind"] != "ControllerRevision")
    history = tuple(o for o in first.apply if o["kind"] == "ControllerRevision")
    second = plan_reconcile(Observation(agent=body, children=live, history=history, now=NOW))
    assert second.apply == ()
    assert second.delete == ()
    assert second.events == ()
    assert second.status is None


def test_a_planner_bug_propagates_instead_of_blaming_the_spec() -> None:
    """A malformed observation is the operator's bug, not a RenderFailed spec: it must reach the
    controller, which logs the traceback and reports InternalError without the exception text."""
    broken_child = {"apiVersion": "apps/v1", "kind": "Deployment"}  # no metadata: cannot happen
    with pytest.raises(KeyError):
        plan_reconcile(Observation(agent=agent_body(), children=(broken_child,), now=NOW))


def test_internal_error_status_names_the_type_never_the_text() -> None:
    secret_text = "sk-live-do-not-leak"
    message = internal_error_message(KeyError(secret_text))
    plan = stalled_plan(Observation(agent=agent_body(), now=NOW), "InternalError", message)
    assert plan.status is not None
    assert secret_text not in str(plan.status)
    assert "KeyError" in str(plan.status)
