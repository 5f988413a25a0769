"""The evaluation gate's Job: built from spec.evaluation, pointed at the canary and the stable
Services, and read back (exit status and the JSON score in its termination message)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ..api.agent import AgentDeployment
from ..render import (
    EVALUATION_ROLE,
    EVALUATION_STEP_LABEL,
    REVISION_LABEL,
    ROLE_LABEL,
    hardened_container_security_context,
    hardened_pod_security_context,
    object_meta,
    revision_labels,
)
from ..rollout.types import EvaluationObservation
from .timefmt import format_time

FINISHED_JOB_TTL_SECONDS: Final = 7 * 24 * 3600
"""Finished evaluation Jobs (and their logs) stay a week for debugging, then the TTL controller
removes them; the result itself is kept in status and history."""


def job_name(agent_name: str, revision: str, step: int, started: datetime) -> str:
    """One name per attempt, so a retried gate never reads an earlier attempt's Job (finished
    Jobs stay a week). At most 40 + 6 + 10 = 56 characters, under the 63 a pod label allows."""
    digest = hashlib.sha256(f"{revision}/{step}/{format_time(started)}".encode()).hexdigest()[:10]
    return f"{agent_name[:40]}-eval-{digest}"


def _service_url(agent: AgentDeployment, service: str) -> str:
    ports = agent.spec.container.ports or []
    port = f":{ports[0].container_port}" if ports else ""
    namespace = agent.metadata.namespace or "default"
    return f"http://{service}.{namespace}.svc{port}"


SCHEDULE_STEP: Final = "schedule"
"""The evaluation-step label of a scheduled run's Job (a gate's carries its step index)."""


def scheduled_job_name(agent_name: str, revision: str, slot: datetime) -> str:
    """One name per (revision, cron slot): a slot is run at most once, across restarts."""
    digest = hashlib.sha256(f"{revision}/{SCHEDULE_STEP}/{format_time(slot)}".encode()).hexdigest()[:10]
    return f"{agent_name[:40]}-eval-{digest}"


def evaluation_job(agent: AgentDeployment, revision: str, step: int, started: datetime) -> dict[str, Any]:
    """The Job that evaluates ``revision`` at canary step ``step`` for the attempt that began at
    ``started``: AGENT_URL is the canary, BASELINE_URL the stable revision. Requires spec.evaluation."""
    name = agent.metadata.name
    env = [
        {"name": "AGENT_URL", "value": _service_url(agent, f"{name}-canary")},
        {"name": "BASELINE_URL", "value": _service_url(agent, f"{name}-stable")},
    ]
    return _job(agent, job_name(name, revision, step, started), revision, str(step), env)


def scheduled_evaluation_job(agent: AgentDeployment, revision: str, slot: datetime) -> dict[str, Any]:
    """The Job of spec.evaluation.schedule's run for ``slot``: AGENT_URL is the stable (serving)
    revision, and EVALUATION_TRIGGER=schedule tells the suite there is no baseline to compare."""
    name = agent.metadata.name
    env = [
        {"name": "AGENT_URL", "value": _service_url(agent, f"{name}-stable")},
        {"name": "EVALUATION_TRIGGER", "value": SCHEDULE_STEP},
    ]
    return _job(agent, scheduled_job_name(name, revision, slot), revision, SCHEDULE_STEP, env)


def _job(
    agent: AgentDeployment, job: str, revision: str, step_label: str, urls: list[dict[str, str]]
) -> dict[str, Any]:
    suite = agent.spec.evaluation
    if suite is None:
        raise ValueError("spec.evaluation is required for an evaluation Job")
    labels = {
        **revision_labels(agent, revision),
        ROLE_LABEL: EVALUATION_ROLE,
        EVALUATION_STEP_LABEL: step_label,
    }
    # The operator's labels win: they are how the Job and its pods are found again.
    pod_labels = {**(suite.labels or {}), **labels}
    env = [
        *urls,
        {"name": "REVISION", "value": revision},
        {"name": "MIN_SCORE", "value": f"{suite.min_score:g}"},
        *[e.to_wire() for e in suite.env or []],
    ]
    container: dict[str, Any] = {
        "name": "evaluation",
        "image": suite.image,
        "env": env,
        "securityContext": hardened_container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if suite.resources is not None:
        container["resources"] = suite.resources.to_wire()
    if suite.command:
        container["command"] = list(suite.command)
    if suite.args:
        container["args"] = list(suite.args)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": object_meta(agent, job, labels),
        "spec": {
            "backoffLimit": suite.backoff_limit,
            "activeDeadlineSeconds": suite.timeout_seconds,
            "ttlSecondsAfterFinished": FINISHED_JOB_TTL_SECONDS,
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    **({"annotations": dict(suite.annotations)} if suite.annotations else {}),
                },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": hardened_pod_security_context(),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def observe_evaluation(
    job: Mapping[str, Any] | None, pods: Iterable[Mapping[str, Any]]
) -> EvaluationObservation:
    """What the gate needs to know about its Job: done or not, and the score it reported.

    The score is read from a JSON object in a container's termination message, e.g.
    ``{"score": 0.93}``; a job that reports no score passes on its exit status alone.
    """
    if job is None:
        return EvaluationObservation(exists=False)
    status = job.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    succeeded = conditions.get("Complete") == "True" or int(status.get("succeeded") or 0) > 0
    failed = conditions.get("Failed") == "True"
    pods = list(pods)
    if succeeded and not any(_terminated(p) for p in pods):
        # The Job says done, but its pod's final state (the score) has not reached the watch cache
        # yet: the two come through separate watches. Judging now would pass a job on its exit
        # status alone when it reported a failing score; its pod's event wakes the agent again.
        return EvaluationObservation(exists=True)
    score, message = _reported_score(pods)
    return EvaluationObservation(
        exists=True, succeeded=succeeded, failed=failed, score=score, message=message
    )


def _terminated(pod: Mapping[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any((s.get("state") or {}).get("terminated") for s in statuses)


def _reported_score(pods: Iterable[Mapping[str, Any]]) -> tuple[float | None, str]:
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (cs.get("state") or {}).get("terminated") or {}
            text = terminated.get("message")
            if not text:
                continue
            try:
                parsed = json.loads(text)
            except ValueError:
                return None, "termination message is not JSON; judged on exit status"
            if isinstance(parsed, dict) and isinstance(parsed.get("score"), int | float):
                detail = str(parsed.get("message") or parsed.get("summary") or "")[:200]
                return float(parsed["score"]), detail
            return None, "termination message has no numeric score; judged on exit status"
    return None, ""


def job_revision(job: Mapping[str, Any]) -> str | None:
    return ((job.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)
