"""Network checks: the rendered default-deny NetworkPolicy and the egress allowlist."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from ._context import CheckContext
from ._shapes import as_dict, as_list, dig, selects, summarise
from ._types import CheckDefinition, Outcome, levels

# An allowlist entry wider than this is not an allowlist (0.0.0.0/0, or 0.0.0.0/1 + 128.0.0.0/1).
_MIN_PREFIX = {4: 8, 6: 16}
_DNS_PORTS = frozenset({53, "53", "dns", "dns-tcp"})


def _selecting_policies(ctx: CheckContext) -> list[dict[str, Any]]:
    labels = ctx.pod_labels
    return [p for p in ctx.objects_of("NetworkPolicy") if selects(dig(p, "spec", "podSelector"), labels)]


def _ports_of(rule: dict[str, Any]) -> list[Any]:
    return [as_dict(p).get("port") for p in as_list(rule.get("ports"))]


def _openings(policy: dict[str, Any]) -> list[str]:
    """Rules of one policy that undo default deny."""
    name = dig(policy, "metadata", "name")
    found: list[str] = []
    for rule in as_list(dig(policy, "spec", "ingress")):
        r = as_dict(rule)
        if not as_list(r.get("from")) and not as_list(r.get("ports")):
            found.append(f"NetworkPolicy {name} admits ingress from everywhere on every port")
    for rule in as_list(dig(policy, "spec", "egress")):
        r = as_dict(rule)
        if as_list(r.get("to")):
            continue
        ports = _ports_of(r)
        if not ports or None in ports:
            found.append(f"NetworkPolicy {name} allows egress to every destination on every port")
        elif any(p not in _DNS_PORTS for p in ports):
            shown = ", ".join(str(p) for p in ports if p not in _DNS_PORTS)
            found.append(f"NetworkPolicy {name} allows egress to every destination on port {shown}")
    return found


def check_default_deny(ctx: CheckContext) -> Outcome:
    policies = _selecting_policies(ctx)
    if not policies:
        return Outcome.failed("no NetworkPolicy selects the agent's pods", "spec.network")
    types = {t for p in policies for t in as_list(dig(p, "spec", "policyTypes"))}
    missing = [t for t in ("Ingress", "Egress") if t not in types]
    if missing:
        return Outcome.failed(f"no NetworkPolicy restricts {' or '.join(missing)}", "spec.network")
    openings = [o for p in policies for o in _openings(p)]
    if openings:
        return Outcome.failed(summarise(openings), "spec.network.egress")
    return Outcome.passed("a NetworkPolicy denies ingress and egress by default")


@functools.lru_cache(maxsize=1024)
def _too_wide(cidr: str) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return True
    return net.prefixlen < _MIN_PREFIX[net.version]


def check_egress_allowlist(ctx: CheckContext) -> Outcome:
    egress = ctx.spec.network.egress if ctx.spec.network else None
    path = "spec.network.egress"
    if egress is None or not (egress.allowed_domains or egress.allowed_cidrs):
        return Outcome.failed("no egress allowlist: declare the domains or CIDRs the agent calls", path)
    wide = [c for c in egress.allowed_cidrs or [] if _too_wide(c)]
    if wide:
        return Outcome.failed(
            f"allowedCIDRs {', '.join(wide)} open egress to (nearly) the whole internet",
            f"{path}.allowedCIDRs",
        )
    domains = egress.allowed_domains or []
    if domains:
        caps = ctx.capabilities
        if caps is not None and not caps.cilium:
            return Outcome.advisory(
                f"{len(domains)} allowed domain(s) are not enforced: FQDN egress enforcement needs Cilium "
                "(CiliumNetworkPolicy), which the target cluster does not have",
                f"{path}.allowedDomains",
            )
        if caps is not None and not any(
            dig(o, "spec", "egress") for o in ctx.objects_of("CiliumNetworkPolicy")
        ):
            return Outcome.failed(
                "allowedDomains are listed but no CiliumNetworkPolicy was rendered", f"{path}.allowedDomains"
            )
        if caps is None:
            return Outcome.passed(
                f"egress limited to {len(domains)} domain(s) and {len(egress.allowed_cidrs or [])} CIDR(s); "
                "domains are enforced only on clusters with Cilium"
            )
    return Outcome.passed(
        f"egress limited to {len(domains)} domain(s) and {len(egress.allowed_cidrs or [])} CIDR(s)"
    )


DEFINITIONS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        "network.defaultDeny",
        "Default-deny NetworkPolicy",
        "network",
        "the rendered NetworkPolicies selecting the agent's pods: Ingress and Egress policy types, and no "
        "rule that reopens traffic to or from everywhere (DNS excepted)",
        "Keep the operator's NetworkPolicy: list callers in spec.network.ingressFrom and destinations in "
        "spec.network.egress instead of adding allow-all rules.",
        levels("required", "required", "warning"),
        check_default_deny,
    ),
    CheckDefinition(
        "egress.allowlist",
        "Egress limited to an allowlist",
        "network",
        "spec.network.egress allowedDomains/allowedCIDRs (no range wider than /8, or /16 for IPv6) and "
        "whether the cluster can enforce domains (Cilium)",
        "Set spec.network.egress.allowedDomains, for example [api.openai.com], or allowedCIDRs such as "
        "[10.20.0.0/16]; domains are enforced on clusters with Cilium.",
        levels("required", "warning", "off"),
        check_egress_allowlist,
    ),
)
