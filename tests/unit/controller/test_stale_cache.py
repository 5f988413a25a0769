"""The planner fed deliberately stale observations: a watch cache can lag behind the cluster (and,
across a restart or a failover, behind the operator's own last writes). Whatever lags, a plan
never records a second revision for the same spec, never renumbers one, and never deletes the
revision that is serving. Status regressions are refused by the apiserver instead
(test_reconciler_errors.py: the status write carries the observed resourceVersion)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from agent_operator.controller.evaluation import observe_evaluation
from agent_operator.controller.plan import Observation, ReconcilePlan, plan_reconcile
from agent_operator.render import REVISION_LABEL
from tests.unit.controller.test_plan import NOW, agent_body

Objects = tuple[Mapping[str, Any], ...]


def _plan(agent: Mapping[str, Any], children: Objects = (), history: Objects = ()) -> ReconcilePlan:
    return plan_reconcile(Observation(agent=agent, children=children, history=history, now=NOW))


def _stored(objects: Iterable[Mapping[str, Any]]) -> Objects:
    """Objects as the apiserver would hold them: a uid each, and Deployments fully available."""
    out = []
    for o in objects:
        o = copy.deepcopy(dict(o))
        o["metadata"]["uid"] = f"uid-{o['kind']}-{o['metadata']['name']}"
        if o["kind"] == "Deployment":
            n = o["spec"].get("replicas", 0)
            o["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n, "updatedReplicas": n}
        out.append(o)
    return tuple(out)


def _split(plan: ReconcilePlan) -> tuple[Objects, Objects]:
    records = tuple(o for o in plan.apply if o["kind"] == "ControllerRevision")
    return _stored(o for o in plan.apply if o["kind"] != "ControllerRevision"), _stored(records)


class Fleet:
    """One agent, settled on revision 1, then rolling revision 2 out as a canary."""

    def __init__(self) -> None:
        first = agent_body()
        plan = _plan(first)
        self.v1_children, self.v1_history = _split(plan)
        self.v1 = {**first, "status": plan.status}
        second = copy.deepcopy(self.v1)
        second["metadata"]["generation"] = 2
        second["spec"]["container"]["image"] = "registry.example.com/bot@sha256:" + "b" * 64
        second["spec"]["rollout"] = {
            "strategy": "Canary",
            "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]},
        }
        plan = _plan(second, self.v1_children, self.v1_history)
        self.v2_children, self.v2_history = _split(plan)
        self.v2 = {**second, "status": plan.status}
        self.v2_old_status = {**second, "status": self.v1["status"]}
        (self.record,) = self.v2_history
        self.serving = _revision(next(o for o in self.v1_children if o["kind"] == "Deployment"))


def _revision(obj: Mapping[str, Any]) -> str:
    return str(obj["metadata"]["labels"][REVISION_LABEL])


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet()


CASES = {
    "children and history lag behind the status": lambda f: (f.v2, f.v1_children, f.v1_history),
    "history lags": lambda f: (f.v2, f.v1_children + f.v2_children, f.v1_history),
    "children lag": lambda f: (f.v2, f.v1_children, f.v1_history + f.v2_history),
    "the agent's status lags": lambda f: (
        f.v2_old_status,
        f.v1_children + f.v2_children,
        f.v1_history + f.v2_history,
    ),
    "the whole agent lags (old spec and status)": lambda f: (
        f.v1,
        f.v1_children + f.v2_children,
        f.v1_history + f.v2_history,
    ),
    "no history at all": lambda f: (f.v2, f.v1_children + f.v2_children, ()),
    "no children at all": lambda f: (f.v2, (), f.v1_history + f.v2_history),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_stale_observation_never_records_a_second_revision(fleet: Fleet, case: str) -> None:
    agent, children, history = CASES[case](fleet)
    plan = _plan(agent, children, history)
    records = [o for o in plan.apply if o["kind"] == "ControllerRevision"]
    known = {_revision(o): o for o in (*fleet.v1_history, *fleet.v2_history)}
    for record in records:
        revision = _revision(record)
        assert revision in known, f"{case}: a revision record nobody asked for: {revision}"
        if "revision" in record:
            assert record["revision"] == known[revision]["revision"], f"{case}: revision renumbered"


@pytest.mark.parametrize("case", list(CASES))
def test_a_stale_observation_never_deletes_the_serving_revision(fleet: Fleet, case: str) -> None:
    agent, children, history = CASES[case](fleet)
    plan = _plan(agent, children, history)
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in children}
    for ref in plan.delete:
        target = by_name.get((ref.kind.kind, ref.name))
        assert target is not None, f"{case}: deletes {ref.name}, which it has not seen"
        assert ref.uid == target["metadata"]["uid"], "deletes are guarded by the uid that was seen"
        labels = target["metadata"].get("labels") or {}
        assert labels.get(REVISION_LABEL) != fleet.serving, f"{case}: deletes the serving revision"
    serving = [o for o in plan.apply if o["kind"] == "Deployment" and _revision(o) == fleet.serving]
    for deployment in serving:
        assert deployment["spec"]["replicas"] >= 1, f"{case}: scales the serving revision to zero"


def test_a_finished_evaluation_job_waits_for_its_pods_score_to_reach_the_cache() -> None:
    """The Job and its pod come through separate watches: a Job seen Complete before its pod's
    final state must not pass on its exit status alone when the pod reported a failing score."""
    job = {
        "metadata": {"name": "eval"},
        "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
    }
    running_pod = {"status": {"containerStatuses": [{"state": {"running": {}}}]}}
    scored_pod = {"status": {"containerStatuses": [{"state": {"terminated": {"message": '{"score": 0.2}'}}}]}}
    for lagging in ([], [running_pod]):
        seen = observe_evaluation(job, lagging)
        assert seen.exists
        assert not seen.succeeded
        assert not seen.failed
    caught_up = observe_evaluation(job, [scored_pod])
    assert caught_up.succeeded
    assert caught_up.score == 0.2
