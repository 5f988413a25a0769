"""Admission decisions: the same policy engine as the controller, at `kubectl apply` time."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from agent_operator.api import AgentDeployment, ReadinessPolicy
from agent_operator.controller.admission import (
    MAX_WARNING_LENGTH,
    MAX_WARNINGS_TOTAL,
    AdmissionDecision,
    admission_review,
    stamp_command_identity,
)
from agent_operator.controller.commands import COMMAND_PREFIX, parse_commands
from agent_operator.controller.webhook import MUTATE_ID, VALIDATE_ID, decide, register_admission
from agent_operator.kube import KubeError
from agent_operator.policy import ReadinessReport, evaluate, load_policy
from agent_operator.render import ClusterCapabilities

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FULL = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)
CREDENTIAL = "sk-proj-Zx81mQv3T7wLp0sN4rYb6KfH2cJd9EaU5gXo1iWt"  # the literal in noncompliant.yaml
AGENTS = {"group": "agentoperator.dev", "version": "v1alpha1", "resource": "agentdeployments"}
POLICIES = {"group": "agentoperator.dev", "version": "v1alpha1", "resource": "readinesspolicies"}
ALICE = {"username": "alice@example.com", "groups": ["system:authenticated"]}


def _example(name: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    agent: dict[str, Any] = next(d for d in docs if d["kind"] == "AgentDeployment")
    return agent


def noncompliant() -> dict[str, Any]:
    return _example("noncompliant.yaml")


def compliant() -> dict[str, Any]:
    return _example("production.yaml")


def policy(name: str, enforcement: str, **spec: Any) -> ReadinessPolicy:
    return ReadinessPolicy.model_validate(
        {
            "apiVersion": "agentoperator.dev/v1alpha1",
            "kind": "ReadinessPolicy",
            "metadata": {"name": name},
            "spec": {"enforcement": enforcement, **spec},
        }
    )


class FakeCluster:
    def __init__(
        self,
        policies: Sequence[ReadinessPolicy] = (),
        labels: Mapping[str, Mapping[str, str]] | None = None,
        fail: bool = False,
        capabilities: ClusterCapabilities | None = None,
    ) -> None:
        self._policies = list(policies)
        self._labels = labels or {}
        self._fail = fail
        self._capabilities = capabilities or ClusterCapabilities()
        self.reads = 0

    def policies(self) -> Sequence[ReadinessPolicy]:
        self.reads += 1
        if self._fail:
            raise KubeError(503, "ServiceUnavailable", "etcd is down")
        return self._policies

    def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        return self._labels.get(namespace, {})

    def capabilities(self) -> ClusterCapabilities:
        return self._capabilities


def _report(agent: Mapping[str, Any], chosen: ReadinessPolicy) -> ReadinessReport:
    return evaluate(AgentDeployment.model_validate(agent), load_policy(chosen), ClusterCapabilities())


def request(
    obj: Mapping[str, Any],
    *,
    old: Mapping[str, Any] | None = None,
    operation: str = "CREATE",
    resource: Mapping[str, str] = AGENTS,
    sub: str | None = None,
    user: Mapping[str, Any] = ALICE,
) -> dict[str, Any]:
    return {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "resource": dict(resource),
        "subResource": sub,
        "operation": operation,
        "userInfo": dict(user),
        "object": copy.deepcopy(dict(obj)),
        "oldObject": copy.deepcopy(dict(old)) if old is not None else None,
    }


# -- AgentDeployment: enforcement modes ----------------------------------------------------------


def test_enforce_denies_a_noncompliant_agent_listing_failing_checks_and_fixes() -> None:
    cluster = FakeCluster([policy("prod", "Enforce", selector={"environments": ["production"]})])
    decision = admission_review("validate", request(noncompliant()), cluster)
    assert not decision.allowed
    assert decision.code == 403
    first, *details = decision.message.splitlines()
    assert first.startswith(
        "AgentDeployment agents/quick-demo is not production-ready under ReadinessPolicy prod"
    )
    for check_id in ("probes.liveness", "image.pinned", "secrets.noLiterals", "runtime.timeout"):
        assert check_id in first
        line = next(d for d in details if d.startswith(f"  - {check_id}: "))
        assert "Fix: " in line
    assert "timeoutSeconds 3600 exceeds the policy's maximum of 900" in decision.message
    # warning-level findings do not block and are not listed as reasons
    assert "probes.startup" not in decision.message


def test_denial_never_echoes_the_literal_credential() -> None:
    cluster = FakeCluster([policy("prod", "Enforce")])
    decision = admission_review("validate", request(noncompliant()), cluster)
    assert "secrets.noLiterals" in decision.message
    assert CREDENTIAL not in decision.message
    assert CREDENTIAL[:12] not in decision.message


def test_advisories_about_the_cluster_are_warnings() -> None:
    """Without Cilium the FQDN allowlist is not enforced: admitted, with the advisory shown."""
    decision = admission_review("validate", request(compliant()), FakeCluster([policy("prod", "Enforce")]))
    assert decision.allowed
    assert any(w.startswith("egress.allowlist (warning): ") and "Cilium" in w for w in decision.warnings)


def test_enforce_admits_a_compliant_agent_silently() -> None:
    cluster = FakeCluster(
        [policy("prod", "Enforce", selector={"environments": ["production"]})], capabilities=FULL
    )
    decision = admission_review("validate", request(compliant()), cluster)
    assert decision == AdmissionDecision(True)


def test_without_a_matching_policy_the_builtin_profile_enforces_like_the_operator() -> None:
    # The operator blocks a production agent failing the built-in production profile; so does admission.
    decision = admission_review("validate", request(noncompliant()), FakeCluster())
    assert not decision.allowed
    assert "ReadinessPolicy builtin/production (Enforce)" in decision.message


def test_warn_admits_with_a_summary_and_one_warning_per_finding() -> None:
    cluster = FakeCluster([policy("soft", "Warn")])
    decision = admission_review("validate", request(noncompliant()), cluster)
    assert decision.allowed
    assert decision.message == ""
    summary, *findings = decision.warnings
    report = _report(noncompliant(), policy("soft", "Warn"))
    assert summary == (
        f"ReadinessPolicy soft (Warn) admits this agent, but {len(report.missing_required)} required "
        "check(s) fail; Enforce would deny it"
    )
    assert any(
        w.startswith("probes.liveness (required): the agent container has no liveness probe")
        for w in findings
    )
    assert any(w.startswith("probes.startup (warning): ") for w in findings)
    assert all(len(w) <= MAX_WARNING_LENGTH for w in decision.warnings)
    assert sum(len(w) for w in decision.warnings) <= MAX_WARNINGS_TOTAL + MAX_WARNING_LENGTH
    assert not any(CREDENTIAL in w for w in decision.warnings)


def test_many_findings_end_with_a_pointer_to_the_full_report() -> None:
    decision = admission_review("validate", request(noncompliant()), FakeCluster([policy("soft", "Warn")]))
    last = decision.warnings[-1]
    assert last.endswith("more finding(s): run `agentctl validate` on the manifest")
    listed = len(decision.warnings) - 2  # minus the summary and the pointer
    assert int(last.split()[0]) + listed == len(_report(noncompliant(), policy("soft", "Warn")).failures())


def test_enforce_admits_a_ready_agent_with_warnings_for_warning_level_findings() -> None:
    decision = admission_review("validate", request(_example("minimal.yaml")), FakeCluster())
    assert decision.allowed
    assert decision.warnings
    assert all("(warning)" in w for w in decision.warnings)


def test_audit_admits_silently() -> None:
    decision = admission_review("validate", request(noncompliant()), FakeCluster([policy("watch", "Audit")]))
    assert decision == AdmissionDecision(True)


def test_policy_selection_uses_namespace_labels_and_priority_like_the_operator() -> None:
    policies = [
        policy(
            "critical",
            "Enforce",
            priority=100,
            selector={"namespaceSelector": {"matchLabels": {"tier": "critical"}}},
        ),
        policy("soft", "Warn", priority=1),
    ]
    plain = admission_review("validate", request(noncompliant()), FakeCluster(policies))
    assert plain.allowed
    labelled = admission_review(
        "validate", request(noncompliant()), FakeCluster(policies, labels={"agents": {"tier": "critical"}})
    )
    assert not labelled.allowed
    assert "ReadinessPolicy critical (Enforce)" in labelled.message


def test_an_invalid_selecting_policy_denies_rather_than_judging_by_a_weaker_one() -> None:
    broken = policy("typo", "Enforce", checks={"probes.livenes": "required"})
    decision = admission_review("validate", request(compliant()), FakeCluster([broken]))
    assert not decision.allowed
    assert "spec.checks.probes.livenes: unknown check; did you mean probes.liveness?" in decision.message


# -- AgentDeployment: what is judged -------------------------------------------------------------


def test_an_invalid_spec_is_denied_with_one_line_field_errors() -> None:
    agent = compliant()
    agent["spec"]["replicas"] = -1
    agent["spec"]["bogus"] = True
    decision = admission_review("validate", request(agent), FakeCluster())
    assert not decision.allowed
    assert decision.code == 422
    lines = decision.message.splitlines()
    assert lines[0] == "AgentDeployment agents/support-bot is invalid:"
    assert "  spec.replicas: must be between 0 and 2147483647" in lines
    assert any(line.startswith("  spec.bogus: unknown field; allowed fields: ") for line in lines)


def test_metadata_only_updates_pass_even_for_a_noncompliant_agent() -> None:
    """An abort or rollback annotation on an agent that no longer complies must not be refused."""
    old = noncompliant()
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {f"{COMMAND_PREFIX}rollback": '{"at":"2026-01-01T00:00:00Z","by":"x"}'}
    new["metadata"]["finalizers"] = ["example.com/keep"]
    cluster = FakeCluster([policy("prod", "Enforce")])
    assert admission_review("validate", request(new, old=old, operation="UPDATE"), cluster).allowed
    assert cluster.reads == 0


def test_spec_and_label_updates_are_judged() -> None:
    old = compliant()
    cluster = FakeCluster([policy("prod", "Enforce")])
    worse = copy.deepcopy(old)
    worse["spec"]["replicas"] = 1
    decision = admission_review("validate", request(worse, old=old, operation="UPDATE"), cluster)
    assert not decision.allowed
    assert "availability.replicas" in decision.message

    strict = policy(
        "strict",
        "Enforce",
        priority=5,
        selector={"agentSelector": {"matchLabels": {"pci": "yes"}}},
        limits={"minReplicas": 5},
    )
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"]["pci"] = "yes"
    decision = admission_review(
        "validate", request(relabelled, old=old, operation="UPDATE"), FakeCluster([strict])
    )
    assert not decision.allowed
    assert "ReadinessPolicy strict (Enforce)" in decision.message


def test_an_object_being_deleted_is_not_judged() -> None:
    old = noncompliant()
    new = copy.deepcopy(old)
    new["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    new["spec"]["replicas"] = 3
    assert admission_review("validate", request(new, old=old, operation="UPDATE"), FakeCluster()).allowed


@pytest.mark.parametrize(
    ("operation", "sub"),
    [("DELETE", None), ("CONNECT", None), ("UPDATE", "status"), ("UPDATE", "scale"), ("CREATE", "status")],
)
def test_deletions_and_subresources_pass_untouched(operation: str, sub: str | None) -> None:
    cluster = FakeCluster([policy("prod", "Enforce")])
    agent = noncompliant()
    agent["metadata"]["annotations"] = {
        f"{COMMAND_PREFIX}approve": '{"at":"2026-01-01T00:00:00Z","by":"mallory"}'
    }
    for webhook in ("validate", "mutate"):
        decision = admission_review(
            webhook, request(agent, old=noncompliant(), operation=operation, sub=sub), cluster
        )
        assert decision == AdmissionDecision(True)
    assert cluster.reads == 0


def test_other_api_groups_pass_untouched() -> None:
    pods = {"group": "", "version": "v1", "resource": "pods"}
    assert admission_review(
        "validate", request({"spec": {}}, resource=pods), FakeCluster()
    ) == AdmissionDecision(True)


def test_a_name_generated_later_still_parses() -> None:
    agent = compliant()
    agent["metadata"] = {"generateName": "support-bot-", "namespace": "agents"}
    decision = admission_review("validate", request(agent), FakeCluster([policy("prod", "Enforce")]))
    assert decision.allowed


# -- ReadinessPolicy -----------------------------------------------------------------------------


def _policy_body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "ReadinessPolicy",
        "metadata": {"name": "team-policy"},
        "spec": spec,
    }


def test_a_policy_with_an_unknown_check_or_bad_cel_is_denied_with_every_problem() -> None:
    body = _policy_body(
        checks={"probes.livenes": "required"},
        rules=[{"name": "broken", "expression": "object.spec.replicas >=", "message": "m"}],
    )
    decision = admission_review("validate", request(body, resource=POLICIES), FakeCluster())
    assert not decision.allowed
    assert decision.code == 422
    lines = decision.message.splitlines()
    assert lines[0] == "ReadinessPolicy team-policy is invalid:"
    assert "  spec.checks.probes.livenes: unknown check; did you mean probes.liveness?" in lines
    assert any(line.startswith("  spec.rules[0].expression: ") for line in lines)


def test_a_policy_that_fails_the_model_is_denied_with_field_errors() -> None:
    decision = admission_review(
        "validate", request(_policy_body(enforcement="Block"), resource=POLICIES), FakeCluster()
    )
    assert not decision.allowed
    assert "spec.enforcement: must be one of 'Enforce', 'Warn' or 'Audit'" in decision.message


def test_valid_policies_are_admitted_and_not_mutated() -> None:
    for path in sorted((EXAMPLES / "policies").glob("*.yaml")):
        for body in (d for d in yaml.safe_load_all(path.read_text()) if d):
            assert admission_review("validate", request(body, resource=POLICIES), FakeCluster()).allowed, path
            assert admission_review(
                "mutate", request(body, resource=POLICIES), FakeCluster()
            ) == AdmissionDecision(True)


# -- mutating: approval identity -----------------------------------------------------------------


def _annotated(**commands: Mapping[str, Any] | str) -> dict[str, Any]:
    agent = compliant()
    agent["metadata"]["annotations"] = {
        f"{COMMAND_PREFIX}{verb}": body if isinstance(body, str) else json.dumps(body)
        for verb, body in commands.items()
    }
    return agent


def test_a_changed_command_annotation_gets_the_requesting_user_as_by() -> None:
    old = _annotated(abort={"at": "2026-01-01T00:00:00Z", "by": "bob"})
    new = _annotated(
        abort={"at": "2026-01-01T00:00:00Z", "by": "bob"},
        approve={"at": "2026-01-02T00:00:00Z", "by": "the-boss", "revision": "abc123", "step": 2},
    )
    new["metadata"]["annotations"]["team"] = "support"
    decision = admission_review("mutate", request(new, old=old, operation="UPDATE"), FakeCluster())
    assert decision.allowed
    assert list(decision.annotations) == [f"{COMMAND_PREFIX}approve"]
    stamped = json.loads(decision.annotations[f"{COMMAND_PREFIX}approve"])
    assert stamped == {
        "at": "2026-01-02T00:00:00Z",
        "by": "alice@example.com",
        "revision": "abc123",
        "step": 2,
    }
    # the operator reads the stamped annotation as alice's approval
    commands, problems = parse_commands(
        {f"{COMMAND_PREFIX}approve": decision.annotations[f"{COMMAND_PREFIX}approve"]}
    )
    assert problems == []
    assert commands[0].by == "alice@example.com"
    assert commands[0].revision == "abc123"


def test_a_command_written_at_creation_is_stamped_too() -> None:
    agent = _annotated(approve={"at": "2026-01-02T00:00:00Z"})
    decision = admission_review(
        "mutate", request(agent, user={"username": "system:serviceaccount:argocd:argocd"}), FakeCluster()
    )
    assert (
        json.loads(decision.annotations[f"{COMMAND_PREFIX}approve"])["by"]
        == "system:serviceaccount:argocd:argocd"
    )


def test_a_rewritten_command_with_a_new_time_is_stamped_again() -> None:
    old = _annotated(promote={"at": "2026-01-01T00:00:00Z", "by": "alice@example.com"})
    new = _annotated(promote={"at": "2026-01-03T00:00:00Z", "by": "alice@example.com"})
    bob = {"username": "bob"}
    decision = admission_review("mutate", request(new, old=old, operation="UPDATE", user=bob), FakeCluster())
    assert json.loads(decision.annotations[f"{COMMAND_PREFIX}promote"])["by"] == "bob"


@pytest.mark.parametrize(
    ("old", "new", "user"),
    [
        # unchanged annotation keeps its recorded author, whoever updates something else
        (
            {"approve": '{"at":"2026-01-01T00:00:00Z","by":"bob"}'},
            {"approve": '{"at":"2026-01-01T00:00:00Z","by":"bob"}'},
            "alice",
        ),
        # already names the requester: no patch
        ({}, {"approve": '{"at":"2026-01-01T00:00:00Z","by":"alice"}'}, "alice"),
        # malformed JSON or not an object: the operator reports it; the webhook leaves it alone
        ({}, {"approve": "yes please"}, "alice"),
        ({}, {"approve": "[1, 2]"}, "alice"),
        # an anonymous request has no identity to stamp
        ({}, {"approve": '{"at":"2026-01-01T00:00:00Z","by":"bob"}'}, ""),
    ],
)
def test_no_stamp(old: dict[str, str], new: dict[str, str], user: str) -> None:
    old_obj = _annotated(**old)
    new_obj = _annotated(**new)
    assert stamp_command_identity(new_obj, old_obj, user) == {}


def test_other_annotations_are_never_touched() -> None:
    agent = compliant()
    agent["metadata"]["annotations"] = {
        "agentoperator.dev/other": '{"by":"x"}',
        "command.approve": '{"by":"x"}',
    }
    assert stamp_command_identity(agent, None, "alice") == {}


def test_mutate_sets_no_spec_defaults() -> None:
    """Defaults come from the CRD schema (applied with or without the webhook), never from here."""
    agent = compliant()
    del agent["spec"]["replicas"]
    decision = admission_review("mutate", request(agent), FakeCluster())
    assert decision == AdmissionDecision(True)


# -- kopf wiring ---------------------------------------------------------------------------------


def test_a_cluster_read_failure_admits_with_a_warning() -> None:
    decision = decide("validate", request(noncompliant()), FakeCluster(fail=True))
    assert decision.allowed
    assert decision.warnings == (
        "agent-operator admission could not read the cluster (503 ServiceUnavailable); the operator checks "
        "readiness again when it reconciles",
    )


def _handler(registry: kopf.OperatorRegistry, handler_id: str) -> Any:
    return next(h for h in registry._webhooks.get_all_handlers() if h.id == handler_id)


def _kopf_kwargs(req: Mapping[str, Any]) -> dict[str, Any]:
    body = kopf.Body(req["object"])
    return {
        "resource": kopf.Resource(AGENTS["group"], AGENTS["version"], AGENTS["resource"]),
        "operation": req["operation"],
        "subresource": req["subResource"],
        "userinfo": req["userInfo"],
        "body": body,
        "old": kopf.Body(req["oldObject"]) if req["oldObject"] else None,
        "warnings": [],
        "patch": kopf.Patch(body=body),
    }


def test_handlers_register_under_the_contract_paths_only_on_request() -> None:
    registry = kopf.OperatorRegistry()
    assert registry._webhooks.get_all_handlers() == []
    register_admission(registry, FakeCluster([policy("soft", "Warn")]))
    handlers: dict[str, Any] = {h.id: h for h in registry._webhooks.get_all_handlers()}
    assert set(handlers) == {VALIDATE_ID, MUTATE_ID} == {"validate-agents", "mutate-agents"}
    assert set(handlers[VALIDATE_ID].operations or ()) == {"CREATE", "UPDATE"}
    assert handlers[MUTATE_ID].reason.value == "mutating"
    assert handlers[VALIDATE_ID].reason.value == "validating"
    assert not kopf.get_default_registry()._webhooks.get_all_handlers()


def test_kopf_handlers_raise_admission_errors_add_warnings_and_patch_annotations() -> None:
    registry = kopf.OperatorRegistry()
    register_admission(registry, FakeCluster([policy("prod", "Enforce")]))
    kwargs = _kopf_kwargs(request(noncompliant()))
    with pytest.raises(kopf.AdmissionError) as denied:
        _handler(registry, VALIDATE_ID).fn(**kwargs)
    assert denied.value.code == 403
    assert "image.pinned" in str(denied.value)

    soft = kopf.OperatorRegistry()
    register_admission(soft, FakeCluster([policy("soft", "Warn")]))
    kwargs = _kopf_kwargs(request(noncompliant()))
    _handler(soft, VALIDATE_ID).fn(**kwargs)
    assert kwargs["warnings"][0].startswith("ReadinessPolicy soft (Warn)")

    agent = _annotated(approve={"at": "2026-01-02T00:00:00Z", "by": "mallory"})
    kwargs = _kopf_kwargs(request(agent, old=compliant(), operation="UPDATE"))
    _handler(soft, MUTATE_ID).fn(**kwargs)
    ops = kwargs["patch"].as_json_patch()
    assert len(ops) == 1
    assert ops[0]["op"] == "replace"
    assert ops[0]["path"] == "/metadata/annotations/agentoperator.dev~1command.approve"
    assert json.loads(ops[0]["value"])["by"] == "alice@example.com"


def test_a_terminating_or_metadata_only_policy_update_is_never_refused() -> None:
    broken = {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "ReadinessPolicy",
        "metadata": {"name": "old", "finalizers": ["x"]},
        "spec": {"checks": {"no.such.check": "required"}},
    }
    resource = {"group": "agentoperator.dev", "version": "v1alpha1", "resource": "readinesspolicies"}
    base = {"operation": "UPDATE", "resource": resource, "userInfo": {"username": "admin"}}
    leaving = {**broken, "metadata": {"name": "old", "deletionTimestamp": "2026-11-21T12:00:00Z"}}
    relabelled = {**broken, "metadata": {"name": "old", "labels": {"team": "a"}}}
    for new in (leaving, relabelled):
        decision = admission_review("validate", {**base, "object": new, "oldObject": broken}, FakeCluster())
        assert decision.allowed
    changed = {**broken, "spec": {"checks": {"still.unknown": "required"}}}
    assert not admission_review(
        "validate", {**base, "object": changed, "oldObject": broken}, FakeCluster()
    ).allowed
