"""kopf registration: thin handlers that turn watch events into reconcile requests.

Every handler is an ``on.event`` handler, for which kopf persists nothing and adds no finalizer:
the operator's only writes are the ones the planner decides, so a resync of an unchanged agent
costs zero writes, and deleting an agent never waits for the operator. The periodic resync and
timed wake-ups are scheduled by the Reconciler itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf
import kubernetes

from ..api import GROUP, VERSION
from ..kube.kinds import WATCHED_KINDS
from ..render import AGENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, PREFIX
from .reconciler import Reconciler

_log = logging.getLogger(__name__)

MANAGED = {MANAGED_BY_LABEL: MANAGED_BY}
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
CHILD_EVENT_DELAY_SECONDS = 0.2
STUCK_RECONCILE_SECONDS = 900.0
"""Longer than any reconcile can take with every API call timing out and retried (about 20 calls
of at most 30 s each, a few retries): past this, the process is wedged and a restart helps."""
CHILD_RESOURCES = tuple((k.group, k.version, k.plural) for k in WATCHED_KINDS)
"""(group, version, plural) of every watched child kind (kube.kinds.CHILDREN)."""


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
    # Filter children on the server: without it every Deployment, Service and ConfigMap in the
    # cluster would stream through the operator only to be dropped by the label filter.
    for group, version, plural in CHILD_RESOURCES:
        settings.watching.label_selectors[(group, version, plural)] = MANAGED_SELECTOR
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
    _memo_reconciler(memo).start_wakeups()


@kopf.on.probe(id="reconciler")
def reconciler_health(memo: Any, **_: Any) -> dict[str, int]:
    """Part of /healthz: a failing probe makes the liveness endpoint answer 500."""
    return _memo_reconciler(memo).health(STUCK_RECONCILE_SECONDS)


@kopf.on.cleanup()
def cleanup(memo: Any, **_: Any) -> None:
    _memo_reconciler(memo).stop()


@kopf.on.event(GROUP, VERSION, "agentdeployments")
def agent_changed(type: str, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    reconciler = _memo_reconciler(memo)
    if namespace is None:
        return
    if type == "DELETED":
        reconciler.forget(namespace, name)  # owner references garbage-collect the children
    else:
        reconciler.request(namespace, name)


def _owner_changed(labels: Mapping[str, str], namespace: str | None, memo: Any) -> None:
    owner = labels.get(AGENT_LABEL)
    if owner and namespace:
        # A rollout step changes several children at once (Deployments, ReplicaSets, Jobs): a
        # short delay lets their events collapse into one reconcile.
        _memo_reconciler(memo).schedule(namespace, owner, CHILD_EVENT_DELAY_SECONDS)


# A child changed (its status, a human edit, a deletion): reconcile its agent. The initial listing
# at start-up is skipped: the agents' own listing already reconciles every agent once.
for _group, _version, _plural in CHILD_RESOURCES:

    @kopf.on.event(_group, _version, _plural, labels=MANAGED, id=f"child-{_plural}")
    def child_changed(
        type: str | None, labels: Mapping[str, str], namespace: str | None, memo: Any, **_: Any
    ) -> None:
        if type is not None:
            _owner_changed(labels, namespace, memo)


@kopf.on.event(GROUP, VERSION, "readinesspolicies")
def policy_changed(memo: Any, **_: Any) -> None:
    """A policy changed: every agent may be judged differently now."""
    reconciler = _memo_reconciler(memo)
    for namespace, name in reconciler.known_agents():
        reconciler.schedule(namespace, name, 0)
