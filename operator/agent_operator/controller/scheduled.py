"""spec.evaluation.schedule in the planner: gathers :class:`~agent_operator.reeval.ReevalInput`
from the observation, and turns the decision into writes (the run's Job, the revision's score
record in history). Pure, like the rest of the planner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..api.agent import AgentDeployment
from ..reeval import ReevalPlan, ReevalState, plan_reeval
from ..reeval.types import ReevalInput
from ..rollout.types import EvaluationObservation
from .desired import label
from .diff import with_applied_hash
from .evaluation import observe_evaluation, scheduled_evaluation_job, scheduled_job_name
from .history import Revision, with_scores
from .scheduled_codec import reeval_state
from .status_codec import read_status, rollout_state


def job_observation(
    jobs: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]], name: str
) -> EvaluationObservation:
    """The evaluation Job called ``name`` and its pods, as the gate and the schedule read them."""
    job = next((j for j in jobs if j["metadata"]["name"] == name), None)
    job_pods = [p for p in pods if name in (label(p, "batch.kubernetes.io/job-name"), label(p, "job-name"))]
    return observe_evaluation(job, job_pods)


def scheduled_decision(
    agent: AgentDeployment,
    status: Mapping[str, Any] | None,
    jobs: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    desired_revision: str,
    history: Mapping[str, Revision],
    now: datetime,
) -> ReevalPlan:
    """The schedule's decision, from the stored status (schedule state, stable and canary)."""
    stored = read_status(status)
    state: ReevalState = reeval_state(stored)
    rollout = rollout_state(stored)
    job = None
    if state.running is not None:
        run = state.running
        job = job_observation(jobs, pods, scheduled_job_name(agent.metadata.name, run.revision, run.slot))
    return plan_reeval(
        ReevalInput(
            spec=agent.spec.evaluation,
            state=state,
            stable_revision=rollout.stable_revision,
            canary_revision=rollout.canary_revision,
            desired_revision=desired_revision,
            suspend=agent.spec.suspend,
            now=now,
            job=job,
            history_scores={rev: r.annotations.scores for rev, r in history.items()},
        )
    )


def scheduled_job(
    agent: AgentDeployment, plan: ReevalPlan, jobs: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The running slot's Job, unless it exists already."""
    run = plan.state.running
    if not plan.run_job or run is None or agent.spec.evaluation is None:
        return []
    name = scheduled_job_name(agent.metadata.name, run.revision, run.slot)
    if any(j["metadata"]["name"] == name for j in jobs):
        return []
    return [scheduled_evaluation_job(agent, run.revision, run.slot)]


def score_record(plan: ReevalPlan, history: Mapping[str, Revision], busy: set[str]) -> list[dict[str, Any]]:
    """The serving revision's history record with its current trend, when it differs (level-based:
    an unchanged trend costs no write). Not when this plan already writes that record (an outcome):
    one body per object per plan, and the next reconcile catches up."""
    revision = plan.state.revision
    entry = history.get(revision) if revision else None
    if entry is None or revision in busy or entry.annotations.scores == plan.state.scores:
        return []
    return [with_applied_hash(with_scores(entry, plan.state.scores))]
