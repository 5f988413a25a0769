"""``agentctl run``: the operator process (``python -m agent_operator`` is the same)."""

from __future__ import annotations

import argparse
import sys

from ._command import EXIT_INVALID, EXIT_OK, Command
from ._console import Console


def _configure(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; glob patterns allowed)",
    )
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch every namespace (the default)"
    )
    parser.add_argument(
        "--kubeconfig", metavar="FILE", help="kubeconfig to use (default: in-cluster, then $KUBECONFIG)"
    )
    parser.add_argument("--context", help="kubeconfig context to use")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="Prometheus metrics port; 0 disables (default 8080)",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=8081,
        metavar="PORT",
        help="liveness endpoint /healthz port; 0 disables (default 8081)",
    )
    parser.add_argument(
        "--peering",
        metavar="NAME",
        help="kopf peering object for high availability: replicas with the same NAME elect one active"
        " operator by --priority (needs the kopf peering CRDs); without it the operator runs standalone",
    )
    parser.add_argument(
        "--priority", type=int, default=0, help="peering priority of this replica (default 0)"
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=None,
        help="log format (default: json when stderr is not a terminal, text otherwise)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")


def _run(args: argparse.Namespace, console: Console) -> int:
    from kubernetes.config import ConfigException

    from ..controller.run import run_operator
    from ..kube import load_api_client

    kubeconfig = args.kubeconfig
    try:
        api_client = load_api_client(kubeconfig, args.context)
    except (ConfigException, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        console.problem(f"agentctl run: cannot load the kubeconfig or in-cluster config: {reason}")
        return EXIT_INVALID
    log_format = args.log_format or ("text" if sys.stderr.isatty() else "json")
    run_operator(
        api_client=api_client,
        namespaces=args.namespace,
        all_namespaces=not args.namespace,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        peering=args.peering,
        priority=args.priority,
        log_format=log_format,
        verbose=args.verbose,
    )
    return EXIT_OK


COMMAND = Command(
    name="run",
    summary="run the operator",
    description="Run the Agent Operator: reconcile AgentDeployments in the watched namespaces (all by\n"
    "default) until interrupted. Uses the in-cluster service account, or the kubeconfig. Exposes Prometheus\n"
    "metrics on --metrics-port and a liveness endpoint on --health-port.",
    configure=_configure,
    run=_run,
)
