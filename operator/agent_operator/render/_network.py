"""Network reach: a default-deny NetworkPolicy and, on Cilium, an FQDN egress policy.

Policies are additive, so nothing here ever allows more than the spec lists. allowedDomains in
particular are not turned into a broad egress rule when the CNI cannot match names: they are
enforced by the CiliumNetworkPolicy or not at all (the readiness checks say so).
"""

from __future__ import annotations

from typing import Any, Final

from ..api import AgentDeployment
from ._meta import AGENT_LABEL, agent_labels, agent_selector, evaluation_selector, object_meta

DNS_PORT: Final = 53
DEFAULT_EGRESS_PORTS: Final = ({"port": 443, "protocol": "TCP"},)
KUBE_DNS_NAMESPACE: Final = "kube-system"
KUBE_DNS_LABELS: Final = {"k8s-app": "kube-dns"}


def _kube_dns_peer() -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KUBE_DNS_NAMESPACE}},
        "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)},
    }


def egress_ports(agent: AgentDeployment) -> list[dict[str, Any]]:
    """Ports allowed to the listed destinations: spec.network.egress.ports, else 443/TCP."""
    egress = agent.spec.network.egress if agent.spec.network else None
    if egress is not None and egress.ports:
        return [p.to_wire() for p in egress.ports]
    return [dict(p) for p in DEFAULT_EGRESS_PORTS]


def network_policy(agent: AgentDeployment) -> dict[str, Any]:
    network = agent.spec.network
    ingress_from = network.ingress_from if network else None
    egress = network.egress if network else None
    container_ports = agent.spec.container.ports or []

    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": agent_selector(agent)},
        "policyTypes": ["Ingress", "Egress"],
    }
    ports = [{"port": p.container_port, "protocol": p.protocol or "TCP"} for p in container_ports]
    peers = [peer.to_wire() for peer in ingress_from or []]
    if agent.spec.evaluation is not None:
        # The evaluation Job calls the canary and the stable revision; its pods fall under this
        # policy too (they carry the agent's label), so both directions are opened, to the
        # agent's own ports only.
        peers.append({"podSelector": {"matchLabels": evaluation_selector(agent)}})
    if peers and ports:
        spec["ingress"] = [{"from": peers, "ports": ports}]
    rules: list[dict[str, Any]] = [
        {
            "to": [_kube_dns_peer()],
            "ports": [
                {"port": DNS_PORT, "protocol": "UDP"},
                {"port": DNS_PORT, "protocol": "TCP"},
            ],
        }
    ]
    if egress is not None and egress.allowed_cidrs:
        rules.append(
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in egress.allowed_cidrs],
                "ports": egress_ports(agent),
            }
        )
    if agent.spec.evaluation is not None and ports:
        rules.append(
            {
                "to": [{"podSelector": {"matchLabels": agent_selector(agent)}}],
                "ports": [dict(p) for p in ports],
            }
        )
    spec["egress"] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "spec": spec,
    }


def _fqdn_selector(domain: str) -> dict[str, str]:
    return {"matchPattern": domain} if domain.startswith("*") else {"matchName": domain}


def _cilium_port(port: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"port": str(port.get("port", 0)), "protocol": port.get("protocol", "TCP")}
    if "endPort" in port:
        result["endPort"] = port["endPort"]
    return result


def cilium_network_policy(agent: AgentDeployment) -> dict[str, Any] | None:
    """toFQDNs egress for allowedDomains, plus the DNS rule through Cilium's DNS proxy that FQDN
    matching depends on. None when no domains are listed."""
    egress = agent.spec.network.egress if agent.spec.network else None
    if egress is None or not egress.allowed_domains:
        return None
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "spec": {
            "endpointSelector": {"matchLabels": {AGENT_LABEL: agent.metadata.name}},
            "egress": [
                {
                    "toEndpoints": [
                        {
                            "matchLabels": {
                                "k8s:io.kubernetes.pod.namespace": KUBE_DNS_NAMESPACE,
                                **{f"k8s:{k}": v for k, v in KUBE_DNS_LABELS.items()},
                            }
                        }
                    ],
                    "toPorts": [
                        {
                            "ports": [{"port": str(DNS_PORT), "protocol": "ANY"}],
                            # Every name may be looked up (the agent also resolves in-cluster
                            # Services); only the listed names become reachable.
                            "rules": {"dns": [{"matchPattern": "*"}]},
                        }
                    ],
                },
                {
                    "toFQDNs": [_fqdn_selector(d) for d in egress.allowed_domains],
                    "toPorts": [{"ports": [_cilium_port(p) for p in egress_ports(agent)]}],
                },
            ],
        },
    }
