"""Running the Argo CD Lua of docs/gitops/ as Argo CD does, and the status samples it is tested on.

Argo CD runs resource Lua in gopher-lua (Lua 5.1) with the object as the global ``obj``; a health
script returns ``{status=..., message=...}``, an action returns the changed object. lupa's Lua
5.1 runtime plays gopher-lua here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from lupa import lua51  # type: ignore[import-untyped]

from .cluster import REPO_ROOT

GITOPS_DIR = REPO_ROOT / "docs" / "gitops"
SAMPLES_DIR = REPO_ROOT / "tests" / "data" / "status-samples"


def _to_python(value: Any) -> Any:
    if lua51.lua_type(value) != "table":
        return value
    keys = list(value.keys())
    if keys and all(isinstance(k, int) for k in keys) and sorted(keys) == list(range(1, len(keys) + 1)):
        return [_to_python(value[k]) for k in sorted(keys)]
    return {str(k): _to_python(value[k]) for k in keys}


class LuaScript:
    """One Argo CD Lua script, run in a fresh runtime per call (Argo does the same)."""

    def __init__(self, source: str) -> None:
        self.source = source

    @classmethod
    def from_file(cls, path: Path) -> Self:
        return cls(path.read_text())

    def run(self, obj: Mapping[str, Any]) -> Any:
        runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
        runtime.globals().obj = runtime.table_from(dict(obj), recursive=True)
        function = runtime.eval(f"function() {self.source}\nend")
        return _to_python(function())


class LuaHealth(LuaScript):
    def health(self, obj: Mapping[str, Any]) -> dict[str, str]:
        result: dict[str, str] = self.run(obj)
        return result


def sanitize(obj: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """What the Lua reads of a live AgentDeployment, and nothing else: no namespace (tests use
    random ones), no uids or timestamps, no spec beyond the suspend/paused switches."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}

    def scrub(text: Any) -> Any:
        return re.sub(re.escape(namespace), "<namespace>", text) if isinstance(text, str) else text

    conditions = [
        {k: scrub(c[k]) for k in ("type", "status", "reason", "message", "observedGeneration") if k in c}
        for c in status.get("conditions") or []
    ]
    kept_status: dict[str, Any] = {
        k: status[k]
        for k in ("observedGeneration", "phase", "canaryRevision", "stableRevision")
        if k in status
    }
    kept_status["conditions"] = conditions
    handled = (status.get("rollout") or {}).get("handledCommands")
    if handled:
        kept_status["rollout"] = {"handledCommands": handled}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {"name": meta.get("name"), "generation": meta.get("generation")},
        "spec": {k: spec[k] for k in ("suspend", "paused") if k in spec},
        "status": kept_status,
    }


def sample_projection(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The stable part of a sample, compared against a fresh capture: messages carry pod counts
    and revision hashes that legitimately vary from run to run."""
    status = obj.get("status") or {}
    return {
        "spec": obj.get("spec"),
        "phase": status.get("phase"),
        "conditions": sorted(
            (c["type"], c["status"], c.get("reason")) for c in status.get("conditions") or []
        ),
        "current": status.get("observedGeneration") == (obj.get("metadata") or {}).get("generation"),
    }
