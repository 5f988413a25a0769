"""spec.evaluation.schedule on the real control plane: the operator's reconciler (in this process,
with a test clock, so no test waits for a cron minute) creates real evaluation Jobs, which the Job
controller and KWOK run to completion with the score the pod annotation asks for.

Each reconcile is requested by the test (no watches), so nothing else reconciles these agents;
the state lives only in the agent's status and its ControllerRevision, which a second reconciler
(an operator restart) picks up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from agent_operator.controller.cache import ClusterCache
from agent_operator.controller.reconciler import Reconciler
from agent_operator.kube import AGENT_DEPLOYMENT, KubeApi
from tests.support.cluster import ClusterInfo
from tests.support.kube import TERMINATION_MESSAGE_ANNOTATION
from tests.support.operator import agent_manifest, condition
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
EVAL_IMAGE = "registry.example.com/support-bot-evals@sha256:" + "e" * 64
AGENTCTL = str(Path(sys.executable).with_name("agentctl"))
SCHEDULED_JOBS = "agentoperator.dev/role=evaluation,agentoperator.dev/evaluation-step=schedule"
WAIT = 60.0


class ManualClock:
    """The wall clock the reconciler sees; tests move it forward by minutes in an instant."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class Driver:
    """The operator's reconciler with its watch cache (of the test's namespace only), and a client
    to tell when the cache has caught up with the agent as the apiserver has it."""

    rec: Driver
    custom: client.CustomObjectsApi

    def stop(self) -> None:
        self.rec.stop()


def start_reconciler(api_client: client.ApiClient, clock: ManualClock, namespace: str) -> Driver:
    kube = KubeApi(api_client)
    rec = Reconciler(kube, ClusterCache(kube, (namespace,)), clock=clock, workers=2)
    rec.start()
    return Driver(rec, client.CustomObjectsApi(api_client))


@pytest.fixture
def reconciler(
    api_client: client.ApiClient, crds_installed: None, clock: ManualClock, namespace: str
) -> Iterator[Driver]:
    driver = start_reconciler(api_client, clock, namespace)
    yield driver
    driver.stop()


def reconcile(driver: Driver, namespace: str, name: str) -> None:
    """One more reconcile once the cache holds the agent as it is now (the reconciler also
    reconciles on its own watch events; the manual clock keeps every reconcile at the same time)."""
    current = int(get_agent(driver.custom, namespace, name)["metadata"]["resourceVersion"])

    def cached() -> tuple[bool, str | None]:
        obj = driver.rec.cache.store.get(AGENT_DEPLOYMENT, namespace, name)
        version = (obj or {}).get("metadata", {}).get("resourceVersion")
        return version is not None and int(version) >= current, version

    wait_for(cached, f"the reconciler's cache at the agent's resourceVersion {current}", timeout=WAIT)
    driver.rec.request(namespace, name)
    assert driver.rec.queue.wait_idle(WAIT)


def scheduled_agent(name: str, namespace: str, score: float, on_regression: str) -> dict[str, Any]:
    evaluation = {
        "image": EVAL_IMAGE,
        "minScore": 0.9,
        "timeoutSeconds": 300,
        "schedule": "* * * * *",
        "onRegression": on_regression,
        "annotations": {TERMINATION_MESSAGE_ANNOTATION: json.dumps({"score": score})},
    }
    return agent_manifest(name, namespace, replicas=1, evaluation=evaluation)


def get_agent(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return obj


def scheduled_jobs(batch: client.BatchV1Api, namespace: str) -> list[client.V1Job]:
    return list(batch.list_namespaced_job(namespace, label_selector=SCHEDULED_JOBS).items)


def deployment_replicas(apps: client.AppsV1Api, namespace: str, name: str) -> dict[str, int]:
    items = apps.list_namespaced_deployment(namespace, label_selector=f"agentoperator.dev/agent={name}").items
    return {d.metadata.labels["agentoperator.dev/revision"]: d.spec.replicas for d in items}


def run_until_regressed(
    rec: Driver, clock: ManualClock, custom: client.CustomObjectsApi, namespace: str, name: str
) -> dict[str, Any]:
    """Reconcile until the finished Job's score is judged. The test clock stands still: the Job
    finishes in real time, and no further cron minute passes meanwhile."""

    def probe() -> tuple[bool, dict[str, Any]]:
        reconcile(rec, namespace, name)
        obj = get_agent(custom, namespace, name)
        return condition(obj, "EvaluationRegressed").get("status") == "True", obj.get("status") or {}

    wait_for(probe, "EvaluationRegressed=True after the scheduled Job finished", timeout=WAIT)
    return get_agent(custom, namespace, name)


def first_deploy_and_first_run(
    rec: Driver,
    clock: ManualClock,
    custom: client.CustomObjectsApi,
    batch: client.BatchV1Api,
    namespace: str,
    name: str,
) -> str:
    """Deploy, see the schedule followed with no run yet, then cross one cron minute: one Job."""
    reconcile(rec, namespace, name)
    status = get_agent(custom, namespace, name)["status"]
    stable = str(status["stableRevision"])
    assert status["scheduledEvaluation"]["since"]
    assert condition(get_agent(custom, namespace, name), "EvaluationRegressed")["reason"] == "NotEvaluatedYet"
    assert scheduled_jobs(batch, namespace) == []
    clock.advance(seconds=61)
    reconcile(rec, namespace, name)
    (job,) = scheduled_jobs(batch, namespace)
    assert job.metadata.labels["agentoperator.dev/revision"] == stable
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["AGENT_URL"].startswith(f"http://{name}-stable.{namespace}.svc")
    return stable


def test_a_scheduled_run_below_min_score_sets_evaluation_regressed_and_a_missed_run_is_caught_up_once(
    reconciler: Driver,
    clock: ManualClock,
    api_client: client.ApiClient,
    custom_objects: client.CustomObjectsApi,
    core_v1: client.CoreV1Api,
    apps_v1: client.AppsV1Api,
    cluster: ClusterInfo,
    namespace: str,
) -> None:
    batch = client.BatchV1Api(api_client)
    name = "drifting"
    custom_objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, scheduled_agent(name, namespace, 0.5, "Alert")
    )
    stable = first_deploy_and_first_run(reconciler, clock, custom_objects, batch, namespace, name)

    regressed = run_until_regressed(reconciler, clock, custom_objects, namespace, name)
    assert "running" not in regressed["status"]["scheduledEvaluation"]
    cond = condition(regressed, "EvaluationRegressed")
    assert cond["reason"] == "ScoreBelowMinimum"
    assert "score 0.5 below minScore 0.9" in cond["message"]
    assert regressed["status"]["phase"] != "Suspended", "onRegression: Alert keeps it serving"
    assert deployment_replicas(apps_v1, namespace, name) == {stable: 1}
    events = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    warnings = [e for e in events if e.reason == "EvaluationRegressed"]
    assert warnings, [e.reason for e in events]
    assert warnings[0].type == "Warning"
    record = apps_v1.list_namespaced_controller_revision(
        namespace, label_selector=f"agentoperator.dev/agent={name}"
    ).items[0]
    scores = json.loads(record.metadata.annotations["agentoperator.dev/scheduled-scores"])
    assert [s["score"] for s in scores] == [0.5]

    # An operator restart while the clock moves on ten minutes: one run catches the missed slots up.
    reconciler.stop()
    clock.advance(minutes=10)
    restarted = start_reconciler(api_client, clock, namespace)
    try:
        for _ in range(3):
            reconcile(restarted, namespace, name)
        assert len(scheduled_jobs(batch, namespace)) == 2, "one catch-up run, not one per missed minute"

        def judged() -> tuple[bool, list[Any]]:
            reconcile(restarted, namespace, name)
            status = get_agent(custom_objects, namespace, name)["status"]["scheduledEvaluation"]
            return len(status.get("scores") or []) == 2 and "running" not in status, status

        wait_for(judged, "the catch-up run judged", timeout=WAIT)
    finally:
        restarted.stop()

    history = subprocess.run(
        [AGENTCTL, "history", name, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "0.5! 0.5!" in history, history
    shown = subprocess.run(
        [AGENTCTL, "status", name, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"revision {stable} scores 0.5! 0.5!" in shown, shown


def test_on_regression_suspend_scales_every_revision_to_zero_until_lifted(
    reconciler: Driver,
    clock: ManualClock,
    api_client: client.ApiClient,
    custom_objects: client.CustomObjectsApi,
    apps_v1: client.AppsV1Api,
    namespace: str,
) -> None:
    batch = client.BatchV1Api(api_client)
    name = "guarded"
    custom_objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, scheduled_agent(name, namespace, 0.4, "Suspend")
    )
    stable = first_deploy_and_first_run(reconciler, clock, custom_objects, batch, namespace, name)

    regressed = run_until_regressed(reconciler, clock, custom_objects, namespace, name)
    assert regressed["status"]["phase"] == "Suspended"
    assert condition(regressed, "Ready")["reason"] == "EvaluationRegressed"
    assert not regressed["spec"]["suspend"]
    assert regressed["metadata"]["generation"] == 1, "the spec is never edited (GitOps-safe)"
    assert deployment_replicas(apps_v1, namespace, name) == {stable: 0}

    # Held: later minutes start no run while nothing serves.
    clock.advance(minutes=5)
    reconcile(reconciler, namespace, name)
    assert len(scheduled_jobs(batch, namespace)) == 1
    assert deployment_replicas(apps_v1, namespace, name) == {stable: 0}

    # A human switches to Alert (in Git): the agent serves again; the regression stays visible.
    custom_objects.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"spec": {"evaluation": {"onRegression": "Alert"}}}
    )
    reconcile(reconciler, namespace, name)
    lifted = get_agent(custom_objects, namespace, name)
    assert lifted["status"]["phase"] != "Suspended"
    assert deployment_replicas(apps_v1, namespace, name) == {stable: 1}
    assert condition(lifted, "EvaluationRegressed")["status"] == "True"
