"""``agentctl crds``: the CustomResourceDefinitions, generated from the pydantic models."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._command import EXIT_INVALID, EXIT_OK, Command
from ._console import Console


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir",
        metavar="DIR",
        type=Path,
        help="write one file per CRD into DIR (created if missing) instead of printing them",
    )


def _run(args: argparse.Namespace, console: Console) -> int:
    from ..api.crd import custom_resource_definitions, write_crds
    from ..render import to_yaml

    if args.output_dir is None:
        console.out.write(to_yaml(custom_resource_definitions()))
        return EXIT_OK
    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        written = write_crds(args.output_dir)
    except OSError as exc:
        console.problem(f"{args.output_dir}: cannot write: {exc.strerror or type(exc).__name__}")
        return EXIT_INVALID
    for path in written:
        console.print(f"wrote {path}")
    return EXIT_OK


COMMAND = Command(
    name="crds",
    summary="print the CRDs (or write them to a directory)",
    description="Print the AgentDeployment and ReadinessPolicy CustomResourceDefinitions as multi-document\n"
    "YAML, generated from the same models agentctl validates against. With --output-dir, write\n"
    "<plural>.<group>.yaml files instead.",
    configure=_configure,
    run=_run,
)
