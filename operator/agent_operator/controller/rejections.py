"""Remembering a write the apiserver refused as final, with the inputs it was refused for: the same
write is not sent again until one of those inputs changes or a long backoff passes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from .. import __version__
from .plan import Observation
from .workqueue import Backoff

REJECTED_BACKOFF = Backoff(base=300.0, cap=3600.0)
"""How soon a write the apiserver refused is tried again with unchanged inputs: the answer is
final for that body, but an admission webhook or a quota may change its mind eventually."""


@dataclass(frozen=True)
class Rejection:
    """A final apply error remembered for the inputs it was given."""

    target: tuple[str, str]
    """Kind and name of the refused object."""
    inputs: str
    message: str
    attempts: int
    retry_at: float


def inputs_fingerprint(obs: Observation, target: tuple[str, str]) -> str:
    """Everything a final answer to a write of ``target`` (kind, name) depended on: when none of
    it changed, neither will the answer. Of the children only the refused one counts (deleting
    it is how a human clears an immutable field); the others change as the operator writes them."""
    meta = obs.agent.get("metadata") or {}
    live = [
        (c.get("metadata") or {}).get("uid")
        for c in obs.children
        if (c.get("kind"), (c.get("metadata") or {}).get("name")) == target
    ]
    inputs = {
        "generation": meta.get("generation"),
        "operator": __version__,
        "secrets": sorted(obs.secret_names),
        "namespaceLabels": dict(obs.namespace_labels),
        "policies": [p.model_dump(mode="json") for p in obs.policies],
        "capabilities": asdict(obs.capabilities),
        "refused": [*target, live],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
