"""Snapshot tests: the rendered YAML of representative agents, compared byte for byte.

Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 pytest tests/unit/render`, then
review the diff of tests/unit/render/snapshots/ like any other change.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from render_helpers import load_agent_file

from agent_operator.render import (
    ClusterCapabilities,
    render,
    render_revision,
    render_shared,
    revision_hash,
    to_yaml,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
EVERYTHING = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)
# A made-up stable revision: the canary case renders a rollout from it to the fixture's revision.
OLD_STABLE = "0123456789"


def _canary_in_progress() -> list[dict[str, Any]]:
    agent = load_agent_file("production")
    return render_shared(agent, OLD_STABLE, revision_hash(agent), EVERYTHING) + render_revision(
        agent, revision_hash(agent), 1
    )


CASES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "minimal": lambda: render(load_agent_file("minimal")),
    "production": lambda: render(load_agent_file("production")),
    "production.all-capabilities": lambda: render(load_agent_file("production"), EVERYTHING),
    "production.canary-in-progress": _canary_in_progress,
    "weakened": lambda: render(load_agent_file("weakened"), EVERYTHING),
    "suspended.cilium": lambda: render(load_agent_file("suspended"), ClusterCapabilities(cilium=True)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_yaml_matches_snapshot(case: str) -> None:
    rendered = to_yaml(CASES[case]())
    path = SNAPSHOTS / f"{case}.yaml"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 to create it"
    expected = path.read_text()
    if rendered != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                f"snapshots/{path.name}",
                "rendered",
            )
        )
        pytest.fail(f"rendered output differs from the snapshot:\n{diff}")


def test_every_snapshot_file_belongs_to_a_case() -> None:
    """A renamed case must not leave a stale snapshot behind that nothing checks."""
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.yaml")) == sorted(CASES)
