"""Objects shared by the revisions: Services, network policies, PDB, monitoring, capabilities."""

from __future__ import annotations

from typing import Any

import pytest
from render_helpers import agent_dict, find, kinds, load_agent_file

from agent_operator.api import AgentDeployment
from agent_operator.render import ClusterCapabilities, render, render_shared, revision_hash

EVERYTHING = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)


def _agent(spec_patch: dict[str, Any], name: str = "production") -> AgentDeployment:
    doc = agent_dict(name)
    doc["spec"].update(spec_patch)
    return AgentDeployment.model_validate(doc)


def _selector(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    selector: dict[str, str] = find(objects, "Service", name)["spec"]["selector"]
    return selector


# --- capabilities ---------------------------------------------------------------------------


def test_capabilities_from_discovery() -> None:
    discovered = [
        ("apps", "Deployment"),
        ("cilium.io", "CiliumNetworkPolicy"),
        ("monitoring.coreos.com", "PrometheusRule"),
    ]
    assert ClusterCapabilities.from_api_groups(discovered) == ClusterCapabilities(
        cilium=True, service_monitor=False, prometheus_rule=True
    )
    assert ClusterCapabilities.from_api_groups([]) == ClusterCapabilities()
    # A kind of the same name in another group is not the one we render.
    assert not ClusterCapabilities.from_api_groups([("example.com", "ServiceMonitor")]).service_monitor


def test_without_capabilities_no_custom_resources_are_rendered() -> None:
    assert not {"CiliumNetworkPolicy", "ServiceMonitor", "PrometheusRule"} & set(
        kinds(render(load_agent_file("production")))
    )


def test_apply_order() -> None:
    assert kinds(render(load_agent_file("production"), EVERYTHING)) == [
        "ServiceAccount",
        "NetworkPolicy",
        "CiliumNetworkPolicy",
        "ConfigMap",
        "Deployment",
        "Service",
        "Service",
        "Service",
        "Service",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
    ]


# --- Services --------------------------------------------------------------------------------


def test_services_without_a_rollout() -> None:
    agent = load_agent_file("production")
    revision = revision_hash(agent)
    objects = render(agent)
    assert _selector(objects, "support-bot") == {"agentoperator.dev/agent": "support-bot"}
    pinned = {"agentoperator.dev/agent": "support-bot", "agentoperator.dev/revision": revision}
    assert _selector(objects, "support-bot-stable") == pinned
    assert _selector(objects, "support-bot-canary") == pinned, "canary falls back to stable"
    assert _selector(objects, f"support-bot-{revision}") == pinned
    assert find(objects, "Service", "support-bot")["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"},
    ]


def test_services_during_a_rollout() -> None:
    objects = render_shared(load_agent_file("production"), "aaaaaaaaaa", "bbbbbbbbbb", ClusterCapabilities())
    assert _selector(objects, "support-bot-stable")["agentoperator.dev/revision"] == "aaaaaaaaaa"
    assert _selector(objects, "support-bot-canary")["agentoperator.dev/revision"] == "bbbbbbbbbb"
    assert "agentoperator.dev/revision" not in _selector(objects, "support-bot")


def test_no_services_without_ports() -> None:
    assert "Service" not in kinds(render(load_agent_file("minimal"), EVERYTHING))


# --- PodDisruptionBudget ---------------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "has_pdb"), [(0, False), (1, False), (2, True), (4, True)])
def test_pdb_only_with_more_than_one_replica(replicas: int, has_pdb: bool) -> None:
    objects = render(_agent({"replicas": replicas}))
    assert ("PodDisruptionBudget" in kinds(objects)) is has_pdb
    if has_pdb:
        assert find(objects, "PodDisruptionBudget")["spec"] == {
            "maxUnavailable": 1,
            "selector": {
                "matchLabels": {"agentoperator.dev/agent": "support-bot"},
                "matchExpressions": [{"key": "agentoperator.dev/role", "operator": "DoesNotExist"}],
            },
        }


# --- NetworkPolicy ---------------------------------------------------------------------------

DNS_RULE = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}


def test_default_deny_with_only_dns_when_nothing_is_allowed() -> None:
    policy = find(render(load_agent_file("minimal")), "NetworkPolicy")
    assert policy["spec"] == {
        "podSelector": {"matchLabels": {"agentoperator.dev/agent": "hello-agent"}},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [DNS_RULE],
    }


def test_ingress_from_the_listed_peers_to_the_container_ports() -> None:
    policy = find(render(load_agent_file("production")), "NetworkPolicy")
    assert policy["spec"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}}},
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                },
                # The agent's own evaluation Job (the fixture has spec.evaluation).
                {
                    "podSelector": {
                        "matchLabels": {
                            "agentoperator.dev/agent": "support-bot",
                            "agentoperator.dev/role": "evaluation",
                        }
                    }
                },
            ],
            "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}],
        }
    ]


def test_without_an_evaluation_suite_only_the_listed_peers_get_in() -> None:
    doc = agent_dict("production")
    del doc["spec"]["evaluation"]
    doc["spec"]["rollout"]["canary"]["steps"] = [
        s for s in doc["spec"]["rollout"]["canary"]["steps"] if "evaluate" not in s
    ]
    policy = find(render(AgentDeployment.model_validate(doc)), "NetworkPolicy")
    assert all(
        "podSelector" not in peer or "namespaceSelector" in peer
        for peer in policy["spec"]["ingress"][0]["from"]
    )
    assert len(policy["spec"]["egress"]) == 2


def test_egress_to_dns_and_the_allowed_cidrs_on_the_allowed_ports() -> None:
    policy = find(render(load_agent_file("production")), "NetworkPolicy")
    assert policy["spec"]["egress"] == [
        DNS_RULE,
        {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        # The evaluation Job's pods reach the agent's own ports.
        {
            "to": [{"podSelector": {"matchLabels": {"agentoperator.dev/agent": "support-bot"}}}],
            "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}],
        },
    ]


def test_egress_ports_default_to_https() -> None:
    agent = _agent({"network": {"egress": {"allowedCIDRs": ["192.0.2.0/24"]}}})
    policy = find(render(agent), "NetworkPolicy")
    assert policy["spec"]["egress"][1]["ports"] == [{"port": 443, "protocol": "TCP"}]


@pytest.mark.parametrize("capabilities", [ClusterCapabilities(), EVERYTHING])
def test_allowed_domains_never_reopen_egress_in_the_network_policy(capabilities: ClusterCapabilities) -> None:
    """Policies are additive: a broad rule standing in for domain names would allow everything."""
    agent = load_agent_file("suspended")  # allowedDomains only, no CIDRs
    policy = find(render(agent, capabilities), "NetworkPolicy")
    assert policy["spec"]["egress"] == [DNS_RULE]
    assert "ingress" not in policy["spec"]


def test_cilium_policy_allows_exactly_the_listed_domains() -> None:
    policy = find(
        render(load_agent_file("production"), ClusterCapabilities(cilium=True)), "CiliumNetworkPolicy"
    )
    dns_rule, fqdn_rule = policy["spec"]["egress"]
    assert dns_rule["toPorts"][0]["rules"] == {"dns": [{"matchPattern": "*"}]}
    assert dns_rule["toEndpoints"] == [
        {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}
    ]
    assert fqdn_rule == {
        "toFQDNs": [{"matchName": "api.openai.com"}, {"matchPattern": "*.crm.example.com"}],
        "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}],
    }
    assert policy["spec"]["endpointSelector"] == {"matchLabels": {"agentoperator.dev/agent": "support-bot"}}


def test_no_cilium_policy_without_domains() -> None:
    agent = _agent({"network": {"egress": {"allowedCIDRs": ["192.0.2.0/24"]}}})
    assert "CiliumNetworkPolicy" not in kinds(render(agent, EVERYTHING))


# --- monitoring ------------------------------------------------------------------------------


def test_service_monitor_scrapes_each_pod_once_through_its_revision_service() -> None:
    objects = render(load_agent_file("production"), EVERYTHING)
    monitor = find(objects, "ServiceMonitor")
    selected = [
        o
        for o in objects
        if o["kind"] == "Service"
        and monitor["spec"]["selector"]["matchLabels"].items() <= o["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in selected] == [
        f"support-bot-{revision_hash(load_agent_file('production'))}"
    ]
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics"}]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["agents"]}


def test_metrics_port_by_number_resolves_to_its_name() -> None:
    agent = _agent({"observability": {"metrics": {"port": 9090, "path": "/m"}}})
    monitor = find(render(agent, EVERYTHING), "ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/m"}]


@pytest.mark.parametrize("metrics", [None, {"port": "nope"}, {"port": 1234}])
def test_no_service_monitor_without_a_resolvable_metrics_port(metrics: dict[str, Any] | None) -> None:
    observability = {} if metrics is None else {"metrics": metrics}
    assert "ServiceMonitor" not in kinds(render(_agent({"observability": observability}), EVERYTHING))


def test_prometheus_rule_alerts_on_each_configured_threshold() -> None:
    rule = find(render(load_agent_file("production"), EVERYTHING), "PrometheusRule")
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert list(rules) == [
        "AgentHighErrorRate",
        "AgentHighLatency",
        "AgentTaskFailures",
        "AgentBudgetNearlySpent",
        "AgentBudgetExhausted",
    ]
    selector = 'agentoperator_dev_agent="support-bot",namespace="agents"'
    assert rules["AgentHighErrorRate"]["expr"].endswith("> 5")
    assert f'agent_tasks_total{{{selector},status="failed"}}' in rules["AgentHighErrorRate"]["expr"]
    assert "histogram_quantile(0.95" in rules["AgentHighLatency"]["expr"]
    assert rules["AgentHighLatency"]["expr"].endswith("> 2")
    assert rules["AgentTaskFailures"]["expr"].endswith(">= 20")
    assert rules["AgentBudgetNearlySpent"]["expr"] == (
        f"sum(increase(agent_spend_usd_total{{{selector}}}[24h])) > 40"
    )
    assert rules["AgentBudgetExhausted"]["expr"].endswith(">= 50")
    for expr in (r["expr"] for r in rules.values()):
        assert expr.count("(") == expr.count(")")


def test_no_prometheus_rule_without_thresholds() -> None:
    agent = _agent({"observability": {"metrics": {"port": "metrics"}}, "runtime": {"timeoutSeconds": 30}})
    assert "PrometheusRule" not in kinds(render(agent, EVERYTHING))


def test_budget_alone_gives_budget_alerts() -> None:
    agent = _agent({"observability": None, "runtime": {"budget": {"dailyUSD": 10, "alertAtPercent": 50}}})
    rule = find(render(agent, EVERYTHING), "PrometheusRule")
    exprs = [r["expr"] for r in rule["spec"]["groups"][0]["rules"]]
    assert [e.rsplit(" ", 1)[-1] for e in exprs] == ["5", "10"]
