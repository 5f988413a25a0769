"""The Helm chart, rendered by the real helm: lint, strict schema validation of every object in the
default, namespaced and HA + cert-manager configurations, values.schema.json, hardening, the CRD
copies, and RBAC that matches what the operator does."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from typing import Any

import kopf
import kubernetes_validate
import pytest
import yaml

from agent_operator.api import ReadinessPolicy
from agent_operator.controller import handlers
from agent_operator.controller.admission import COMMAND_MATCH_CONDITION
from agent_operator.controller.sources import cluster_sources, namespace_sources
from agent_operator.kube.kinds import (
    AGENT_DEPLOYMENT,
    CHILD_KINDS,
    CONTROLLER_REVISION,
    EVENT,
    JOB,
    NAMESPACE,
    OPTIONAL_KINDS,
    SECRET,
)
from agent_operator.policy import builtin_policy, load_policy
from tests.support.chart import CHART_DIR, helm, render, require_helm, template_text
from tests.support.cluster import REPO_ROOT

VALIDATED_VERSIONS = ("1.30", "1.33", "1.37")
THIRD_PARTY_KINDS = frozenset({"Certificate", "Issuer", "ServiceMonitor"})
"""cert-manager and Prometheus Operator kinds: kubernetes-validate has no schema for them."""
OWN_CRD_KINDS = frozenset({"ReadinessPolicy", "ClusterKopfPeering", "KopfPeering"})
"""Kinds of the chart's own CRDs: ReadinessPolicies are checked with the API model below, the peering
objects (name only) by the real apiserver in tests/integration/test_install.py."""

NAMESPACED = {"watchNamespaces": "{team-a,team-b}"}
HA_CERT_MANAGER = {
    "replicas": "3",
    "webhook.certManager.enabled": "true",
    "metrics.serviceMonitor.enabled": "true",
}
CONFIGURATIONS = {"default": {}, "namespaced": NAMESPACED, "ha-cert-manager": HA_CERT_MANAGER}


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = _by_kind(objects, kind)
    return obj


def _operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (workload,) = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_helm_lint_strict() -> None:
    for values in CONFIGURATIONS.values():
        args = [arg for k, v in values.items() for arg in ("--set", f"{k}={v}")]
        result = helm("lint", "--strict", str(CHART_DIR), *args)
        assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_every_object_passes_strict_schema_validation(configuration: str) -> None:
    objects = render(CONFIGURATIONS[configuration], include_crds=True)
    assert objects
    for obj in objects:
        kind = obj["kind"]
        if kind in THIRD_PARTY_KINDS or kind in OWN_CRD_KINDS - {"ReadinessPolicy"}:
            continue
        if kind == "ReadinessPolicy":
            load_policy(ReadinessPolicy.model_validate(obj))
            continue
        for version in VALIDATED_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                pytest.fail(
                    f"{kind}/{obj['metadata']['name']} invalid for {version} at {where}: {exc.message}"
                )


def test_skipped_kinds_are_only_rendered_where_expected() -> None:
    """The skip lists above must not hide a kind by accident."""
    kinds = {o["kind"] for values in CONFIGURATIONS.values() for o in render(values)}
    assert kinds & THIRD_PARTY_KINDS == THIRD_PARTY_KINDS
    assert {"ClusterKopfPeering", "ReadinessPolicy"} <= kinds


# --- values.schema.json --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"webhook.failurePolicy": "Sometimes"},
            "at '/webhook/failurePolicy': value must be one of 'Ignore', 'Fail'",
        ),
        ({"replicas": "0"}, "at '/replicas'"),
        ({"replica": "2"}, "additional properties 'replica' not allowed"),
        ({"watchNamespaces": "{Team_A}"}, "at '/watchNamespaces/0'"),
        ({"resources.limits": "null"}, "at '/resources': missing property 'limits'"),
        ({"securityContext.runAsUser": "0"}, "at '/securityContext/runAsUser'"),
        ({"image.digest": "latest"}, "at '/image/digest'"),
        (
            {"readinessPolicies.production.enforcement": "Block"},
            "at '/readinessPolicies/production/enforcement'",
        ),
        ({"readinessPolicies.staging.checks.probes\\.liveness": "maybe"}, "probes.liveness"),
        (
            {"readinessPolicies.development.limits.maxRetries": "3"},
            "additional properties 'maxRetries' not allowed",
        ),
        ({"webhook.timeoutSeconds": "60"}, "at '/webhook/timeoutSeconds'"),
        ({"webhook.certManager.issuerRef.kind": "Vault"}, "at '/webhook/certManager/issuerRef/kind'"),
        ({"networkPolicy.apiServer.cidrs": "{10.0.0.1}"}, "at '/networkPolicy/apiServer/cidrs/0'"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else None,
)
def test_schema_rejects_bad_values(values: dict[str, str], message: str) -> None:
    result = template_text(values, check=False)
    assert result.returncode != 0, f"accepted {values}"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicas": "2"}, "replicas > 1 with webhook.enabled needs webhook.certManager.enabled=true"),
        ({"watchNamespaces": "{a,a}"}, "watchNamespaces lists a namespace twice"),
    ],
)
def test_cross_field_checks_fail_with_a_message(values: dict[str, str], message: str) -> None:
    result = template_text(values, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_ha_without_webhook_needs_no_cert_manager() -> None:
    objects = render({"replicas": "2", "webhook.enabled": "false"})
    assert _one(objects, "StatefulSet")["spec"]["replicas"] == 2
    assert not _by_kind(objects, "ValidatingWebhookConfiguration")


# --- the operator workload ---------------------------------------------------------------------


def test_default_operator_is_hardened_single_replica() -> None:
    objects = render()
    deployment = _one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["securityContext"]["runAsUser"], int)
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = _operator_container(objects)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert set(container["resources"]) == {"requests", "limits"}
    for part in ("requests", "limits"):
        assert set(container["resources"][part]) == {"cpu", "memory"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081, "webhook": 9443}
    assert not _by_kind(objects, "StatefulSet")


def test_default_args_follow_the_packaging_contract() -> None:
    args = _operator_container(render())["args"]
    assert args == [
        "--all-namespaces",
        "--metrics-port=8080",
        "--health-port=8081",
        "--log-format=json",
        "--webhook-port=9443",
        "--webhook-service=agent-operator-system/agent-operator-webhook",
        "--webhook-configuration=agent-operator",
    ]


def test_operator_cli_accepts_the_chart_args() -> None:
    """Every flag the chart passes is one `agentctl run` defines (parse only, nothing runs)."""
    from agent_operator.cli.main import build_parser  # the real parser of the console script

    for values in CONFIGURATIONS.values():
        args = [a.replace("$(POD_INDEX)", "1") for a in _operator_container(render(values))["args"]]
        build_parser().parse_args(["run", *args])


def test_namespaced_mode_watches_only_its_namespaces() -> None:
    args = _operator_container(render(NAMESPACED))["args"]
    assert args[:2] == ["--namespace=team-a", "--namespace=team-b"]
    assert "--all-namespaces" not in args


def test_ha_uses_peering_with_the_pod_index_as_distinct_priority() -> None:
    objects = render(HA_CERT_MANAGER)
    statefulset = _one(objects, "StatefulSet")
    assert statefulset["spec"]["replicas"] == 3
    container = _operator_container(objects)
    assert "--peering=agent-operator" in container["args"]
    assert "--priority=$(POD_INDEX)" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert (
        env["POD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
        == "metadata.labels['apps.kubernetes.io/pod-index']"
    )
    assert _one(objects, "ClusterKopfPeering")["metadata"]["name"] == "agent-operator"
    assert not _by_kind(objects, "Deployment")


def test_namespaced_ha_has_a_kopf_peering_per_namespace() -> None:
    objects = render({**NAMESPACED, **HA_CERT_MANAGER})
    assert sorted(p["metadata"]["namespace"] for p in _by_kind(objects, "KopfPeering")) == [
        "team-a",
        "team-b",
    ]
    assert not _by_kind(objects, "ClusterKopfPeering")


# --- webhook -----------------------------------------------------------------------------------


def _webhooks(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        kind: _one(objects, kind)["webhooks"][0]
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
    }


def test_webhooks_use_a_service_reference_and_the_contract_paths() -> None:
    objects = render()
    hooks = _webhooks(objects)
    paths = {kind: hook["clientConfig"]["service"]["path"] for kind, hook in hooks.items()}
    assert paths == {
        "ValidatingWebhookConfiguration": "/validate-agents",
        "MutatingWebhookConfiguration": "/mutate-agents",
    }
    service = next(
        s for s in _by_kind(objects, "Service") if s["metadata"]["name"] == "agent-operator-webhook"
    )
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    for hook in hooks.values():
        assert hook["clientConfig"]["service"] == {
            "name": "agent-operator-webhook",
            "namespace": "agent-operator-system",
            "path": hook["clientConfig"]["service"]["path"],
            "port": 443,
        }
        assert "url" not in hook["clientConfig"]
        assert "caBundle" not in hook["clientConfig"]  # the operator patches it in self-signed mode
        assert (hook["sideEffects"], hook["timeoutSeconds"]) == ("None", 5)
        assert hook["admissionReviewVersions"] == ["v1"]
    assert hooks["ValidatingWebhookConfiguration"]["failurePolicy"] == "Ignore"
    # The command webhook fails closed, and only command writes go through it.
    mutating = hooks["MutatingWebhookConfiguration"]
    assert mutating["failurePolicy"] == "Fail"
    assert [c["expression"] for c in mutating["matchConditions"]] == [COMMAND_MATCH_CONDITION]
    assert hooks["ValidatingWebhookConfiguration"]["rules"][0]["resources"] == [
        "agentdeployments",
        "readinesspolicies",
    ]
    assert hooks["MutatingWebhookConfiguration"]["rules"][0]["resources"] == ["agentdeployments"]


def test_namespaced_mode_webhooks_select_the_watched_namespaces() -> None:
    for hook in _webhooks(render(NAMESPACED)).values():
        (expression,) = hook["namespaceSelector"]["matchExpressions"]
        assert expression == {
            "key": "kubernetes.io/metadata.name",
            "operator": "In",
            "values": ["team-a", "team-b"],
        }


def test_cert_manager_mode_injects_the_ca_and_mounts_the_certificate() -> None:
    objects = render(HA_CERT_MANAGER)
    certificate = _one(objects, "Certificate")
    issuer = _one(objects, "Issuer")
    assert certificate["spec"]["issuerRef"] == {"kind": "Issuer", "name": issuer["metadata"]["name"]}
    assert certificate["spec"]["dnsNames"] == [
        "agent-operator-webhook.agent-operator-system.svc",
        "agent-operator-webhook.agent-operator-system.svc.cluster.local",
    ]
    source = f"agent-operator-system/{certificate['metadata']['name']}"
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        assert _one(objects, kind)["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": source}
    container = _operator_container(objects)
    assert "--webhook-cert-dir=/etc/agent-operator/webhook-tls" in container["args"]
    (workload,) = [o for o in objects if o["kind"] == "StatefulSet"]
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    assert volumes["webhook-tls"]["secret"]["secretName"] == certificate["spec"]["secretName"]


def test_existing_issuer_replaces_the_chart_issuer() -> None:
    objects = render(
        {
            "webhook.certManager.enabled": "true",
            "webhook.certManager.issuerRef.kind": "ClusterIssuer",
            "webhook.certManager.issuerRef.name": "corp-ca",
        }
    )
    assert not _by_kind(objects, "Issuer")
    assert _one(objects, "Certificate")["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "corp-ca"}


# --- ReadinessPolicies, metrics, PDB, NetworkPolicy -------------------------------------------------


@pytest.mark.parametrize("environment", ["production", "staging", "development"])
def test_default_policies_mirror_the_builtin_profiles(environment: str) -> None:
    policies = {p["metadata"]["name"]: p for p in _by_kind(render(), "ReadinessPolicy")}
    assert set(policies) == {"production", "staging", "development"}
    effective = load_policy(ReadinessPolicy.model_validate(policies[environment]))
    builtin = builtin_policy(environment)  # type: ignore[arg-type]
    assert dict(effective.levels) == dict(builtin.levels)
    assert effective.limits == builtin.limits
    assert effective.enforcement == builtin.enforcement
    assert policies[environment]["spec"]["selector"] == {"environments": [environment]}


def test_policies_can_be_turned_off() -> None:
    objects = render({f"readinessPolicies.{e}.enabled": "false" for e in ("production", "staging")})
    assert [p["metadata"]["name"] for p in _by_kind(objects, "ReadinessPolicy")] == ["development"]


def test_metrics_service_and_service_monitor() -> None:
    objects = render(HA_CERT_MANAGER)
    service = next(
        s for s in _by_kind(objects, "Service") if s["metadata"]["name"] == "agent-operator-metrics"
    )
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    monitor = _one(objects, "ServiceMonitor")
    assert all(
        service["metadata"]["labels"][k] == v for k, v in monitor["spec"]["selector"]["matchLabels"].items()
    )
    webhook = next(
        s for s in _by_kind(objects, "Service") if s["metadata"]["name"] == "agent-operator-webhook"
    )
    assert not all(
        webhook["metadata"]["labels"].get(k) == v
        for k, v in monitor["spec"]["selector"]["matchLabels"].items()
    )
    assert not _by_kind(render(), "ServiceMonitor")


def test_pdb_and_network_policy_select_the_operator() -> None:
    objects = render()
    selector = _one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert _one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    policy = _one(objects, "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"] == selector
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    webhook_rule, metrics_rule = policy["spec"]["ingress"]
    assert "from" not in webhook_rule
    assert webhook_rule["ports"] == [{"port": "webhook", "protocol": "TCP"}]
    assert metrics_rule["from"]
    assert metrics_rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {(443, "TCP"), (6443, "TCP"), (53, "UDP"), (53, "TCP")}


# --- CRDs and plain manifests -------------------------------------------------------------------


def test_chart_crds_are_identical_copies_of_the_top_level_crds() -> None:
    top = {p.name: p.read_bytes() for p in sorted((REPO_ROOT / "crds").glob("*.yaml"))}
    chart = {p.name: p.read_bytes() for p in sorted((CHART_DIR / "crds").glob("*.yaml"))}
    assert top
    for name, content in top.items():
        assert chart.get(name) == content, (
            f"charts/agent-operator/crds/{name} differs from crds/{name}: make chart-crds"
        )
    assert set(chart) - set(top) == {"kopf-peering.kopf.dev.yaml"}


def test_kopf_peering_crds_match_what_kopf_uses() -> None:
    docs = list(yaml.safe_load_all((CHART_DIR / "crds" / "kopf-peering.kopf.dev.yaml").read_text()))
    served = {
        (
            d["spec"]["group"],
            d["spec"]["versions"][0]["name"],
            d["spec"]["names"]["plural"],
            d["spec"]["scope"],
        )
        for d in docs
    }
    assert served == {
        ("kopf.dev", "v1", "clusterkopfpeerings", "Cluster"),
        ("kopf.dev", "v1", "kopfpeerings", "Namespaced"),
    }


def test_manifests_install_yaml_has_not_drifted() -> None:
    rendered = subprocess.run(
        [str(REPO_ROOT / "hack" / "render-manifests.sh")],
        capture_output=True,
        text=True,
        check=True,
        env={"HELM": str(require_helm()), "PATH": "/usr/bin:/bin"},
    ).stdout
    committed = (REPO_ROOT / "manifests" / "install.yaml").read_text()
    assert rendered == committed, "manifests/install.yaml is out of date: run `make manifests`"
    kinds = [d["kind"] for d in yaml.safe_load_all(committed) if d]
    assert kinds[0] == "Namespace"
    assert kinds.count("CustomResourceDefinition") == 4
    kustomization = yaml.safe_load((REPO_ROOT / "manifests" / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["install.yaml"]


# --- RBAC: exactly what the operator does -------------------------------------------------------

Grants = dict[tuple[str, str, tuple[str, ...]], set[str]]


def _grants(rules: list[dict[str, Any]]) -> Grants:
    out: Grants = defaultdict(set)
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out[(group, resource, tuple(rule.get("resourceNames") or ()))] |= set(rule["verbs"])
    return dict(out)


def _selected(handler: Any) -> tuple[str, str]:
    """(API group, plural) a registered kopf handler watches."""
    selector = handler.selector
    assert isinstance(selector.group, str)
    assert isinstance(selector.any_name, str)
    return selector.group, selector.any_name


def _expected_cluster_wide_grants() -> Grants:
    """Derived from the code: the kinds the reconciler reads and writes (agent_operator.kube.kinds),
    what kopf watches and patches (the registered handlers), and the webhook's caBundle patch."""
    expected: Grants = defaultdict(set)

    def grant(group: str, plural: str, *verbs: str, names: tuple[str, ...] = ()) -> None:
        expected[(group, plural, names)] |= set(verbs)

    # The watch cache lists and watches every source (controller/sources.py), add-on kinds included.
    for source in (*namespace_sources(None, frozenset(OPTIONAL_KINDS)), *cluster_sources()):
        grant(source.kind.group, source.kind.plural, "list", "watch")
    for kind in CHILD_KINDS:  # plan applies (patch, create if absent) or prunes
        grant(kind.group, kind.plural, "create", "patch", "delete")
    grant(CONTROLLER_REVISION.group, CONTROLLER_REVISION.plural, "create", "patch", "delete")
    grant(JOB.group, JOB.plural, "create")  # evaluation Jobs: created, never updated or pruned
    grant(SECRET.group, SECRET.plural, "get")  # the analysis runner's Prometheus credentials
    grant(EVENT.group, EVENT.plural, "create")
    grant(NAMESPACE.group, NAMESPACE.plural, "get")  # admission: the namespace's labels
    grant(AGENT_DEPLOYMENT.group, f"{AGENT_DEPLOYMENT.plural}/status", "patch")
    grant(AGENT_DEPLOYMENT.group, f"{AGENT_DEPLOYMENT.plural}/finalizers", "update")  # blockOwnerDeletion
    registry = kopf.get_default_registry()
    assert handlers.PREFIX  # the handlers module registered itself on import
    for group, plural in map(_selected, registry._watching.get_all_handlers()):
        grant(group, plural, "list", "watch")
    for group, plural in map(_selected, registry._spawning.get_all_handlers()):
        grant(group, plural, "list", "watch", "patch")  # timers: kopf adds its finalizer
    for plural in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        grant("admissionregistration.k8s.io", plural, "get", "patch", names=("agent-operator",))
    return dict(expected)


def test_cluster_role_grants_exactly_what_the_operator_uses() -> None:
    role = _one(render(show_only=["templates/rbac.yaml"]), "ClusterRole")
    actual = _grants(role["rules"])
    expected = _expected_cluster_wide_grants()
    missing = {k: v - actual.get(k, set()) for k, v in expected.items() if v - actual.get(k, set())}
    unused = {k: v - expected.get(k, set()) for k, v in actual.items() if v - expected.get(k, set())}
    assert not missing, f"the chart misses permissions the operator uses: {missing}"
    assert not unused, f"the chart grants permissions the operator does not use: {unused}"


def test_namespaced_mode_splits_rbac_by_scope() -> None:
    objects = render(NAMESPACED, show_only=["templates/rbac.yaml"])
    roles = _by_kind(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in _by_kind(objects, "RoleBinding")) == [
        "team-a",
        "team-b",
    ]
    cluster = _grants(_one(objects, "ClusterRole")["rules"])
    assert set(cluster) == {
        ("agentoperator.dev", "readinesspolicies", ()),
        ("apiextensions.k8s.io", "customresourcedefinitions", ()),
        ("", "namespaces", ("team-a", "team-b")),
        ("", "namespaces", ()),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", ("agent-operator",)),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", ("agent-operator",)),
    }
    assert cluster[("", "namespaces", ("team-a", "team-b"))] == {"get"}
    assert cluster[("", "namespaces", ())] == {"list", "watch"}  # the watch cache
    # Everything namespaced lives in the Roles, with the same verbs as cluster-wide mode.
    wide = _expected_cluster_wide_grants()
    role = _grants(roles[0]["rules"])
    assert role == {
        k: v for k, v in wide.items() if k not in cluster and k[1] not in ("namespaces", "readinesspolicies")
    }


def test_ha_grants_kopf_peering_and_cert_manager_mode_drops_the_ca_bundle_patch() -> None:
    grants = _grants(_one(render(HA_CERT_MANAGER, show_only=["templates/rbac.yaml"]), "ClusterRole")["rules"])
    assert grants[("kopf.dev", "clusterkopfpeerings", ())] == {
        "get",
        "list",
        "watch",
    }  # get: the wake-up gate (controller/peering.py)
    assert grants[("kopf.dev", "clusterkopfpeerings", ("agent-operator",))] == {"patch"}
    assert not [k for k in grants if k[0] == "admissionregistration.k8s.io"]
    namespaced = render({**NAMESPACED, **HA_CERT_MANAGER}, show_only=["templates/rbac.yaml"])
    for role in _by_kind(namespaced, "Role"):
        assert _grants(role["rules"])[("kopf.dev", "kopfpeerings", ("agent-operator",))] == {"patch"}


def test_rbac_binds_the_operator_service_account() -> None:
    objects = render()
    account = _one(objects, "ServiceAccount")["metadata"]["name"]
    binding = _one(objects, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": "agent-operator-system"}
    ]
    assert _one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == account


def test_readme_lists_every_value() -> None:
    readme = (CHART_DIR / "README.md").read_text()
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())

    def leaves(prefix: str, node: Any) -> list[str]:
        if isinstance(node, dict) and node and prefix not in _FREEFORM:
            return [leaf for k, v in node.items() for leaf in leaves(f"{prefix}.{k}" if prefix else k, v)]
        return [prefix]

    missing = [key for key in leaves("", values) if f"`{key}`" not in readme]
    assert not missing, f"charts/agent-operator/README.md does not list: {missing}"


_FREEFORM = frozenset(
    {
        "resources",
        *(f"readinessPolicies.{e}.limits" for e in ("production", "staging", "development")),
        "networkPolicy.dns.podLabels",
    }
)
"""Values documented as a whole, not key by key."""
