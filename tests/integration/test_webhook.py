"""The admission webhook on the real apiserver: the operator process serves it over TLS on
loopback, and the apiserver calls it for every AgentDeployment and ReadinessPolicy write in the
test's namespaces.

Each webhook configuration is scoped by a label only these tests' namespaces and policies carry,
uses failurePolicy Ignore (a denial is an answer, not a failure, so denials are still tested),
and is deleted when the module ends, whatever happened.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from agent_operator.controller.admission import COMMAND_MATCH_CONDITION
from agent_operator.controller.webhook_tls import generate_serving_certificate, write_generated
from agent_operator.kube import KubeApi
from tests.support.cluster import ClusterInfo
from tests.support.kube import kubectl
from tests.support.operator import LOG_DIR, OperatorProcess, agent_manifest, free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

GROUP, VERSION = "agentoperator.dev", "v1alpha1"
SCOPE_LABEL = "agentoperator.dev/webhook-test"
APPROVE = "agentoperator.dev/command.approve"
CREDENTIAL = "sk-proj-Zx81mQv3T7wLp0sN4rYb6KfH2cJd9EaU5gXo1iWt"


def _rule(plural: str) -> dict[str, Any]:
    return {
        "apiGroups": [GROUP],
        "apiVersions": [VERSION],
        "resources": [plural],
        "operations": ["CREATE", "UPDATE"],
    }


def _webhook(name: str, url: str, plural: str, token: str, ca: str | None) -> dict[str, Any]:
    """A webhook as the chart configures it, scoped to this rig's namespaces or policies. The
    mutating one, like the chart's, only sees command writes and fails closed."""
    scope = {"matchLabels": {SCOPE_LABEL: token}}
    hook: dict[str, Any] = {
        "name": name,
        "clientConfig": {"url": url, **({"caBundle": ca} if ca else {})},
        "rules": [_rule(plural)],
        "failurePolicy": "Ignore",
        "sideEffects": "None",
        "timeoutSeconds": 10,
        "admissionReviewVersions": ["v1"],
    }
    # Namespaced agents: only namespaces with the label. Cluster-scoped policies: only labelled ones.
    hook["namespaceSelector" if plural == "agentdeployments" else "objectSelector"] = scope
    if url.endswith("/mutate-agents"):
        hook["failurePolicy"] = "Fail"
        hook["matchConditions"] = [
            {"name": "writes-a-command-annotation", "expression": COMMAND_MATCH_CONDITION}
        ]
    return hook


class WebhookRig:
    """An operator process serving the webhook on 127.0.0.1, and the two webhook configurations
    that send this rig's namespaces and policies to it."""

    def __init__(self, cluster: ClusterInfo, api_client: client.ApiClient, home: str, cert_dir: Path | None):
        self.token = f"rig-{secrets.token_hex(4)}"
        self.configuration = f"agent-operator-test-{self.token}"
        self.port = free_port()
        self.admission = client.AdmissionregistrationV1Api(api_client)
        extra = ["--webhook-port", str(self.port), "--webhook-configuration", self.configuration]
        if cert_dir is not None:
            extra += ["--webhook-cert-dir", str(cert_dir)]
        self.operator = OperatorProcess(
            cluster,
            LOG_DIR / f"webhook-operator-{self.token}.log",
            scope=("-n", home),
            extra_args=extra,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def create_configurations(self, ca: str | None) -> None:
        base = f"https://127.0.0.1:{self.port}"
        validating: Any = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": self.configuration},
            "webhooks": [
                _webhook(
                    "agents.validate.agentoperator.dev",
                    f"{base}/validate-agents",
                    "agentdeployments",
                    self.token,
                    ca,
                ),
                _webhook(
                    "policies.validate.agentoperator.dev",
                    f"{base}/validate-agents",
                    "readinesspolicies",
                    self.token,
                    ca,
                ),
            ],
        }
        self.admission.create_validating_webhook_configuration(validating)
        mutating: Any = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": self.configuration},
            "webhooks": [
                _webhook(
                    "agents.mutate.agentoperator.dev",
                    f"{base}/mutate-agents",
                    "agentdeployments",
                    self.token,
                    ca,
                ),
            ],
        }
        self.admission.create_mutating_webhook_configuration(mutating)

    def delete_configurations(self) -> None:
        for delete in (
            self.admission.delete_validating_webhook_configuration,
            self.admission.delete_mutating_webhook_configuration,
        ):
            try:
                delete(self.configuration)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise

    def start(self) -> None:
        self.operator.start()

    def stop(self) -> None:
        self.operator.stop()

    def log_tail(self, lines: int = 40) -> str:
        return self.operator.log_tail(lines)

    def ca_bundles(self) -> list[str]:
        validating = self.admission.read_validating_webhook_configuration(self.configuration)
        mutating = self.admission.read_mutating_webhook_configuration(self.configuration)
        hooks = [*(validating.webhooks or []), *(mutating.webhooks or [])]
        return [str(w.client_config.ca_bundle or "") for w in hooks]  # type: ignore[attr-defined]

    def served_certificate_verifies(self, ca_pem: bytes) -> bool:
        context = ssl.create_default_context(cadata=ca_pem.decode())
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return True
        except OSError:
            return False

    def wait_until_serving(self, custom: client.CustomObjectsApi, namespace: str) -> None:
        """Until the apiserver reaches both webhooks: a dry-run approval comes back stamped."""
        body = agent_manifest("probe", namespace)
        body["metadata"]["annotations"] = {
            APPROVE: json.dumps({"at": "2026-01-01T00:00:00Z", "by": "nobody"})
        }

        def stamped() -> tuple[bool, str]:
            self.operator.assert_running()
            created: dict[str, Any] = custom.create_namespaced_custom_object(  # type: ignore[assignment]
                GROUP, VERSION, namespace, "agentdeployments", body, dry_run="All"
            )
            by = json.loads(created["metadata"]["annotations"][APPROVE])["by"]
            return by != "nobody", f"by={by}"

        wait_for(stamped, "the apiserver calling the operator's mutating webhook", timeout=90)


@pytest.fixture(scope="module")
def rig(
    cluster: ClusterInfo,
    api_client: client.ApiClient,
    crds_installed: None,
    custom_objects: client.CustomObjectsApi,
) -> Iterator[WebhookRig]:
    """Self-signed mode: the operator generates its CA and writes it into the caBundle."""
    core = client.CoreV1Api(api_client)
    home = f"webhook-home-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=home)))
    rig = WebhookRig(cluster, api_client, home, cert_dir=None)
    probe_ns = f"webhook-probe-{secrets.token_hex(3)}"
    try:
        rig.create_configurations(ca=None)
        rig.start()
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=probe_ns, labels={SCOPE_LABEL: rig.token}))
        )
        rig.wait_until_serving(custom_objects, probe_ns)
        yield rig
    finally:
        rig.delete_configurations()  # first: a configuration pointing at a dead port must not linger
        rig.stop()
        for name in (home, probe_ns):
            try:
                core.delete_namespace(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture
def scoped_namespace(rig: WebhookRig, make_namespace: Callable[..., str]) -> str:
    """A fresh namespace the rig's webhooks apply to."""
    return make_namespace({SCOPE_LABEL: rig.token})


@pytest.fixture
def policies(api_client: client.ApiClient, rig: WebhookRig) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create ReadinessPolicies (labelled for the rig's policy webhook) that select one namespace;
    all deleted afterwards."""
    custom = client.CustomObjectsApi(api_client)
    created: list[str] = []

    def make(namespace: str, enforcement: str, **spec: Any) -> dict[str, Any]:
        name = f"{namespace}-{enforcement.lower()}"
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ReadinessPolicy",
            "metadata": {"name": name, "labels": {SCOPE_LABEL: rig.token}},
            "spec": {
                "enforcement": enforcement,
                "priority": 1000,
                "selector": {
                    # development: the built-in base the test agents pass, plus the STRICT checks
                    "environments": ["development"],
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                },
                **spec,
            },
        }
        result: dict[str, Any] = custom.create_cluster_custom_object(  # type: ignore[assignment]
            GROUP, VERSION, "readinesspolicies", body
        )
        created.append(name)
        return result

    yield make
    for name in created:
        try:
            custom.delete_cluster_custom_object(GROUP, VERSION, "readinesspolicies", name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def _noncompliant(name: str, namespace: str) -> dict[str, Any]:
    agent = agent_manifest(name, namespace)
    agent["spec"]["container"]["image"] = "registry.example.com/support-bot:latest"
    agent["spec"]["container"]["env"] = [{"name": "PROVIDER_CREDENTIAL", "value": CREDENTIAL}]
    return agent


STRICT = {
    "checks": {"image.pinned": "required", "secrets.noLiterals": "required"},
    "limits": {"requireImageDigest": True},
}


def _apply(cluster: ClusterInfo, obj: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return kubectl(cluster, "apply", "-f", "-", *extra, input_text=yaml.safe_dump(obj), check=False)


# -- TLS ---------------------------------------------------------------------------------------


def test_the_operator_publishes_its_generated_ca_in_both_configurations(rig: WebhookRig) -> None:
    bundles = rig.ca_bundles()
    assert len(bundles) == 3
    assert len(set(bundles)) == 1
    ca_pem = base64.b64decode(bundles[0])
    assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert rig.served_certificate_verifies(ca_pem)


# -- validating --------------------------------------------------------------------------------


def test_enforce_denies_a_noncompliant_agent_with_the_checks_and_fixes(
    cluster: ClusterInfo, scoped_namespace: str, policies: Callable[..., dict[str, Any]]
) -> None:
    policies(scoped_namespace, "Enforce", **STRICT)
    result = _apply(cluster, _noncompliant("leaky", scoped_namespace))
    assert result.returncode != 0, result.stdout
    assert 'admission webhook "agents.validate.agentoperator.dev" denied the request' in result.stderr
    assert (
        f"AgentDeployment {scoped_namespace}/leaky is not production-ready under ReadinessPolicy"
        in result.stderr
    )
    assert "2 required check(s) fail: secrets.noLiterals, image.pinned" in result.stderr
    assert "  - image.pinned: container 'agent' image is not pinned by digest" in result.stderr
    assert "Fix: Store the value in a Secret" in result.stderr
    assert CREDENTIAL not in result.stderr + result.stdout
    assert CREDENTIAL[:12] not in result.stderr


def test_enforce_admits_a_compliant_agent(
    cluster: ClusterInfo,
    scoped_namespace: str,
    policies: Callable[..., dict[str, Any]],
    custom_objects: client.CustomObjectsApi,
) -> None:
    policies(scoped_namespace, "Enforce", **STRICT)
    result = _apply(cluster, agent_manifest("tidy", scoped_namespace))
    assert result.returncode == 0, result.stderr
    assert "agentdeployment.agentoperator.dev/tidy created" in result.stdout
    # Only warning-level findings of the development base remain, as warnings.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert all("(warning): " in w for w in warnings), warnings
    custom_objects.get_namespaced_custom_object(GROUP, VERSION, scoped_namespace, "agentdeployments", "tidy")


def test_metadata_updates_and_deletion_of_a_now_noncompliant_agent_pass(
    cluster: ClusterInfo, scoped_namespace: str, policies: Callable[..., dict[str, Any]]
) -> None:
    """An Enforce policy arriving later must not block a rollback annotation or a delete."""
    legacy = agent_manifest("legacy", scoped_namespace)
    legacy["spec"]["container"]["image"] = "registry.example.com/support-bot:1.0"  # fine without a policy
    created = _apply(cluster, legacy)
    assert created.returncode == 0, created.stderr
    policies(scoped_namespace, "Enforce", **STRICT)
    rollback = json.dumps({"at": "2026-01-01T00:00:00Z", "by": "x"})
    kubectl(cluster, "annotate", "-n", scoped_namespace, "agentdeployment", "legacy",
            f"agentoperator.dev/command.rollback={rollback}")  # fmt: skip
    scaled = kubectl(cluster, "patch", "-n", scoped_namespace, "agentdeployment", "legacy", "--type=merge",
                     "-p", '{"spec":{"replicas":3}}', check=False)  # fmt: skip
    assert scaled.returncode != 0
    assert "denied the request" in scaled.stderr
    kubectl(cluster, "delete", "-n", scoped_namespace, "agentdeployment", "legacy", "--wait=false")


def test_warn_mode_returns_warnings_that_kubectl_prints(
    cluster: ClusterInfo, scoped_namespace: str, policies: Callable[..., dict[str, Any]]
) -> None:
    policies(scoped_namespace, "Warn", **STRICT)
    result = _apply(cluster, _noncompliant("soft", scoped_namespace))
    assert result.returncode == 0, result.stderr
    assert "agentdeployment.agentoperator.dev/soft created" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings[0] == (
        f"Warning: ReadinessPolicy {scoped_namespace}-warn (Warn) admits this agent, but 2 required check(s) "
        "fail; Enforce would deny it"
    )
    assert any(
        w.startswith("Warning: image.pinned (required): container 'agent' image is not pinned")
        for w in warnings
    )
    assert any(w.startswith("Warning: secrets.noLiterals (required): ") for w in warnings)
    assert CREDENTIAL not in result.stderr


def test_audit_mode_admits_silently(
    cluster: ClusterInfo, scoped_namespace: str, policies: Callable[..., dict[str, Any]]
) -> None:
    policies(scoped_namespace, "Audit", **STRICT)
    result = _apply(cluster, _noncompliant("quiet", scoped_namespace))
    assert result.returncode == 0, result.stderr
    assert "Warning:" not in result.stderr


def test_an_invalid_policy_is_denied_with_its_problems(cluster: ClusterInfo, rig: WebhookRig) -> None:
    name = f"typo-{rig.token}"
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ReadinessPolicy",
        "metadata": {"name": name, "labels": {SCOPE_LABEL: rig.token}},
        "spec": {
            "selector": {"agentSelector": {"matchLabels": {"never": name}}},
            "checks": {"probes.livenes": "required"},
            "rules": [{"name": "half", "expression": "object.spec.replicas >=", "message": "m"}],
        },
    }
    result = _apply(cluster, body)
    if result.returncode == 0:  # never leave a stray policy behind
        kubectl(cluster, "delete", "readinesspolicy", name, check=False)
    assert result.returncode != 0
    assert 'admission webhook "policies.validate.agentoperator.dev" denied the request' in result.stderr
    assert f"ReadinessPolicy {name} is invalid:" in result.stderr
    assert "spec.checks.probes.livenes: unknown check; did you mean probes.liveness?" in result.stderr
    assert "spec.rules[0].expression:" in result.stderr


# -- mutating ----------------------------------------------------------------------------------


def test_approval_identity_is_stamped_with_the_requesting_user(
    cluster: ClusterInfo,
    api_client: client.ApiClient,
    scoped_namespace: str,
    custom_objects: client.CustomObjectsApi,
) -> None:
    assert _apply(cluster, agent_manifest("gated", scoped_namespace)).returncode == 0
    admin = KubeApi(api_client).whoami()
    assert admin

    def approval_by() -> str:
        obj: dict[str, Any] = custom_objects.get_namespaced_custom_object(  # type: ignore[assignment]
            GROUP, VERSION, scoped_namespace, "agentdeployments", "gated"
        )
        return str(json.loads(obj["metadata"]["annotations"][APPROVE])["by"])

    claim = json.dumps({"at": "2026-01-01T00:00:00Z", "by": "the-boss", "revision": "abc"})
    kubectl(cluster, "annotate", "-n", scoped_namespace, "agentdeployment", "gated", f"{APPROVE}={claim}")
    assert approval_by() == admin

    rbac = client.RbacAuthorizationV1Api(api_client)
    role: Any = {
        "metadata": {"name": "approver"},
        "rules": [{"apiGroups": [GROUP], "resources": ["agentdeployments"], "verbs": ["get", "patch"]}],
    }
    rbac.create_namespaced_role(scoped_namespace, role)
    binding: Any = {
        "metadata": {"name": "approver"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "approver"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane@example.com"}],
    }
    rbac.create_namespaced_role_binding(scoped_namespace, binding)
    again = json.dumps({"at": "2026-01-02T00:00:00Z", "by": admin, "revision": "abc"})
    kubectl(cluster, "annotate", "--overwrite", "--as", "jane@example.com", "-n", scoped_namespace,
            "agentdeployment", "gated", f"{APPROVE}={again}")  # fmt: skip
    assert approval_by() == "jane@example.com"

    # An unrelated change by someone else keeps jane as the approver.
    kubectl(cluster, "label", "-n", scoped_namespace, "agentdeployment", "gated", "team=support")
    assert approval_by() == "jane@example.com"


# -- mounted certificate -----------------------------------------------------------------------


def test_a_mounted_certificate_is_served_and_the_ca_bundle_left_alone(
    cluster: ClusterInfo,
    api_client: client.ApiClient,
    crds_installed: None,
    custom_objects: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    tmp_path: Path,
) -> None:
    """cert-manager mode: tls.crt/tls.key from a directory, caBundle injected by someone else."""
    from datetime import UTC, datetime

    generated = generate_serving_certificate(["127.0.0.1"], now=datetime.now(UTC))
    files = write_generated(generated, tmp_path)
    home = make_namespace()
    rig = WebhookRig(cluster, api_client, home, cert_dir=files.certfile.parent)
    ca = base64.b64encode(generated.ca_pem).decode()
    try:
        rig.create_configurations(ca=ca)
        rig.start()
        namespace = make_namespace({SCOPE_LABEL: rig.token})
        rig.wait_until_serving(custom_objects, namespace)
        assert set(rig.ca_bundles()) == {ca}
        assert "generating a self-signed" not in rig.log_tail(200)
    finally:
        rig.delete_configurations()
        rig.stop()
