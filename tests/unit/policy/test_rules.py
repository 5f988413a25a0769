"""Custom CEL rules: compiled at load, judged per agent, errors fail the rule instead of raising."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import ALL_CAPABILITIES, make_agent, put, result

from agent_operator.api import ReadinessPolicy
from agent_operator.policy import PolicyError, evaluate, load_policy

SECRET = "sk-proj-Q9w8E7r6T5y4U3i2O1p0AsDfGhJkL"


def rules_policy(*rules: dict[str, Any]) -> ReadinessPolicy:
    return ReadinessPolicy.model_validate(
        {
            "apiVersion": "agentoperator.dev/v1alpha1",
            "kind": "ReadinessPolicy",
            "metadata": {"name": "rules"},
            "spec": {"rules": list(rules)},
        }
    )


def rule(expression: str, severity: str = "required", name: str = "r") -> dict[str, Any]:
    return {"name": name, "expression": expression, "message": "fix it: set the thing", "severity": severity}


@pytest.mark.parametrize(
    ("expression", "status", "fragment"),
    [
        ("object.spec.replicas >= 2", "pass", "rule holds"),
        ("object.spec.replicas >= 5", "fail", "fix it: set the thing"),
        ("object.metadata.labels.team == 'support'", "pass", ""),
        ("has(object.spec.runtime.budget) && object.spec.runtime.budget.dailyUSD <= 100.0", "pass", ""),
        ("object.spec.container.image.contains('@sha256:')", "pass", ""),
        ("object.spec.network.egress.allowedDomains.all(d, d.endsWith('.openai.com'))", "pass", ""),
        ("object.spec.nope == 1", "fail", "guard optional fields with has()"),
        ("object.spec.replicas + 'x' == 1", "fail", "the expression failed"),
        ("object.spec.replicas", "fail", "must return true or false, not int"),
        ("1 / 0 == 1", "fail", "the expression failed"),
    ],
)
def test_rule_outcomes(expression: str, status: str, fragment: str) -> None:
    report = evaluate(make_agent(), load_policy(rules_policy(rule(expression))), ALL_CAPABILITIES)
    found = result(report, "custom.r")
    assert found.status == status, found.message
    assert fragment in found.message
    assert found.severity == "required"
    assert found.title == "Custom rule r"
    assert found.remediation == "fix it: set the thing"


def test_warning_rule_warns_and_rules_follow_the_checks_in_order() -> None:
    loaded = load_policy(rules_policy(rule("false", "warning", "soft"), rule("false", "required", "hard")))
    report = evaluate(make_agent(), loaded, ALL_CAPABILITIES)
    assert [c.id for c in report.checks][-2:] == ["custom.soft", "custom.hard"]
    assert result(report, "custom.soft").status == "warn"
    assert "custom.soft" in report.warnings
    assert report.missing_required[-1] == "custom.hard"
    assert not report.ready


def test_rule_errors_never_quote_spec_values() -> None:
    agent = make_agent(put("spec.container.env", [{"name": "X", "value": SECRET}]))
    loaded = load_policy(
        rules_policy(
            rule("duration(object.spec.container.env[0].value) > duration('1s')", name="dur"),
            rule("object.spec[object.spec.container.env[0].value] == 1", name="key"),
        )
    )
    report = evaluate(agent, loaded, ALL_CAPABILITIES)
    assert result(report, "custom.dur").status == "fail"
    assert result(report, "custom.key").status == "fail"
    assert "<redacted>" in result(report, "custom.key").message
    assert SECRET not in report.model_dump_json()


def test_macro_variables_are_not_unknown_but_free_variables_are() -> None:
    load_policy(rules_policy(rule("object.spec.container.ports.exists(p, p.name == 'metrics')")))
    with pytest.raises(PolicyError) as info:
        load_policy(rules_policy(rule("object.spec.container.ports.all(p, p.name == other)")))
    assert [str(e) for e in info.value.errors] == [
        "spec.rules[0].expression: unknown variable other; the AgentDeployment is available as `object`"
    ]


def test_rules_with_many_list_macros_are_refused_at_load() -> None:
    """The CEL library has no cost limit: nested macros grow geometrically, so they are capped."""
    from agent_operator.api.policy import CustomRule
    from agent_operator.policy._rules import MAX_MACROS, compile_rule

    nested = "[1,2,3].all(a, [1,2,3].all(b, [1,2,3].all(c, a + b + c > 0)))"
    result = compile_rule(CustomRule(name="slow", expression=nested, message="m"), 0)
    assert not hasattr(result, "program")
    assert f"at most {MAX_MACROS}" in str(result)
    ok = compile_rule(CustomRule(name="fine", expression="object.spec.replicas >= 2", message="m"), 1)
    assert hasattr(ok, "program")
