"""Drift repair, policy enforcement, missing Secrets, the kill switch, scaling and bad input:
the operator on the real control plane."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support.cluster import ClusterInfo
from tests.support.kube import kubectl
from tests.support.operator import agent_manifest, condition
from tests.support.wait import wait_for

from .test_lifecycle import wait_ready

pytestmark = pytest.mark.integration


def events_of(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[tuple[str, str, str]]:
    items = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [(e.type, e.reason, e.message) for e in items]


def test_deleted_service_is_recreated_and_edited_security_context_reverted(
    agents: Agents, namespace: str, core_v1: client.CoreV1Api, apps_v1: client.AppsV1Api
) -> None:
    agents.create(agent_manifest("drifty", namespace))
    revision = wait_ready(agents, "drifty")["status"]["stableRevision"]
    deployment = f"drifty-{revision}"

    core_v1.delete_namespaced_service("drifty", namespace)
    apps_v1.patch_namespaced_deployment(
        deployment,
        namespace,
        {"spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": False, "runAsUser": 0}}}}},
    )

    def restored() -> tuple[bool, dict[str, Any]]:
        services = {s.metadata.name for s in core_v1.list_namespaced_service(namespace).items}
        ctx = apps_v1.read_namespaced_deployment(deployment, namespace).spec.template.spec.security_context
        seen = {
            "services": sorted(services),
            "runAsNonRoot": ctx.run_as_non_root,
            "runAsUser": ctx.run_as_user,
        }
        return "drifty" in services and ctx.run_as_non_root is True and ctx.run_as_user == 65532, seen

    wait_for(restored, "Service recreated and pod security context restored", timeout=60)
    wait_for(
        lambda: (
            any(r == "DriftCorrected" for _, r, _ in events_of(core_v1, namespace, "drifty")),
            events_of(core_v1, namespace, "drifty"),
        ),
        "a DriftCorrected event",
        timeout=30,
    )


@pytest.fixture
def enforce_policy(custom_objects: client.CustomObjectsApi) -> Iterator[str]:
    """A cluster-wide Enforce policy that selects only agents labelled with a unique value."""
    selector = f"policy-{uuid.uuid4().hex[:8]}"
    body = {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "ReadinessPolicy",
        "metadata": {"name": selector},
        "spec": {
            # Starts from the development profile (the environments it selects), plus two requirements.
            "selector": {
                "environments": ["development"],
                "agentSelector": {"matchLabels": {"test-policy": selector}},
            },
            "priority": 100,
            "enforcement": "Enforce",
            "checks": {"image.pinned": "required"},
            "limits": {"requireImageDigest": True},
            "rules": [
                {
                    "name": "two-replicas",
                    "expression": "object.spec.replicas >= 2",
                    "message": "run at least 2 replicas",
                    "severity": "required",
                }
            ],
        },
    }
    custom_objects.create_cluster_custom_object("agentoperator.dev", "v1alpha1", "readinesspolicies", body)
    yield selector
    custom_objects.delete_cluster_custom_object(
        "agentoperator.dev", "v1alpha1", "readinesspolicies", selector
    )


def test_enforce_blocks_a_noncompliant_update_and_keeps_the_old_revision_serving(
    agents: Agents, namespace: str, enforce_policy: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    manifest = agent_manifest("guarded", namespace)
    manifest["metadata"]["labels"] = {"test-policy": enforce_policy}
    agents.create(manifest)
    ready = wait_ready(agents, "guarded")
    stable = ready["status"]["stableRevision"]
    assert ready["status"]["readiness"]["policy"] == enforce_policy

    agents.patch("guarded", {"spec": {"container": {"image": "registry.example.com/support-bot:latest"}}})

    def blocked() -> tuple[bool, dict[str, Any]]:
        obj = agents.get("guarded")
        status = obj.get("status") or {}
        done = (
            status.get("phase") == "Blocked"
            and status.get("observedGeneration") == obj["metadata"]["generation"]
        )
        return done, status

    status = wait_for(blocked, "phase Blocked at the new generation", timeout=60)
    obj = agents.get("guarded")
    assert condition(obj, "PolicyCompliant")["status"] == "False"
    assert "image.pinned" in condition(obj, "PolicyCompliant")["message"]
    assert condition(obj, "Stalled")["reason"] == "PolicyViolation"
    assert condition(obj, "Ready")["status"] == "False"
    assert "image.pinned" in status["readiness"]["missingRequired"]
    assert status["stableRevision"] == stable

    # The old revision keeps serving, untouched.
    deployments = apps_v1.list_namespaced_deployment(
        namespace, label_selector="agentoperator.dev/agent=guarded"
    ).items
    assert [d.metadata.name for d in deployments] == [f"guarded-{stable}"]
    assert deployments[0].status.ready_replicas == 2
    warnings = [(r, m) for t, r, m in events_of(core_v1, namespace, "guarded") if t == "Warning"]
    assert any(r == "PolicyViolation" and "image.pinned" in m for r, m in warnings), warnings

    # A custom CEL rule is enforced the same way.
    agents.patch(
        "guarded",
        {
            "spec": {
                "container": {"image": "registry.example.com/support-bot@sha256:" + "c" * 64},
                "replicas": 1,
            }
        },
    )
    status = wait_for(blocked, "still Blocked: the CEL rule requires 2 replicas", timeout=60)
    assert status["readiness"]["missingRequired"] == ["custom.two-replicas"]


def test_missing_secret_holds_the_revision_until_it_exists(
    agents: Agents, namespace: str, core_v1: client.CoreV1Api, apps_v1: client.AppsV1Api
) -> None:
    agents.create(agent_manifest("needs-key", namespace, secrets=[{"name": "model-key"}]))

    def held() -> tuple[bool, dict[str, Any]]:
        status = agents.get("needs-key").get("status") or {}
        return status.get("missingSecrets") == ["model-key"] and status.get("phase") == "Blocked", status

    wait_for(held, "revision held for Secret model-key", timeout=60)
    assert apps_v1.list_namespaced_deployment(namespace).items == []
    obj = agents.get("needs-key")
    assert condition(obj, "Stalled")["reason"] == "SecretsMissing"

    secret_value = "do-not-echo-" + uuid.uuid4().hex
    core_v1.create_namespaced_secret(
        namespace, {"metadata": {"name": "model-key"}, "stringData": {"token": secret_value}}
    )
    ready = wait_ready(agents, "needs-key", timeout=90)
    assert "missingSecrets" not in ready["status"]
    assert secret_value not in str(ready)
    assert all(secret_value not in m for _, _, m in events_of(core_v1, namespace, "needs-key"))


def test_suspend_scales_to_zero_and_resume_restores(
    agents: Agents, namespace: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    agents.create(agent_manifest("switch", namespace))
    revision = wait_ready(agents, "switch")["status"]["stableRevision"]

    agents.patch("switch", {"spec": {"suspend": True}})

    def suspended() -> tuple[bool, dict[str, Any]]:
        replicas = apps_v1.read_namespaced_deployment(f"switch-{revision}", namespace).spec.replicas
        pods = core_v1.list_namespaced_pod(namespace, label_selector="agentoperator.dev/agent=switch").items
        phase = (agents.get("switch").get("status") or {}).get("phase")
        return replicas == 0 and not pods and phase == "Suspended", {
            "replicas": replicas,
            "pods": len(pods),
            "phase": phase,
        }

    wait_for(suspended, "every revision at zero, phase Suspended", timeout=60)
    # Objects are kept while suspended.
    assert core_v1.read_namespaced_service("switch", namespace)

    agents.patch("switch", {"spec": {"suspend": False}})
    ready = wait_ready(agents, "switch")
    assert ready["status"]["readyReplicas"] == 2


def test_scale_subresource(
    agents: Agents, namespace: str, cluster: ClusterInfo, apps_v1: client.AppsV1Api
) -> None:
    agents.create(agent_manifest("scalable", namespace))
    revision = wait_ready(agents, "scalable")["status"]["stableRevision"]
    kubectl(cluster, "-n", namespace, "scale", "agd/scalable", "--replicas=3")
    ready = wait_for(
        lambda: (
            (agents.get("scalable").get("status") or {}).get("readyReplicas") == 3
            and condition(agents.get("scalable"), "Ready").get("status") == "True",
            agents.get("scalable").get("status"),
        ),
        "3 ready replicas",
        timeout=60,
    )
    assert ready["replicas"] == 3
    assert apps_v1.read_namespaced_deployment(f"scalable-{revision}", namespace).spec.replicas == 3
    scale = kubectl(
        cluster,
        "-n",
        namespace,
        "get",
        "--raw",
        f"/apis/agentoperator.dev/v1alpha1/namespaces/{namespace}/agentdeployments/scalable/scale",
    )
    assert '"replicas":3' in scale.stdout.replace(" ", "")


def test_bad_objects_surface_as_conditions_and_do_not_affect_other_agents(
    agents: Agents, namespace: str
) -> None:
    # A volume the schema lets through (pod overlays are free-form) but the apiserver refuses.
    bad = agent_manifest(
        "broken", namespace, podTemplate={"volumes": [{"name": "Not_A_DNS_Label", "emptyDir": {}}]}
    )
    agents.create(bad)
    agents.create(agent_manifest("healthy", namespace))

    def stalled() -> tuple[bool, dict[str, Any]]:
        obj = agents.get("broken")
        return condition(obj, "Stalled").get("status") == "True", obj.get("status") or {}

    status = wait_for(stalled, "broken agent Stalled with the reason", timeout=60)
    stalled_cond = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled_cond["reason"] == "ApplyRejected"
    assert "Not_A_DNS_Label" not in stalled_cond["message"]
    assert status["phase"] == "Failed"
    wait_ready(agents, "healthy")
