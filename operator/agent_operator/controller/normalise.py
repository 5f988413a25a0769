"""What the apiserver makes of our applies, so that its normalisation is never mistaken for drift.

The apiserver does not store exactly what we apply: it drops zero values of ``omitempty`` fields
(``initialDelaySeconds: 0``, ``hostNetwork: false``, an empty string), canonicalises quantities and
fills in defaults. A comparison against the raw render then sees a difference on every reconcile
and rewrites the object forever. So when a child carries our applied-hash but does not contain the
render, we ask the apiserver what it would store for our apply (a dry-run apply, not a write), keep
the part of its answer that corresponds to the fields we send (the *server form*), and compare the
live object with that instead. Server forms are cached by applied-hash: an unchanged agent costs no
request at all after the first reconcile that learns them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .diff import applied_hash
from .plan import Observation, ReconcilePlan

ObjectKey = tuple[str, str, str]


def project(answer: Any, sent: Any) -> Any:
    """The part of ``answer`` (the apiserver's version of an object) at the places ``sent`` has
    values: keys the server dropped stay absent, values take the server's spelling."""
    if isinstance(sent, Mapping) and isinstance(answer, Mapping):
        return {k: project(answer[k], v) for k, v in sent.items() if k in answer}
    if (
        isinstance(sent, Sequence)
        and not isinstance(sent, str)
        and isinstance(answer, Sequence)
        and not isinstance(answer, str)
        and len(sent) == len(answer)
    ):
        return [project(a, s) for a, s in zip(answer, sent, strict=True)]
    return answer


def _key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


class ServerForms:
    """Server forms by applied-hash; one (the latest) per object, so the cache stays small."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_object: dict[ObjectKey, tuple[str, dict[str, Any]]] = {}

    def known(self, namespace: str) -> dict[str, Mapping[str, Any]]:
        """The forms of one namespace's objects: what one agent's reconcile can look up, so its cost
        does not grow with the fleet."""
        with self._lock:
            return dict(form for key, form in self._by_object.items() if key[1] == namespace)

    def has(self, obj: Mapping[str, Any]) -> bool:
        with self._lock:
            entry = self._by_object.get(_key(obj))
            return entry is not None and entry[0] == applied_hash(obj)

    def learn(self, sent: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        digest = applied_hash(sent)
        if digest is None:
            return
        form = project(answer, sent)
        with self._lock:
            self._by_object[_key(sent)] = (digest, form)

    def forget(self, namespace: str) -> None:
        """Drops the forms of a namespace's objects (an agent was deleted there)."""
        with self._lock:
            for key in [k for k in self._by_object if k[1] == namespace]:
                del self._by_object[key]


def with_server_forms(obs: Observation, forms: ServerForms) -> Observation:
    namespace = str((obs.agent.get("metadata") or {}).get("namespace") or "")
    return replace(obs, normalised=forms.known(namespace))


def settle(
    obs: Observation,
    plan: ReconcilePlan,
    forms: ServerForms,
    dry_run_apply: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    replan: Callable[[Observation], ReconcilePlan],
) -> ReconcilePlan:
    """``plan``, re-planned once the server forms of suspect writes are known.

    A write is suspect when the live object already carries its applied-hash: we sent this very
    content before, so the difference is either somebody's edit or the apiserver's normalisation.
    The dry-run answer tells them apart; a real edit is still reverted by the re-plan."""
    live = {_key(o): o for o in obs.children}
    learned = False
    for obj in plan.apply:
        current = live.get(_key(obj))
        if current is None or applied_hash(current) != applied_hash(obj) or forms.has(obj):
            continue
        forms.learn(obj, dry_run_apply(obj))
        learned = True
    if not learned:
        return plan
    return replan(with_server_forms(obs, forms))
