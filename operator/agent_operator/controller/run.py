"""Starting the operator: `agentctl run` and `python -m agent_operator`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import kopf
from kubernetes.client import ApiClient
from prometheus_client import start_http_server

from ..kube import KubeApi
from . import handlers
from .budget_clock import FileClock
from .cache import ClusterCache
from .peering import PeeringGate
from .proof_keys import ProofKeys
from .reconciler import DEFAULT_RESYNC_SECONDS, Reconciler


@dataclass(frozen=True)
class WebhookOptions:
    """The admission webhook's port, certificate directory, Service and configuration name."""

    port: int
    cert_dir: Path | None = None
    service: str | None = None
    configuration: str = "agent-operator"


def run_operator(
    *,
    api_client: ApiClient,
    namespaces: Sequence[str],
    all_namespaces: bool,
    metrics_port: int,
    health_port: int,
    peering: str | None,
    priority: int,
    log_format: str,
    verbose: bool,
    webhook: WebhookOptions | None = None,
    resync_seconds: float = DEFAULT_RESYNC_SECONDS,
    workers: int = 16,
    budget_clock_file: Path | None = None,
) -> None:
    """Run until interrupted. Watches ``namespaces``, or the whole cluster. ``api_client`` comes
    from :func:`agent_operator.kube.load_api_client`, which also sets the configuration kopf logs
    in with."""
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.PLAIN,
        log_refkey="object",
    )
    if not verbose:
        # kopf reports every handled watch event at info level; the operator's own log says
        # what was decided.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    if metrics_port:
        start_http_server(metrics_port)
    settings = kopf.OperatorSettings()
    handlers.configure_settings(settings, peering=peering, priority=priority)
    kube = KubeApi(api_client)
    proof_keys: ProofKeys | None = None
    if webhook is not None:
        # Only with a webhook port: kopf refuses to start with admission handlers and no server.
        from .webhook import enable_webhook

        _, proof_keys = enable_webhook(
            settings,
            kube=kube,
            port=webhook.port,
            cert_dir=webhook.cert_dir,
            service=webhook.service,
            configuration=webhook.configuration,
        )
    gate = PeeringGate(kube, peering, priority, clusterwide=all_namespaces) if peering else None
    kopf.run(
        settings=settings,
        clusterwide=all_namespaces,
        namespaces=list(namespaces),
        standalone=peering is None,
        priority=priority,
        peering_name=peering,
        liveness_endpoint=f"http://0.0.0.0:{health_port}/healthz" if health_port else None,
        memo=kopf.Memo(
            reconciler=Reconciler(
                kube,
                ClusterCache(kube, () if all_namespaces else tuple(namespaces)),
                active=gate.active if gate else None,
                resync_seconds=resync_seconds,
                workers=workers,
                proof_keys=proof_keys,
                budget_clock=FileClock(budget_clock_file) if budget_clock_file else None,
            )
        ),
    )
