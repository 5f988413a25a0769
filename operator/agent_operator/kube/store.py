"""The in-memory copy of what the watches deliver: one store for every kind, indexed by agent.

Pure and thread-safe: informers (kube/informer.py) feed it from watch events and relists, the
reconciler feeds it the apiserver's answers to its own writes (write-through), and reconciles
read it instead of the apiserver. Two rules keep a read from going back in time:

- *Newer wins.* An object replaces the stored one only when its resourceVersion is not older, so
  a watch event that arrives after our own write cannot undo it in the cache.
- *Tombstones.* A deleted object's uid is remembered for a while, so a late event of the old
  object cannot bring it back.

Objects are kept as compact JSON, not as parsed dicts: a parsed Kubernetes object takes about five
times the memory of its JSON, and a reconcile parses only the dozen objects of its own agent. Every
read therefore returns a fresh copy that nobody else holds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .kinds import Kind

ObjectKey = tuple[str, str]
"""(namespace, name); the namespace is "" for cluster-scoped kinds."""
TOMBSTONE_SECONDS = 600.0


@dataclass(frozen=True)
class Change:
    """What one event or relist did to the store: ADDED, MODIFIED or DELETED, with the object
    (for DELETED, the last one stored) and the one it replaced, if any."""

    type: str
    kind: Kind
    obj: Mapping[str, Any]
    old: Mapping[str, Any] | None = None


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    meta = _meta(obj)
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _version(obj: Mapping[str, Any] | None) -> int | None:
    """The resourceVersion as a number, or None. Kubernetes calls it opaque, but every apiserver
    backed by etcd hands out increasing integers; an unparsable one always counts as newer."""
    if obj is None:
        return None
    try:
        return int(str(_meta(obj).get("resourceVersion")))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One stored object: its JSON, and what the store's rules and index look at."""

    data: bytes
    version: int | None
    resource_version: str | None
    uid: str
    agent: str | None

    def decode(self) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.data)
        return obj


def _encode(obj: Mapping[str, Any], label: str) -> _Entry:
    meta = _meta(obj)
    version = meta.get("resourceVersion")
    agent = (meta.get("labels") or {}).get(label)
    return _Entry(
        json.dumps(obj, separators=(",", ":")).encode(),
        _version(obj),
        str(version) if version is not None else None,
        str(meta.get("uid") or ""),
        str(agent) if agent else None,
    )


class ObjectStore:
    """Objects by kind and (namespace, name), with an index by the agent they belong to (the
    value of ``index_label``) and a synced flag per kind."""

    def __init__(self, index_label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._label = index_label
        self._clock = clock
        self._lock = threading.Lock()
        self._objects: dict[Kind, dict[ObjectKey, _Entry]] = {}
        self._by_agent: dict[Kind, dict[ObjectKey, set[str]]] = {}
        self._tombstones: dict[str, tuple[int | None, float]] = {}
        self._synced: dict[Kind, int] = {}
        """Kinds whose listings have all completed: a count of sources still catching up."""

    # -- reads -------------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._objects.get(kind, {}).get((namespace, name))
        return entry.decode() if entry is not None else None

    def all(self, kind: Kind, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            objects = self._objects.get(kind, {})
            entries = [e for k, e in objects.items() if namespace is None or k[0] == namespace]
        return [e.decode() for e in entries]

    def names(self, kind: Kind, namespace: str | None = None) -> list[ObjectKey]:
        """(namespace, name) of every stored object of a kind, without decoding any."""
        with self._lock:
            return [k for k in self._objects.get(kind, {}) if namespace is None or k[0] == namespace]

    def for_agent(self, kind: Kind, namespace: str, agent: str) -> list[dict[str, Any]]:
        """Objects of ``kind`` labelled as the agent's (the index: no scan of the kind)."""
        with self._lock:
            names = self._by_agent.get(kind, {}).get((namespace, agent), set())
            objects = self._objects.get(kind, {})
            entries = [objects[(namespace, n)] for n in sorted(names) if (namespace, n) in objects]
        return [e.decode() for e in entries]

    def memory(self) -> int:
        """Bytes of stored JSON (the bulk of the cache's memory)."""
        with self._lock:
            return sum(len(e.data) for objects in self._objects.values() for e in objects.values())

    def count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._objects.values())

    # -- sync state --------------------------------------------------------------------------

    def expect(self, kind: Kind) -> None:
        """One more source of ``kind`` has to list before the kind is synced."""
        with self._lock:
            self._synced[kind] = self._synced.get(kind, 0) + 1

    def mark_synced(self, kind: Kind) -> None:
        with self._lock:
            self._synced[kind] = max(self._synced.get(kind, 0) - 1, 0)

    def mark_stale(self, kind: Kind) -> None:
        """A source lost its watch: its kind is stale until it has relisted."""
        self.expect(kind)

    def synced(self, kinds: Iterable[Kind] | None = None) -> bool:
        with self._lock:
            wanted = self._synced.keys() if kinds is None else kinds
            return all(self._synced.get(k, 0) == 0 for k in wanted)

    def stale_kinds(self) -> list[str]:
        with self._lock:
            return sorted(k.kind for k, n in self._synced.items() if n)

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, kind: Kind, obj: Mapping[str, Any]) -> Change | None:
        """Store ``obj`` unless what is stored is newer or the object was deleted; the change, if any."""
        with self._lock:
            return self._upsert(kind, obj)

    def remove(self, kind: Kind, obj: Mapping[str, Any]) -> Change | None:
        """Forget ``obj`` (a DELETED event, or our own delete) and keep a tombstone for its uid."""
        with self._lock:
            return self._remove(kind, key_of(obj), obj)

    def replace(self, kind: Kind, items: Iterable[Mapping[str, Any]], namespace: str | None) -> list[Change]:
        """A relist of ``kind`` in ``namespace`` (None: every namespace): what the listing holds
        replaces what was stored there; the differences come back as changes, so the agents
        whose objects changed while the watch was down get reconciled."""
        with self._lock:
            seen: set[ObjectKey] = set()
            changes = []
            for obj in items:
                seen.add(key_of(obj))
                uid = str(_meta(obj).get("uid") or "")
                self._tombstones.pop(uid, None)  # a listing is the truth, tombstones included
                change = self._upsert(kind, obj, force=True)
                if change is not None:
                    changes.append(change)
            stored = self._objects.get(kind, {})
            gone = [k for k in stored if k not in seen and (namespace is None or k[0] == namespace)]
            for key in gone:
                change = self._remove(kind, key, stored[key].decode())
                if change is not None:
                    changes.append(change)
            return changes

    # -- internals (lock held) ---------------------------------------------------------------

    def _upsert(self, kind: Kind, obj: Mapping[str, Any], force: bool = False) -> Change | None:
        self._expire_tombstones()
        key = key_of(obj)
        objects = self._objects.setdefault(kind, {})
        old = objects.get(key)
        entry = _encode(obj, self._label)
        if not force:
            tomb = self._tombstones.get(entry.uid)
            if tomb is not None and (tomb[0] is None or not _newer_than(obj, tomb[0])):
                return None
            if old is not None and _older(entry, old):
                return None
        if (
            old is not None
            and entry.resource_version is not None
            and old.resource_version == entry.resource_version
        ):
            return None
        objects[key] = entry
        if old is not None:
            self._unindex(kind, key, old)
        self._index(kind, key, entry)
        return Change("MODIFIED" if old is not None else "ADDED", kind, obj, old.decode() if old else None)

    def _remove(self, kind: Kind, key: ObjectKey, obj: Mapping[str, Any]) -> Change | None:
        uid = str(_meta(obj).get("uid") or "")
        if uid:
            self._tombstones[uid] = (_version(obj), self._clock() + TOMBSTONE_SECONDS)
        objects = self._objects.get(kind, {})
        old = objects.get(key)
        if old is None:
            return None
        if uid and old.uid not in (uid, ""):
            return None  # the name belongs to a newer object now
        del objects[key]
        self._unindex(kind, key, old)
        last = old.decode()
        return Change("DELETED", kind, last, last)

    def _index(self, kind: Kind, key: ObjectKey, entry: _Entry) -> None:
        if entry.agent:
            self._by_agent.setdefault(kind, {}).setdefault((key[0], entry.agent), set()).add(key[1])

    def _unindex(self, kind: Kind, key: ObjectKey, entry: _Entry) -> None:
        agent = entry.agent
        if not agent:
            return
        index = self._by_agent.get(kind, {})
        names = index.get((key[0], agent))
        if names is not None:
            names.discard(key[1])
            if not names:
                del index[(key[0], agent)]

    def _expire_tombstones(self) -> None:
        if not self._tombstones:
            return
        now = self._clock()
        for uid in [u for u, (_, until) in self._tombstones.items() if until < now]:
            del self._tombstones[uid]


def _older(entry: _Entry, stored: _Entry) -> bool:
    return entry.version is not None and stored.version is not None and entry.version < stored.version


def _newer_than(obj: Mapping[str, Any], version: int) -> bool:
    mine = _version(obj)
    return mine is not None and mine > version
