"""``agentctl budget NAME [--override USD --for DURATION]``: spend against the daily cap.

Without flags it shows what the operator last measured (status.budget): spend, cap, window and
projection, per revision too. With ``--override`` it raises the cap for a while: the command is
the annotation ``agentoperator.dev/command.budget``, written through the same codec and with the
same identity (SelfSubjectReview) as ``agentctl approve``; the operator records who raised it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..api.budget import BudgetStatus
from ..controller.status_codec import read_status
from ._cluster import (
    Cluster,
    CommandFailed,
    add_agent_arguments,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_INVALID, EXIT_OK, Command
from ._console import Console
from .rollout_commands import send_command

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_OVERRIDE_SECONDS = 7 * 86400


def parse_duration(text: str) -> int:
    """``4h``, ``90m``, ``1h30m``, ``2d``: seconds, for argparse (a bad value exits 2 with a fix)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; use e.g. 30m, 4h, 1h30m or 2d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if not 0 < total <= MAX_OVERRIDE_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: an override lasts between 1s and 7d")
    return total


def parse_usd(text: str) -> float:
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in US dollars, e.g. 150") from None
    if not 0 < value < 1e12:
        raise argparse.ArgumentTypeError(f"{text!r}: the cap must be a positive amount")
    return value


def _configure(parser: argparse.ArgumentParser) -> None:
    add_agent_arguments(parser)
    parser.add_argument(
        "--override", type=parse_usd, metavar="USD", help="raise the daily cap to USD (needs --for)"
    )
    parser.add_argument(
        "--for", dest="duration", type=parse_duration, metavar="DURATION", help="how long: 30m, 4h, 1d"
    )


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _daily_usd(agent: dict[str, Any]) -> float | None:
    budget = ((agent.get("spec") or {}).get("runtime") or {}).get("budget") or {}
    value = budget.get("dailyUSD")
    return float(value) if isinstance(value, int | float) else None


def budget_lines(name: str, daily: float | None, budget: BudgetStatus) -> list[str]:
    """The text view of status.budget."""
    lines = [f"budget {name}: {budget.state}" + (" (spend unknown)" if budget.unknown else "")]
    lines.append(f"  window     {budget.window_start} .. {budget.window_end} (resets then)")
    cap = f"  cap        {_usd(budget.cap_usd)}"
    if daily is not None and budget.cap_usd != daily:
        cap += f" (dailyUSD {_usd(daily)})"
    lines.append(cap)
    override = budget.override
    if override is not None:
        lines.append(
            f"  override   {_usd(override.cap_usd)} by {override.by or 'an unknown user'}"
            f" until {override.until}"
        )
    if budget.spent_usd is None:
        lines.append("  spent      not measured yet in this window")
    else:
        percent = 100 * budget.spent_usd / budget.cap_usd
        lines.append(f"  spent      {_usd(budget.spent_usd)} ({percent:.0f}%), measured {budget.measured_at}")
        lines.append(
            f"  projected  {_usd(budget.projected_usd)} by the end of the window at the current burn rate"
        )
    if budget.unknown:
        lines.append(f"  unknown    {budget.unknown}")
    for row in budget.revisions or []:
        share = f", share {_usd(row.share_usd)}" if row.share_usd is not None else ""
        lines.append(
            f"  revision {row.revision}: spent {_usd(row.spent_usd)}, "
            f"burning {_usd(row.burn_usd_per_hour)}/h, projected {_usd(row.projected_usd)}{share}"
        )
    return lines


def _show(cluster: Cluster, args: argparse.Namespace, console: Console) -> int:
    agent = get_agent(cluster, args.name)
    budget = read_status(agent.get("status")).budget
    if budget is None:
        raise CommandFailed(
            f"agentdeployment {args.name} has no enforced budget: it needs spec.runtime.budget.dailyUSD and "
            "spec.analysis with prometheus and cost (or the operator has not measured it yet)"
        )
    if args.output == "json":
        print_json(console, {"agent": args.name, "namespace": cluster.namespace, **budget.to_wire()})
    else:
        for line in budget_lines(args.name, _daily_usd(agent), budget):
            console.print(line)
    return EXIT_OK


def _override(cluster: Cluster, args: argparse.Namespace, console: Console) -> int:

    agent = get_agent(cluster, args.name)
    daily = _daily_usd(agent)
    if daily is None:
        raise CommandFailed(f"agentdeployment {args.name} has no spec.runtime.budget.dailyUSD to override")
    if args.override <= daily:
        raise CommandFailed(
            f"--override {args.override:g} does not raise the cap: dailyUSD is {daily:g};"
            " give a larger amount"
        )
    sent = send_command(cluster, agent, "budget", usd=args.override, for_seconds=args.duration)
    if args.output == "json":
        print_json(console, sent.report(args.name, cluster.namespace))
    else:
        console.print(
            f"budget {args.name}: cap raised to ${args.override:,.2f} for {args.duration}s,"
            " counted from when the operator reads it"
        )
        console.print(sent.recorded())
    return EXIT_OK


def _run(args: argparse.Namespace, console: Console) -> int:
    if (args.override is None) != (args.duration is None):
        console.problem("agentctl budget: --override USD and --for DURATION go together")
        return EXIT_INVALID

    def work(cluster: Cluster) -> int:
        if args.override is not None:
            return _override(cluster, args, console)
        return _show(cluster, args, console)

    return run_against_cluster(args, console, work)


COMMAND = Command(
    name="budget",
    summary="show spend against the daily cap; --override USD --for DURATION raises it for a while",
    description="Show what the operator measured of the agent's spend in the current daily window:\n"
    "spend, the cap in force, the window and the projection at the current burn rate, per revision.\n\n"
    "With --override USD --for DURATION, raise the daily cap to USD for DURATION (30m, 4h, 1d), counted\n"
    "from when the operator reads the command; an agent scaled to zero by the cap comes back at once.\n"
    "The command is recorded in the annotation agentoperator.dev/command.budget with who issued it (the\n"
    "user the API server authenticates, SelfSubjectReview, as for approve) and when; the operator\n"
    "records it in status.budget.override and posts a BudgetOverride Event. The spec is not changed.\n\n"
    "Exit codes: 0 shown or recorded, 1 no enforced budget, a missing agent or an API failure,\n"
    "2 bad flags or kubeconfig.",
    configure=_configure,
    run=_run,
)
