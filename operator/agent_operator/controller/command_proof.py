"""Proof that a command annotation was stamped by the operator's own admission webhook.

The mutating webhook is the only writer that knows who really sent a request (the apiserver's
authenticated ``userInfo``). When it stamps ``by`` on a command annotation it also adds
``proof``: an HMAC over the agent's namespace and name, the annotation key and every other field
of the annotation (known to this version or not, so a future command such as a budget override is
covered by construction). The operator acts on a command only when the proof verifies, so a
``by`` written by hand, with the webhook down or bypassed, is refused rather than believed.

Pure: the keys come in as bytes (see :mod:`.proof_keys` for where they come from).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

PROOF_FIELD: Final = "proof"
_VERSION: Final = "v1"
_CONTEXT: Final = b"agentoperator.dev command proof v1\x00"


def derive_key(material: bytes) -> bytes:
    """A proof key from secret ``material`` (the webhook's TLS private key), separated from any
    other use of that material."""
    return hashlib.sha256(_CONTEXT + material).digest()


def _message(namespace: str, name: str, annotation: str, body: Mapping[str, Any]) -> bytes:
    unsigned = {k: v for k, v in body.items() if k != PROOF_FIELD}
    canonical = {"namespace": namespace, "name": name, "annotation": annotation, "body": unsigned}
    return json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()


def proof(key: bytes, namespace: str, name: str, annotation: str, body: Mapping[str, Any]) -> str:
    """The proof for a command annotation's ``body`` (its own proof field left out)."""
    digest = hmac.new(key, _message(namespace, name, annotation, body), hashlib.sha256).hexdigest()
    return f"{_VERSION}:{digest}"


def verifies(keys: Sequence[bytes], namespace: str, name: str, annotation: str, raw: str) -> bool:
    """Whether annotation ``raw`` carries a proof one of ``keys`` made for exactly this agent,
    annotation key and content."""
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    claimed = body.get(PROOF_FIELD)
    if not isinstance(claimed, str):
        return False
    return any(hmac.compare_digest(claimed, proof(key, namespace, name, annotation, body)) for key in keys)


def verifier(keys: Sequence[bytes], namespace: str, name: str) -> Callable[[str, str], bool]:
    """``(annotation key, raw value) -> bool`` for one agent's command annotations."""
    return lambda annotation, raw: verifies(keys, namespace, name, annotation, raw)


def signer(key: bytes, namespace: str, name: str) -> Callable[[str, Mapping[str, Any]], str]:
    """``(annotation key, body) -> proof`` for one agent's command annotations."""
    return lambda annotation, body: proof(key, namespace, name, annotation, body)
