"""The one place the operator talks to Prometheus.

Instant queries over the HTTP API (``POST /api/v1/query``), with a per-query timeout, a few
retries with jitter for transient failures, bearer-token or basic auth and a private CA. Every
failure is one of three classes, so callers can tell "cannot know right now" from "the query is
wrong" from "the credentials are wrong":

* :class:`PrometheusUnreachable` - connection refused, timeout, 429, 5xx (after the retries);
* :class:`InvalidQuery` - Prometheus rejected the PromQL (400 bad_data, 422 execution);
* :class:`PrometheusAuthError` - 401 or 403.

Query results never reach a log line: label values can hold anything (prompts, user ids), so
:class:`Sample` hides them in its repr and this module logs only status codes and error classes.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3

_log = logging.getLogger(__name__)
_MAX_ERROR = 300
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class PromError(Exception):
    """Base of the Prometheus client's errors. Messages never contain credentials or results."""


class PrometheusUnreachable(PromError):
    """Prometheus did not answer usefully (network, timeout, overload); retrying later may work."""


class InvalidQuery(PromError):
    """Prometheus refused the query itself; retrying will not help, the query must change."""


class PrometheusAuthError(PromError):
    """Prometheus refused the credentials (401/403)."""


@dataclass(frozen=True)
class PromAuth:
    """Credentials and trust for one Prometheus. The repr never shows the values."""

    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_pem: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret_data(cls, data: Mapping[str, str]) -> PromAuth:
        """From a Secret's ``data`` (base64 values): keys ``token``, or ``username`` and
        ``password``, and optionally ``ca.crt``. Raises ValueError naming the key, never a value."""
        decoded: dict[str, str] = {}
        for key in ("token", "username", "password", "ca.crt"):
            if key in data:
                try:
                    decoded[key] = base64.b64decode(data[key], validate=True).decode().strip()
                except (binascii.Error, UnicodeDecodeError) as exc:
                    raise ValueError(f"Secret key {key!r} is not base64-encoded UTF-8 text") from exc
        if "token" in decoded and ("username" in decoded or "password" in decoded):
            raise ValueError("the Secret sets both token and username/password; keep one")
        if ("username" in decoded) != ("password" in decoded):
            raise ValueError("basic auth needs both username and password in the Secret")
        return cls(
            bearer_token=decoded.get("token"),
            username=decoded.get("username"),
            password=decoded.get("password"),
            ca_pem=decoded.get("ca.crt"),
        )

    def headers(self) -> dict[str, str]:
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token}"}
        if self.username is not None and self.password is not None:
            pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}


@dataclass(frozen=True)
class Sample:
    """One element of an instant-query result."""

    labels: Mapping[str, str]
    value: float

    def __repr__(self) -> str:
        # Label values are user data: show which labels there are, not what they hold.
        return f"Sample(labels=<{', '.join(sorted(self.labels))}>, value={self.value!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures are retried a few times, quickly: a slow Prometheus is inconclusive,
    and the caller's next analysis interval is the real retry."""

    attempts: int = 3
    initial_delay: float = 0.2
    max_delay: float = 1.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield random.uniform(delay / 2, delay)
            delay = min(delay * 2, self.max_delay)


class PrometheusClient:
    """Instant queries against one Prometheus base URL."""

    def __init__(
        self,
        address: str,
        *,
        auth: PromAuth | None = None,
        timeout_seconds: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.address = address.rstrip("/")
        self._auth = auth or PromAuth()
        self._timeout = timeout_seconds
        self._retry = retry
        self._sleep = sleep
        pool_args: dict[str, Any] = {"retries": False, "timeout": urllib3.Timeout(total=timeout_seconds)}
        if self.address.startswith("https://"):
            pool_args["cert_reqs"] = "CERT_REQUIRED"
            if self._auth.ca_pem:
                pool_args["ca_cert_data"] = self._auth.ca_pem
        self._http = urllib3.PoolManager(num_pools=2, maxsize=4, **pool_args)

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        """Evaluate ``promql`` at ``at`` (Unix seconds; now when None). A vector gives one Sample
        per series, a scalar one Sample without labels, an empty vector no Samples."""
        fields = {"query": promql, "timeout": f"{max(1, int(self._timeout))}s"}
        if at is not None:
            fields["time"] = f"{at:.3f}"
        body = self._post("/api/v1/query", fields)
        return _samples(body)

    def ready(self) -> bool:
        """Whether Prometheus answers /-/ready with 200 (no retries)."""
        try:
            resp = self._http.request("GET", f"{self.address}/-/ready", headers=self._auth.headers())
        except (urllib3.exceptions.HTTPError, OSError):
            return False
        return resp.status == 200

    def _post(self, path: str, fields: Mapping[str, str]) -> dict[str, Any]:
        delays = self._retry.delays()
        while True:
            try:
                return self._post_once(path, fields)
            except PrometheusUnreachable as exc:
                delay = next(delays, None)
                if delay is None:
                    raise
                _log.info("Prometheus %s: %s; retrying in %.2fs", self.address, exc, delay)
                self._sleep(delay)

    def _post_once(self, path: str, fields: Mapping[str, str]) -> dict[str, Any]:
        try:
            resp = self._http.request_encode_body(
                "POST",
                f"{self.address}{path}",
                fields=dict(fields),
                encode_multipart=False,
                headers={"Accept": "application/json", **self._auth.headers()},
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise PrometheusUnreachable(f"cannot reach {self.address}: {type(exc).__name__}") from exc
        status = resp.status
        payload = _json(resp.data)
        if status in (401, 403):
            raise PrometheusAuthError(f"{self.address} refused the credentials (HTTP {status})")
        if status in (400, 422):
            raise InvalidQuery(_message(payload, resp.data))
        if status in _RETRYABLE_STATUS or status >= 500:
            raise PrometheusUnreachable(f"{self.address} answered HTTP {status}")
        if status != 200 or payload is None or payload.get("status") != "success":
            raise PrometheusUnreachable(f"{self.address} gave an unexpected answer (HTTP {status})")
        return payload


def _json(data: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _message(payload: dict[str, Any] | None, raw: bytes) -> str:
    text = str(payload.get("error", "")) if payload else raw.decode(errors="replace")
    return (text or "the query was rejected")[:_MAX_ERROR]


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError) as exc:
        raise PrometheusUnreachable("Prometheus returned a value that is not a number") from exc


def _samples(body: Mapping[str, Any]) -> list[Sample]:
    data = body.get("data") or {}
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Sample({}, _number(result[1]))]
    if kind == "vector" and isinstance(result, list):
        samples = []
        for item in result:
            value = _number((item.get("value") or [None, None])[1])
            samples.append(Sample(dict(item.get("metric") or {}), value))
        return samples
    raise InvalidQuery(
        f"the query returns a {kind or 'malformed result'}; an analysis query must return one number"
        " (a scalar or a single-series vector)"
    )


def single_value(samples: list[Sample]) -> float | None:
    """The one number a check query returns: None for an empty result or NaN (no data in the
    window, e.g. 0/0). More than one series is a query error: aggregate it with sum()."""
    if not samples:
        return None
    if len(samples) > 1:
        raise InvalidQuery(
            f"the query returns {len(samples)} series; aggregate it to one (e.g. wrap it in sum(...))"
        )
    value = samples[0].value
    return None if math.isnan(value) else value
