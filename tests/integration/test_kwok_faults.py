"""The KWOK stages of hack/kwok/stages.yaml: pods can be made to fail on demand.
Only meaningful on the local KWOK cluster, so skipped with USE_EXISTING_CLUSTER."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from tests.support import (
    FAULT_CRASHLOOP,
    FAULT_FAIL,
    FAULT_NEVER_READY,
    ClusterInfo,
    conditions_of,
    fault_labels,
    job_pod_annotations,
    pod_summary,
    wait_for,
    wait_for_job_finished,
    wait_for_pod_phase,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _local_kwok_only(cluster: ClusterInfo) -> None:
    if not cluster.local:
        pytest.skip("KWOK fault stages exist only on the local cluster (USE_EXISTING_CLUSTER=true)")


def _pod(name: str, labels: dict[str, str]) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="registry.example/app:1")]),
    )


def _job(name: str, labels: dict[str, str], annotations: dict[str, str]) -> client.V1Job:
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels, annotations=annotations),
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[client.V1Container(name="eval", image="registry.example/eval:1")],
                ),
            ),
        ),
    )


def _job_pod(core: client.CoreV1Api, namespace: str, job: str) -> Any:
    pods: list[Any] = core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return pods[0]


def test_never_ready_pod_runs_but_stays_unready(namespace: str, core_v1: client.CoreV1Api) -> None:
    core_v1.create_namespaced_pod(namespace, _pod("stuck", fault_labels(FAULT_NEVER_READY)))
    pod = wait_for_pod_phase(core_v1, namespace, "stuck", "Running", timeout=30)
    assert conditions_of(pod).get("Ready") == "False", pod_summary(pod)
    # ... and it stays that way.
    with pytest.raises(AssertionError):
        wait_for(
            lambda: (
                conditions_of(core_v1.read_namespaced_pod("stuck", namespace)).get("Ready") == "True",
                None,
            ),
            "pod never becomes Ready",
            timeout=4,
        )


def test_crashloop_pod_restart_count_rises(namespace: str, core_v1: client.CoreV1Api) -> None:
    core_v1.create_namespaced_pod(namespace, _pod("crashy", fault_labels(FAULT_CRASHLOOP)))

    def probe() -> tuple[bool, object]:
        pod: Any = core_v1.read_namespaced_pod("crashy", namespace)
        statuses = pod.status.container_statuses or []
        restarts = statuses[0].restart_count if statuses else 0
        return restarts >= 2, pod_summary(pod)

    wait_for(probe, "restartCount >= 2", timeout=30)
    pod: Any = core_v1.read_namespaced_pod("crashy", namespace)
    state = pod.status.container_statuses[0].state
    assert state.waiting is not None
    assert state.waiting.reason == "CrashLoopBackOff"
    assert conditions_of(pod).get("Ready") == "False"


def test_job_pod_succeeds_with_termination_message(
    namespace: str, batch_v1: client.BatchV1Api, core_v1: client.CoreV1Api
) -> None:
    score = json.dumps({"score": 0.93, "passed": True})
    batch_v1.create_namespaced_job(
        namespace, _job("eval-ok", {}, job_pod_annotations(termination_message=score))
    )
    job = wait_for_job_finished(batch_v1, namespace, "eval-ok", timeout=60)
    assert conditions_of(job).get("Complete") == "True", conditions_of(job)

    terminated = _job_pod(core_v1, namespace, "eval-ok").status.container_statuses[0].state.terminated
    assert terminated.exit_code == 0
    assert json.loads(terminated.message) == {"score": 0.93, "passed": True}


def test_job_pod_fails_with_exit_code(
    namespace: str, batch_v1: client.BatchV1Api, core_v1: client.CoreV1Api
) -> None:
    batch_v1.create_namespaced_job(
        namespace,
        _job(
            "eval-bad",
            fault_labels(FAULT_FAIL),
            job_pod_annotations(termination_message="accuracy below threshold", exit_code=3),
        ),
    )
    job = wait_for_job_finished(batch_v1, namespace, "eval-bad", timeout=60)
    assert conditions_of(job).get("Failed") == "True", conditions_of(job)

    pod: Any = _job_pod(core_v1, namespace, "eval-bad")
    assert pod.status.phase == "Failed"
    terminated = pod.status.container_statuses[0].state.terminated
    assert terminated.exit_code == 3
    assert terminated.message == "accuracy below threshold"
