"""What the target cluster can do beyond core Kubernetes, as far as rendering cares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

CILIUM_NETWORK_POLICY: Final = ("cilium.io", "CiliumNetworkPolicy")
SERVICE_MONITOR: Final = ("monitoring.coreos.com", "ServiceMonitor")
PROMETHEUS_RULE: Final = ("monitoring.coreos.com", "PrometheusRule")


@dataclass(frozen=True)
class ClusterCapabilities:
    """Optional CRDs the renderer may emit objects for. Offline rendering assumes none."""

    cilium: bool = False
    """CiliumNetworkPolicy exists, so allowedDomains can be enforced with toFQDNs."""
    service_monitor: bool = False
    """The Prometheus Operator's ServiceMonitor exists."""
    prometheus_rule: bool = False
    """The Prometheus Operator's PrometheusRule exists."""

    def serves(self, group: str, kind: str) -> bool:
        """Whether the cluster serves this optional (API group, kind)."""
        present = {
            CILIUM_NETWORK_POLICY: self.cilium,
            SERVICE_MONITOR: self.service_monitor,
            PROMETHEUS_RULE: self.prometheus_rule,
        }
        return present.get((group, kind), False)

    @classmethod
    def from_api_groups(cls, group_kinds: Iterable[tuple[str, str]]) -> ClusterCapabilities:
        """Capabilities from the (API group, kind) pairs API discovery reports."""
        present = set(group_kinds)
        return cls(
            cilium=CILIUM_NETWORK_POLICY in present,
            service_monitor=SERVICE_MONITOR in present,
            prometheus_rule=PROMETHEUS_RULE in present,
        )
