"""PromQL for the built-in checks, read from the OpenTelemetry GenAI metrics (docs/metrics.md).

A task is one agent invocation: a ``gen_ai.client.operation.duration`` observation with
``gen_ai.operation.name="invoke_agent"``. Every per-task figure divides by the tasks of the same
revision in the same window, and that task count is also the check's sample count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..api.analysis import Cost, MetricCheck
from .templates import Target, expand, selector

# OpenTelemetry names as Prometheus stores them: dots become "_", the unit "s" becomes a
# "_seconds" suffix, an annotation unit such as "{token}" adds nothing.
OPERATION_DURATION: Final = "gen_ai_client_operation_duration_seconds"
TOKEN_USAGE: Final = "gen_ai_client_token_usage"
OPERATION_LABEL: Final = "gen_ai_operation_name"
ERROR_LABEL: Final = "error_type"
TOKEN_TYPE_LABEL: Final = "gen_ai_token_type"
MODEL_LABEL: Final = "gen_ai_request_model"
INVOKE_AGENT: Final = "invoke_agent"
EXECUTE_TOOL: Final = "execute_tool"
LATENCY_QUANTILE: Final = 0.95
_PER_MILLION: Final = 1_000_000

Builder = Callable[[Target], str]


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _increase(metric: str, target: Target, *matchers: str) -> str:
    return f"sum(increase({metric}{{{selector(target, *matchers)}}}[{target.window}]))"


def _or_zero(expr: str) -> str:
    """A sum that is 0, not "no data", when no series matched (no failure, no tool call yet)."""
    return f"({expr} or vector(0))"


def tasks(target: Target) -> str:
    """Agent invocations of the revision in the window: the sample count of every check."""
    return _increase(f"{OPERATION_DURATION}_count", target, f'{OPERATION_LABEL}="{INVOKE_AGENT}"')


def error_rate(target: Target) -> str:
    """Share of invocations that ended with an error.type, 0 to 1."""
    failed = _increase(
        f"{OPERATION_DURATION}_count", target, f'{OPERATION_LABEL}="{INVOKE_AGENT}"', f'{ERROR_LABEL}!=""'
    )
    return f"{_or_zero(failed)} / {tasks(target)}"


def latency_p95(target: Target) -> str:
    """95th percentile invocation duration in seconds (NaN, so no data, without invocations)."""
    invoke = f'{OPERATION_LABEL}="{INVOKE_AGENT}"'
    buckets = f"{OPERATION_DURATION}_bucket{{{selector(target, invoke)}}}"
    return f"histogram_quantile({LATENCY_QUANTILE}, sum by (le) (rate({buckets}[{target.window}])))"


def tokens_per_task(target: Target) -> str:
    """Input plus output tokens per invocation."""
    return f"{_increase(f'{TOKEN_USAGE}_sum', target)} / {tasks(target)}"


def tool_calls_per_task(target: Target) -> str:
    """Tool executions per invocation: the loop signal."""
    calls = _increase(f"{OPERATION_DURATION}_count", target, f'{OPERATION_LABEL}="{EXECUTE_TOOL}"')
    return f"{_or_zero(calls)} / {tasks(target)}"


def cost_per_task(cost: Cost) -> Builder:
    """US dollars per invocation: tokens by model and type times the price, or a spend counter."""

    def build(target: Target) -> str:
        if cost.metric is not None:
            return f"{_increase(cost.metric, target)} / {tasks(target)}"
        terms = []
        for price in cost.prices or []:
            model = f"{MODEL_LABEL}={_string(price.model)}"
            for token_type, per_million in (
                ("input", price.input_per_million_tokens),
                ("output", price.output_per_million_tokens),
            ):
                used = _increase(f"{TOKEN_USAGE}_sum", target, model, f'{TOKEN_TYPE_LABEL}="{token_type}"')
                terms.append(f"{_or_zero(used)} * {per_million / _PER_MILLION!r}")
        return f"({' + '.join(terms)}) / {tasks(target)}"

    return build


BUILTINS: Final[dict[str, Builder]] = {
    "errorRate": error_rate,
    "latencyP95": latency_p95,
    "tokensPerTask": tokens_per_task,
    "toolCallsPerTask": tool_calls_per_task,
}


def builder_for(check: MetricCheck, cost: Cost | None) -> Builder:
    """The query of a check: its template when it has one, else the built-in query. The API
    models guarantee a custom check has a query and costPerTask has a cost."""
    template = check.query
    if template is not None:
        return lambda target: expand(template, target)
    if check.name == "costPerTask":
        if cost is None:
            raise ValueError("costPerTask needs spec.analysis.cost")
        return cost_per_task(cost)
    return BUILTINS[check.name]
