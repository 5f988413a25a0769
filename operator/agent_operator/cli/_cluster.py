"""What every cluster command shares: kubectl's connection flags, the client, and one-line failures.

A cluster command raises :class:`CommandFailed` (or lets a :class:`~agent_operator.kube.KubeError`
through); :func:`run_against_cluster` turns either into one line on standard error and an exit code,
so no cluster command ever shows a traceback for a problem the user can fix.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ._command import EXIT_INVALID
from ._console import Console

if TYPE_CHECKING:
    from ..controller.history import Revision
    from ..kube import KubeApi, KubeError

EXIT_FAILED = 1
"""Cluster commands: the agent is missing, the API refused or could not be reached, or there is
nothing for the command to act on (no canary to approve, nothing failed to retry, ...)."""

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class CommandFailed(Exception):
    """A cluster command cannot do what was asked; the message is the one line the user sees."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Cluster:
    """A connection to the API server and the namespace the command works in."""

    api: KubeApi
    namespace: str
    server: str
    kubeconfig_user: str | None
    """The ``user`` entry of the kubeconfig context, the fallback identity for approvals."""


def add_agent_arguments(parser: argparse.ArgumentParser) -> None:
    """NAME of the AgentDeployment and the connection flags: what most cluster commands take."""
    parser.add_argument("name", metavar="NAME", help="the AgentDeployment")
    add_connection_options(parser)


def add_connection_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    """kubectl's connection flags, and ``-o text|json`` for commands that print a result."""
    parser.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace of the agent (default: the context's, else default)",
    )
    parser.add_argument(
        "--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    if output:
        parser.add_argument(
            "-o", "--output", choices=("text", "json"), default="text", help="output format (default text)"
        )


def connect(args: argparse.Namespace) -> Cluster:
    """The client and namespace the flags ask for; CommandFailed when no configuration loads."""
    from kubernetes.config import ConfigException

    from ..kube import KubeApi, RetryPolicy, load_api_client

    try:
        api_client = load_api_client(args.kubeconfig, args.context)
        context = _kubeconfig_context(args.kubeconfig, args.context)
    except yaml.YAMLError:
        raise CommandFailed("cannot load the kubeconfig: it is not valid YAML", EXIT_INVALID) from None
    except (ConfigException, OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _first_line(str(exc))
        raise CommandFailed(f"cannot load the kubeconfig: {reason}", EXIT_INVALID) from None
    namespace = args.namespace or context.get("namespace") or _in_cluster_namespace() or "default"
    # A person is waiting: fail fast rather than back off for half a minute.
    api = KubeApi(api_client, retry=RetryPolicy(attempts=2, initial_delay=0.2), request_timeout=15.0)
    return Cluster(
        api=api,
        namespace=namespace,
        server=str(api_client.configuration.host),
        kubeconfig_user=context.get("user"),
    )


def _kubeconfig_context(kubeconfig: str | None, context: str | None) -> dict[str, Any]:
    """The selected kubeconfig context's fields ({} in a pod without a kubeconfig)."""
    from kubernetes.config import ConfigException, list_kube_config_contexts

    try:
        contexts, active = list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except ConfigException:
        if kubeconfig or context:
            raise
        return {}
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return dict((chosen or {}).get("context") or {})


def _in_cluster_namespace() -> str | None:
    try:
        return IN_CLUSTER_NAMESPACE.read_text().strip() or None
    except OSError:
        return None


def run_against_cluster(args: argparse.Namespace, console: Console, work: Callable[[Cluster], int]) -> int:
    """Connect, run ``work``, and turn any failure into one line and an exit code."""
    from ..kube import KubeError

    server = ""
    try:
        cluster = connect(args)
        server = cluster.server
        return work(cluster)
    except CommandFailed as exc:
        console.problem(exc.message)
        return exc.code
    except KubeError as exc:
        console.problem(describe_api_error(exc, server))
        return EXIT_FAILED


def describe_api_error(exc: KubeError, server: str) -> str:
    """One line for an API failure the command did not expect."""
    if exc.status == 0:
        where = server or "the configured server"
        return f"cannot reach the Kubernetes API at {where}: {_connection_reason(exc)}"
    if exc.status == 401:
        return "unauthorized: the API server rejected the kubeconfig credentials"
    if exc.status == 403:
        return f"forbidden: {_first_line(exc.message)}"
    return f"the API server answered {exc.status} {exc.reason}: {_first_line(exc.message)}"


def _connection_reason(exc: KubeError) -> str:
    text = exc.message
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if errno:
        return errno.group(0).strip()
    for hint in ("timed out", "certificate verify failed", "Connection refused", "Name or service not known"):
        if hint.lower() in text.lower():
            return hint
    return _first_line(text)[:200]


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def get_agent(cluster: Cluster, name: str) -> dict[str, Any]:
    """The AgentDeployment, or CommandFailed saying it is not there (or its API is not installed)."""
    from ..kube import AGENT_DEPLOYMENT, KubeError

    try:
        agent = cluster.api.get(AGENT_DEPLOYMENT, name, cluster.namespace)
    except KubeError as exc:
        raise CommandFailed(describe_api_error(exc, cluster.server)) from None
    if agent is None:
        if not cluster.api.group_version_available(AGENT_DEPLOYMENT.api_version):
            raise CommandFailed(
                f"the cluster does not serve {AGENT_DEPLOYMENT.api_version}: install the CRDs"
                " (agentctl crds | kubectl apply -f -)"
            )
        raise CommandFailed(f"agentdeployment {name} not found in namespace {cluster.namespace}")
    return agent


def print_json(console: Console, value: Any) -> None:
    console.print(json.dumps(value, indent=2, sort_keys=True))


def fetch_history(cluster: Cluster, name: str) -> dict[str, Revision]:
    """The agent's ControllerRevisions, by revision hash."""
    from ..controller.history import parse_history
    from ..kube.kinds import CONTROLLER_REVISION
    from ..render import AGENT_LABEL

    objects = cluster.api.list_objects(CONTROLLER_REVISION, cluster.namespace, f"{AGENT_LABEL}={name}")
    return parse_history(objects)
