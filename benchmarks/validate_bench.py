"""Times `agentctl validate` on 1,000 varied AgentDeployments.

The documents are generated into one multi-document YAML file, then validated twice:

- in process, through the same code as the command (reading the file, YAML parsing, schema
  validation, policy choice, rendering, every readiness check, the text report), after the modules
  are imported: this is the figure the 3 s target applies to;
- as a real `agentctl validate FILE` process, which adds interpreter start-up and imports.

Run with `make bench` or `python benchmarks/validate_bench.py [COUNT]`.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import agent_operator.policy  # noqa: F401 - imported up front: start-up is timed separately
from agent_operator.cli._console import Console
from agent_operator.cli._inputs import read_all
from agent_operator.cli._text_report import format_report
from agent_operator.cli.validate import check_documents

TARGET_SECONDS = 3.0
ENVIRONMENTS = ("production", "staging", "development")
DIGEST = "@sha256:" + "0123456789abcdef" * 4


def generated_agent(i: int, rng: random.Random) -> dict[str, Any]:
    """A realistic AgentDeployment; about a third leave out guardrails so reports have failures."""
    thorough = i % 3 != 0
    spec: dict[str, Any] = {
        "environment": rng.choice(ENVIRONMENTS),
        "replicas": rng.randint(1, 6),
        "container": {
            "image": f"registry.example.com/agent-{i % 17}" + (DIGEST if thorough else f":1.{i % 9}"),
            "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
            "env": [
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "MODEL_KEY", "valueFrom": {"secretKeyRef": {"name": "model", "key": "token"}}},
            ],
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
            "probes": {"readiness": {"httpGet": {"path": "/ready", "port": "http"}}},
        },
    }
    if thorough:
        spec["container"]["probes"]["liveness"] = {"httpGet": {"path": "/healthz", "port": "http"}}
        spec["runtime"] = {
            "securityLevel": rng.choice(["medium", "high"]),
            "timeoutSeconds": rng.choice([60, 120, 300]),
            "maxIterations": 25,
            "retry": {"limit": rng.randint(1, 5), "backoff": {"initialSeconds": 1, "maxSeconds": 30}},
            "rateLimit": {"requestsPerMinute": 600, "maxConcurrency": 20},
            "budget": {"dailyUSD": rng.choice([10, 50, 100])},
            "humanOverride": {"contact": "oncall", "approvalRequiredFor": ["send_email"]},
        }
        spec["network"] = {"egress": {"allowedDomains": ["api.openai.com"], "allowedCIDRs": ["10.0.0.0/16"]}}
        spec["observability"] = {
            "metrics": {"port": "metrics"},
            "logs": {"format": "json", "redact": True},
            "audit": {"enabled": True},
            "alerts": {"errorRatePercent": 5, "p95LatencyMs": 2000},
        }
        spec["evaluation"] = {"image": "registry.example.com/evals" + DIGEST, "minScore": 0.9}
        spec["rollout"] = {
            "strategy": "Canary",
            "canary": {"steps": [{"setWeight": 10}, {"pause": {"durationSeconds": 60}}, {"evaluate": {}}]},
        }
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": f"agent-{i}", "namespace": f"team-{i % 7}"},
        "spec": spec,
    }


def validate_in_process(path: Path) -> tuple[float, int, int, list[str]]:
    """Seconds taken, agents judged, agents ready, input problems."""
    console = Console(io.StringIO(), io.StringIO(), colour=False)
    start = time.perf_counter()
    inputs = read_all([str(path)])
    outcome = check_documents(inputs.documents)
    for result in outcome.results:
        console.out.write(format_report(result.location, result.report, console))
    elapsed = time.perf_counter() - start
    ready = sum(1 for r in outcome.results if r.report.ready)
    return elapsed, len(outcome.results), ready, inputs.problems + outcome.problems


def validate_as_process(path: Path) -> tuple[float, int]:
    """Wall-clock seconds of `agentctl validate FILE`, and its exit code."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "agent_operator.cli.main", "validate", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start, proc.returncode


def main(count: int = 1000) -> int:
    rng = random.Random(20240501)
    agents = [generated_agent(i, rng) for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agents.yaml"
        path.write_text(yaml.safe_dump_all(agents, sort_keys=False))
        elapsed, judged, ready, problems = validate_in_process(path)
        process_elapsed, code = validate_as_process(path)

    if problems or judged != count:
        print(f"unexpected: {judged} reports, problems: {problems[:3]}", file=sys.stderr)
        return 1
    verdict = "within" if elapsed < TARGET_SECONDS else "OVER"
    print(
        f"validated {count} AgentDeployments in {elapsed:.2f} s ({elapsed / count * 1000:.2f} ms each; "
        f"{ready} ready, {count - ready} not ready); {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    print(f"`agentctl validate` as a process, start-up included: {process_elapsed:.2f} s (exit code {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
