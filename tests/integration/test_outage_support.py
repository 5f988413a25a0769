"""The outage support (tests/support/outage.py) on the real local control plane: the apiserver it
stops really stops answering, comes back with the same flags, and the controller-manager and
scheduler are running and leading again afterwards, so workloads converge as before."""

from __future__ import annotations

import signal
from typing import Any

import pytest
from kubernetes import client
from urllib3.exceptions import MaxRetryError

from tests.support import ClusterInfo, kubectl, wait_for, wait_for_deployment_ready
from tests.support.outage import (
    APISERVER,
    CONTROLLER_MANAGER,
    LEADER_ELECTED,
    SCHEDULER,
    ControlPlane,
    apiserver_outage,
    apiserver_ready,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def control_plane(cluster: ClusterInfo) -> ControlPlane:
    if not cluster.local:
        pytest.skip("stopping control-plane processes needs the local cluster (make cluster-up)")
    return ControlPlane.local()


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
            },
        },
    }


def test_apiserver_outage_and_recovery(
    control_plane: ControlPlane,
    cluster: ClusterInfo,
    namespace: str,
    core_v1: client.CoreV1Api,
    apps_v1: client.AppsV1Api,
) -> None:
    flags_before = list(control_plane.components[APISERVER].argv)
    pid_before = control_plane.components[APISERVER].pid

    with apiserver_outage(10, control_plane=control_plane) as outage:
        assert not control_plane.alive(APISERVER)
        assert not apiserver_ready()
        with pytest.raises(MaxRetryError, match="Connection refused"):
            core_v1.list_namespace(_request_timeout=3)

    restarted = control_plane.components[APISERVER]
    assert restarted.pid != pid_before
    assert restarted.argv == flags_before
    # kwokctl (cluster-down) parses the pid file with strconv.Atoi: digits only, no newline.
    assert (control_plane.directory / "pids" / f"{APISERVER}.pid").read_text() == str(restarted.pid)
    assert outage.stopped_at < outage.started_at <= outage.returned_at <= outage.recovered_at
    for name in LEADER_ELECTED:
        assert control_plane.alive(name), f"{name} is not running after the outage"

    assert kubectl(cluster, "get", "--raw", "/readyz").stdout.strip() == "ok"
    # A Deployment needs the controller-manager (ReplicaSet, pods) and the scheduler (binding).
    apps_v1.create_namespaced_deployment(namespace, _deployment("after-outage", replicas=2))
    dep: Any = wait_for_deployment_ready(apps_v1, namespace, "after-outage", timeout=90)
    assert dep.status.ready_replicas == 2


def test_supervisor_restarts_an_exited_component(control_plane: ControlPlane) -> None:
    """The kubelet stand-in: a leader-elected component that exits comes back with its flags."""
    before = control_plane.components[SCHEDULER]
    pid, argv = before.pid, list(before.argv)
    with control_plane.supervised((SCHEDULER, CONTROLLER_MANAGER)):
        control_plane.stop(SCHEDULER, signal.SIGKILL)

        def back() -> tuple[bool, dict[str, Any]]:
            now = control_plane.components[SCHEDULER]
            return now.pid != pid and control_plane.alive(SCHEDULER), {"pid": now.pid, "was": pid}

        wait_for(back, "kube-scheduler restarted by the supervisor", timeout=30)
    assert control_plane.components[SCHEDULER].argv == argv
    assert [name for name, _ in control_plane.restarts] == [SCHEDULER]
