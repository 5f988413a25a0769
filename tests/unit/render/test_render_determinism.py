"""Same input, byte-identical output, however the input was written."""

from __future__ import annotations

import copy

import pytest
import yaml
from render_helpers import FIXTURE_NAMES, agent_dict, load_agent_file

from agent_operator.api import AgentDeployment
from agent_operator.render import ClusterCapabilities, render, revision_hash, to_yaml

EVERYTHING = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)


def _reversed_keys(value: object) -> object:
    """The same document with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_rendering_twice_gives_identical_bytes(name: str) -> None:
    first = to_yaml(render(load_agent_file(name), EVERYTHING))
    second = to_yaml(render(load_agent_file(name), EVERYTHING))
    assert first == second


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_render_does_not_share_state_between_calls(name: str) -> None:
    agent = load_agent_file(name)
    objects = render(agent, EVERYTHING)
    snapshot = copy.deepcopy(objects)
    # Mutating one result must not leak into the next: no cached or shared dicts.
    for obj in objects:
        obj["metadata"]["labels"]["mutated"] = "yes"
    assert render(agent, EVERYTHING) == snapshot


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_key_order_of_the_input_does_not_change_the_revision(name: str) -> None:
    shuffled = AgentDeployment.model_validate(_reversed_keys(agent_dict(name)))
    assert revision_hash(shuffled) == revision_hash(load_agent_file(name))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_yaml_reads_back_as_the_same_objects(name: str) -> None:
    objects = render(load_agent_file(name), EVERYTHING)
    text = to_yaml(objects)
    assert list(yaml.safe_load_all(text)) == objects


def test_shared_values_are_written_out_not_aliased() -> None:
    labels = {"app": "x"}
    text = to_yaml([{"kind": "A", "labels": labels}, {"kind": "B", "labels": labels, "again": labels}])
    assert "&" not in text
    assert "*" not in text
    assert text.count("app: x") == 3


def test_to_yaml_of_nothing_is_empty() -> None:
    assert to_yaml([]) == ""
