"""Deterministic multi-document YAML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Never emits anchors: a label map reused by two objects is written out twice, as kubectl
    and humans expect."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(objects: Sequence[Mapping[str, Any]]) -> str:
    """Each object as a `---`-separated document, keys in the renderer's order. Equal input gives
    byte-identical output."""
    return yaml.dump_all(
        [_plain(o) for o in objects],
        Dumper=_Dumper,
        explicit_start=True,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists, which the safe dumper can write."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
