"""Recognises literal values that look like credentials, without ever returning the value.

Two signals: well-known provider key formats, and long tokens whose character distribution is
too random to be a word, a path or a model name. The answer is only the *kind* of credential, so
callers cannot echo the secret by accident.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Final

from ..api.core import CREDENTIAL_NAME

_PROVIDER_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("an OpenAI API key", re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("a Stripe secret key", re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{20,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a URL with an embedded password", re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)
# One pass over the value instead of one per provider; the group that matched names the kind.
_ANY_PROVIDER = re.compile("|".join(f"(?P<p{i}>{p.pattern})" for i, (_, p) in enumerate(_PROVIDER_PATTERNS)))

MIN_TOKEN_LENGTH: Final = 20
# Two measures together, tuned on random base36/62/64 tokens against model names, hostnames,
# paths and CamelCase identifiers: bits per character (entropy) and the share of adjacent
# character pairs that switch between letter and digit or from lower to upper case ("noise").
# Words keep both low: "claude-3-5-sonnet-20241022" has noise 0.0, "SupportBotRelease2025" 0.13;
# random 20-character tokens measure about 0.4 and are caught more than 9 times in 10.
_ENTROPY_THRESHOLD: Final = 3.5
_NOISE_THRESHOLD: Final = 0.28
# Hex-only tokens have at most 4 bits per character; 32+ random hex digits measure above 3.3.
_HEX_ENTROPY_THRESHOLD: Final = 3.3
_MIN_HEX_LENGTH: Final = 32

_TOKEN = re.compile(rf"[A-Za-z0-9+/=_-]{{{MIN_TOKEN_LENGTH},}}")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DIGEST_PREFIX = re.compile(r"(?:sha256|sha512|sha1|md5):$")
_CREDENTIAL_NAME = re.compile(CREDENTIAL_NAME)
_IDENTIFIER_NAME = re.compile(r"(?i)(sha|commit|digest|hash|revision|checksum|version|build)")


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def character_noise(text: str) -> float:
    """Share of adjacent pairs that switch letter/digit or go from lower to upper case."""
    if len(text) < 2:
        return 0.0
    switches = sum(
        (a.islower() and b.isupper()) or (a.isalpha() and b.isdigit()) or (a.isdigit() and b.isalpha())
        for a, b in itertools.pairwise(text)
    )
    return switches / (len(text) - 1)


def credential_kind(value: str, name: str = "") -> str | None:
    """What kind of credential ``value`` looks like (e.g. "an OpenAI API key"), or None.

    ``name`` is the variable name: a non-empty literal under a credential-like name
    (DB_PASSWORD, API_KEY) counts whatever it looks like.
    """
    if not value:
        return None
    if (match := _ANY_PROVIDER.search(value)) is not None:
        return next(_PROVIDER_PATTERNS[int(name[1:])][0] for name, text in match.groupdict().items() if text)
    if name and _CREDENTIAL_NAME.match(name):
        return "a literal credential (the variable name says so)"
    if _has_random_token(value, hex_is_identifier=bool(_IDENTIFIER_NAME.search(name))):
        return "a high-entropy token"
    return None


def _has_random_token(value: str, hex_is_identifier: bool) -> bool:
    for match in _TOKEN.finditer(value):
        if _is_random(match.group(0), value[: match.start()], hex_is_identifier):
            return True
    return False


def _is_random(token: str, before: str, hex_is_identifier: bool) -> bool:
    core = token.strip("=-_/+")
    if len(core) < MIN_TOKEN_LENGTH or _UUID.match(core):
        return False
    if _HEX.match(core):
        # Content digests (sha256:...) and commit ids under a GIT_SHA-like name are public
        # identifiers, not secrets.
        if hex_is_identifier or _DIGEST_PREFIX.search(before) or len(core) < _MIN_HEX_LENGTH:
            return False
        return shannon_entropy(core.lower()) >= _HEX_ENTROPY_THRESHOLD
    return shannon_entropy(core) >= _ENTROPY_THRESHOLD and character_noise(core) >= _NOISE_THRESHOLD
