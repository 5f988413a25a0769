"""What an API failure means: final for the request that was sent, or transient.

A final answer (the request itself is wrong) comes back the same however often it is retried;
a transient one (unreachable, throttled, busy) may not. :class:`KubeError` carries the class and
a redacted summary that is safe for status conditions.
"""

from __future__ import annotations

import json
import re

_TRANSIENT = frozenset({0, 401, 408, 429})
"""Besides 5xx: no connection (0), an expired token being refreshed (401), a timeout (408) and
throttling (429). Every other 4xx answer is final: 400, 403, 404, 409 (AlreadyExists on create,
a stale uid precondition on delete), 422 and the rest. The exception is a failed resourceVersion
precondition (409 Conflict, :attr:`KubeError.stale`): the cache was behind, and a new read helps."""
_UNTYPABLE = re.compile(r"typed (patch|live) object|to smd typed|convert\b.*\btyped", re.IGNORECASE)
"""A 500 from server-side apply whose message says the patch could not be typed against the
schema (a non-string label value, an unknown key in a typed map): the same body fails forever."""
_SMD_PATH = re.compile(r"(?:^|\s)(\.[^\s:]+):")


def is_final(status: int, message: str) -> bool:
    """Whether an API answer is final for this request: retrying the same body cannot help."""
    if status in _TRANSIENT:
        return False
    if status >= 500:
        return bool(_UNTYPABLE.search(message))
    return status >= 400


class KubeError(Exception):
    """An API call failed; :attr:`final` says whether retrying the same request could help.

    ``str()`` carries the apiserver's message, which may quote rejected values: it is for the
    log at most. :meth:`summary` is the redacted one-liner that may go into status."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        kind: str = "",
        name: str = "",
        fields: tuple[str, ...] = (),
        precondition: bool = False,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.kind = kind
        self.name = name
        self.precondition = precondition
        """The request carried a resourceVersion precondition."""
        self.fields = fields or tuple(dict.fromkeys(_SMD_PATH.findall(message)))[:5]

    @property
    def final(self) -> bool:
        return not self.stale and is_final(self.status, self.message)

    @property
    def stale(self) -> bool:
        """A resourceVersion precondition failed (409 Conflict): the write was computed from an
        older copy of the object than the apiserver's. Not final: read again and recompute."""
        return self.precondition and self.status == 409

    @property
    def untypable(self) -> bool:
        return self.status >= 500 and bool(_UNTYPABLE.search(self.message))

    def summary(self) -> str:
        """What was refused and where, never the value: field paths, the object's kind and name,
        the HTTP status. Safe for status conditions and events."""
        target = " ".join(p for p in (self.kind, self.name) if p) or "the request"
        if self.untypable:
            what = f"{target}: the apiserver could not type the patch (a value of the wrong type)"
        elif self.status == 0:
            what = f"{target}: the apiserver could not be reached"
        else:
            what = f"{target} was refused ({self.status} {self.reason})".replace(" )", ")")
        return f"{what} at {', '.join(self.fields)}" if self.fields else what


def error_from_response(status: int, http_reason: str, data: bytes, *, kind: str, name: str) -> KubeError:
    """The KubeError for an HTTP error answer: message, reason and field paths from its Status."""
    try:
        body = json.loads(data)
        message = str(body.get("message", ""))
        reason = str(body.get("reason") or http_reason)
        causes = (body.get("details") or {}).get("causes") or []
        fields = tuple(
            dict.fromkeys(str(c["field"]) for c in causes if isinstance(c, dict) and c.get("field"))
        )
    except (ValueError, AttributeError, TypeError):
        message, reason, fields = data.decode(errors="replace")[:500], http_reason, ()
    return KubeError(status, reason, message, kind=kind, name=name, fields=fields[:5])
