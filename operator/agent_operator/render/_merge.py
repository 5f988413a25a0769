"""How the podTemplate overlay combines with the hardened defaults.

Mappings follow JSON Merge Patch (RFC 7386): overlay keys win, nested mappings merge, and an
explicit null removes a default. Lists of named things (volumes, containers) merge by name.
Nothing here re-applies a default the overlay removed or weakened: the merged pod is rendered as
it is, so the readiness checks and Pod Security admission judge the pod that will really run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any


def merge_patch(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """base with patch applied as an RFC 7386 merge patch; neither argument is modified."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = merge_patch({}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_by_key(
    defaults: Iterable[Mapping[str, Any]], overlay: Iterable[Mapping[str, Any]], key: str
) -> list[dict[str, Any]]:
    """defaults, with overlay items replacing the default of the same key and the rest appended."""
    overlay_items = [dict(item) for item in overlay]
    replaced = {item.get(key): item for item in overlay_items}
    result = [copy.deepcopy(dict(replaced.pop(item.get(key), item))) for item in defaults]
    taken = {item.get(key) for item in result}
    result.extend(copy.deepcopy(item) for item in overlay_items if item.get(key) not in taken)
    return result
