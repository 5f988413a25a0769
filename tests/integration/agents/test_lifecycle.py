"""The operator end to end: create, become Ready, update, delete; on the real control plane."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes import client

from agent_operator.api import AgentDeployment
from agent_operator.controller.diff import is_subset
from agent_operator.render import render
from tests.integration.agents.conftest import Agents
from tests.support.cluster import ClusterInfo
from tests.support.kube import kubectl
from tests.support.operator import OperatorProcess, agent_manifest, condition
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration


def wait_ready(agents: Agents, name: str, timeout: float = 90) -> dict[str, Any]:
    def probe() -> tuple[bool, dict[str, Any]]:
        obj = agents.get(name)
        status = obj.get("status") or {}
        ready = condition(obj, "Ready").get("status") == "True"
        fresh = status.get("observedGeneration") == obj["metadata"]["generation"]
        return ready and fresh, status

    status = wait_for(probe, f"agentdeployment {name} Ready=True at its current generation", timeout=timeout)
    return agents.get(name) | {"status": status}


def live_objects(api: client.ApiClient, namespace: str, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object labelled as the agent's, by (kind, name)."""
    from agent_operator.kube import CHILD_KINDS, KubeApi

    kube = KubeApi(api)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in CHILD_KINDS:
        for obj in kube.list_objects(kind, namespace, f"agentoperator.dev/agent={name}"):
            out[(kind.kind, obj["metadata"]["name"])] = obj
    return out


def test_create_renders_exactly_what_agentctl_render_shows_and_becomes_ready(
    agents: Agents, namespace: str, api_client: client.ApiClient, cluster: ClusterInfo
) -> None:
    created = agents.create(agent_manifest("support-bot", namespace))
    ready = wait_ready(agents, "support-bot")
    assert ready["status"]["phase"] == "Available"
    assert ready["status"]["readyReplicas"] == 2
    assert ready["status"]["selector"] == "agentoperator.dev/agent=support-bot"

    # What the operator applied is what `agentctl render` prints for the same object.
    agent = AgentDeployment.model_validate(
        {k: created[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    )
    expected = render(agent)
    live = live_objects(api_client, namespace, "support-bot")
    assert {(o["kind"], o["metadata"]["name"]) for o in expected} == set(live)
    for obj in expected:
        assert is_subset(obj, live[(obj["kind"], obj["metadata"]["name"])]), obj["metadata"]["name"]

    # kubectl wait works on the kstatus condition.
    kubectl(cluster, "-n", namespace, "wait", "--for=condition=Ready", "agd/support-bot", "--timeout=30s")


def test_pods_are_admitted_by_restricted_pod_security(
    agents: Agents, make_namespace: Any, custom_objects: client.CustomObjectsApi, core_v1: client.CoreV1Api
) -> None:
    ns = make_namespace({"pod-security.kubernetes.io/enforce": "restricted"})
    restricted = Agents(custom_objects, ns)
    restricted.create(agent_manifest("locked-down", ns))
    wait_ready(restricted, "locked-down")
    pods = core_v1.list_namespaced_pod(ns, label_selector="agentoperator.dev/agent=locked-down").items
    assert len(pods) == 2


def test_image_change_rolls_out_a_new_revision(
    agents: Agents, namespace: str, apps_v1: client.AppsV1Api
) -> None:
    agents.create(agent_manifest("bot", namespace))
    first = wait_ready(agents, "bot")["status"]["stableRevision"]
    agents.patch(
        "bot", {"spec": {"container": {"image": "registry.example.com/support-bot@sha256:" + "b" * 64}}}
    )

    def rolled() -> tuple[bool, dict[str, Any]]:
        obj = agents.get("bot")
        status = obj.get("status") or {}
        done = (
            status.get("stableRevision") not in (None, first)
            and condition(obj, "Ready").get("status") == "True"
            and status.get("observedGeneration") == obj["metadata"]["generation"]
        )
        return done, status

    status = wait_for(rolled, "a new stable revision, Ready", timeout=120)
    second = status["stableRevision"]
    deployments = apps_v1.list_namespaced_deployment(
        namespace, label_selector="agentoperator.dev/agent=bot"
    ).items
    assert [d.metadata.name for d in deployments] == [f"bot-{second}"]
    assert deployments[0].spec.template.spec.containers[0].image.endswith("b" * 64)


def test_delete_garbage_collects_every_child(
    agents: Agents, namespace: str, api_client: client.ApiClient, operator: OperatorProcess
) -> None:
    agents.create(agent_manifest("short-lived", namespace))
    wait_ready(agents, "short-lived")
    assert live_objects(api_client, namespace, "short-lived")
    agents.delete("short-lived")
    wait_for(
        lambda: (
            not live_objects(api_client, namespace, "short-lived"),
            sorted(live_objects(api_client, namespace, "short-lived")),
        ),
        "every child garbage-collected",
        timeout=90,
    )


def test_example_renders_yaml_the_operator_accepts(agents: Agents, namespace: str) -> None:
    """The minimal example, applied as is, becomes Ready."""
    from tests.support.cluster import REPO_ROOT

    doc = yaml.safe_load((REPO_ROOT / "examples" / "minimal.yaml").read_text())
    doc["metadata"]["namespace"] = namespace
    agents.create(doc)
    wait_ready(agents, doc["metadata"]["name"])
