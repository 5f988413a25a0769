"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest
from agentctl_process import Agentctl, run_agentctl


@pytest.fixture
def agentctl() -> Agentctl:
    return run_agentctl
