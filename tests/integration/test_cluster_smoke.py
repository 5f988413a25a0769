"""Smoke tests proving the test cluster is a real control plane: controllers,
scheduler, KWOK-simulated pods, Pod Security admission, CEL validation on CRDs
and server-side apply conflict detection."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.client import ApiException

from tests.support import (
    PSA_ENFORCE,
    ClusterInfo,
    api_error_message,
    conditions_of,
    restricted_security_context,
    server_side_apply,
    wait_for,
    wait_for_condition,
    wait_for_deployment_ready,
    wait_for_pod_ready,
)

pytestmark = pytest.mark.integration


def test_cluster_is_real(cluster: ClusterInfo, core_v1: client.CoreV1Api) -> None:
    """The API server answers and at least one node is Ready."""
    assert cluster.version.startswith("v1.")
    nodes: list[Any] = core_v1.list_node().items
    ready = [n.metadata.name for n in nodes if conditions_of(n).get("Ready") == "True"]
    assert ready, f"no Ready nodes among {[n.metadata.name for n in nodes]}"


def _deployment(name: str, replicas: int) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="registry.example/app:1")]
                ),
            ),
        ),
    )


def test_deployment_pods_become_ready(
    namespace: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    """controller-manager creates the ReplicaSet and Pods, the scheduler binds
    them to KWOK nodes and KWOK makes them Running and Ready."""
    apps_v1.create_namespaced_deployment(namespace, _deployment("web", replicas=3))
    dep: Any = wait_for_deployment_ready(apps_v1, namespace, "web", timeout=60)
    assert dep.status.ready_replicas == 3

    pods: list[Any] = core_v1.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3
    for pod in pods:
        assert pod.spec.node_name, f"pod {pod.metadata.name} was not scheduled"
        assert pod.status.phase == "Running"
        assert conditions_of(pod).get("Ready") == "True"
        assert pod.status.pod_ip, f"pod {pod.metadata.name} has no IP"
        owner = pod.metadata.owner_references[0]
        assert owner.kind == "ReplicaSet"


def _pod(name: str, security_context: dict[str, Any] | None) -> Any:
    """A Pod manifest (a dict; the client accepts dicts wherever it takes models)."""
    container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1"}
    if security_context is not None:
        container["securityContext"] = security_context
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container]},
    }


def test_pod_security_restricted_rejects_root_and_admits_restricted(
    make_namespace: Callable[..., str], core_v1: client.CoreV1Api
) -> None:
    """The real Pod Security admission enforces the namespace's level."""
    ns = make_namespace({PSA_ENFORCE: "restricted", f"{PSA_ENFORCE}-version": "latest"})

    root = _pod("root", {"runAsUser": 0, "allowPrivilegeEscalation": True})
    with pytest.raises(ApiException) as excinfo:
        core_v1.create_namespaced_pod(ns, root)
    assert excinfo.value.status == 403, excinfo.value.body
    message = api_error_message(excinfo.value)
    assert "violates PodSecurity" in message, message
    assert "restricted" in message, message

    core_v1.create_namespaced_pod(ns, _pod("restricted", restricted_security_context()))
    wait_for_pod_ready(core_v1, ns, "restricted", timeout=60)


@pytest.fixture
def cel_crd(apiextensions_v1: client.ApiextensionsV1Api) -> Iterator[dict[str, str]]:
    """A throwaway namespaced CRD with a CEL rule: spec.minReplicas <= spec.maxReplicas."""
    group = f"smoke{secrets.token_hex(3)}.agentoperator.test"
    plural = "widgets"
    body: Any = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "minReplicas": {"type": "integer"},
                                        "maxReplicas": {"type": "integer"},
                                    },
                                    "x-kubernetes-validations": [
                                        {
                                            "rule": "self.minReplicas <= self.maxReplicas",
                                            "message": "minReplicas must not exceed maxReplicas",
                                        }
                                    ],
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    name = body["metadata"]["name"]
    apiextensions_v1.create_custom_resource_definition(body)
    try:
        wait_for_condition(
            lambda: apiextensions_v1.read_custom_resource_definition(name),
            "Established",
            what=f"CRD {name}",
            timeout=30,
        )
        yield {"group": group, "version": "v1", "plural": plural}
    finally:
        apiextensions_v1.delete_custom_resource_definition(name)


def test_crd_cel_validation_rejects_bad_object(
    namespace: str, custom_objects: client.CustomObjectsApi, cel_crd: dict[str, str]
) -> None:
    def widget(name: str, lo: int, hi: int) -> dict[str, Any]:
        return {
            "apiVersion": f"{cel_crd['group']}/{cel_crd['version']}",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"minReplicas": lo, "maxReplicas": hi},
        }

    def create(body: dict[str, Any]) -> Any:
        return custom_objects.create_namespaced_custom_object(
            cel_crd["group"], cel_crd["version"], namespace, cel_crd["plural"], body
        )

    # The CRD may be Established a moment before discovery serves it: retry 404s.
    wait_for(lambda: (True, create(widget("good", 1, 3))), "a valid Widget is created", timeout=30)

    with pytest.raises(ApiException) as excinfo:
        create(widget("bad", 5, 2))
    assert excinfo.value.status == 422, excinfo.value.body
    assert "minReplicas must not exceed maxReplicas" in api_error_message(excinfo.value)


def test_server_side_apply_conflict_between_field_managers(
    namespace: str, dynamic_client: dynamic.DynamicClient, core_v1: client.CoreV1Api
) -> None:
    def config_map(value: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": namespace},
            "data": {"owner": value},
        }

    server_side_apply(dynamic_client, config_map("alice"), field_manager="alice")

    with pytest.raises(ApiException) as excinfo:
        server_side_apply(dynamic_client, config_map("bob"), field_manager="bob")
    assert excinfo.value.status == 409, excinfo.value.body
    message = api_error_message(excinfo.value)
    assert "conflict" in message.lower(), message
    assert "alice" in message, message
    assert core_v1.read_namespaced_config_map("shared", namespace).data == {"owner": "alice"}

    # With force, bob takes the field over.
    server_side_apply(dynamic_client, config_map("bob"), field_manager="bob", force=True)
    cm: Any = core_v1.read_namespaced_config_map("shared", namespace)
    assert cm.data == {"owner": "bob"}
    managers = {entry.manager for entry in cm.metadata.managed_fields}
    assert "bob" in managers
