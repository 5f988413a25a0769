"""The one list of child kinds agrees with the renderer and with what the operator watches."""

from __future__ import annotations

from agent_operator.controller.sources import namespace_sources, wakes
from agent_operator.kube.kinds import CHILD_KINDS, CHILDREN, OPTIONAL_KINDS, WATCHED_KINDS
from agent_operator.kube.store import Change
from agent_operator.render import AGENT_LABEL, APPLY_ORDER, ClusterCapabilities


def test_rendered_children_are_the_renderers_kinds_in_apply_order() -> None:
    assert tuple(k.kind for k in CHILD_KINDS) == APPLY_ORDER


def test_a_change_to_every_child_whose_change_needs_a_reconcile_wakes_its_agent() -> None:
    assert {(k.group, k.version, k.plural) for k in WATCHED_KINDS} == {
        ("apps", "v1", "deployments"),
        ("apps", "v1", "replicasets"),  # pods becoming ready show up here first
        ("", "v1", "services"),
        ("", "v1", "configmaps"),
        ("", "v1", "serviceaccounts"),
        ("networking.k8s.io", "v1", "networkpolicies"),
        ("policy", "v1", "poddisruptionbudgets"),
        ("batch", "v1", "jobs"),  # evaluation Jobs finishing
    }
    for kind in WATCHED_KINDS:
        child = {"metadata": {"namespace": "ns", "name": "x", "labels": {AGENT_LABEL: "bot"}}}
        wake = wakes(Change("MODIFIED", kind, child, child))
        assert wake is not None
        assert (wake.namespace, wake.name) == ("ns", "bot")
    # Optional APIs may be absent: they are watched only while their CRD exists.
    assert not any(c.watched for c in CHILDREN if c.optional)
    cached = {s.kind for s in namespace_sources("ns")}
    assert set(CHILD_KINDS) - set(OPTIONAL_KINDS) <= cached
    assert not cached & set(OPTIONAL_KINDS)
    assert set(OPTIONAL_KINDS) <= {s.kind for s in namespace_sources("ns", frozenset(OPTIONAL_KINDS))}


def test_optional_kinds_are_exactly_the_capabilities_the_renderer_knows() -> None:
    everything = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)
    assert all(everything.serves(k.group, k.kind) for k in OPTIONAL_KINDS)
    assert not any(ClusterCapabilities().serves(k.group, k.kind) for k in OPTIONAL_KINDS)
    assert not any(everything.serves(k.group, k.kind) for k in CHILD_KINDS if k not in OPTIONAL_KINDS)
