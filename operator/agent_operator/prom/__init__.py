"""Prometheus access for canary analysis: one client module, typed errors."""

from .client import (
    InvalidQuery,
    PromAuth,
    PromError,
    PrometheusAuthError,
    PrometheusClient,
    PrometheusUnreachable,
    RetryPolicy,
    Sample,
    single_value,
)

__all__ = [
    "InvalidQuery",
    "PromAuth",
    "PromError",
    "PrometheusAuthError",
    "PrometheusClient",
    "PrometheusUnreachable",
    "RetryPolicy",
    "Sample",
    "single_value",
]
