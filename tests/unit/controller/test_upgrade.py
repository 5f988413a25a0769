"""State written by the released operator is read by this one without a single write.

tests/data/upgrade/ holds an agent's status, its children and its ControllerRevisions exactly as
the operator at main 6790331 stored them: ``live-*.json`` read back from a real control plane (KWOK)
that operator ran on, server-set fields and all; the others from its planner run against an
in-memory API server that keeps what it is sent. An unchanged agent must cost zero writes after the
upgrade: no renamed Deployment, no rewritten history record, no status churn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_operator.controller.history import history_entries, parse_history
from agent_operator.controller.plan import Observation, plan_reconcile
from agent_operator.controller.status_codec import read_status, write_status
from agent_operator.controller.timefmt import parse_time

UPGRADE = Path(__file__).resolve().parents[2] / "data" / "upgrade"
CAPTURES = sorted(UPGRADE.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_there_are_captures() -> None:
    assert {p.stem for p in CAPTURES} >= {
        "three-revisions-settled",
        "rolled-back",
        "canary-awaiting-approval",
    }


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_an_unchanged_agent_costs_zero_writes_after_the_upgrade(path: Path) -> None:
    capture = _load(path)
    now = parse_time(capture["now"])
    assert now is not None
    plan = plan_reconcile(
        Observation(
            agent=capture["agent"],
            children=tuple(capture["children"]),
            history=tuple(capture["history"]),
            pods=tuple(capture.get("pods", ())),
            now=now,
        )
    )
    assert plan.writes == 0, (plan.apply, plan.delete, plan.status)
    assert plan.events == ()


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_stored_status_reads_and_writes_back_unchanged(path: Path) -> None:
    status = _load(path)["agent"]["status"]
    assert write_status(read_status(status), status) == status


@pytest.mark.parametrize("name", ["three-revisions-settled", "live-three-revisions"])
def test_released_history_carries_served_as_stable_into_the_rollout_machine(name: str) -> None:
    capture = _load(UPGRADE / f"{name}.json")
    entries = history_entries(parse_history(capture["history"]))
    assert [e.served_as_stable for e in entries] == [True, True, True]


def test_a_rollback_without_a_number_on_released_history_targets_the_previous_stable() -> None:
    """History the released operator wrote already carries served-as-stable: after the upgrade the
    Argo CD rollback (no toRevision) works on it at once."""
    capture = _load(UPGRADE / "live-three-revisions.json")
    now = parse_time(capture["now"])
    assert now is not None
    by_number = {
        h["revision"]: h["metadata"]["labels"]["agentoperator.dev/revision"] for h in capture["history"]
    }
    agent = capture["agent"]
    annotations = {**(agent["metadata"].get("annotations") or {})}
    annotations["agentoperator.dev/command.rollback"] = json.dumps({"at": capture["now"], "by": "argocd"})
    agent = {**agent, "metadata": {**agent["metadata"], "annotations": annotations}}
    plan = plan_reconcile(
        Observation(
            agent=agent,
            children=tuple(capture["children"]),
            history=tuple(capture["history"]),
            pods=tuple(capture["pods"]),
            now=now,
        )
    )
    assert plan.status is not None
    assert plan.status["stableRevision"] == by_number[2]
    assert [e.reason for e in plan.events][:1] == ["RolledBack"]
    deployments = [o["metadata"]["name"] for o in plan.apply if o["kind"] == "Deployment"]
    assert deployments == [f"settled-{by_number[2]}"]
