"""Every store's codec round-trips: parse(serialise(x)) == x, and keys a newer operator wrote
(unknown to this one) survive a read and a write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_operator.controller.commands import decode_command, encode_command, parse_commands, restamp
from agent_operator.controller.history import history_entries, parse_history
from agent_operator.controller.history_codec import (
    KNOWN,
    HistoryAnnotations,
    history_annotations,
    parse_history_annotations,
)
from agent_operator.controller.status_codec import (
    read_status,
    state_from_status,
    state_to_status,
    write_status,
)
from agent_operator.rollout.types import VERBS, Approval, Command, EvaluationRecord, RolloutState

SETTINGS = settings(max_examples=200, deadline=None)
T0 = datetime(2026, 1, 1, tzinfo=UTC)

times = st.integers(0, 10**8).map(lambda s: T0 + timedelta(seconds=s))
revisions = st.from_regex(r"\A[0-9a-f]{10}\Z")
text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=30)
steps = st.integers(0, 50)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
new_keys = st.from_regex(r"\A[a-z][a-zA-Z]{2,12}\Z")

approvals = st.builds(Approval, revisions, steps, text, times)
evaluations = st.builds(
    EvaluationRecord,
    revisions,
    steps,
    st.sampled_from(["Running", "Passed", "Failed", "TimedOut"]),
    times,
    st.none() | st.floats(0, 1, allow_nan=False),
    text,
)
optional_revisions = st.none() | revisions
states = st.builds(
    RolloutState,
    stable_revision=optional_revisions,
    canary_revision=optional_revisions,
    step_index=steps,
    step_started_at=st.none() | times,
    rollout_started_at=st.none() | times,
    restart_baseline=st.integers(0, 1000),
    failed_revision=optional_revisions,
    rollback_override=optional_revisions,
    rollback_from=optional_revisions,
    approval=st.none() | approvals,
    evaluation=st.none() | evaluations,
    approvals=st.lists(approvals, max_size=3).map(tuple),
    evaluations=st.lists(evaluations, max_size=3).map(tuple),
    handled_commands=st.dictionaries(st.sampled_from(VERBS), times).map(lambda d: tuple(sorted(d.items()))),
    failure_reason=st.none() | st.sampled_from(["Aborted", "ProgressDeadlineExceeded", "EvaluationFailed"]),
    blocked_revision=optional_revisions,
    message=text,
)


@SETTINGS
@given(states)
def test_status_round_trips_the_rollout_state(state: RolloutState) -> None:
    assert state_from_status(state_to_status(state)) == state


@SETTINGS
@given(
    states,
    st.dictionaries(new_keys, json_values, max_size=3),
    st.dictionaries(new_keys, json_values, max_size=3),
)
def test_status_keeps_fields_a_newer_operator_wrote(
    state: RolloutState, top: dict[str, Any], nested: dict[str, Any]
) -> None:
    stored = state_to_status(state)
    top = {k: v for k, v in top.items() if k not in stored}
    nested = {k: v for k, v in nested.items() if k not in stored["rollout"]}
    newer = {**stored, **top, "rollout": {**stored["rollout"], **nested}}
    # Unknown keys are not in the model but are written back as they were.
    typed = read_status(newer)
    assert state_from_status(newer) == state
    assert write_status(typed, newer) == {
        **typed.to_wire(),
        **top,
        "rollout": {**typed.to_wire()["rollout"], **nested},
    }
    assert write_status(typed, newer) == newer


def test_status_degrades_field_by_field() -> None:
    stored = state_to_status(RolloutState(stable_revision="aaaaaaaaaa", step_index=2, message="waiting"))
    stored["rollout"]["stepIndex"] = "two"
    stored["rollout"]["approvals"] = [
        {"revision": "b", "by": "x"},
        {"revision": "c", "step": 1, "by": "y", "at": "2026-01-01T00:00:00Z"},
    ]
    state = state_from_status(stored)
    assert (state.stable_revision, state.step_index, state.message) == ("aaaaaaaaaa", 0, "waiting")
    assert [a.by for a in state.approvals] == ["y"]


history_values = st.builds(
    HistoryAnnotations,
    outcome=st.none() | st.sampled_from(["Promoted", "Aborted", "RolledBack", "Superseded"]),
    reason=text,
    at=st.none() | times,
    served_as_stable=st.booleans(),
    approvals=st.lists(approvals, max_size=3).map(tuple),
    evaluations=st.lists(evaluations, max_size=3).map(tuple),
    unknown=st.dictionaries(new_keys.map(lambda k: f"agentoperator.dev/{k.lower()}"), text, max_size=3),
).filter(lambda h: h.outcome is not None or h.reason == "")


@SETTINGS
@given(history_values)
def test_history_annotations_round_trip(value: HistoryAnnotations) -> None:
    if set(value.unknown) & set(KNOWN):
        return
    assert parse_history_annotations(history_annotations(value)) == value


@SETTINGS
@given(history_values, st.integers(1, 100))
def test_a_stored_record_reaches_the_rollout_machine_with_served_as_stable(
    value: HistoryAnnotations, number: int
) -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": "bot-aaaaaaaaaa",
            "labels": {"agentoperator.dev/revision": "aaaaaaaaaa"},
            "annotations": {**history_annotations(value), "kubectl.kubernetes.io/other": "x"},
        },
        "revision": number,
        "data": {"spec": {}},
    }
    (entry,) = history_entries(parse_history([body]))
    assert (entry.number, entry.served_as_stable) == (number, value.served_as_stable)


commands = st.builds(
    Command,
    verb=st.sampled_from(VERBS),
    at=times,
    by=text,
    revision=st.none() | revisions,
    step=st.none() | steps,
    full=st.booleans(),
    to_revision=st.none() | st.integers(1, 1000),
    unknown=st.dictionaries(new_keys, json_values, max_size=3).map(
        lambda d: {
            k: v for k, v in d.items() if k not in ("at", "by", "revision", "step", "full", "toRevision")
        }
    ),
)


@SETTINGS
@given(commands)
def test_commands_round_trip(command: Command) -> None:
    ((key, raw),) = encode_command(command).items()
    assert decode_command(key, raw) == command
    assert parse_commands({key: raw}) == ((command,), [])


@SETTINGS
@given(commands, text)
def test_restamping_the_issuer_keeps_everything_else(command: Command, user: str) -> None:
    ((key, raw),) = encode_command(command).items()
    stamped = restamp(key, raw, user)
    if command.by == user:
        assert stamped is None
        return
    assert stamped is not None
    again = decode_command(key, stamped)
    assert again.by == user
    assert again.unknown == command.unknown
    assert (again.at, again.revision, again.step, again.to_revision) == (
        command.at,
        command.revision,
        command.step,
        command.to_revision,
    )
