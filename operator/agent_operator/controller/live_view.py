"""Live reads for the admission webhook, which answers one request at a time and may run before
the watch cache is filled: ReadinessPolicies and the optional APIs the cluster serves."""

from __future__ import annotations

import threading
import time

from ..api import ReadinessPolicy
from ..kube import READINESS_POLICY, KubeApi
from ..kube.kinds import CILIUM_NETWORK_POLICY, SERVICE_MONITOR
from ..render import ClusterCapabilities
from .observe import compile_policies


class CapabilityCache:
    """Which optional APIs (Cilium, Prometheus Operator) the cluster serves, refreshed now and
    then so that installing one later is picked up without a restart."""

    def __init__(self, kube: KubeApi, ttl_seconds: float = 300.0) -> None:
        self._kube = kube
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._value: ClusterCapabilities | None = None
        self._checked = 0.0

    def get(self) -> ClusterCapabilities:
        with self._lock:
            if self._value is None or time.monotonic() - self._checked > self._ttl:
                monitoring = self._kube.group_version_available(SERVICE_MONITOR.api_version)
                self._value = ClusterCapabilities(
                    cilium=self._kube.group_version_available(CILIUM_NETWORK_POLICY.api_version),
                    service_monitor=monitoring,
                    prometheus_rule=monitoring,
                )
                self._checked = time.monotonic()
            return self._value


def valid_policies(kube: KubeApi) -> tuple[ReadinessPolicy, ...]:
    """The ReadinessPolicies that parse and compile, read now."""
    return compile_policies(kube.list_objects(READINESS_POLICY))
