"""The one list of child kinds agrees with the renderer and with what the operator watches."""

from __future__ import annotations

from agent_operator.controller.handlers import CHILD_RESOURCES
from agent_operator.kube.kinds import CHILD_KINDS, CHILDREN, OPTIONAL_KINDS
from agent_operator.render import APPLY_ORDER, ClusterCapabilities


def test_rendered_children_are_the_renderers_kinds_in_apply_order() -> None:
    assert tuple(k.kind for k in CHILD_KINDS) == APPLY_ORDER


def test_the_handlers_watch_every_child_whose_change_needs_a_reconcile() -> None:
    assert set(CHILD_RESOURCES) == {
        ("apps", "v1", "deployments"),
        ("apps", "v1", "replicasets"),  # pods becoming ready show up here first
        ("", "v1", "services"),
        ("", "v1", "configmaps"),
        ("", "v1", "serviceaccounts"),
        ("networking.k8s.io", "v1", "networkpolicies"),
        ("policy", "v1", "poddisruptionbudgets"),
        ("batch", "v1", "jobs"),  # evaluation Jobs finishing
    }
    # Optional APIs may be absent: watching them would fail on clusters without the add-on.
    assert not any(c.watched for c in CHILDREN if c.optional)


def test_optional_kinds_are_exactly_the_capabilities_the_renderer_knows() -> None:
    everything = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)
    assert all(everything.serves(k.group, k.kind) for k in OPTIONAL_KINDS)
    assert not any(ClusterCapabilities().serves(k.group, k.kind) for k in OPTIONAL_KINDS)
    assert not any(everything.serves(k.group, k.kind) for k in CHILD_KINDS if k not in OPTIONAL_KINDS)
