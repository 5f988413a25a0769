"""Where the command proof keys come from: the admission webhook's TLS private key.

Using the serving key means no extra Secret, RBAC or rotation of its own: every replica that can
answer the apiserver as the webhook holds it (one generated key in single-replica mode; the
cert-manager Secret every replica mounts in HA mode), and nobody else needs it. Whoever can read
that key could impersonate the webhook anyway. The file is read again when it changes (cert-manager
renews it), and the previous key still verifies, so a command stamped just before a renewal is
not refused.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .command_proof import derive_key


class ProofKeys:
    """The current proof key, and the one before it, from a TLS private key file."""

    def __init__(self, keyfile: Path) -> None:
        self._keyfile = keyfile
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._keys: tuple[bytes, ...] = ()
        self.keys()  # fail at start, not at the first approval, when the file is unreadable

    def keys(self) -> tuple[bytes, ...]:
        """Keys that verify a proof, the current one first."""
        with self._lock:
            try:
                stat = self._keyfile.stat()
                seen = (stat.st_mtime_ns, stat.st_size)
                if seen != self._seen:
                    key = derive_key(self._keyfile.read_bytes())
                    self._keys = (key, *[k for k in self._keys[:1] if k != key])
                    self._seen = seen
            except OSError:
                if not self._keys:
                    raise
                # Mid-renewal (the mounted Secret is swapped by symlink): keep the keys we have.
            return self._keys

    def current(self) -> bytes:
        """The key a new proof is made with."""
        return self.keys()[0]
