"""``agentctl approve|promote|abort|retry|rollback NAME``: human commands to the operator.

Each sets the annotation ``agentoperator.dev/command.<verb>`` (see
:mod:`agent_operator.controller.commands`) with a JSON merge patch; the operator acts on it once,
on its next reconcile. The command names the revision (and for approve, the step) it aims at, read
from status now, so a command issued against what the user saw cannot act on a later revision.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..controller.commands import COMMAND_PREFIX, CommandError, Verb, command_annotation, decode_command
from ..controller.history import Revision, history_entries
from ..controller.status_codec import state_from_status
from ..rollout import RolloutState
from ..rollout import rollback_target as choose_rollback_target
from ._cluster import (
    Cluster,
    CommandFailed,
    add_agent_arguments,
    fetch_history,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_OK, Command
from ._console import Console
from ._status_view import describe_steps, step_text


@dataclass(frozen=True)
class Target:
    """What a command aims at, and how to say it to the user."""

    summary: str
    revision: str | None = None
    step: int | None = None
    full: bool = False
    to_revision: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def next_command_time(
    now: datetime, annotations: Mapping[str, str], status: Mapping[str, Any], verb: Verb
) -> datetime:
    """``now`` at second precision, moved past the verb's previous command and the last one the
    operator handled: the operator acts once per (verb, time) and skips times it has already seen,
    so two commands within one second (or a skewed clock) must still look new."""
    moment = now.astimezone(UTC).replace(microsecond=0)
    earlier = [at for v, at in state_from_status(status).handled_commands if v == verb]
    key = COMMAND_PREFIX + verb
    if key in annotations:
        with contextlib.suppress(CommandError):  # a malformed earlier command sets no floor
            earlier.append(decode_command(key, annotations[key]).at)
    latest = max(earlier, default=None)
    if latest is not None and moment <= latest:
        moment = latest + timedelta(seconds=1)
    return moment


def _state(agent: Mapping[str, Any]) -> RolloutState:
    return state_from_status(agent.get("status"))


def _canary(agent: Mapping[str, Any], verb: str) -> str:
    state = _state(agent)
    if not state.canary_revision:
        name = agent["metadata"]["name"]
        stable = state.stable_revision
        where = f"revision {stable} is stable" if stable else "nothing has rolled out yet"
        raise CommandFailed(f"agentdeployment {name} has no canary to {verb}: {where}")
    return state.canary_revision


def approve_target(agent: Mapping[str, Any]) -> Target:
    name = agent["metadata"]["name"]
    state = _state(agent)
    if not state.canary_revision and state.stable_revision and state.widenings:
        # Egress is shared, no part of a revision: its widening waits on the stable revision.
        return Target(
            f"the egress widening of revision {state.stable_revision}", revision=state.stable_revision
        )
    canary = _canary(agent, "approve")
    index = state.step_index
    steps = describe_steps(agent.get("spec") or {}, gated=bool(state.widenings)) or []
    step = steps[index] if index < len(steps) else None
    if step is None or step.get("kind") != "approval":
        at = f"step {index + 1}/{len(steps)} ({step_text(step, name)})" if step else f"step {index + 1}"
        raise CommandFailed(
            f"agentdeployment {name}: canary {canary} is at {at}, which does not wait for approval"
        )
    return Target(f"revision {canary} at step {index + 1}/{len(steps)}", revision=canary, step=index)


def promote_target(agent: Mapping[str, Any], full: bool) -> Target:
    canary = _canary(agent, "promote")
    how = "to 100%, skipping every remaining step" if full else "past its current step"
    # The step too: a promote issued at one step must not skip the next one (an evaluation, say)
    # if the rollout moved on before the operator read the command.
    return Target(f"revision {canary} {how}", revision=canary, step=_state(agent).step_index, full=full)


def abort_target(agent: Mapping[str, Any]) -> Target:
    canary = _canary(agent, "abort")
    return Target(f"revision {canary}: back to the stable revision", revision=canary)


def retry_target(agent: Mapping[str, Any]) -> Target:
    state = _state(agent)
    if state.failed_revision:
        return Target(f"failed revision {state.failed_revision} from step 1", revision=state.failed_revision)
    if state.canary_revision and state.failure_reason:
        return Target(f"frozen canary {state.canary_revision} from step 1", revision=state.canary_revision)
    raise CommandFailed(
        f"agentdeployment {agent['metadata']['name']}: nothing has failed, so there is nothing to retry"
    )


def rollback_target(
    agent: Mapping[str, Any], history: Mapping[str, Revision], to_revision: int | None
) -> Target:
    """What a rollback will restore. With ``to_revision`` the command names it; without, the
    command names nothing and the operator chooses (:func:`agent_operator.rollout.rollback_target`,
    the one place that choice is made): this only shows which revision that is today."""
    name = agent["metadata"]["name"]
    if not history:
        raise CommandFailed(f"agentdeployment {name} has no revision history to roll back to")
    entries = history_entries(history)
    target = choose_rollback_target(entries, _state(agent).stable_revision, to_revision)
    if isinstance(target, str):
        if to_revision is not None:
            known = ", ".join(str(e.number) for e in entries)
            raise CommandFailed(
                f"agentdeployment {name}: no revision {to_revision} in history (numbers: {known})"
            )
        raise CommandFailed(
            f"agentdeployment {name}: {target}; pick one with --to-revision N (see agentctl history)"
        )
    chosen = history[target.revision]
    image = ((chosen.body.get("data") or {}).get("spec") or {}).get("container", {}).get("image", "?")
    what = f"revision {chosen.number} ({chosen.revision}, image {image}) at 100% in one step, no analysis"
    if to_revision is None:
        return Target(
            f"{what} (the operator's choice: the newest earlier revision that served as stable)",
            extra={"revision": chosen.revision, "expectedRevision": chosen.number},
        )
    return Target(what, to_revision=chosen.number, extra={"revision": chosen.revision})


def identity(cluster: Cluster) -> tuple[str, str]:
    """Who to record as issuing the command, and where that name came from."""
    username = cluster.api.whoami()
    if username:
        return username, "SelfSubjectReview"
    if cluster.kubeconfig_user:
        return cluster.kubeconfig_user, "kubeconfig user (not verified by the API server)"
    return "", "unknown"


@dataclass(frozen=True)
class SentCommand:
    """A command annotation written to an agent, and who it was recorded as."""

    verb: Verb
    key: str
    raw: str
    by: str
    source: str

    def report(self, name: str, namespace: str) -> dict[str, Any]:
        """What ``-o json`` prints about it."""
        return {
            "agent": name,
            "namespace": namespace,
            "verb": self.verb,
            "annotation": self.key,
            "command": json.loads(self.raw),
            "recordedBy": self.by or None,
            "identitySource": self.source,
        }

    def recorded(self) -> str:
        return (
            f"recorded as {self.by or 'an unknown user'} ({self.source});"
            " the operator acts on it at its next reconcile"
        )


def send_command(cluster: Cluster, agent: Mapping[str, Any], verb: Verb, **fields: Any) -> SentCommand:
    """Write one command annotation (``fields`` as :func:`command_annotation` takes them) with the
    caller's identity and a time later than any command of that verb the agent already has."""
    from ..kube import AGENT_DEPLOYMENT

    by, source = identity(cluster)
    meta = agent["metadata"]
    at = next_command_time(datetime.now(UTC), meta.get("annotations") or {}, agent.get("status") or {}, verb)
    annotation = command_annotation(verb, at=at, by=by, **fields)
    patch = {"metadata": {"annotations": annotation}}
    cluster.api.merge_patch(AGENT_DEPLOYMENT, meta["name"], cluster.namespace, patch)
    ((key, raw),) = annotation.items()
    return SentCommand(verb, key, raw, by, source)


def _issue(
    verb: Verb, aim: Callable[[Cluster, dict[str, Any], argparse.Namespace], Target]
) -> Callable[[argparse.Namespace, Console], int]:
    def run(args: argparse.Namespace, console: Console) -> int:
        def work(cluster: Cluster) -> int:

            agent = get_agent(cluster, args.name)
            target = aim(cluster, agent, args)
            sent = send_command(
                cluster,
                agent,
                verb,
                revision=target.revision,
                step=target.step,
                full=target.full,
                to_revision=target.to_revision,
            )
            if args.output == "json":
                print_json(console, {**sent.report(args.name, cluster.namespace), **target.extra})
            else:
                console.print(f"{verb} {args.name}: {target.summary}")
                console.print(sent.recorded())
            return EXIT_OK

        return run_against_cluster(args, console, work)

    return run


def _configure_promote(parser: argparse.ArgumentParser) -> None:
    add_agent_arguments(parser)
    parser.add_argument("--full", action="store_true", help="skip every remaining step and go to 100%%")


def _configure_rollback(parser: argparse.ArgumentParser) -> None:
    add_agent_arguments(parser)
    parser.add_argument(
        "--to-revision",
        type=int,
        metavar="N",
        help="history number to restore (default: none is sent and the operator restores the newest"
        " earlier revision that served as stable)",
    )


_EXIT_CODES = (
    "Exit codes: 0 command recorded, 1 nothing to act on, a missing agent or an API failure,\n"
    "2 bad flags or kubeconfig."
)
_RECORDED = (
    "The command is recorded in the annotation agentoperator.dev/command.{verb}, with who issued it and\n"
    "when; the operator acts on it once, on its next reconcile, and reports it as an Event.\n\n"
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="approve",
        summary="release an indefinite pause (pause: {}) of the current canary",
        description="Approve the current canary at its current step, which must be an indefinite pause.\n"
        "The approval names that revision and step, so it cannot release a later pause by accident. The\n"
        "approver recorded is the user the API server authenticates (SelfSubjectReview), else the\n"
        "kubeconfig user; the admission webhook, when installed, overwrites it with the requester.\n\n"
        + _RECORDED.format(verb="approve")
        + _EXIT_CODES,
        configure=add_agent_arguments,
        run=_issue("approve", lambda cluster, agent, args: approve_target(agent)),
    ),
    Command(
        name="promote",
        summary="advance the canary one step (--full: straight to 100%%)",
        description="Skip the canary's current step (a pause, an approval or an evaluation) or, with\n"
        "--full, every remaining step, promoting it to 100% through its normal replica pacing.\n\n"
        + _RECORDED.format(verb="promote")
        + _EXIT_CODES,
        configure=_configure_promote,
        run=_issue("promote", lambda cluster, agent, args: promote_target(agent, args.full)),
    ),
    Command(
        name="abort",
        summary="stop the canary and return to the stable revision",
        description="Abort the current canary: it is scaled to zero and removed, the stable revision\n"
        "returns to full replicas and the revision is recorded as Aborted. It is not retried until the\n"
        "spec changes or agentctl retry runs.\n\n" + _RECORDED.format(verb="abort") + _EXIT_CODES,
        configure=add_agent_arguments,
        run=_issue("abort", lambda cluster, agent, args: abort_target(agent)),
    ),
    Command(
        name="retry",
        summary="roll out a failed or aborted revision again, from step 1",
        description="Retry the revision that failed (or was aborted or rolled back automatically) from the\n"
        "first step, or restart a canary frozen by a failure when autoRollback is off.\n\n"
        + _RECORDED.format(verb="retry")
        + _EXIT_CODES,
        configure=add_agent_arguments,
        run=_issue("retry", lambda cluster, agent, args: retry_target(agent)),
    ),
    Command(
        name="rollback",
        summary="emergency: put an earlier revision at 100%% now, no steps, no analysis",
        description="Roll back to revision N of history, image and runtime config together, at full\n"
        "replicas in one reconcile: no steps, no evaluation. Without --to-revision the command names no\n"
        "revision and the operator picks the newest earlier revision that served as stable, exactly as\n"
        "for the Argo CD rollback action; agentctl shows which one that is now.\n"
        "The spec is not changed, so GitOps tools stay in sync; the operator records the override in\n"
        "status and keeps it while the spec still asks for the revision rolled back from.\n"
        "Revert the change in Git to make it permanent.\n\n"
        + _RECORDED.format(verb="rollback")
        + _EXIT_CODES,
        configure=_configure_rollback,
        run=_issue(
            "rollback",
            lambda cluster, agent, args: rollback_target(
                agent, fetch_history(cluster, args.name), args.to_revision
            ),
        ),
    ),
)
