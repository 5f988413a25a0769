"""Small readers for plain Kubernetes wire dicts, tolerant of missing or oddly typed fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None as soon as a level is missing."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def selects(selector: Any, labels: Mapping[str, str]) -> bool:
    """Whether a wire-format LabelSelector matches ``labels`` (empty selector: everything)."""
    sel = as_dict(selector)
    for key, want in as_dict(sel.get("matchLabels")).items():
        if labels.get(key) != want:
            return False
    for expr in as_list(sel.get("matchExpressions")):
        e = as_dict(expr)
        name, op, values = e.get("key"), e.get("operator"), as_list(e.get("values"))
        if not isinstance(name, str):
            return False
        present = name in labels
        if op == "In" and not (present and labels[name] in values):
            return False
        if op == "NotIn" and present and labels[name] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def summarise(items: list[str], limit: int = 3) -> str:
    """'a; b; c and 2 more' so that one message stays one readable line."""
    shown = "; ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
