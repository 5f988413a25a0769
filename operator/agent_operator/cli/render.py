"""``agentctl render``: the Kubernetes objects the operator applies for an AgentDeployment."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..api import AgentDeployment
from ..loader import DocumentError, load_agent
from ._capabilities import add_capabilities_option, capabilities_from
from ._command import EXIT_INVALID, EXIT_OK, Command
from ._console import Console
from ._inputs import read_all


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="file with AgentDeployment document(s), or - for stdin")
    parser.add_argument(
        "-o",
        "--output",
        choices=("yaml", "json"),
        default="yaml",
        help="yaml: multi-document YAML (default); json: one kind: List object",
    )
    add_capabilities_option(parser, "default: none, as on a bare cluster")


def _run(args: argparse.Namespace, console: Console) -> int:
    from ..render import ClusterCapabilities, render, to_yaml

    inputs = read_all([args.file])
    problems = list(inputs.problems)
    agents: list[AgentDeployment] = []
    for doc in inputs.documents:
        if not doc.is_object:
            problems.append(
                f"{doc.location}: not a Kubernetes object (expected a mapping with apiVersion and kind)"
            )
            continue
        if doc.kind != "AgentDeployment":
            console.note(f"{doc.location}: skipped {doc.kind or 'a document without kind'}")
            continue
        try:
            agents.append(load_agent(doc.data, doc.location))
        except DocumentError as exc:
            problems.extend(exc.lines())
    if not problems and not agents:
        problems.append(f"{args.file}: no AgentDeployment found")
    if problems:
        for line in problems:
            console.problem(line)
        return EXIT_INVALID

    capabilities = capabilities_from(args) or ClusterCapabilities()
    objects: list[dict[str, Any]] = [obj for agent in agents for obj in render(agent, capabilities)]
    if args.output == "json":
        console.print(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2))
    else:
        console.out.write(to_yaml(objects))
    return EXIT_OK


COMMAND = Command(
    name="render",
    summary="print the Kubernetes objects the operator applies for an AgentDeployment",
    description="Render the AgentDeployment(s) in FILE into the exact objects the operator applies:\n"
    "ServiceAccount, Deployment, Services, NetworkPolicy, PodDisruptionBudget, the runtime\n"
    "ConfigMap and, with --capabilities, CiliumNetworkPolicy, ServiceMonitor and PrometheusRule.\n"
    "The output is deterministic: the same input gives byte-identical output.\n\n"
    "Exit codes: 0 rendered; 2 unreadable file or invalid AgentDeployment.",
    configure=_configure,
    run=_run,
)
