"""Prometheus metrics of the operator. Names are part of the interface: dashboards use them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

API_REQUESTS = Counter(
    "agent_operator_api_requests_total",
    "Kubernetes API requests made by the operator, by verb and kind.",
    ["verb", "kind"],
)
RECONCILES = Counter(
    "agent_operator_reconciles_total",
    "Reconciles of AgentDeployments, by result (ok, error).",
    ["namespace", "agent", "result"],
)
RECONCILE_SECONDS = Histogram(
    "agent_operator_reconcile_duration_seconds",
    "Wall time of one reconcile.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RECONCILE_ERRORS = Counter(
    "agent_operator_reconcile_errors_total",
    "Reconciles that failed, by reason.",
    ["namespace", "agent", "reason"],
)
POLICY_VIOLATIONS = Gauge(
    "agent_operator_policy_violations",
    "Failing required readiness checks of an agent's desired revision.",
    ["namespace", "agent"],
)
ROLLOUTS = Counter(
    "agent_operator_rollouts_total",
    "Revisions that started rolling out.",
    ["namespace", "agent"],
)
ROLLBACKS = Counter(
    "agent_operator_rollbacks_total",
    "Rollbacks, by trigger (automatic, manual).",
    ["namespace", "agent", "trigger"],
)
DRIFT_LOOPS = Counter(
    "agent_operator_drift_loops_total",
    "Children caught being rewritten with unchanged content (a DriftLoop: an operator bug), by kind.",
    ["namespace", "agent", "kind"],
)
RECONCILE_OVER_BUDGET = Counter(
    "agent_operator_reconcile_over_budget_total",
    "Reconciles that ran past their time budget (a spare worker took over the queue meanwhile).",
    ["namespace", "agent"],
)
WATCH_UP = Gauge(
    "agent_operator_watch_up",
    "1 while the watch feeding the operator's cache with a kind is connected, 0 while it is down.",
    ["resource", "namespace"],
)
CACHE_OBJECTS = Gauge(
    "agent_operator_cache_objects",
    "Objects held in the operator's watch cache.",
)
BUDGET_SPENT_USD = Gauge(
    "agent_operator_budget_spent_usd",
    "Spend of every revision of an agent in the current daily budget window, in US dollars.",
    ["namespace", "agent"],
)
BUDGET_CAP_USD = Gauge(
    "agent_operator_budget_cap_usd",
    "The daily spend cap in force (spec.runtime.budget.dailyUSD, or an active override).",
    ["namespace", "agent"],
)
BUDGET_WARNING = Gauge(
    "agent_operator_budget_warning",
    "1 when an agent has spent alertAtPercent of its daily cap (BudgetWarning), else 0.",
    ["namespace", "agent"],
)
BUDGET_EXHAUSTED = Gauge(
    "agent_operator_budget_exhausted",
    "1 when an agent reached its daily cap and every revision is scaled to 0, else 0.",
    ["namespace", "agent"],
)
BUDGET_UNKNOWN = Gauge(
    "agent_operator_budget_unknown",
    "1 when the agent's spend cannot be measured (Prometheus unreachable), else 0.",
    ["namespace", "agent"],
)
