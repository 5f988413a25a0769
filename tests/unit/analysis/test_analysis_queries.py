"""PromQL templates (validation, expansion) and the built-in check queries."""

from __future__ import annotations

import pytest

from agent_operator.analysis.queries import (
    BUILTINS,
    builder_for,
    cost_per_task,
    error_rate,
    latency_p95,
    tasks,
    tokens_per_task,
    tool_calls_per_task,
)
from agent_operator.analysis.templates import Target, TemplateError, expand, selector, validate_template
from agent_operator.api.analysis import BUILTIN_METRICS, Cost, MetricCheck, ModelPrice

T = Target("shop", "support-bot", "abc123", 300)
SEL = 'namespace="shop",agentoperator_dev_agent="support-bot",agentoperator_dev_revision="abc123"'
TASKS = (
    "sum(increase(gen_ai_client_operation_duration_seconds_count{"
    + SEL
    + ',gen_ai_operation_name="invoke_agent"}[300s]))'
)


def test_selector_quotes_every_value() -> None:
    assert selector(T) == SEL
    nasty = Target('a"b', "c\\d", "e\nf", 60)
    assert selector(nasty, 'x="1"') == (
        'namespace="a\\"b",agentoperator_dev_agent="c\\\\d",agentoperator_dev_revision="e\\nf",x="1"'
    )


@pytest.mark.parametrize(
    "template",
    [
        "sum(rate(http_requests_total{{{selector}}}[{{window}}]))",
        'sum(rate(x{agentoperator_dev_revision="{{revision}}"}[5m]))',
        'sum(rate(x{namespace="{{ namespace }}",agent="{{agent}}",rev="{{ revision }}"}[{{window}}]))',
    ],
)
def test_valid_templates(template: str) -> None:
    validate_template(template)


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("", "the query is empty"),
        ("   ", "the query is empty"),
        ("sum(x{{{selector}}}[{{windw}}])", "unknown placeholder {{windw}}; use {{namespace}}"),
        ("x{{{selector}}, a={{b}}, c={{c}}}", "unknown placeholder {{b}}, {{c}}"),
        ("x{{{selector}}}[{{window]", "a '{{' has no matching '}}'"),
        ("x{{{selector}}}[5m]}}", "a '{{' has no matching '}}'"),
        ('sum(rate(x{namespace="{{namespace}}"}[{{window}}]))', "does not select a revision"),
        ("x" * 5000 + "{{revision}}", "longer than 4096"),
    ],
)
def test_invalid_templates(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error.replace("{", r"\{").replace("(", r"\(")):
        validate_template(template)


def test_expand_fills_every_placeholder() -> None:
    template = 'a{{{selector}}}[{{window}}] b{n="{{namespace}}",a="{{agent}}",r="{{ revision }}"}'
    assert expand(template, T) == f'a{{{SEL}}}[300s] b{{n="shop",a="support-bot",r="abc123"}}'


def test_expand_escapes_values_inside_string_literals() -> None:
    assert expand('x{r="{{revision}}"}', Target("n", "a", 'r"1', 60)) == 'x{r="r\\"1"}'


def test_builtin_queries() -> None:
    assert tasks(T) == TASKS
    assert error_rate(T) == (
        "(sum(increase(gen_ai_client_operation_duration_seconds_count{"
        + SEL
        + ',gen_ai_operation_name="invoke_agent",error_type!=""}[300s])) or vector(0)) / '
        + TASKS
    )
    assert latency_p95(T) == (
        "histogram_quantile(0.95, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket{"
        + SEL
        + ',gen_ai_operation_name="invoke_agent"}[300s])))'
    )
    assert tokens_per_task(T) == f"sum(increase(gen_ai_client_token_usage_sum{{{SEL}}}[300s])) / {TASKS}"
    assert tool_calls_per_task(T) == (
        "(sum(increase(gen_ai_client_operation_duration_seconds_count{"
        + SEL
        + ',gen_ai_operation_name="execute_tool"}[300s])) or vector(0)) / '
        + TASKS
    )


def test_cost_from_prices_sums_tokens_times_price_per_model_and_type() -> None:
    cost = Cost(
        prices=[ModelPrice(model="gpt-x", input_per_million_tokens=2.5, output_per_million_tokens=10)]
    )
    tokens = "sum(increase(gen_ai_client_token_usage_sum{" + SEL + ',gen_ai_request_model="gpt-x",'
    assert cost_per_task(cost)(T) == (
        f'(({tokens}gen_ai_token_type="input"}}[300s])) or vector(0)) * 2.5e-06'
        f' + ({tokens}gen_ai_token_type="output"}}[300s])) or vector(0)) * 1e-05) / {TASKS}'
    )


def test_cost_from_a_spend_counter() -> None:
    build = cost_per_task(Cost(metric="agent_spend_usd_total"))
    assert build(T) == f"sum(increase(agent_spend_usd_total{{{SEL}}}[300s])) / {TASKS}"


def test_every_builtin_has_a_builder() -> None:
    assert set(BUILTINS) | {"costPerTask"} == set(BUILTIN_METRICS)
    cost = Cost(metric="spend_total")
    for name in BUILTIN_METRICS:
        query = builder_for(MetricCheck(name=name, max=1.0), cost)(T)
        assert 'agentoperator_dev_revision="abc123"' in query


def test_a_template_replaces_the_builtin_query() -> None:
    check = MetricCheck(name="errorRate", max=0.1, query="sum(x{{{selector}}})")
    assert builder_for(check, None)(T) == f"sum(x{{{SEL}}})"


def test_cost_without_cost_config_is_refused() -> None:
    with pytest.raises(ValueError, match=r"costPerTask needs spec\.analysis\.cost"):
        builder_for(MetricCheck(name="costPerTask", max=1.0), None)


def test_queries_select_the_labels_the_rendered_service_monitor_writes() -> None:
    # Two copies because api/analysis -> analysis.templates must not import render (-> api).
    from agent_operator.analysis import templates
    from agent_operator.render import _monitoring

    assert templates.AGENT_LABEL == _monitoring.AGENT_METRIC_LABEL
    assert templates.REVISION_LABEL == _monitoring.REVISION_METRIC_LABEL
