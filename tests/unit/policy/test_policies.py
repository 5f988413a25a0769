"""Built-in profiles, load_policy, select_policy, enforcement and the score formula."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import ALL_CAPABILITIES, DELETE, all_required, make_agent, put, result

from agent_operator.api import ReadinessPolicy
from agent_operator.policy import (
    CHECKS,
    CheckResult,
    PolicyError,
    ReadinessReport,
    builtin_policy,
    evaluate,
    load_policy,
    select_policy,
)
from agent_operator.policy._evaluate import score


def policy(name: str = "p", **spec: Any) -> ReadinessPolicy:
    return ReadinessPolicy.model_validate(
        {
            "apiVersion": "agentoperator.dev/v1alpha1",
            "kind": "ReadinessPolicy",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


# --- built-in profiles ---------------------------------------------------------------------------


def test_profiles_cover_every_check_and_get_stricter() -> None:
    rank = {"off": 0, "warning": 1, "required": 2}
    for check in CHECKS.values():
        levels = [builtin_policy(env).level(check.id) for env in ("development", "staging", "production")]
        assert levels == [check.levels[e] for e in ("development", "staging", "production")]
        assert [rank[x] for x in levels] == sorted(rank[x] for x in levels), check.id


def test_development_requires_only_the_basics() -> None:
    required = {i for i in CHECKS if builtin_policy("development").level(i) == "required"}
    assert required == {
        "security.hostNamespaces",
        "security.privileged",
        "security.hostPath",
        "secrets.noLiterals",
        "secrets.modelCredentials",
    }


def test_minimal_agent_is_ready_in_development_only() -> None:
    minimal = {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot"},
        "spec": {"container": {"image": "registry.example.com/bot:1.0"}},
    }
    dev = evaluate(make_agent(put("spec.environment", "development"), base=minimal))
    prod = evaluate(make_agent(base=minimal))
    assert dev.ready
    assert dev.policy == "builtin/development"
    assert not prod.ready
    assert prod.policy == "builtin/production"
    assert "runtime.timeout" in prod.missing_required
    assert "runtime.timeout" in dev.warnings


def test_policy_none_uses_the_agents_environment() -> None:
    agent = make_agent(put("spec.environment", "staging"))
    assert evaluate(agent).policy == "builtin/staging"


# --- load_policy -----------------------------------------------------------------------------------


def test_load_policy_applies_overrides_over_the_selected_environment() -> None:
    loaded = load_policy(
        policy(
            selector={"environments": ["development"]},
            checks={"runtime.timeout": "required", "probes.liveness": "off"},
            enforcement="Warn",
        )
    )
    assert loaded.name == "p"
    assert loaded.enforcement == "Warn"
    assert loaded.level("runtime.timeout") == "required"
    assert loaded.level("probes.liveness") == "off"
    assert loaded.level("runtime.retry") == "warning"  # the development level
    assert loaded.limits == builtin_policy("development").limits


def test_load_policy_starts_from_the_strictest_selected_environment() -> None:
    both = load_policy(policy(selector={"environments": ["development", "staging"]}))
    every = load_policy(policy())
    assert dict(both.levels) == dict(builtin_policy("staging").levels)
    assert dict(every.levels) == dict(builtin_policy("production").levels)


def test_load_policy_merges_limits_field_by_field() -> None:
    loaded = load_policy(policy(limits={"maxTimeoutSeconds": 300, "maxDailyBudgetUSD": 25}))
    assert loaded.limits.max_timeout_seconds == 300
    assert loaded.limits.max_daily_budget_usd == 25
    assert loaded.limits.require_image_digest is True  # inherited from production
    assert loaded.limits.max_retry_limit == 5


def test_load_policy_reports_every_problem_with_its_path() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(
            policy(
                checks={"probes.livenes": "required", "made.up": "off"},
                rules=[
                    {"name": "ok", "expression": "object.spec.replicas >= 2", "message": "m"},
                    {"name": "broken", "expression": "object.spec.replicas >=", "message": "m"},
                    {"name": "stranger", "expression": "other.x == 1", "message": "m"},
                ],
            )
        )
    lines = [str(e) for e in info.value.errors]
    assert lines[0] == "spec.checks.probes.livenes: unknown check; did you mean probes.liveness?"
    assert lines[1].startswith("spec.checks.made.up: unknown check")
    assert lines[2].startswith("spec.rules[1].expression: invalid CEL:")
    assert lines[3].startswith("spec.rules[2].expression: unknown variable other")
    assert len(lines) == 4
    assert str(info.value) == "\n".join(lines)


# --- select_policy ---------------------------------------------------------------------------------


def test_no_matching_policy_falls_back_to_the_builtin_profile() -> None:
    agent = make_agent(put("spec.environment", "staging"))
    chosen = select_policy(agent, [policy(selector={"environments": ["production"]})])
    assert chosen is builtin_policy("staging")


@pytest.mark.parametrize(
    ("selector", "namespace_labels", "matches"),
    [
        ({}, None, True),
        ({"environments": ["production"]}, None, True),
        ({"environments": ["staging"]}, None, False),
        ({"agentSelector": {"matchLabels": {"team": "support"}}}, None, True),
        ({"agentSelector": {"matchLabels": {"team": "billing"}}}, None, False),
        (
            {
                "agentSelector": {
                    "matchExpressions": [{"key": "team", "operator": "In", "values": ["support"]}]
                }
            },
            None,
            True,
        ),
        ({"agentSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}, None, True),
        (
            {
                "agentSelector": {
                    "matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["support"]}]
                }
            },
            None,
            False,
        ),
        ({"namespaceSelector": {"matchLabels": {"tier": "prod"}}}, {"tier": "prod"}, True),
        ({"namespaceSelector": {"matchLabels": {"tier": "prod"}}}, {"tier": "dev"}, False),
        ({"namespaceSelector": {"matchLabels": {"tier": "prod"}}}, None, False),
        ({"namespaceSelector": {}}, None, True),
        # every part that is set must match
        (
            {
                "environments": ["production"],
                "namespaceSelector": {"matchLabels": {"tier": "prod"}},
                "agentSelector": {"matchLabels": {"team": "billing"}},
            },
            {"tier": "prod"},
            False,
        ),
        (
            {
                "environments": ["production"],
                "namespaceSelector": {"matchLabels": {"tier": "prod"}},
                "agentSelector": {"matchLabels": {"team": "support"}},
            },
            {"tier": "prod"},
            True,
        ),
    ],
)
def test_selector_parts(
    selector: dict[str, Any], namespace_labels: dict[str, str] | None, matches: bool
) -> None:
    chosen = select_policy(make_agent(), [policy("custom", selector=selector)], namespace_labels)
    assert (chosen.name == "custom") is matches


def test_highest_priority_wins_then_the_first_name() -> None:
    agent = make_agent()
    candidates = [
        policy("zeta", priority=10),
        policy("alpha", priority=10),
        policy("high", priority=20, selector={"environments": ["staging"]}),
        policy("low", priority=1),
    ]
    assert select_policy(agent, candidates).name == "alpha"
    assert select_policy(agent, list(reversed(candidates))).name == "alpha"
    assert select_policy(agent, [policy("neg", priority=-5), policy("zero")]).name == "zero"


def test_an_invalid_winning_policy_raises_instead_of_weakening() -> None:
    with pytest.raises(PolicyError):
        select_policy(make_agent(), [policy("bad", checks={"nope": "off"}), policy("ok", priority=-1)])


# --- enforcement and report ------------------------------------------------------------------------


@pytest.mark.parametrize(("enforcement", "blocked"), [("Enforce", True), ("Warn", False), ("Audit", False)])
def test_enforcement_decides_blocking_not_readiness(enforcement: str, blocked: bool) -> None:
    loaded = load_policy(policy(enforcement=enforcement))
    report = evaluate(make_agent(put("spec.runtime.timeoutSeconds", DELETE)), loaded, ALL_CAPABILITIES)
    assert report.enforcement == enforcement
    assert not report.ready
    assert report.blocked is blocked


def test_levels_decide_fail_warn_and_off() -> None:
    loaded = load_policy(
        policy(checks={"runtime.timeout": "warning", "runtime.retry": "off", "runtime.loopGuard": "required"})
    )
    agent = make_agent(
        put("spec.runtime.timeoutSeconds", DELETE),
        put("spec.runtime.retry", DELETE),
        put("spec.runtime.maxIterations", DELETE),
    )
    report = evaluate(agent, loaded, ALL_CAPABILITIES)
    assert result(report, "runtime.timeout").status == "warn"
    assert result(report, "runtime.timeout").severity == "warning"
    assert "runtime.retry" not in [c.id for c in report.checks]
    assert result(report, "runtime.loopGuard").status == "fail"
    assert report.missing_required == ["runtime.loopGuard"]
    assert report.warnings == ["runtime.timeout"]


def test_advisories_warn_even_on_required_checks_and_do_not_block() -> None:
    from agent_operator.render import ClusterCapabilities

    report = evaluate(make_agent(), builtin_policy("production"), ClusterCapabilities())
    assert result(report, "egress.allowlist").severity == "required"
    assert result(report, "egress.allowlist").status == "warn"
    assert report.ready
    assert "egress.allowlist" in report.warnings


def test_report_wire_format_is_camel_case() -> None:
    report = evaluate(
        make_agent(put("spec.runtime.timeoutSeconds", DELETE)), all_required(), ALL_CAPABILITIES
    )
    wire = report.to_wire()
    assert wire["missingRequired"] == ["runtime.timeout"]
    assert set(wire) == {
        "agent",
        "policy",
        "enforcement",
        "ready",
        "score",
        "checks",
        "missingRequired",
        "warnings",
    }
    assert wire["agent"] == "agents/support-bot"
    assert ReadinessReport.model_validate(wire) == report


# --- score -----------------------------------------------------------------------------------------


def _r(severity: str, status: str) -> CheckResult:
    return CheckResult(id="x", title="x", severity=severity, status=status, message="")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([], 100),
        ([_r("required", "skip")], 100),
        ([_r("required", "pass"), _r("warning", "pass")], 100),
        ([_r("required", "fail")], 0),
        ([_r("required", "pass"), _r("warning", "warn")], 75),  # 3 of 4
        ([_r("required", "fail"), _r("warning", "pass")], 25),  # 1 of 4
        ([_r("required", "pass"), _r("required", "fail"), _r("warning", "pass")], 57),  # 4 of 7 = 57.1
        (
            [_r("required", "pass"), _r("required", "warn"), _r("warning", "skip")],
            50,
        ),  # advisory counts as not passing
        ([_r("required", "pass")] * 2 + [_r("warning", "warn")], 86),  # 6 of 7 = 85.7
        ([_r("warning", "pass"), _r("warning", "warn")], 50),
    ],
)
def test_score_formula(results: list[CheckResult], expected: int) -> None:
    assert score(results) == expected


def test_score_rounds_half_up() -> None:
    # 1 of 8 = 12.5
    assert score([_r("warning", "pass")] + [_r("warning", "warn")] * 7) == 13


def test_report_score_matches_its_checks() -> None:
    report = evaluate(
        make_agent(put("spec.runtime.timeoutSeconds", DELETE), put("spec.runtime.circuitBreaker", DELETE))
    )
    assert report.score == score(report.checks)
    assert 0 < report.score < 100
