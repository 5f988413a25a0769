"""Revision history as ControllerRevisions: one per revision that ever rolled out.

Each holds the full spec the revision was rendered from, so any revision can be rendered again
(image *and* runtime config) for a rollback, plus its outcome and gate results in annotations
(read and written only through :mod:`.history_codec`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api.agent import AgentDeployment, AgentDeploymentSpec
from ..reeval import ScoreRecord
from ..render import REVISION_LABEL, object_meta, revision_labels
from ..rollout.types import HistoryEntry, HistoryUpdate, RolloutPlan
from .diff import with_applied_hash
from .history_codec import HistoryAnnotations, history_annotations, parse_history_annotations


@dataclass(frozen=True)
class Revision:
    """One revision from history."""

    revision: str
    number: int
    spec: AgentDeploymentSpec | None
    """None when the snapshot no longer parses (written by an incompatible version)."""
    annotations: HistoryAnnotations
    created: str
    body: dict[str, Any]

    def entry(self) -> HistoryEntry:
        return HistoryEntry(self.revision, self.number, served_as_stable=self.annotations.served_as_stable)


def history_name(agent_name: str, revision: str) -> str:
    return f"{agent_name}-{revision}"


def parse_history(objects: Iterable[Mapping[str, Any]]) -> dict[str, Revision]:
    """ControllerRevisions of one agent, by revision hash."""
    out: dict[str, Revision] = {}
    for obj in objects:
        meta = obj.get("metadata", {})
        rev = (meta.get("labels") or {}).get(REVISION_LABEL)
        if not rev:
            continue
        try:
            spec: AgentDeploymentSpec | None = AgentDeploymentSpec.model_validate(
                (obj.get("data") or {}).get("spec")
            )
        except ValidationError:
            spec = None
        out[rev] = Revision(
            revision=rev,
            number=int(obj.get("revision", 0)),
            spec=spec,
            annotations=parse_history_annotations(meta.get("annotations")),
            created=str(meta.get("creationTimestamp", "")),
            body=dict(obj),
        )
    return out


def history_entries(history: Mapping[str, Revision]) -> tuple[HistoryEntry, ...]:
    """What the rollout machine sees of history, oldest first."""
    return tuple(sorted((r.entry() for r in history.values()), key=lambda e: e.number))


def new_revision(agent: AgentDeployment, revision: str, number: int) -> dict[str, Any]:
    """The ControllerRevision recording a revision that starts rolling out."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": object_meta(
            agent, history_name(agent.metadata.name, revision), revision_labels(agent, revision)
        ),
        "revision": number,
        "data": {"spec": agent.spec.to_wire()},
    }


def _annotated(entry: Revision, recorded: HistoryAnnotations) -> dict[str, Any]:
    """An existing ControllerRevision with the annotations ``recorded`` (data untouched)."""
    body = {k: v for k, v in entry.body.items() if k in ("apiVersion", "kind", "revision", "data")}
    body.setdefault("apiVersion", "apps/v1")
    body.setdefault("kind", "ControllerRevision")
    meta = entry.body["metadata"]
    keep = {k: meta[k] for k in ("name", "namespace", "labels", "ownerReferences") if k in meta}
    body["metadata"] = {**keep, "annotations": history_annotations(recorded)}
    return body


def with_scores(entry: Revision, scores: tuple[ScoreRecord, ...]) -> dict[str, Any]:
    """An existing ControllerRevision with its scheduled re-evaluation scores set."""
    return _annotated(entry, replace(entry.annotations, scores=scores))


def with_outcome(entry: Revision, update: HistoryUpdate, now: datetime) -> dict[str, Any]:
    """An existing ControllerRevision with its outcome annotations set (data untouched)."""
    recorded = replace(
        entry.annotations,
        outcome=update.outcome,
        reason=update.reason,
        at=now,
        served_as_stable=entry.annotations.served_as_stable or update.outcome == "Promoted",
    )
    if update.approvals or update.evaluations or update.analysis:
        recorded = replace(
            recorded, approvals=update.approvals, evaluations=update.evaluations, analysis=update.analysis
        )
    return _annotated(entry, recorded)


def history_writes(
    agent: AgentDeployment, history: Mapping[str, Revision], rollout: RolloutPlan, now: datetime
) -> list[dict[str, Any]]:
    """ControllerRevisions to create (a revision that starts rolling out) or to annotate with an
    outcome; written before anything runs the revision, so its snapshot always exists."""
    writes: list[dict[str, Any]] = []
    entries = dict(history)
    rec = rollout.record_revision
    if rec is not None and rec not in history:
        # A revision recorded and given its outcome in the same plan (the first deploy is
        # Promoted at once): the outcome goes into the record it is created with.
        number = max((h.number for h in history.values()), default=0) + 1
        body = new_revision(agent, rec, number)
        entries[rec] = Revision(rec, number, agent.spec, HistoryAnnotations(), "", body)
        if not any(u.revision == rec for u in rollout.history):
            writes.append(with_applied_hash(body))
    for update in rollout.history:
        entry = entries.get(update.revision)
        if entry is None or entry.annotations.outcome == update.outcome:
            continue
        writes.append(with_applied_hash(with_outcome(entry, update, now)))
    return writes


def to_prune(history: Mapping[str, Revision], limit: int, keep: Iterable[str | None]) -> list[Revision]:
    """Oldest revisions beyond ``limit``; revisions in ``keep`` (stable, canary, rollback target)
    are never pruned."""
    protected = {k for k in keep if k}
    ordered = sorted(history.values(), key=lambda r: r.number, reverse=True)
    excess = ordered[limit:]
    return [r for r in excess if r.revision not in protected]
