"""``agentctl pause|resume|suspend|unsuspend NAME``: flip spec.paused or spec.suspend.

These edit the spec (a JSON merge patch), so under GitOps the next sync puts Git's value back;
the help says so, and the command warns when the object carries Argo CD or Flux markers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from ._cluster import (
    Cluster,
    add_agent_arguments,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_OK, Command
from ._console import Console

GITOPS_MARKERS = (
    "argocd.argoproj.io/tracking-id",
    "argocd.argoproj.io/instance",
    "kustomize.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/name",
)
"""Labels or annotations Argo CD and Flux put on the objects they sync."""


def gitops_managed(agent: Mapping[str, Any]) -> bool:
    meta = agent.get("metadata") or {}
    keys = {*(meta.get("labels") or {}), *(meta.get("annotations") or {})}
    return any(marker in keys for marker in GITOPS_MARKERS)


def _toggle(field: str, value: bool, done: str) -> Callable[[argparse.Namespace, Console], int]:
    def run(args: argparse.Namespace, console: Console) -> int:
        def work(cluster: Cluster) -> int:
            from ..kube import AGENT_DEPLOYMENT

            agent = get_agent(cluster, args.name)
            changed = bool((agent.get("spec") or {}).get(field, False)) != value
            if changed:
                cluster.api.merge_patch(
                    AGENT_DEPLOYMENT, args.name, cluster.namespace, {"spec": {field: value}}
                )
            if args.output == "json":
                print_json(
                    console,
                    {
                        "agent": args.name,
                        "namespace": cluster.namespace,
                        "field": f"spec.{field}",
                        "value": value,
                        "changed": changed,
                    },
                )
            else:
                state = done if changed else f"already {done}"
                console.print(f"agentdeployment {args.name} {state} (spec.{field}: {str(value).lower()})")
            if changed and gitops_managed(agent):
                console.note(
                    f"{args.name} is synced by Argo CD or Flux: the next sync reverts spec.{field} unless Git"
                    " says the same or the app ignores that field"
                )
            return EXIT_OK

        return run_against_cluster(args, console, work)

    return run


_GITOPS = (
    "\n\nThis edits the spec. Under GitOps the next sync reverts it: change the field in Git instead, or\n"
    "make the Argo CD / Flux app ignore it (Argo CD ignoreDifferences on /spec/{field}).\n\n"
    "Exit codes: 0 done (or already so), 1 a missing agent or an API failure, 2 bad flags or kubeconfig."
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="pause",
        summary="freeze the rollout where it is (spec.paused: true)",
        description="Set spec.paused: rollout progress stops at the current step; running pods, weights and\n"
        "timers stay as they are. A human takeover: promote, abort and rollback still work."
        + _GITOPS.format(field="paused"),
        configure=add_agent_arguments,
        run=_toggle("paused", True, "paused"),
    ),
    Command(
        name="resume",
        summary="let a paused rollout continue (spec.paused: false)",
        description="Clear spec.paused: the rollout continues from the step it was frozen at."
        + _GITOPS.format(field="paused"),
        configure=add_agent_arguments,
        run=_toggle("paused", False, "resumed"),
    ),
    Command(
        name="suspend",
        summary="kill switch: scale every revision to zero (spec.suspend: true)",
        description="Set spec.suspend: every revision is scaled to zero in one reconcile; Services,\n"
        "ConfigMaps and history are kept, so unsuspend restores the agent as it was."
        + _GITOPS.format(field="suspend"),
        configure=add_agent_arguments,
        run=_toggle("suspend", True, "suspended"),
    ),
    Command(
        name="unsuspend",
        summary="bring a suspended agent back (spec.suspend: false)",
        description="Clear spec.suspend: the revisions that ran before the suspension get their\n"
        "replicas back." + _GITOPS.format(field="suspend"),
        configure=add_agent_arguments,
        run=_toggle("suspend", False, "unsuspended"),
    ),
)
