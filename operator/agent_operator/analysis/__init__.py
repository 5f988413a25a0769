"""Canary analysis: PromQL for the built-in checks, and verdicts as pure functions.

Nothing here talks to Kubernetes; :mod:`.measure` is the one part that queries Prometheus,
through :mod:`agent_operator.prom`.
"""
