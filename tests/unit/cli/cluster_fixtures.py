"""Objects as the operator writes them, for the formatting tests of the cluster commands."""

from __future__ import annotations

import json
from typing import Any

from agent_operator.controller.history import Revision, parse_history
from agent_operator.render import GATES, OUTCOME, OUTCOME_REASON, SERVED_AS_STABLE

CANARY_STEPS = [{"setWeight": 20}, {"pause": {}}, {"evaluate": {}}, {"pause": {"durationSeconds": 60}}]


def spec(image: str, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "container": {"image": image},
        "model": {"provider": "openai", "name": "gpt-4o"},
        "replicas": 4,
    }
    if steps is not None:
        out["rollout"] = {"strategy": "Canary", "canary": {"steps": steps}}
        out["evaluation"] = {"image": "registry.example.com/eval:1", "minScore": 0.8}
    return out


def controller_revision(
    number: int, revision: str, image: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"bot-{revision}",
            "labels": {"agentoperator.dev/agent": "bot", "agentoperator.dev/revision": revision},
            "annotations": annotations or {},
            "creationTimestamp": f"2026-01-0{number}T10:00:00Z",
        },
        "revision": number,
        "data": {"spec": spec(image, CANARY_STEPS)},
    }


def history() -> dict[str, Revision]:
    gates = {
        "approvals": [{"revision": "bbbb2222", "step": 1, "by": "alice", "at": "2026-01-02T11:00:00Z"}],
        "evaluations": [
            {
                "revision": "bbbb2222",
                "step": 2,
                "result": "Passed",
                "startedAt": "2026-01-02T11:01:00Z",
                "score": 0.91,
            }
        ],
    }
    return parse_history(
        [
            controller_revision(
                1,
                "aaaa1111",
                "img:1",
                {OUTCOME: "Promoted", OUTCOME_REASON: "first", SERVED_AS_STABLE: "true"},
            ),
            controller_revision(
                2,
                "bbbb2222",
                "img:2",
                {
                    OUTCOME: "Promoted",
                    OUTCOME_REASON: "all steps passed",
                    SERVED_AS_STABLE: "true",
                    GATES: json.dumps(gates),
                },
            ),
            controller_revision(3, "abcd3333", "img:3"),
        ]
    )


def agent(status: dict[str, Any] | None = None, **spec_fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "agents", "generation": 3, "annotations": {}},
        "spec": {**spec("img:3", CANARY_STEPS), **spec_fields},
        "status": status or {},
    }


def canary_status(step_index: int, **rollout: Any) -> dict[str, Any]:
    return {
        "observedGeneration": 3,
        "phase": "Progressing",
        "stableRevision": "bbbb2222",
        "canaryRevision": "abcd3333",
        "currentRevision": "abcd3333",
        "desiredWeight": 20,
        "actualWeight": 25,
        "rollout": {"stepIndex": step_index, **rollout},
    }
