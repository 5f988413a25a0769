"""List-then-watch of one kind into the store, on a thread of its own.

The loop is the one client-go's reflector runs:

- list (paged), replace what the store holds for this source, mark it synced, remember the
  listing's resourceVersion;
- watch from that resourceVersion; every event updates the store and is handed to ``on_change``;
- a watch that ends normally (the server's timeout) resumes from the last resourceVersion seen,
  bookmarks included, so a quiet fleet is never listed again;
- a watch answered 410 Gone (the resourceVersion was compacted away) relists;
- an API that is not served (404: its CRD is not installed yet) is listed again every
  ``absent_recheck`` seconds (5 minutes), not retried every few seconds;
- a broken connection marks the source stale and backs off (capped, with jitter); the next
  attempt resumes from the last resourceVersion, and relists only if that answers 410. The source
  counts as caught up again once the resumed watch is established: the apiserver sends the events
  it missed first, in order, so the first reconciles after the gap see them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._metrics import WATCH_UP
from .client import KubeApi, WatchGone
from .errors import KubeError
from .kinds import Kind
from .store import Change, ObjectStore

_log = logging.getLogger(__name__)
Transform = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """What one informer lists and watches."""

    kind: Kind
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    metadata_only: bool = False
    """PartialObjectMetadata only (Secrets: names, never values)."""
    transform: Transform | None = None
    """Trims each object before it is stored (managedFields, fields nobody reads)."""


class Informer:
    """Keeps ``store`` in step with one :class:`Source`; ``on_change`` hears every change."""

    def __init__(
        self,
        kube: KubeApi,
        store: ObjectStore,
        source: Source,
        on_change: Callable[[Change], None],
        *,
        watch_seconds: int = 300,
        max_backoff: float = 5.0,
        absent_recheck: float = 300.0,
    ) -> None:
        self._kube = kube
        self._store = store
        self.source = source
        self._on_change = on_change
        self._watch_seconds = watch_seconds
        self._max_backoff = max_backoff
        self._absent_recheck = absent_recheck
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._version: str | None = None
        self._synced = False
        self.down_since: float | None = time.monotonic()
        """When the watch went down (None while it is up); it starts down until the first list."""
        self.relists = 0
        store.expect(source.kind)

    @property
    def name(self) -> str:
        where = self.source.namespace or "*"
        return f"{self.source.kind.plural}@{where}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop for good; a source that never caught up no longer holds its kind back."""
        self._stop.set()
        if not self._synced:
            self._synced = True
            self._store.mark_synced(self.source.kind)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self._version is None:
                    self._relist()
                if not self._version:
                    # The API is not served (its CRD is not installed yet): nothing to watch.
                    # Look again now and then rather than asking for it every few seconds.
                    self._version = None
                    self._stop.wait(self._absent_recheck)
                    continue
                self._watch()
                failures = 0
            except WatchGone:
                _log.info("watch of %s expired (410 Gone); relisting", self.name)
                self._version = None
            except (KubeError, OSError, ValueError) as exc:
                if isinstance(exc, KubeError) and exc.status == 404:
                    self._version = None  # the API went away: list again to find out
                failures += 1
                self._went_down(exc)
                delay = min(0.5 * 2 ** min(failures - 1, 8), self._max_backoff)
                self._stop.wait(random.uniform(delay / 2, delay))
            except Exception:  # never let one kind's bug stop its informer for good
                failures += 1
                _log.exception("informer %s failed", self.name)
                self._went_down(None)
                self._stop.wait(min(2.0**failures, self._max_backoff))

    def _relist(self) -> None:
        s = self.source
        items, version = self._kube.list_collection(
            s.kind, s.namespace, s.label_selector, s.field_selector, metadata_only=s.metadata_only
        )
        objects = [self._trim(o) for o in items]
        for change in self._store.replace(s.kind, objects, s.namespace):
            self._deliver(change)
        self.relists += 1
        self._version = version
        self._caught_up()

    def _watch(self) -> None:
        s = self.source
        assert self._version is not None
        for event_type, obj in self._kube.watch(
            s.kind,
            s.namespace,
            s.label_selector,
            s.field_selector,
            resource_version=self._version,
            metadata_only=s.metadata_only,
            timeout_seconds=self._watch_seconds,
            established=self._caught_up,
        ):
            if self._stop.is_set():
                return
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if event_type == "BOOKMARK":
                self._caught_up()
            elif event_type == "DELETED":
                change = self._store.remove(s.kind, self._trim(obj))
                if change is not None:
                    self._deliver(change)
            elif event_type in ("ADDED", "MODIFIED"):
                change = self._store.upsert(s.kind, self._trim(obj))
                if change is not None:
                    self._deliver(change)
            if version:
                self._version = str(version)

    def _trim(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("apiVersion", self.source.kind.api_version)
        obj.setdefault("kind", self.source.kind.kind)
        (obj.get("metadata") or {}).pop("managedFields", None)
        return self.source.transform(obj) if self.source.transform else obj

    def _deliver(self, change: Change) -> None:
        try:
            self._on_change(change)
        except Exception:
            _log.exception("handling a %s change failed", self.source.kind.kind)

    def _caught_up(self) -> None:
        if not self._synced:
            self._synced = True
            self._store.mark_synced(self.source.kind)
        if self.down_since is not None:
            self.down_since = None
            WATCH_UP.labels(self.source.kind.plural, self.source.namespace or "*").set(1)

    def _went_down(self, exc: Exception | None) -> None:
        if self._synced:
            self._synced = False
            self._store.mark_stale(self.source.kind)
        if self.down_since is None:
            self.down_since = time.monotonic()
            WATCH_UP.labels(self.source.kind.plural, self.source.namespace or "*").set(0)
            detail = exc.summary() if isinstance(exc, KubeError) else type(exc).__name__ if exc else "error"
            _log.warning("watch of %s is down (%s); resuming with backoff", self.name, detail)
