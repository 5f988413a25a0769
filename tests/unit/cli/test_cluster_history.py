"""history table, revision references and spec diffs (pure; no cluster)."""

from __future__ import annotations

import json

import pytest
from cluster_fixtures import canary_status, controller_revision, history

from agent_operator.cli._history import (
    UnknownRevision,
    format_history,
    format_table,
    format_trend,
    history_rows,
    resolve_revision,
    spec_diff,
)
from agent_operator.controller.history import parse_history
from agent_operator.controller.history_codec import SCHEDULED_SCORES


def test_table_aligns_columns_and_trims_trailing_space() -> None:
    text = format_table(("A", "LONGER"), [("xxxx", "1"), ("y", "")])
    assert text.splitlines() == ["A      LONGER", "xxxx   1", "y"]


def test_history_rows_mark_roles_and_read_gates() -> None:
    rows = history_rows(
        history(),
        canary_status(
            1, approvals=[{"by": "bob", "revision": "abcd3333", "step": 1, "at": "2026-01-03T11:00:00Z"}]
        ),
    )
    assert [(r.number, r.role, r.outcome) for r in rows] == [
        (1, "", "Promoted"),
        (2, "stable", "Promoted"),
        (3, "canary", ""),
    ]
    assert (rows[1].approved_by, rows[1].score, rows[1].image) == ("alice", 0.91, "img:2")
    # The canary has no gates annotation yet: its approver comes from status.
    assert rows[2].approved_by == "bob"
    assert rows[0].approved_by == ""
    assert rows[0].score is None


def test_history_table_text() -> None:
    text = format_history(history_rows(history(), canary_status(0)))
    lines = text.splitlines()
    assert lines[0].split() == [
        "NUMBER",
        "REVISION",
        "CREATED",
        "OUTCOME",
        "REASON",
        "APPROVED",
        "BY",
        "SCORE",
        "SCHEDULED",
        "ANALYSIS",
        "IMAGE",
    ]
    assert "bbbb2222 (stable)" in lines[2]
    assert "alice" in lines[2]
    assert "0.91" in lines[2]
    assert "abcd3333 (canary)" in lines[3]
    assert "InProgress" in lines[3]


def test_malformed_gates_annotation_is_ignored() -> None:
    revs = parse_history(
        [controller_revision(1, "aaaa1111", "img:1", {"agentoperator.dev/gates": "{not json"})]
    )
    (row,) = history_rows(revs, {})
    assert (row.approved_by, row.score) == ("", None)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("1", "aaaa1111"),
        ("3", "abcd3333"),
        ("bbbb", "bbbb2222"),
        ("abcd3333", "abcd3333"),
        (" 2 ", "bbbb2222"),
    ],
)
def test_resolve_by_number_or_hash_prefix(ref: str, expected: str) -> None:
    assert resolve_revision(history(), ref).revision == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("a", "ambiguous: it matches 1 (aaaa1111), 3 (abcd3333)"),
        ("9", "no revision '9' in history (numbers: 1, 2, 3)"),
        ("zz", "no revision 'zz' in history"),
        ("", "empty"),
    ],
)
def test_unresolvable_references_say_why(ref: str, message: str) -> None:
    with pytest.raises(UnknownRevision, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_revision(history(), ref)


def test_digits_fall_back_to_a_hash_prefix() -> None:
    revs = parse_history([controller_revision(1, "4242abcd", "img:1")])
    assert resolve_revision(revs, "4242").revision == "4242abcd"


def test_spec_diff_shows_the_changed_image_only() -> None:
    revs = history()
    diff = spec_diff(revs["aaaa1111"], revs["bbbb2222"])
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-  image: img:1", "+  image: img:2"]
    assert diff.startswith("--- revision 1 (aaaa1111)\n+++ revision 2 (bbbb2222)\n")


def test_spec_diff_of_identical_specs_is_empty() -> None:
    revs = history()
    assert spec_diff(revs["aaaa1111"], revs["aaaa1111"]) == ""


SCHEDULED = {
    "schedule": "0 3 * * *",
    "since": "2026-01-02T12:00:00Z",
    "revision": "bbbb2222",
    "lastScheduleTime": "2026-01-05T03:00:00Z",
    "nextScheduleTime": "2026-01-06T03:00:00Z",
    "scores": [
        {"at": "2026-01-03T03:01:00Z", "result": "Passed", "score": 0.95},
        {"at": "2026-01-04T03:01:00Z", "result": "Passed", "score": 0.93},
        {"at": "2026-01-05T03:01:00Z", "result": "Failed", "score": 0.61, "message": "score 0.61 below"},
    ],
}


def test_history_shows_each_revisions_scheduled_trend() -> None:
    """The serving revision's trend from status; an earlier one's from its history record."""
    older = [
        {"at": "2026-01-01T03:01:00Z", "result": "TimedOut"},
        {"at": "2026-01-02T03:01:00Z", "result": "Passed", "score": 0.97},
    ]
    revisions = history()
    revisions["aaaa1111"] = parse_history(
        [controller_revision(1, "aaaa1111", "img:1", {SCHEDULED_SCORES: json.dumps(older)})]
    )["aaaa1111"]
    rows = history_rows(revisions, {"stableRevision": "bbbb2222", "scheduledEvaluation": SCHEDULED})
    assert [format_trend(r.scheduled) for r in rows] == ["TimedOut! 0.97", "0.95 0.93 0.61!", "-"]
    text = format_history(rows)
    assert "0.95 0.93 0.61!" in text.splitlines()[2]
    assert rows[1].to_json()["scheduledScores"][-1]["score"] == 0.61
