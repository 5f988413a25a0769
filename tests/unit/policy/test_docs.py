"""docs/checks.md is generated from the check definitions and must match them."""

from __future__ import annotations

from pathlib import Path

from agent_operator.policy import CHECKS
from agent_operator.policy.docs import checks_markdown, main

DOC = Path(__file__).resolve().parents[3] / "docs" / "checks.md"


def test_committed_doc_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == checks_markdown(), (
        "docs/checks.md is stale: run .venv/bin/python -m agent_operator.policy.docs docs/checks.md"
    )


def test_every_check_has_a_row_with_its_levels_and_remediation() -> None:
    text = checks_markdown()
    for check in CHECKS.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{check.id}` |")]
        levels = " | ".join(check.levels[p] for p in ("production", "staging", "development"))
        assert f"| {levels} |" in row
        assert check.remediation.replace("|", "\\|") in row


def test_every_definition_is_complete() -> None:
    for check in CHECKS.values():
        assert check.title
        assert check.looks_at
        assert "spec." in check.remediation or "Keep" in check.remediation, check.id
        assert set(check.levels) == {"production", "staging", "development"}


def test_main_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "checks.md"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == checks_markdown()
    assert main([]) == 2
