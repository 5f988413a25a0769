"""``agentctl history NAME``: every recorded revision with its outcome, gates and image."""

from __future__ import annotations

import argparse

from ..api.analysis import AnalysisRunStatus
from ..controller.status_codec import analysis_to_wire
from ._analysis_view import analysis_table
from ._cluster import (
    Cluster,
    add_agent_arguments,
    fetch_history,
    get_agent,
    print_json,
    run_against_cluster,
)
from ._command import EXIT_OK, Command
from ._console import Console
from ._history import format_history, history_rows


def _run(args: argparse.Namespace, console: Console) -> int:
    def work(cluster: Cluster) -> int:
        agent = get_agent(cluster, args.name)
        rows = history_rows(fetch_history(cluster, args.name), agent.get("status") or {})
        if args.output == "json":
            print_json(console, [row.to_json() for row in rows])
        elif rows:
            console.out.write(format_history(rows))
            for row in rows:
                if row.analysis:
                    # The latest measurement of each revision that was analysed, one row per check.
                    table = analysis_table(
                        AnalysisRunStatus.model_validate(analysis_to_wire(row.analysis[-1]))
                    )
                    console.out.write(f"\nrevision {row.number}: {table}")
        else:
            console.note(f"agentdeployment {args.name} has no recorded revisions yet")
        return EXIT_OK

    return run_against_cluster(args, console, work)


COMMAND = Command(
    name="history",
    summary="list an agent's revisions: outcome, reason, approver, score, image",
    description="List the revisions of an AgentDeployment recorded in its ControllerRevisions, oldest\n"
    "first: NUMBER (what rollback --to-revision and diff take), REVISION hash (marked stable or\n"
    "canary), CREATED, OUTCOME (Promoted, Aborted, RolledBack, Superseded; InProgress for the canary),\n"
    "REASON, APPROVED BY, evaluation SCORE, ANALYSIS (the last measurement of spec.analysis) and\n"
    "IMAGE, then the latest analysis table of each analysed revision. History is pruned to\n"
    "spec.rollout.revisionHistoryLimit.\n\n"
    "Exit codes: 0 listed, 1 the agent is missing or the API failed, 2 bad flags or kubeconfig.",
    configure=add_agent_arguments,
    run=_run,
)
