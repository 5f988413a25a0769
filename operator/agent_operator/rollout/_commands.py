"""Human commands (approve, promote, abort, retry, rollback), each acted on once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from ..api.agent import Egress
from ._decision import Decision, fail_canary
from ._progress import widening_summary
from ._steps import Step
from .types import Approval, Command, HistoryEntry


def apply_commands(d: Decision, steps: tuple[Step, ...]) -> None:
    """Act on every command newer than the last handled one of its verb, oldest first."""
    handled: dict[str, datetime] = dict(d.state.handled_commands)
    acted = False
    for command in sorted(d.inp.commands, key=lambda c: c.at):
        last = handled.get(command.verb)
        if last is not None and command.at <= last:
            continue
        handled[command.verb] = command.at
        acted = True
        if not command.verified:
            _refuse(d, command)
            continue
        _HANDLERS[command.verb](d, command, steps)
    if acted:
        d.update(handled_commands=tuple(sorted(handled.items())))


def _who(command: Command) -> str:
    return command.by or "an unknown user"


def _refuse(d: Decision, command: Command) -> None:
    """A command whose ``by`` the admission webhook did not vouch for: whoever wrote it went around
    the webhook (down, or set to Ignore), so the name in it proves nothing."""
    d.emit(
        "Warning",
        "CommandRefused",
        f"{command.verb} claiming to be by {_who(command)} refused: its identity proof does not verify "
        "(the admission webhook did not stamp it); issue it again with agentctl once the webhook answers",
    )


def _ignore(d: Decision, command: Command, why: str) -> None:
    d.emit("Warning", "CommandIgnored", f"{command.verb} by {_who(command)} ignored: {why}")


def _approve_egress(d: Decision, command: Command, stable: str) -> None:
    """Approve the spec's egress widening when no revision rolls out (egress is shared)."""
    if command.revision is not None and command.revision != stable:
        _ignore(d, command, f"it approves revision {command.revision} but the egress of {stable} waits")
        return
    approval = Approval(stable, 0, _who(command), command.at)
    d.update(
        approval=approval, approved_egress=d.inp.egress or Egress(), approved_egress_for=stable, widenings=()
    )
    d.emit(
        "Normal",
        "Approved",
        f"{approval.by} approved the egress widening of revision {stable}: "
        + widening_summary(d.inp.widenings),
    )


def _approve(d: Decision, command: Command, steps: tuple[Step, ...]) -> None:
    state = d.state
    canary = state.canary_revision
    stable = state.stable_revision
    if canary is None and stable is not None and d.inp.widenings and d.inp.desired_revision == stable:
        _approve_egress(d, command, stable)
    elif canary is None or steps[state.step_index].kind != "approval":
        _ignore(d, command, "no indefinite pause is waiting for approval")
    elif command.revision is not None and command.revision != canary:
        _ignore(d, command, f"it approves revision {command.revision} but {canary} is rolling out")
    elif command.step is not None and command.step != state.step_index:
        _ignore(
            d, command, f"it approves step {command.step} but the rollout waits at step {state.step_index}"
        )
    else:
        approval = Approval(canary, state.step_index, _who(command), command.at)
        d.update(approval=approval, approvals=(*state.approvals, approval))
        if steps[state.step_index].widening:
            # The shared NetworkPolicy may now follow the spec's egress too.
            d.update(approved_egress=d.inp.egress or Egress(), approved_egress_for=state.stable_revision)
        d.emit("Normal", "Approved", f"{approval.by} approved revision {canary} at step {state.step_index}")


def _stale(command: Command, revision: str | None, step: int | None = None) -> str | None:
    """Why a command aimed at another revision (or step) than the current one must be ignored:
    acting on it would promote or abort something the human never looked at."""
    if command.revision is not None and command.revision != revision:
        return f"it was aimed at revision {command.revision}, but {revision or 'no revision'} is current"
    if command.step is not None and step is not None and command.step != step:
        return f"it was aimed at step {command.step}, but the rollout is at step {step}"
    return None


def _promote(d: Decision, command: Command, steps: tuple[Step, ...]) -> None:
    state = d.state
    canary = state.canary_revision
    last = len(steps) - 1
    if canary is None:
        _ignore(d, command, "no rollout is in progress")
        return
    stale = _stale(command, canary, state.step_index)
    if stale:
        _ignore(d, command, stale)
        return
    if state.step_index == last and state.failure_reason is None:
        _ignore(d, command, f"revision {canary} is already being promoted")
        return
    target = last if command.full else min(state.step_index + 1, last)
    evaluation = state.evaluation
    if evaluation is not None and evaluation.result == "Running":
        evaluation = None
    d.update(step_index=target, step_started_at=None, evaluation=evaluation, failure_reason=None, message="")
    d.emit(
        "Normal",
        "StepSkipped",
        f"{_who(command)} promoted revision {canary} from step {state.step_index} to step {target}"
        + (" (full promotion)" if command.full else ""),
    )


def _abort(d: Decision, command: Command, steps: tuple[Step, ...]) -> None:
    if d.state.canary_revision is None:
        _ignore(d, command, "no rollout is in progress")
        return
    stale = _stale(command, d.state.canary_revision)
    if stale:
        _ignore(d, command, stale)
        return
    fail_canary(d, "Aborted", "Aborted", f"aborted by {_who(command)}", roll_back=True)


def _retry(d: Decision, command: Command, steps: tuple[Step, ...]) -> None:
    state = d.state
    stale = _stale(command, state.failed_revision or state.canary_revision)
    if stale:
        _ignore(d, command, stale)
        return
    if state.failed_revision is not None:
        d.update(failed_revision=None, failure_reason=None, message="")
        d.emit("Normal", "Retry", f"{_who(command)} retries revision {state.failed_revision} from step 0")
    elif state.canary_revision is not None and state.failure_reason is not None:
        d.clear_canary(
            canary_revision=state.canary_revision,
            rollout_started_at=d.inp.now,
            restart_baseline=d.observed(state.canary_revision).restarts,
            failure_reason=None,
            message="",
        )
        d.emit("Normal", "Retry", f"{_who(command)} restarts revision {state.canary_revision} from step 0")
    else:
        _ignore(d, command, "nothing has failed")


def rollback_target(
    history: Iterable[HistoryEntry], stable: str | None, to_revision: int | None = None
) -> HistoryEntry | str:
    """The history entry a rollback restores, or why there is none: revision number ``to_revision``
    if given, else the newest revision before the stable one that served as stable.

    The one place this choice is made: the operator acts on it, ``agentctl rollback`` only shows it.
    """
    entries = tuple(history)
    if to_revision is not None:
        for entry in entries:
            if entry.number == to_revision:
                return entry
        return f"revision {to_revision} is not in history"
    stable_numbers = [e.number for e in entries if e.revision == stable]
    before = max(stable_numbers) if stable_numbers else None
    candidates = [
        e
        for e in entries
        if e.served_as_stable and e.revision != stable and (before is None or e.number < before)
    ]
    if not candidates:
        return "no earlier revision served as stable"
    return max(candidates, key=lambda e: e.number)


def _rollback(d: Decision, command: Command, steps: tuple[Step, ...]) -> None:
    target = rollback_target(d.inp.history, d.state.stable_revision, command.to_revision)
    if isinstance(target, str):
        _ignore(d, command, target)
        return
    why = f"manual rollback to revision {target.number} by {_who(command)}"
    for revision in dict.fromkeys((d.state.canary_revision, d.state.stable_revision)):
        if revision is not None and revision != target.revision:
            d.record_outcome(revision, "RolledBack", why)
    forgive = d.state.failed_revision == target.revision
    d.clear_canary(
        stable_revision=target.revision,
        rollback_override=target.revision,
        rollback_from=d.inp.desired_revision,
        **({"failed_revision": None, "failure_reason": None, "message": ""} if forgive else {}),
    )
    d.emit(
        "Normal",
        "RolledBack",
        f"{why}: revision {target.revision} at {d.inp.replicas} replicas in one step, every other "
        "revision removed, no steps or analysis; the spec is unchanged, so revert it in Git",
    )


_HANDLERS: dict[str, Callable[[Decision, Command, tuple[Step, ...]], None]] = {
    "approve": _approve,
    "promote": _promote,
    "abort": _abort,
    "retry": _retry,
    "rollback": _rollback,
}
