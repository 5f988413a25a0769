"""The ``--capabilities`` option: which optional CRDs the target cluster has, since offline we cannot ask."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..render import ClusterCapabilities

CAPABILITY_FIELDS = {
    "cilium": "cilium",
    "service-monitor": "service_monitor",
    "prometheus-rule": "prometheus_rule",
}


def _parse(value: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    unknown = sorted(names - CAPABILITY_FIELDS.keys())
    if unknown:
        allowed = ", ".join(CAPABILITY_FIELDS)
        raise argparse.ArgumentTypeError(f"unknown capability {', '.join(unknown)}; allowed: {allowed}")
    return names


def add_capabilities_option(parser: argparse.ArgumentParser, default_help: str) -> None:
    parser.add_argument(
        "--capabilities",
        metavar="LIST",
        type=_parse,
        default=None,
        help=f"comma-separated optional APIs the target cluster has: {', '.join(CAPABILITY_FIELDS)}"
        f" ('' for none); {default_help}",
    )


def capabilities_from(args: argparse.Namespace) -> ClusterCapabilities | None:
    """The capabilities given on the command line, or None when the option was not used."""
    from ..render import ClusterCapabilities

    if args.capabilities is None:
        return None
    flags = {CAPABILITY_FIELDS[name]: True for name in args.capabilities}
    return ClusterCapabilities(**flags)
