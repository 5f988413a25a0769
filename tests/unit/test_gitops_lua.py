"""The Argo CD Lua in docs/gitops/, executed (Lua 5.1, as Argo CD runs it) against status samples
captured from the real operator, edge cases around them, and the command annotations the
resource actions write, read back by the operator's own parser."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_operator.controller.commands import parse_commands
from tests.support.argocd_lua import GITOPS_DIR, SAMPLES_DIR, LuaHealth, LuaScript

HEALTH = LuaHealth.from_file(GITOPS_DIR / "argocd-health.lua")
ACTIONS = GITOPS_DIR / "argocd-actions"
SAMPLES = sorted(SAMPLES_DIR.glob("*.json"))


def _sample(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((SAMPLES_DIR / f"{name}.json").read_text())["object"]
    return obj


def test_every_state_has_a_sample() -> None:
    names = {p.stem for p in SAMPLES}
    assert names == {"available", "progressing", "blocked-secret", "failed", "suspended", "paused"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_captured_statuses_get_the_health_recorded_with_them(path: Path) -> None:
    sample = json.loads(path.read_text())
    assert HEALTH.health(sample["object"]) == sample["health"]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("available", "Healthy"),
        ("progressing", "Progressing"),
        ("blocked-secret", "Degraded"),
        ("failed", "Degraded"),
        ("suspended", "Suspended"),
        ("paused", "Suspended"),
    ],
)
def test_each_state_maps_to_its_argo_health(name: str, status: str) -> None:
    assert HEALTH.health(_sample(name))["status"] == status


def test_degraded_and_suspended_carry_the_operators_reason() -> None:
    assert HEALTH.health(_sample("blocked-secret"))["message"] == "waiting for Secrets: model-key"
    failed = HEALTH.health(_sample("failed"))["message"]
    assert failed.startswith("Deployment failed-")
    assert "(422 Invalid) at spec.template.spec.volumes[2].name" in failed
    assert HEALTH.health(_sample("suspended"))["message"].startswith("spec.suspend: ")


def test_without_status_or_with_a_newer_generation_it_is_progressing() -> None:
    fresh = _sample("available")
    fresh.pop("status")
    assert HEALTH.health(fresh) == {
        "status": "Progressing",
        "message": "Waiting for the operator to observe the AgentDeployment",
    }
    edited = _sample("available")
    edited["metadata"]["generation"] = 2
    assert HEALTH.health(edited) == {
        "status": "Progressing",
        "message": "Waiting for the operator to observe generation 2",
    }


def test_ready_for_an_older_generation_is_not_healthy() -> None:
    obj = _sample("available")
    obj["metadata"]["generation"] = 3
    obj["status"]["observedGeneration"] = 3
    obj["status"]["phase"] = "Progressing"
    assert HEALTH.health(obj)["status"] == "Progressing"


def test_suspend_wins_over_a_stall_and_stall_over_pause() -> None:
    blocked = _sample("blocked-secret")
    blocked["spec"]["suspend"] = True
    assert HEALTH.health(blocked)["status"] == "Suspended"
    blocked["spec"] = {"paused": True}
    assert HEALTH.health(blocked)["status"] == "Degraded"


@pytest.mark.parametrize("phase", ["Degraded", "Blocked", "Failed"])
def test_failure_phases_are_degraded_even_without_a_stall(phase: str) -> None:
    obj = _sample("progressing")
    obj["status"]["phase"] = phase
    obj["status"]["conditions"] = [c for c in obj["status"]["conditions"] if c["type"] != "Stalled"]
    assert HEALTH.health(obj)["status"] == "Degraded"


def test_a_rollout_in_progress_is_progressing_with_the_ready_message() -> None:
    obj = _sample("progressing")
    obj["status"]["phase"] = "Progressing"
    health = HEALTH.health(obj)
    assert health["status"] == "Progressing"
    assert health["message"].endswith("0 of 2 available")


# -- actions -------------------------------------------------------------------------------------


def _canary(**status: Any) -> dict[str, Any]:
    obj = _sample("available")
    obj["status"].update({"canaryRevision": "c0ffee1234", "stableRevision": "5d1e907b51", **status})
    return obj


def _discovery(obj: dict[str, Any]) -> dict[str, bool]:
    actions = LuaScript.from_file(ACTIONS / "discovery.lua").run(obj)
    return {name: bool(spec["disabled"]) for name, spec in actions.items()}


def _act(verb: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    changed = LuaScript.from_file(ACTIONS / f"{verb}.lua").run(copy.deepcopy(obj))
    raw = changed["metadata"]["annotations"][f"agentoperator.dev/command.{verb}"]
    return raw, json.loads(raw)


def test_discovery_offers_promote_and_abort_only_during_a_canary() -> None:
    assert _discovery(_canary()) == {"promote": False, "abort": False, "rollback": False}
    assert _discovery(_sample("available")) == {"promote": True, "abort": True, "rollback": False}
    assert _discovery(_sample("failed")) == {"promote": True, "abort": True, "rollback": True}


@pytest.mark.parametrize("verb", ["promote", "abort"])
def test_promote_and_abort_name_the_canary_in_the_operators_format(verb: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    raw, body = _act(verb, _canary())
    after = datetime.now(UTC)
    commands, problems = parse_commands({f"agentoperator.dev/command.{verb}": raw})
    assert problems == []
    (command,) = commands
    assert command.verb == verb
    assert command.revision == "c0ffee1234"
    assert command.by == "argocd"
    assert before <= command.at <= after
    assert set(body) == {"at", "by", "revision"}


def test_rollback_leaves_the_target_to_the_operator() -> None:
    raw, body = _act("rollback", _sample("available"))
    commands, problems = parse_commands({"agentoperator.dev/command.rollback": raw})
    assert problems == []
    assert commands[0].to_revision is None
    assert set(body) == {"at", "by"}


def test_a_command_time_moves_past_the_previous_one_and_the_last_handled() -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    stamp = future.strftime("%Y-%m-%dT%H:%M:%SZ")
    obj = _canary()
    obj["metadata"]["annotations"] = {
        "agentoperator.dev/command.promote": json.dumps(
            {"at": stamp, "by": "alice", "revision": "c0ffee1234"}
        ),
        "team": "support",
    }
    _, body = _act("promote", obj)
    assert body["at"] == (future + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    handled = _canary(rollout={"handledCommands": {"abort": stamp}})
    _, body = _act("abort", handled)
    assert body["at"] == (future + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    changed = LuaScript.from_file(ACTIONS / "promote.lua").run(obj)
    assert changed["metadata"]["annotations"]["team"] == "support"


# -- the published snippets ----------------------------------------------------------------------


def test_argocd_cm_embeds_exactly_the_tested_lua() -> None:
    cm = yaml.safe_load((GITOPS_DIR / "argocd-cm.yaml").read_text())
    data = cm["data"]
    assert data["resource.customizations.health.agentoperator.dev_AgentDeployment"] == HEALTH.source
    actions = yaml.safe_load(data["resource.customizations.actions.agentoperator.dev_AgentDeployment"])
    assert actions["discovery.lua"] == (ACTIONS / "discovery.lua").read_text()
    assert [d["name"] for d in actions["definitions"]] == ["promote", "abort", "rollback"]
    for definition in actions["definitions"]:
        assert definition["action.lua"] == (ACTIONS / f"{definition['name']}.lua").read_text()


def test_flux_kustomization_waits_on_agentdeployment_kstatus() -> None:
    docs = [d for d in yaml.safe_load_all((GITOPS_DIR / "flux-kustomization.yaml").read_text()) if d]
    apps = next(d for d in docs if d["kind"] == "Kustomization" and d["metadata"]["name"] == "agents")
    assert apps["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    checks = apps["spec"]["healthChecks"]
    assert {"apiVersion": "agentoperator.dev/v1alpha1", "kind": "AgentDeployment"}.items() <= checks[
        0
    ].items()
    assert apps["spec"]["wait"] is False  # healthChecks, not wait: only the listed agents gate the sync
    assert apps["spec"]["dependsOn"] == [{"name": "agent-operator"}]


def test_argocd_application_example_is_an_application() -> None:
    docs = [d for d in yaml.safe_load_all((GITOPS_DIR / "argocd-application.yaml").read_text()) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Application") >= 1
    for app in docs:
        assert app["apiVersion"] == "argoproj.io/v1alpha1"
        assert app["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
