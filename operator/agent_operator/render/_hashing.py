"""Canonical JSON and the short content hashes that name revisions and runtime ConfigMaps."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

HASH_LENGTH: Final = 10


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values always give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def short_hash(value: Any) -> str:
    """The first 10 hex characters of the SHA-256 of the value's canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:HASH_LENGTH]
