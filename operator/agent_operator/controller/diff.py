"""Deciding which children need a write. An unchanged agent costs zero writes.

A child needs a server-side apply when what we would send differs from what we sent last time
(the ``applied-hash`` annotation, which also catches fields we stopped setting), or when the
live object no longer carries what we set (someone deleted or edited a field we own). The live
object may hold more than we set: server defaults and other managers' fields are left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from kubernetes.utils import parse_quantity

from ..render import APPLIED_HASH

__all__ = ["APPLIED_HASH", "content_hash", "is_subset", "needs_apply", "with_applied_hash"]


def content_hash(obj: Mapping[str, Any]) -> str:
    """Hash of an object as we would apply it (without the hash annotation itself)."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def with_applied_hash(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` annotated with the hash of its own content."""
    digest = content_hash(obj)
    meta = dict(obj["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED_HASH: digest}
    return {**obj, "metadata": meta}


def needs_apply(
    desired: Mapping[str, Any],
    observed: Mapping[str, Any] | None,
    server_form: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``desired`` (already carrying its applied-hash) must be applied over ``observed``.

    ``server_form`` is ``desired`` as the apiserver stores it (see controller/normalise.py): when
    the live object matches that, the difference is the apiserver's normalisation, not an edit."""
    if observed is None:
        return True
    if applied_hash(desired) != applied_hash(observed):
        return True
    if is_subset(desired, observed):
        return False
    return server_form is None or not is_subset(server_form, observed)


def applied_hash(obj: Mapping[str, Any]) -> str | None:
    """The applied-hash annotation of ``obj``, if any."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(APPLIED_HASH)
    return str(value) if value is not None else None


def is_subset(desired: Any, observed: Any) -> bool:
    """Every value in ``desired`` is present and equal in ``observed``; lists match item by item."""
    if isinstance(desired, Mapping):
        if not isinstance(observed, Mapping):
            return False
        return all(
            is_subset(v, observed[k]) if k in observed else _omitted_by_server(v)
            for k, v in desired.items()
            if v is not None
        )
    if isinstance(desired, Sequence) and not isinstance(desired, str):
        if not isinstance(observed, Sequence) or isinstance(observed, str) or len(observed) != len(desired):
            return False
        return all(is_subset(d, o) for d, o in zip(desired, observed, strict=True))
    if desired == observed:
        return True
    return _same_quantity(desired, observed)


def _omitted_by_server(value: Any) -> bool:
    """The apiserver drops empty strings, lists and maps of omitempty fields (an env var with
    value ""), so their absence is no drift."""
    return value in ("", [], {})


def _same_quantity(a: Any, b: Any) -> bool:
    """The apiserver canonicalises quantities (``1000m`` becomes ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float | str):
        return False
    if not isinstance(b, int | float | str):
        return False
    try:
        return Decimal(parse_quantity(a)) == Decimal(parse_quantity(b))  # type: ignore[no-untyped-call]
    except (ValueError, InvalidOperation, TypeError):
        return False
