"""spec.evaluation.schedule through the whole planner: the run's Job, the EvaluationRegressed
condition, onRegression: Suspend through the kill switch's path, the trend in the revision's
history record, and zero writes for a replan of an applied state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_operator.controller.history import parse_history
from agent_operator.controller.plan import Observation, ReconcilePlan, plan_reconcile
from agent_operator.render import EVALUATION_STEP_LABEL
from tests.unit.controller.test_plan import agent_body

T0 = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)
EVALUATION = {"image": "registry.example.com/evals:1", "minScore": 0.9, "schedule": "*/5 * * * *"}


@dataclass
class Cluster:
    """What the API would hold after executing the plans so far (no controllers run)."""

    body: dict[str, Any]
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)

    def observe(self, now: datetime) -> Observation:
        return Observation(
            agent=self.body,
            children=tuple(self.children.values()),
            history=tuple(self.history.values()),
            jobs=tuple(self.jobs.values()),
            pods=tuple(self.pods),
            now=now,
        )

    def reconcile(self, now: datetime) -> ReconcilePlan:
        plan = plan_reconcile(self.observe(now))
        for obj in plan.apply:
            store = self.history if obj["kind"] == "ControllerRevision" else self.children
            store[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
        for job in plan.create:
            self.jobs[job["metadata"]["name"]] = job
        if plan.status is not None:
            self.body = {**self.body, "status": plan.status}
        return plan

    def finish_job(self, score: float) -> None:
        (name,) = [n for n, j in self.jobs.items() if not j.get("status")]
        self.jobs[name] = {
            **self.jobs[name],
            "status": {"conditions": [{"type": "Complete", "status": "True"}]},
        }
        message = json.dumps({"score": score})
        self.pods.append(
            {
                "metadata": {"name": f"{name}-x", "labels": {"job-name": name}},
                "status": {"containerStatuses": [{"state": {"terminated": {"message": message}}}]},
            }
        )


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def deployments(cluster: Cluster) -> dict[str, int]:
    return {
        o["metadata"]["labels"]["agentoperator.dev/revision"]: o["spec"]["replicas"]
        for o in cluster.children.values()
        if o["kind"] == "Deployment"
    }


def test_a_scheduled_run_below_min_score_suspends_the_agent_without_editing_the_spec() -> None:
    cluster = Cluster(agent_body(evaluation={**EVALUATION, "onRegression": "Suspend"}))
    spec = json.dumps(cluster.body["spec"], sort_keys=True)
    cluster.reconcile(T0)
    status = cluster.body["status"]
    stable = status["stableRevision"]
    assert status["scheduledEvaluation"]["nextScheduleTime"] == "2026-12-02T10:05:00Z"
    assert condition(status, "EvaluationRegressed")["reason"] == "NotEvaluatedYet"

    assert cluster.reconcile(T0 + timedelta(minutes=2)).create == ()
    due = cluster.reconcile(T0 + timedelta(minutes=5))
    (job,) = due.create
    assert job["metadata"]["labels"][EVALUATION_STEP_LABEL] == "schedule"
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AGENT_URL"].startswith("http://bot-stable.agents.svc")
    assert (env["REVISION"], env["EVALUATION_TRIGGER"]) == (stable, "schedule")
    assert cluster.body["status"]["scheduledEvaluation"]["running"]["revision"] == stable
    assert cluster.reconcile(T0 + timedelta(minutes=6)).create == (), "one run at a time"

    cluster.finish_job(0.5)
    regressed = cluster.reconcile(T0 + timedelta(minutes=6, seconds=10))
    status = cluster.body["status"]
    assert condition(status, "EvaluationRegressed")["status"] == "True"
    assert condition(status, "EvaluationRegressed")["reason"] == "ScoreBelowMinimum"
    assert (status["phase"], condition(status, "Ready")["reason"]) == ("Suspended", "EvaluationRegressed")
    assert deployments(cluster) == {stable: 0}
    assert json.dumps(cluster.body["spec"], sort_keys=True) == spec, "GitOps-safe: the spec is never edited"
    assert [e.reason for e in regressed.events if e.type == "Warning"] == ["EvaluationRegressed"]
    (entry,) = parse_history(cluster.history.values()).values()
    assert [s.score for s in entry.annotations.scores] == [0.5], "the trend is in the revision's record"
    assert entry.annotations.outcome == "Promoted", "and the outcome annotations are kept"

    # Held, and a replan of the applied state costs nothing; no run while nothing serves.
    quiet = cluster.reconcile(T0 + timedelta(minutes=30))
    assert (quiet.apply, quiet.create, quiet.status, quiet.events) == ((), (), None, ())

    # onRegression: Alert lifts it (so would a new revision or agentctl rollback).
    cluster.body["spec"]["evaluation"]["onRegression"] = "Alert"
    lifted = cluster.reconcile(T0 + timedelta(minutes=31))
    assert deployments(cluster) == {stable: 2}
    assert "RegressionSuspensionLifted" in [e.reason for e in lifted.events]
    assert condition(cluster.body["status"], "EvaluationRegressed")["status"] == "True", "the score stays bad"


def test_a_missed_slot_after_a_restart_runs_once_from_the_stored_state() -> None:
    """Nothing is in memory: the state is the stored status, so an operator that was down for an
    hour starts one run for the latest slot, then waits for the next."""
    cluster = Cluster(agent_body(evaluation=EVALUATION))
    cluster.reconcile(T0)
    late = T0 + timedelta(hours=1)
    first = cluster.reconcile(late)
    assert len(first.create) == 1
    assert cluster.body["status"]["scheduledEvaluation"]["lastScheduleTime"] == "2026-12-02T11:00:00Z"
    cluster.finish_job(0.95)
    done = cluster.reconcile(late + timedelta(seconds=20))
    assert done.create == ()
    assert cluster.body["status"]["scheduledEvaluation"]["nextScheduleTime"] == "2026-12-02T11:05:00Z"
    assert done.requeue_after is not None
    assert done.requeue_after <= 5 * 60
    assert condition(cluster.body["status"], "EvaluationRegressed")["reason"] == "Passing"
    again = cluster.reconcile(late + timedelta(seconds=30))
    assert (again.apply, again.create, again.status) == ((), (), None)


def test_without_a_schedule_there_is_no_condition_and_no_state() -> None:
    cluster = Cluster(agent_body(evaluation={k: v for k, v in EVALUATION.items() if k != "schedule"}))
    cluster.reconcile(T0)
    status = cluster.body["status"]
    assert "scheduledEvaluation" not in status
    assert "EvaluationRegressed" not in {c["type"] for c in status["conditions"]}
    plan = cluster.reconcile(T0 + timedelta(hours=3))
    assert plan.create == ()
    assert replace(plan, requeue_after=None).status is None
