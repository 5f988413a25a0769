"""``agentctl run``: the operator process (``python -m agent_operator`` is the same)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._command import EXIT_INVALID, EXIT_OK, Command
from ._console import Console

DEFAULT_RESYNC_SECONDS = 3600.0
DEFAULT_WORKERS = 16


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


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
    parser.add_argument(
        "--resync-seconds",
        type=_positive,
        default=DEFAULT_RESYNC_SECONDS,
        metavar="S",
        help="re-plan every agent from the watch cache this often, as a safety net; costs no API"
        f" request (default {DEFAULT_RESYNC_SECONDS:.0f})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        choices=range(1, 129),
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"agents reconciled in parallel (1-128, default {DEFAULT_WORKERS})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument(
        "--budget-clock-file",
        type=Path,
        metavar="PATH",
        help="drills and tests: the spend cap's clock reads an RFC 3339 time from PATH plus the time"
        " since PATH was written, so a window reset at midnight can be seen without waiting (default:"
        " the system clock)",
    )
    webhook = parser.add_argument_group("admission webhook")
    webhook.add_argument(
        "--webhook-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve the validating and mutating admission webhook over HTTPS on this port; 0 disables"
        " (default 0)",
    )
    webhook.add_argument(
        "--webhook-cert-dir",
        type=Path,
        metavar="DIR",
        help="directory with tls.crt and tls.key (e.g. a cert-manager Secret); when absent or empty a"
        " self-signed CA and certificate are generated and the caBundle of the webhook configurations set",
    )
    webhook.add_argument(
        "--webhook-service",
        metavar="NAMESPACE/NAME",
        help="the webhook Service, whose DNS names the generated certificate covers",
    )
    webhook.add_argument(
        "--webhook-configuration",
        default="agent-operator",
        metavar="NAME",
        help="Validating- and MutatingWebhookConfiguration whose caBundle a generated certificate is"
        " written to (default agent-operator)",
    )


def _run(args: argparse.Namespace, console: Console) -> int:
    import yaml
    from kubernetes.config import ConfigException

    from ..controller.run import WebhookOptions, run_operator
    from ..kube import load_api_client

    kubeconfig = args.kubeconfig
    try:
        api_client = load_api_client(kubeconfig, args.context)
    except yaml.YAMLError:
        console.problem("agentctl run: cannot load the kubeconfig: it is not valid YAML")
        return EXIT_INVALID
    except (ConfigException, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        console.problem(f"agentctl run: cannot load the kubeconfig or in-cluster config: {reason}")
        return EXIT_INVALID
    log_format = args.log_format or ("text" if sys.stderr.isatty() else "json")
    if args.webhook_service:
        namespace, sep, name = args.webhook_service.partition("/")
        if not (sep and namespace and name) or "/" in name:
            console.problem(
                f"agentctl run: --webhook-service must be NAMESPACE/NAME, not {args.webhook_service}"
            )
            return EXIT_INVALID
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
        webhook=WebhookOptions(
            port=args.webhook_port,
            cert_dir=args.webhook_cert_dir,
            service=args.webhook_service,
            configuration=args.webhook_configuration,
        )
        if args.webhook_port
        else None,
        resync_seconds=args.resync_seconds,
        workers=args.workers,
        budget_clock_file=args.budget_clock_file,
    )
    return EXIT_OK


COMMAND = Command(
    name="run",
    summary="run the operator",
    description="Run the Agent Operator: reconcile AgentDeployments in the watched namespaces (all by\n"
    "default) until interrupted. Uses the in-cluster service account, or the kubeconfig. Exposes Prometheus\n"
    "metrics on --metrics-port and a liveness endpoint on --health-port. With --webhook-port it also serves\n"
    "the admission webhook: /validate-agents and /mutate-agents.",
    configure=_configure,
    run=_run,
)
