"""``agentctl status NAME [--watch]``: revision, step, weights, pods per revision, gates, conditions."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from ._cluster import (
    Cluster,
    CommandFailed,
    add_connection_options,
    describe_api_error,
    fetch_history,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_OK, Command
from ._console import Console
from ._status_view import format_status, status_view

POLL_SECONDS = 1.0
_CLEAR = "\033[H\033[2J"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the AgentDeployment")
    parser.add_argument(
        "-w",
        "--watch",
        action="store_true",
        help="keep watching: a live view on a terminal, a new block per change otherwise; Ctrl-C stops",
    )
    add_connection_options(parser)


def snapshot(cluster: Cluster, name: str) -> dict[str, Any]:
    """The status view of one agent, read from the cluster."""
    from ..kube.kinds import DEPLOYMENT, EVENT
    from ..render import AGENT_LABEL

    agent = get_agent(cluster, name)
    deployments = cluster.api.list_objects(DEPLOYMENT, cluster.namespace, f"{AGENT_LABEL}={name}")
    events = cluster.api.list_objects(
        EVENT,
        cluster.namespace,
        field_selector=f"involvedObject.name={name},involvedObject.kind=AgentDeployment",
    )
    return status_view(agent, deployments, events, fetch_history(cluster, name))


def _run(args: argparse.Namespace, console: Console) -> int:
    def work(cluster: Cluster) -> int:
        if args.watch:
            return _watch(cluster, args, console)
        _show(snapshot(cluster, args.name), args, console, live=False)
        return EXIT_OK

    return run_against_cluster(args, console, work)


def _show(view: dict[str, Any], args: argparse.Namespace, console: Console, *, live: bool) -> None:
    if args.output == "json":
        if args.watch:
            console.print(json.dumps(view, sort_keys=True))
        else:
            print_json(console, view)
    else:
        text = format_status(view, console, datetime.now(UTC))
        console.out.write(_CLEAR + text if live else text)
    console.out.flush()


def _watch(cluster: Cluster, args: argparse.Namespace, console: Console) -> int:
    """Poll once a second. On a terminal, redraw every tick (ages move); otherwise print a block
    only when something changed, so a log of the output is a log of the rollout."""
    from ..kube import KubeError

    live = args.output == "text" and console.out.isatty()
    last: dict[str, Any] | None = None
    unreachable = False
    try:
        while True:
            try:
                view = snapshot(cluster, args.name)
                unreachable = False
            except KubeError as exc:
                # A watch outlives a blip of the API server; say so once and keep trying.
                if not unreachable:
                    console.problem(describe_api_error(exc, cluster.server) + " (retrying)")
                unreachable = True
                time.sleep(POLL_SECONDS)
                continue
            except CommandFailed:
                raise
            if live or view != last:
                if last is not None and not live and args.output == "text":
                    console.print()
                _show(view, args, console, live=live)
                last = view
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return EXIT_OK


COMMAND = Command(
    name="status",
    summary="show an agent's rollout: revisions, step, weights, pods, gates, conditions, events",
    description="Show where an AgentDeployment's rollout is: stable and canary revisions, the current step\n"
    "of the strategy (i/n and its kind), desired and actual canary weight, ready/total pods per revision,\n"
    "evaluation and approval gates, phase and conditions, the readiness score with failing checks, and\n"
    "the last Events.\n\n"
    "--watch polls every second until Ctrl-C (exit 0): a live view on a terminal, otherwise a new block\n"
    "each time something changes (with -o json, one JSON document per line per change).\n\n"
    "Exit codes: 0 shown, 1 the agent is missing or the API failed, 2 bad flags or kubeconfig.",
    configure=_configure,
    run=_run,
)
