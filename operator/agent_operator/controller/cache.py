"""The operator's watch cache: one store, the informers that feed it, and the wake-ups they cause.

Which informers run follows the cluster: one set of namespaced sources for the whole cluster
(``--all-namespaces``) or one per watched namespace as namespaces matching the patterns come and
go, plus an informer per optional add-on kind (Cilium, Prometheus Operator) while its CRD exists.
Reconciles read the store only (observe.py); an idle fleet costs the apiserver its watches and
nothing else.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from .._metrics import CACHE_OBJECTS
from ..kube import KubeApi
from ..kube.informer import Informer, Source
from ..kube.kinds import AGENT_DEPLOYMENT, CUSTOM_RESOURCE_DEFINITION, NAMESPACE, Kind
from ..kube.store import Change, ObjectStore
from ..render import AGENT_LABEL, ClusterCapabilities
from .sources import OPTIONAL_CRDS, Wake, cluster_sources, namespace_sources, wakes

_log = logging.getLogger(__name__)


class Listener(Protocol):
    """What the cache tells about agents (the Reconciler)."""

    def request(self, namespace: str, name: str) -> None: ...
    def schedule(self, namespace: str, name: str, delay: float) -> None: ...
    def forget(self, namespace: str, name: str) -> None: ...


class ClusterCache:
    """Starts and stops informers; hands each change to the listener as agents to reconcile."""

    def __init__(
        self,
        kube: KubeApi,
        namespaces: Sequence[str] = (),
        *,
        watch_seconds: int = 300,
        informer: Callable[..., Informer] = Informer,
    ) -> None:
        self.store = ObjectStore(AGENT_LABEL)
        self._kube = kube
        self._patterns = tuple(namespaces)
        self._watch_seconds = watch_seconds
        self._new_informer = informer
        self._lock = threading.RLock()
        self._informers: dict[tuple[Kind, str | None], Informer] = {}
        self._listener: Listener | None = None
        self._started = False
        self.on_policies: Callable[[], None] = lambda: None
        """Called when a ReadinessPolicy changed (observe.py recompiles them once)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, listener: Listener) -> None:
        with self._lock:
            self._listener = listener
            self._started = True
            for source in cluster_sources():
                self._ensure(source)
            if not self._patterns:
                self._ensure_namespace(None)

    def stop(self) -> None:
        with self._lock:
            self._started = False
            for informer in self._informers.values():
                informer.stop()

    def wait_synced(self, timeout: float) -> bool:
        """Block until every kind has been listed, or ``timeout`` seconds; whether it was."""
        deadline = time.monotonic() + timeout
        while not self.synced():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def synced(self) -> bool:
        """Every kind has been listed and no watch is catching up: reads are current."""
        return self.store.synced()

    def capabilities(self) -> ClusterCapabilities:
        """Which add-on APIs are served, from the CRD watch: no discovery request ever."""
        return ClusterCapabilities.from_api_groups((k.group, k.kind) for k in self._served_optional())

    def _served_optional(self) -> frozenset[Kind]:
        crds = {name for _, name in self.store.names(CUSTOM_RESOURCE_DEFINITION)}
        return frozenset(k for name, k in OPTIONAL_CRDS.items() if name in crds)

    def health(self, down_after: float = 60.0) -> dict[str, Any]:
        """Watches down for longer than ``down_after`` seconds (for /healthz) and cache size."""
        now = time.monotonic()
        with self._lock:
            informers = list(self._informers.values())
        down = sorted(
            i.name
            for i in informers
            if not i.alive() or (i.down_since is not None and now - i.down_since > down_after)
        )
        objects = self.store.count()
        CACHE_OBJECTS.set(objects)
        stale = self.store.stale_kinds()
        return {"watches": len(informers), "watchesDown": down, "cacheObjects": objects, "stale": stale}

    # -- informers ---------------------------------------------------------------------------

    def _ensure(self, source: Source) -> None:
        key = (source.kind, source.namespace)
        if not self._started or key in self._informers:
            return
        informer = self._new_informer(
            self._kube, self.store, source, self._changed, watch_seconds=self._watch_seconds
        )
        self._informers[key] = informer
        informer.start()

    def _drop(self, kind: Kind, namespace: str | None) -> None:
        informer = self._informers.pop((kind, namespace), None)
        if informer is not None:
            informer.stop()
            for change in self.store.replace(kind, [], namespace):
                self._changed(change)

    def _ensure_namespace(self, namespace: str | None) -> None:
        for source in namespace_sources(namespace, self._served_optional()):
            self._ensure(source)

    def _watched(self, namespace: str) -> bool:
        return not self._patterns or any(fnmatch.fnmatchcase(namespace, p) for p in self._patterns)

    def _scopes(self) -> list[str | None]:
        return sorted(
            {ns for (kind, ns) in self._informers if kind == AGENT_DEPLOYMENT},
            key=lambda n: n or "",
        )

    # -- changes -----------------------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        if change.kind == NAMESPACE and self._patterns:
            self._namespace_changed(change)
        elif change.kind == CUSTOM_RESOURCE_DEFINITION:
            self._crd_changed(change)
        if change.kind.kind == "ReadinessPolicy":
            self.on_policies()
        wake = wakes(change)
        if wake is not None:
            self._wake(wake)

    def _namespace_changed(self, change: Change) -> None:
        name = _name(change.obj)
        if not self._watched(name):
            return
        with self._lock:
            if change.type == "DELETED":
                for source in namespace_sources(name, frozenset(OPTIONAL_CRDS.values())):
                    self._drop(source.kind, name)
            else:
                self._ensure_namespace(name)

    def _crd_changed(self, change: Change) -> None:
        kind = OPTIONAL_CRDS.get(_name(change.obj))
        if kind is None:
            return
        with self._lock:
            for scope in self._scopes():
                if change.type == "DELETED":
                    self._drop(kind, scope)
                else:
                    self._ensure_namespace(scope)

    def _wake(self, wake: Wake) -> None:
        listener = self._listener
        if listener is None:
            return
        if wake.namespace is not None and wake.name is not None:
            if wake.gone:
                listener.forget(wake.namespace, wake.name)
            elif wake.new:
                listener.request(wake.namespace, wake.name)
            else:
                listener.schedule(wake.namespace, wake.name, wake.delay)
            return
        for namespace, name in self.store.names(AGENT_DEPLOYMENT, wake.namespace):
            listener.schedule(namespace, name, wake.delay)

    def agents(self) -> list[tuple[str, str]]:
        return sorted(self.store.names(AGENT_DEPLOYMENT))


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))
