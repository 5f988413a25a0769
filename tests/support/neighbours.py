"""Broken neighbours: agents the CRD admits but the operator cannot bring up, for the noisy-neighbour
test and benchmark.

Each kind is a spec override of the small test agent (``agent_manifest``) and the Stalled reason
the operator must report for it. The apply-time kinds are specs the CRD admits but the apiserver
refuses when the operator applies the Deployment rendered from them; ``admitted_kinds`` keeps only
those the CRD still admits (a dry-run create), so the set shrinks as admission learns to refuse them
instead of going stale. The malformed corpus (tests/support/malformed.py) no longer contributes a
kind: every variant it finds admissible is also valid for ``agentctl validate``, and run through the
operator those end Ready, or Stalled for PolicyViolation or SecretsMissing, never failing at apply.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .operator import agent_manifest, condition

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"

# Specs the CRD admits today but the apiserver refuses when the operator applies the child it
# renders from them: (spec overrides, refused resource, HTTP code). Tests take the ones the CRD
# still admits; as the CRD learns to refuse them at admission, the next one takes over.
REFUSED_AT_APPLY: list[tuple[dict[str, Any], str, str]] = [
    # A number where a label value must be a string: "500 failed to create typed patch object".
    ({"network": {"ingressFrom": [{"podSelector": {"matchLabels": {"tier": 7}}}]}}, "networkpolicies", "500"),
    (
        {
            "podTemplate": {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "zone", "operator": "In", "values": [7]}]}
                            ]
                        }
                    }
                }
            }
        },
        "deployments",
        "500",
    ),
    # An operator Kubernetes does not know: "422 Unsupported value" from Deployment validation.
    ({"podTemplate": {"tolerations": [{"key": "gpu", "operator": "Sometimes"}]}}, "deployments", "422"),
]

NEVER_CREATED_SECRET = "never-created-model-key"


@dataclass(frozen=True)
class BrokenKind:
    """One way to be broken: the spec overrides and the Stalled reason that tells the truth."""

    label: str
    overrides: Mapping[str, Any]
    reason: str


def candidate_kinds() -> list[BrokenKind]:
    kinds = [
        BrokenKind(f"refused {resource} {code} #{i}", overrides, "ApplyRejected")
        for i, (overrides, resource, code) in enumerate(REFUSED_AT_APPLY)
    ]
    kinds.append(
        BrokenKind("missing Secret", {"secrets": [{"name": NEVER_CREATED_SECRET}]}, "SecretsMissing")
    )
    return kinds


def admitted_kinds(custom: client.CustomObjectsApi, namespace: str) -> list[BrokenKind]:
    """The candidate kinds the CRD admits (strict dry-run create); at least one must fail at apply."""
    admitted = []
    for kind in candidate_kinds():
        body = agent_manifest("dry-run", namespace, **copy.deepcopy(dict(kind.overrides)))
        try:
            custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, body, dry_run="All", field_validation="Strict"
            )
        except ApiException as exc:
            if exc.status not in (400, 422):
                raise
            continue
        admitted.append(kind)
    if not any(kind.reason == "ApplyRejected" for kind in admitted):
        raise AssertionError("the CRD now refuses every spec in REFUSED_AT_APPLY: add one it admits")
    return admitted


def broken_agents(
    namespace: str, kinds: list[BrokenKind], count: int
) -> dict[str, tuple[dict[str, Any], str]]:
    """``count`` agents taking the kinds in turn: name -> (manifest, expected Stalled reason)."""
    out = {}
    for i in range(count):
        kind = kinds[i % len(kinds)]
        name = f"broken-{i:03d}"
        out[name] = (agent_manifest(name, namespace, **copy.deepcopy(dict(kind.overrides))), kind.reason)
    return out


def create_concurrently(
    custom: client.CustomObjectsApi, namespace: str, bodies: Iterable[dict[str, Any]], workers: int = 8
) -> None:
    """Create the objects through the API, ``workers`` calls at a time (a burst, as a script would)."""

    def create(body: dict[str, Any]) -> None:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, bodies))


def stall_reasons(custom: client.CustomObjectsApi, namespace: str) -> dict[str, str | None]:
    """Every agent of the namespace and its Stalled reason while Stalled=True (None otherwise),
    from one list call."""
    listed: Any = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    out: dict[str, str | None] = {}
    for obj in listed["items"]:
        cond = condition(obj, "Stalled")
        out[obj["metadata"]["name"]] = cond.get("reason") if cond.get("status") == "True" else None
    return out
