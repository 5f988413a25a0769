"""``agentctl diff NAME REV_A REV_B``: what changed between two revisions' spec snapshots."""

from __future__ import annotations

import argparse

from ..widening import widenings
from ._cluster import (
    EXIT_FAILED,
    Cluster,
    CommandFailed,
    add_connection_options,
    fetch_history,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_OK, Command
from ._console import Console
from ._history import UnknownRevision, resolve_revision, spec_diff
from ._widenings import widening_lines, widenings_json


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the AgentDeployment")
    parser.add_argument(
        "old", metavar="REV_A", help="history number or revision hash (a unique prefix is enough)"
    )
    parser.add_argument(
        "new", metavar="REV_B", help="history number or revision hash (a unique prefix is enough)"
    )
    add_connection_options(parser)


def _run(args: argparse.Namespace, console: Console) -> int:
    def work(cluster: Cluster) -> int:
        get_agent(cluster, args.name)
        history = fetch_history(cluster, args.name)
        try:
            old = resolve_revision(history, args.old)
            new = resolve_revision(history, args.new)
        except UnknownRevision as exc:
            raise CommandFailed(f"agentdeployment {args.name}: {exc}", EXIT_FAILED) from None
        text = spec_diff(old, new)
        found = widenings(old.spec, new.spec) if old.spec is not None and new.spec is not None else []
        if args.output == "json":
            print_json(
                console,
                {
                    "from": {"number": old.number, "revision": old.revision},
                    "to": {"number": new.number, "revision": new.revision},
                    "identical": not text,
                    "diff": text,
                    "widenings": widenings_json(found),
                },
            )
        elif text:
            console.out.write(_colour(text, console))
            for line in widening_lines(found):
                console.print(line)
        else:
            console.print(
                f"revisions {old.number} ({old.revision}) and {new.number} ({new.revision})"
                " have identical specs"
            )
        return EXIT_OK

    return run_against_cluster(args, console, work)


def _colour(diff: str, console: Console) -> str:
    if not console.colour:
        return diff
    styles = {"+": "green", "-": "red", "@": "cyan"}
    out = []
    for line in diff.splitlines(keepends=True):
        header = line.startswith(("+++", "---"))
        style = "bold" if header else styles.get(line[:1])
        out.append(console.style(line.rstrip("\n"), style) + "\n" if style else line)
    return "".join(out)


COMMAND = Command(
    name="diff",
    summary="show what changed between two revisions (unified diff of their specs)",
    description="Print a unified diff of the spec snapshots of two revisions of an AgentDeployment, as YAML\n"
    "with sorted keys: image, runtime config, model, secrets, pod overlay, rollout settings. REV_A and\n"
    "REV_B are history numbers (see agentctl history) or revision hashes; a unique hash prefix is\n"
    "enough. A number is tried first. Below the diff, the widenings from REV_A to REV_B: new egress\n"
    "domains, CIDRs or ports, tools no longer needing human approval, raised budgets or rate limits, a\n"
    "lower securityLevel, a changed model or provider, a loop cap or timeout removed (the changes a\n"
    "ReadinessPolicy's approvalRequiredFor can make wait for agentctl approve).\n\n"
    "Exit codes: 0 whether or not the revisions differ (identical specs print one line saying so; use\n"
    "-o json and its 'identical' field in scripts), 1 an unknown revision, a missing agent or an API\n"
    "failure, 2 bad flags or kubeconfig.",
    configure=_configure,
    run=_run,
)
