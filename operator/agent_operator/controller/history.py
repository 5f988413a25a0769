"""Revision history as ControllerRevisions: one per revision that ever rolled out.

Each holds the full spec the revision was rendered from, so any revision can be rendered again
(image *and* runtime config) for a rollback, plus its outcome and gate results in annotations.
``data`` of a ControllerRevision is immutable; annotations are not, which is why outcomes live
there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api.agent import AgentDeployment, AgentDeploymentSpec
from ..render import REVISION_LABEL, object_meta, revision_labels
from ..rollout.types import HistoryEntry, HistoryUpdate
from .rollout_codec import approval_to_wire, evaluation_to_wire
from .timefmt import format_time

OUTCOME = "agentoperator.dev/outcome"
OUTCOME_REASON = "agentoperator.dev/outcome-reason"
OUTCOME_AT = "agentoperator.dev/outcome-at"
SERVED_AS_STABLE = "agentoperator.dev/served-as-stable"
GATES = "agentoperator.dev/gates"
"""JSON: {"approvals": [...], "evaluations": [...]} of the revision's canary."""
HISTORY_ANNOTATIONS = (OUTCOME, OUTCOME_REASON, OUTCOME_AT, SERVED_AS_STABLE, GATES)


@dataclass(frozen=True)
class Revision:
    """One revision from history."""

    revision: str
    number: int
    spec: AgentDeploymentSpec | None
    """None when the snapshot no longer parses (written by an incompatible version)."""
    annotations: dict[str, str]
    created: str
    body: dict[str, Any]


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
            annotations=dict(meta.get("annotations") or {}),
            created=str(meta.get("creationTimestamp", "")),
            body=dict(obj),
        )
    return out


def history_entries(history: Mapping[str, Revision]) -> tuple[HistoryEntry, ...]:
    return tuple(
        sorted((HistoryEntry(r.revision, r.number) for r in history.values()), key=lambda e: e.number)
    )


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


def with_outcome(entry: Revision, update: HistoryUpdate, now: datetime) -> dict[str, Any]:
    """An existing ControllerRevision with its outcome annotations set (data untouched)."""
    body = {k: v for k, v in entry.body.items() if k in ("apiVersion", "kind", "revision", "data")}
    body.setdefault("apiVersion", "apps/v1")
    body.setdefault("kind", "ControllerRevision")
    meta = entry.body["metadata"]
    annotations = {k: v for k, v in entry.annotations.items() if k in HISTORY_ANNOTATIONS}
    annotations.update({OUTCOME: update.outcome, OUTCOME_REASON: update.reason, OUTCOME_AT: format_time(now)})
    if update.outcome == "Promoted":
        annotations[SERVED_AS_STABLE] = "true"
    if update.approvals or update.evaluations:
        gates = {
            "approvals": [approval_to_wire(a) for a in update.approvals],
            "evaluations": [evaluation_to_wire(e) for e in update.evaluations],
        }
        annotations[GATES] = json.dumps(gates, sort_keys=True, separators=(",", ":"))
    keep = {k: meta[k] for k in ("name", "namespace", "labels", "ownerReferences") if k in meta}
    body["metadata"] = {**keep, "annotations": annotations}
    return body


def to_prune(history: Mapping[str, Revision], limit: int, keep: Iterable[str | None]) -> list[Revision]:
    """Oldest revisions beyond ``limit``; revisions in ``keep`` (stable, canary, rollback target)
    are never pruned."""
    protected = {k for k in keep if k}
    ordered = sorted(history.values(), key=lambda r: r.number, reverse=True)
    excess = ordered[limit:]
    return [r for r in excess if r.revision not in protected]
