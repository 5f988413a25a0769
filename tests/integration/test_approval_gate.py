"""Risk-based approval and unforgeable approver identity, on the real apiserver.

An operator process serves the webhook on loopback and reconciles one namespace that its webhook
configurations cover (the mutating one as the chart has it: failurePolicy Fail, scoped by a CEL
matchCondition to writes that add or change a command annotation). A ReadinessPolicy makes new
egress wait for approval.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client

from agent_operator.controller.admission import COMMAND_MATCH_CONDITION
from agent_operator.kube import KubeApi
from tests.integration.test_webhook import APPROVE, GROUP, SCOPE_LABEL, VERSION, WebhookRig, _webhook
from tests.support.cluster import ClusterInfo
from tests.support.kube import create_namespace, delete_namespace, kubectl
from tests.support.operator import agent_manifest, free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

AGENT = "gated"
AGENTCTL = (sys.executable, "-m", "agent_operator.cli.main")


class GateRig:
    def __init__(self, cluster: ClusterInfo, api_client: client.ApiClient) -> None:
        self.cluster = cluster
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.home = f"approval-{secrets.token_hex(3)}"
        self.webhook = WebhookRig(cluster, api_client, self.home, cert_dir=None)
        self.policy = f"approval-{self.webhook.token}"

    def agent(self) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.home, "agentdeployments", AGENT
        )

    def status(self) -> dict[str, Any]:
        return dict(self.agent().get("status") or {})

    def events(self, reason: str) -> list[client.CoreV1Event]:
        items = self.core.list_namespaced_event(
            self.home, field_selector=f"involvedObject.name={AGENT}"
        ).items
        return [e for e in items if e.reason == reason]

    def mutating_down(self) -> None:
        """The webhook as good as absent (deleted, or Ignore with the operator unreachable)."""
        self.webhook.admission.delete_mutating_webhook_configuration(self.webhook.configuration)

    def mutating_up(self) -> None:
        url = f"https://127.0.0.1:{self.webhook.port}/mutate-agents"
        hook = _webhook("agents.mutate.agentoperator.dev", url, "agentdeployments", self.webhook.token, None)
        body: Any = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": self.webhook.configuration},
            "webhooks": [hook],
        }
        self.webhook.admission.create_mutating_webhook_configuration(body)
        self.webhook.wait_until_serving(self.custom, self.home)  # the operator re-publishes its CA


@pytest.fixture(scope="module")
def gate(cluster: ClusterInfo, api_client: client.ApiClient, crds_installed: None) -> Iterator[GateRig]:
    rig = GateRig(cluster, api_client)
    create_namespace(rig.core, rig.home, {SCOPE_LABEL: rig.webhook.token})
    policy = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ReadinessPolicy",
        "metadata": {"name": rig.policy, "labels": {SCOPE_LABEL: rig.webhook.token}},
        "spec": {
            "priority": 1000,
            "enforcement": "Audit",
            "selector": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": rig.home}}},
            "approvalRequiredFor": ["egress"],
        },
    }
    try:
        rig.custom.create_cluster_custom_object(GROUP, VERSION, "readinesspolicies", policy)
        rig.webhook.create_configurations(ca=None)
        rig.webhook.start()
        rig.webhook.wait_until_serving(rig.custom, rig.home)
        yield rig
    finally:
        rig.webhook.delete_configurations()
        rig.webhook.stop()
        try:
            rig.custom.delete_cluster_custom_object(GROUP, VERSION, "readinesspolicies", rig.policy)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        delete_namespace(rig.core, rig.home)


def _apply(cluster: ClusterInfo, obj: dict[str, Any]) -> None:
    kubectl(cluster, "apply", "-f", "-", input_text=yaml.safe_dump(obj))


def _agentctl(cluster: ClusterInfo, namespace: str, *args: str) -> str:
    run = subprocess.run(
        [*AGENTCTL, *args, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, f"agentctl {' '.join(args)}: exit {run.returncode}\n{run.stdout}{run.stderr}"
    return run.stdout


def test_new_egress_waits_for_approval_a_forged_approver_is_refused_a_real_one_releases_it(
    cluster: ClusterInfo, api_client: client.ApiClient, gate: GateRig
) -> None:
    egress = {"egress": {"allowedDomains": ["api.example.com"]}}
    agent = agent_manifest(AGENT, gate.home, network=egress)
    _apply(cluster, agent)
    first = wait_for(
        lambda: ((s := gate.status()).get("phase") == "Available", s), "first revision Available", timeout=120
    )["stableRevision"]

    # A new image that also adds an egress domain, and no pause step at all (RollingUpdate): the
    # rollout waits at step 0.
    agent["spec"]["network"]["egress"]["allowedDomains"].append("evil.example.org")
    agent["spec"]["container"]["image"] = "registry.example.com/support-bot@sha256:" + "b" * 64
    _apply(cluster, agent)

    def awaiting() -> tuple[bool, dict[str, Any]]:
        s = gate.status()
        return bool(s.get("canaryRevision")) and bool((s.get("rollout") or {}).get("widenings")), s

    status = wait_for(awaiting, "the widening canary waiting for approval", timeout=90)
    canary = status["canaryRevision"]
    assert status["stableRevision"] == first
    assert status["rollout"]["widenings"] == [
        {
            "kind": "egress",
            "path": "spec.network.egress.allowedDomains",
            "before": "[api.example.com]",
            "after": "+evil.example.org",
        }
    ]
    assert status["rollout"].get("stepIndex", 0) == 0
    messages = [c.get("message", "") for c in status["conditions"] if c.get("reason") == "AwaitingApproval"]
    assert any("approve widening" in m and "+evil.example.org" in m for m in messages), status["conditions"]
    assert [e.type for e in gate.events("AwaitingApproval")] == ["Warning"]
    apps = client.AppsV1Api(api_client)
    assert apps.read_namespaced_deployment(f"{AGENT}-{canary}", gate.home).spec.replicas == 0

    # The webhook is down: a hand-written approval naming someone else goes through the apiserver
    # unstamped, and the operator refuses it.
    gate.mutating_down()
    try:
        forged = json.dumps(
            {"at": "2030-01-01T00:00:00Z", "by": "cluster-admin", "revision": canary, "step": 0}
        )
        kubectl(cluster, "annotate", "-n", gate.home, "agentdeployment", AGENT, f"{APPROVE}={forged}")
        refused = wait_for(
            lambda: (bool(e := gate.events("CommandRefused")), e), "the forged approval refused", timeout=60
        )
        assert "approve claiming to be by cluster-admin refused" in refused[0].message
        assert refused[0].type == "Warning"
        status = gate.status()
        assert status["canaryRevision"] == canary
        assert not status["rollout"].get("approval")
        assert status["stableRevision"] == first
    finally:
        gate.mutating_up()

    # agentctl approve through the webhook: stamped with the real identity and signed.
    _agentctl(cluster, gate.home, "approve", AGENT)
    promoted = wait_for(
        lambda: ((s := gate.status()).get("stableRevision") == canary and s.get("phase") == "Available", s),
        "the approved revision promoted",
        timeout=120,
    )
    assert not promoted.get("canaryRevision")
    admin = KubeApi(api_client).whoami()
    approved = gate.events("Approved")
    assert [e.message for e in approved] == [f"{admin} approved revision {canary} at step 0"]

    # agentctl diff shows the same widening between the two revisions.
    diff = _agentctl(cluster, gate.home, "diff", AGENT, "1", "2")
    assert "egress        spec.network.egress.allowedDomains: [api.example.com] -> +evil.example.org" in diff


def test_the_command_webhook_fails_closed_for_commands_only(
    cluster: ClusterInfo, api_client: client.ApiClient, crds_installed: None
) -> None:
    """With the webhook unreachable and failurePolicy Fail, a command write is rejected while every
    other write of the agent goes through: the matchCondition keeps them away from the webhook."""
    core = client.CoreV1Api(api_client)
    admission = client.AdmissionregistrationV1Api(api_client)
    token = f"dead-{secrets.token_hex(3)}"
    namespace = create_namespace(core, f"approval-{token}", {SCOPE_LABEL: token})
    hook = _webhook(
        "agents.mutate.agentoperator.dev",
        f"https://127.0.0.1:{free_port()}/mutate-agents",  # nothing listens there
        "agentdeployments",
        token,
        None,
    )
    assert hook["failurePolicy"] == "Fail"
    assert hook["matchConditions"][0]["expression"] == COMMAND_MATCH_CONDITION
    name = f"agent-operator-test-{token}"
    body: Any = {"metadata": {"name": name}, "webhooks": [hook]}
    admission.create_mutating_webhook_configuration(body)
    try:
        agent = agent_manifest("plain", namespace)
        _apply(cluster, agent)  # a create without commands never reaches the webhook
        kubectl(cluster, "-n", namespace, "patch", "agentdeployment", "plain", "--type=merge",
                "-p", '{"spec":{"replicas":3}}')  # fmt: skip
        kubectl(cluster, "-n", namespace, "annotate", "agentdeployment", "plain", "team=support")
        claim = json.dumps({"at": "2030-01-01T00:00:00Z", "by": "cluster-admin"})
        denied = kubectl(cluster, "-n", namespace, "annotate", "agentdeployment", "plain",
                         f"{APPROVE}={claim}", check=False)  # fmt: skip
        assert denied.returncode != 0
        assert 'failed calling webhook "agents.mutate.agentoperator.dev"' in denied.stderr
        annotations = (
            client.CustomObjectsApi(api_client)
            .get_namespaced_custom_object(GROUP, VERSION, namespace, "agentdeployments", "plain")["metadata"]
            .get("annotations")  # type: ignore[index]
            or {}
        )
        assert APPROVE not in annotations
        # Removing a command annotation is not a command: it passes too.
        kubectl(cluster, "-n", namespace, "annotate", "agentdeployment", "plain", "team-")
    finally:
        admission.delete_mutating_webhook_configuration(name)
        delete_namespace(core, namespace)
