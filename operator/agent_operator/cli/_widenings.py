"""Widenings for humans: the lines ``agentctl diff``, ``validate --against`` and ``status`` print,
and their JSON form. The list itself comes from :func:`agent_operator.widening.widenings`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..widening import Widening


def widenings_json(found: Sequence[Widening], gated: Collection[str] | None = None) -> list[dict[str, Any]]:
    """One object per widening; with ``gated`` (the policy's approvalRequiredFor), whether the
    operator will wait for `agentctl approve` before rolling it out."""
    out = []
    for w in found:
        item: dict[str, Any] = {"kind": w.kind, "path": w.path, "before": w.before, "after": w.after}
        if gated is not None:
            item["requiresApproval"] = w.kind in gated
        out.append(item)
    return out


def widening_lines(
    found: Sequence[Widening], gated: Collection[str] | None = None, policy: str = ""
) -> list[str]:
    """A heading and one line per widening: ``kind  path: before -> after``, marked when the
    policy gates it."""
    if not found:
        return ["Widenings: none (nothing the new revision may reach or spend grows)"]
    waits = [w for w in found if gated is not None and w.kind in gated]
    heading = f"Widenings ({len(found)})"
    if gated is not None:
        heading += (
            f": {policy} requires agentctl approve for {len(waits)} of them"
            if waits
            else f": {policy} requires no approval for these kinds"
        )
    lines = [heading]
    for w in found:
        mark = "!" if gated is not None and w.kind in gated else "-"
        lines.append(f"  {mark} {w.kind:<13} {w.message}")
    return lines
