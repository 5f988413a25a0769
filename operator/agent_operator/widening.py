"""Widenings: what a new revision lets an agent reach or spend that the previous one did not.

Pure: :func:`widenings` compares two specs and lists every change that widens the blast radius,
each with the field path, the value before and after, and one line for a human. The operator
gates a rollout on them (a ReadinessPolicy's ``approvalRequiredFor`` says which kinds need a
human), status and ``agentctl diff`` show them, and ``agentctl validate --against`` prints the
same list offline.

Only widening counts: a narrower egress list, a lower budget or a cap added is not listed. A
field that is unset means what the operator renders for it: no egress beyond DNS (default
deny), no budget or rate limit (unbounded), securityLevel medium, no loop cap or timeout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from .api.agent import AgentDeploymentSpec, Budget, Egress, RateLimit, Runtime

WideningKind = Literal[
    "egress", "humanOverride", "budget", "rateLimit", "securityLevel", "model", "loopCap", "timeout"
]
"""The kinds a ReadinessPolicy can list in ``approvalRequiredFor``."""
WIDENING_KINDS: Final[tuple[WideningKind, ...]] = get_args(WideningKind)

_SECURITY_ORDER: Final = ("low", "medium", "high", "critical")
_UNBOUNDED: Final = "unbounded"
_DEFAULT_PORTS: Final = ("443/TCP",)


@dataclass(frozen=True)
class Widening:
    """One widening change, at ``path`` (as in the manifest, e.g. spec.network.egress.allowedDomains)."""

    kind: WideningKind
    path: str
    before: str
    after: str

    @property
    def message(self) -> str:
        return f"{self.path}: {self.before} -> {self.after}"


def widenings(previous: AgentDeploymentSpec, new: AgentDeploymentSpec) -> list[Widening]:
    """Every widening from ``previous`` to ``new``: in kind order, then path, then the order of the spec."""
    old_rt, new_rt = previous.runtime or Runtime(), new.runtime or Runtime()
    found = [
        *_egress(_egress_of(previous), _egress_of(new)),
        *_human_override(old_rt, new_rt),
        *_budget(old_rt.budget or Budget(), new_rt.budget or Budget()),
        *_rate_limit(old_rt.rate_limit or RateLimit(), new_rt.rate_limit or RateLimit()),
        *_security_level(old_rt, new_rt),
        *_model(previous, new),
        *_removed_cap("loopCap", "spec.runtime.maxIterations", old_rt.max_iterations, new_rt.max_iterations),
        *_removed_cap(
            "timeout", "spec.runtime.timeoutSeconds", old_rt.timeout_seconds, new_rt.timeout_seconds
        ),
    ]
    return sorted(found, key=lambda w: (WIDENING_KINDS.index(w.kind), w.path))


def required(found: Sequence[Widening], kinds: Sequence[str]) -> list[Widening]:
    """The widenings a policy listing ``kinds`` in approvalRequiredFor gates on."""
    return [w for w in found if w.kind in kinds]


# -- egress ------------------------------------------------------------------------------------


def _egress_of(spec: AgentDeploymentSpec) -> Egress:
    return (spec.network.egress if spec.network else None) or Egress()


def _domain_covered(domain: str, allowed: Sequence[str]) -> bool:
    """``domain`` is reachable under ``allowed`` already: listed, or one label under a ``*.suffix``
    wildcard. Conservative on purpose (a wildcard is not assumed to span dots, nor to cover a
    wider wildcard): a doubt is shown to a human rather than waved through."""
    name = domain.lower()
    for entry in (a.lower() for a in allowed):
        if name == entry:
            return True
        if entry.startswith("*.") and name.endswith(entry[1:]):
            label = name[: -len(entry) + 1]
            if label and "." not in label and "*" not in label:
                return True
    return False


def _cidr_covered(cidr: str, allowed: Sequence[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return cidr in allowed
    for entry in allowed:
        try:
            old = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if network.version == old.version and network.subnet_of(old):  # type: ignore[arg-type]
            return True
    return False


def _ports(egress: Egress) -> tuple[str, ...]:
    if not egress.ports:
        return _DEFAULT_PORTS
    out = []
    for p in egress.ports:
        port = "all" if p.port is None else str(p.port)
        if p.end_port is not None:
            port = f"{port}-{p.end_port}"
        out.append(f"{port}/{p.protocol or 'TCP'}")
    return tuple(out)


def _egress(old: Egress, new: Egress) -> list[Widening]:
    path = "spec.network.egress"
    out: list[Widening] = []
    old_domains = old.allowed_domains or []
    for domain in new.allowed_domains or []:
        if not _domain_covered(domain, old_domains):
            out.append(Widening("egress", f"{path}.allowedDomains", _listed(old_domains), f"+{domain}"))
    old_cidrs = old.allowed_cidrs or []
    for cidr in new.allowed_cidrs or []:
        if not _cidr_covered(cidr, old_cidrs):
            out.append(Widening("egress", f"{path}.allowedCIDRs", _listed(old_cidrs), f"+{cidr}"))
    has_destinations = bool(new.allowed_domains or new.allowed_cidrs)
    old_ports = _ports(old)
    for port in _ports(new) if has_destinations else ():
        if port not in old_ports:
            out.append(Widening("egress", f"{path}.ports", _listed(old_ports), f"+{port}"))
    return out


def _listed(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


# -- runtime limits ----------------------------------------------------------------------------


def _human_override(old: Runtime, new: Runtime) -> list[Widening]:
    old_tools = (old.human_override.approval_required_for if old.human_override else None) or []
    new_tools = (new.human_override.approval_required_for if new.human_override else None) or []
    path = "spec.runtime.humanOverride.approvalRequiredFor"
    return [
        Widening("humanOverride", path, _listed(old_tools), f"-{t}") for t in old_tools if t not in new_tools
    ]


def _raised(old: float | None, new: float | None) -> bool:
    """A cap is raised when it grows or goes away (None is unbounded)."""
    if old is None:
        return False
    return new is None or new > old


def _shown(value: float | None) -> str:
    if value is None:
        return _UNBOUNDED
    return f"{value:g}" if isinstance(value, float) else str(value)


def _budget(old: Budget, new: Budget) -> list[Widening]:
    fields = (("dailyUSD", old.daily_usd, new.daily_usd), ("monthlyUSD", old.monthly_usd, new.monthly_usd))
    return [
        Widening("budget", f"spec.runtime.budget.{name}", _shown(before), _shown(after))
        for name, before, after in fields
        if _raised(before, after)
    ]


def _rate_limit(old: RateLimit, new: RateLimit) -> list[Widening]:
    fields = (
        ("requestsPerMinute", old.requests_per_minute, new.requests_per_minute),
        ("tokensPerMinute", old.tokens_per_minute, new.tokens_per_minute),
        ("maxConcurrency", old.max_concurrency, new.max_concurrency),
    )
    return [
        Widening("rateLimit", f"spec.runtime.rateLimit.{name}", _shown(before), _shown(after))
        for name, before, after in fields
        if _raised(before, after)
    ]


def _security_level(old: Runtime, new: Runtime) -> list[Widening]:
    if _SECURITY_ORDER.index(new.security_level) >= _SECURITY_ORDER.index(old.security_level):
        return []
    return [Widening("securityLevel", "spec.runtime.securityLevel", old.security_level, new.security_level)]


def _model(previous: AgentDeploymentSpec, new: AgentDeploymentSpec) -> list[Widening]:
    old_model, new_model = previous.model, new.model
    if old_model is None and new_model is None:
        return []
    if old_model is None or new_model is None:
        before = "unset" if old_model is None else f"{old_model.provider}/{old_model.name}"
        after = "unset" if new_model is None else f"{new_model.provider}/{new_model.name}"
        return [Widening("model", "spec.model", before, after)]
    fields = (
        ("provider", old_model.provider, new_model.provider),
        ("name", old_model.name, new_model.name),
        ("endpoint", old_model.endpoint, new_model.endpoint),
    )
    return [
        Widening("model", f"spec.model.{name}", before or "unset", after or "unset")
        for name, before, after in fields
        if before != after
    ]


def _removed_cap(kind: WideningKind, path: str, old: int | None, new: int | None) -> list[Widening]:
    if old is None or new is not None:
        return []
    return [Widening(kind, path, str(old), "removed")]
