"""kopf registration: the operator's frame (login, start-up, shutdown, health, peering).

The operator's watches are its own (cache.py: informers feeding one store), not kopf's: kopf
registers no resource handler, so it persists nothing, adds no finalizer and keeps no watch of
its own on agents or children. The operator's only writes are the ones the planner decides, and
deleting an agent never waits for the operator.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
import kubernetes

from ..render import PREFIX
from .reconciler import Reconciler

_log = logging.getLogger(__name__)

STUCK_RECONCILE_SECONDS = 900.0
"""Longer than any reconcile can take with every API call timing out and retried (about 20 calls
of at most 30 s each, a few retries): past this, the process is wedged and a restart helps."""


def configure_settings(settings: kopf.OperatorSettings, *, peering: str | None, priority: int) -> None:
    """Operator-wide kopf settings: our own finalizer and annotation prefix, peering for HA,
    watch timeouts that survive idle load balancers, and quiet event posting."""
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = 60
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "agent-operator"
    settings.execution.max_workers = 32
    settings.queueing.worker_limit = 64
    if peering:
        settings.peering.name = peering
        settings.peering.priority = priority
        settings.peering.mandatory = True
    else:
        settings.peering.standalone = True


def _memo_reconciler(memo: Any) -> Reconciler:
    reconciler: Reconciler = memo.reconciler
    return reconciler


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo | None:
    """Log kopf in with the configuration agentctl already loaded (kubeconfig, context or
    in-cluster), so both clients talk to the same cluster as the same user."""
    cfg = kubernetes.client.Configuration.get_default_copy()
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix("authorization")
    parts = header.split(" ", 1) if header else []
    scheme, token = (
        (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    )
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        username=cfg.username or None,
        password=cfg.password or None,
        scheme=scheme,
        token=token,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


@kopf.on.startup()
def startup(memo: Any, **_: Any) -> None:
    _memo_reconciler(memo).start()


@kopf.on.probe(id="reconciler")
def reconciler_health(memo: Any, **_: Any) -> dict[str, int]:
    """Part of /healthz: a failing probe makes the liveness endpoint answer 500."""
    return _memo_reconciler(memo).health(STUCK_RECONCILE_SECONDS)


@kopf.on.cleanup()
def cleanup(memo: Any, **_: Any) -> None:
    _memo_reconciler(memo).stop()
