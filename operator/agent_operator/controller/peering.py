"""Whether this replica is the active one when several run with kopf peering.

kopf pauses its own watches on a replica that a live peer outranks, but the operator's own
wake-ups (resync, pause timers, deadlines) are not kopf's. They consult the same peering object
kopf keeps, with the same rule, so a paused replica does not reconcile behind the active one's back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..kube import KubeApi, KubeError
from ..kube.kinds import Kind
from .timefmt import parse_time

CLUSTER_PEERING = Kind("kopf.dev/v1", "ClusterKopfPeering", "clusterkopfpeerings", False)
NAMESPACED_PEERING = Kind("kopf.dev/v1", "KopfPeering", "kopfpeerings")
_log = logging.getLogger(__name__)


def outranked(peers: Mapping[str, Any], priority: int, now: datetime) -> bool:
    """kopf's rule: a replica pauses while a live peer has a higher priority. ``peers`` is the
    peering object's status (peer id -> priority, lifetime, lastseen)."""
    for peer in peers.values():
        if not isinstance(peer, Mapping):
            continue
        seen = parse_time(str(peer.get("lastseen") or ""))
        if seen is None:
            continue
        alive = seen + timedelta(seconds=int(peer.get("lifetime") or 60)) > now
        if alive and int(peer.get("priority") or 0) > priority:
            return True
    return False


class PeeringGate:
    """Caches the answer for a few seconds per peering object; an unreadable peering object
    counts as active, as kopf itself keeps running when it cannot see its peers."""

    def __init__(
        self, kube: KubeApi, name: str, priority: int, *, clusterwide: bool, ttl: float = 5.0
    ) -> None:
        self._kube = kube
        self._name = name
        self._priority = priority
        self._clusterwide = clusterwide
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str | None, tuple[float, bool]] = {}

    def active(self, namespace: str) -> bool:
        scope = None if self._clusterwide else namespace
        with self._lock:
            hit = self._cache.get(scope)
            if hit is not None and time.monotonic() - hit[0] < self._ttl:
                return hit[1]
        kind = CLUSTER_PEERING if self._clusterwide else NAMESPACED_PEERING
        try:
            obj = self._kube.get(kind, self._name, scope) or {}
            answer = not outranked(obj.get("status") or {}, self._priority, datetime.now(UTC))
        except KubeError as exc:
            _log.warning("cannot read peering %s: %s", self._name, exc)
            answer = True
        with self._lock:
            self._cache[scope] = (time.monotonic(), answer)
        return answer
