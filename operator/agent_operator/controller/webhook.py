"""The admission webhook inside the operator process: kopf handlers over the decisions in
``admission.py``, the cluster reads they need, and the HTTPS server settings.

Nothing registers on import. :func:`enable_webhook` adds the handlers to kopf's registry only
when ``agentctl run --webhook-port`` is set, because kopf refuses to start with admission handlers
and no server.

The webhook configurations (from the Helm chart or manifests/install.yaml) call two paths:
``/validate-agents`` and ``/mutate-agents``. kopf serves each handler at ``/<handler id>``, so
those are the handler ids. kopf does not manage the configurations here (the chart owns them);
the operator only writes their caBundle when it generated its own certificate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf

from ..api import GROUP, VERSION, ReadinessPolicy
from ..kube import KubeApi, KubeError
from ..kube.kinds import NAMESPACE
from ..render import ClusterCapabilities
from .admission import AdmissionDecision, ClusterView, WebhookKind, admission_review
from .live_view import CapabilityCache, valid_policies
from .proof_keys import ProofKeys
from .webhook_tls import ensure_ca_bundle, serving_files

_log = logging.getLogger(__name__)

VALIDATE_ID = "validate-agents"
MUTATE_ID = "mutate-agents"
CA_BUNDLE_RECHECK_SECONDS = 300.0
CA_BUNDLE_FIRST_RETRY_SECONDS = 15.0


class KubeClusterView:
    """What admission reads, from the API server, as the operator reads it at reconcile time."""

    def __init__(self, kube: KubeApi, capabilities: CapabilityCache) -> None:
        self._kube = kube
        self._capabilities = capabilities

    def policies(self) -> Sequence[ReadinessPolicy]:
        return valid_policies(self._kube)

    def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        ns = self._kube.get(NAMESPACE, namespace) or {}
        labels: dict[str, str] = (ns.get("metadata") or {}).get("labels") or {}
        return labels

    def capabilities(self) -> ClusterCapabilities:
        return self._capabilities.get()


def _request_from(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The AdmissionReview request fields the decisions read, rebuilt from kopf's handler
    arguments (kopf passes the parsed review, not the raw one)."""
    resource: kopf.Resource = kwargs["resource"]
    old = kwargs.get("old")
    return {
        "resource": {"group": resource.group, "version": resource.version, "resource": resource.plural},
        "operation": kwargs.get("operation"),
        "subResource": kwargs.get("subresource"),
        "userInfo": dict(kwargs.get("userinfo") or {}),
        "object": dict(kwargs["body"]),
        "oldObject": dict(old) if old is not None else None,
    }


def decide(
    webhook: WebhookKind, request: Mapping[str, Any], cluster: ClusterView, keys: ProofKeys | None = None
) -> AdmissionDecision:
    """The decision, or an admitting one with a warning when the cluster cannot be read: the
    controller judges the agent again at reconcile time, so an API hiccup must not block applies."""
    try:
        return admission_review(webhook, request, cluster, keys.current() if keys else None)
    except KubeError as exc:
        _log.warning("admission could not read the cluster, admitting: %s", exc)
        return AdmissionDecision.allow(
            [
                f"agent-operator admission could not read the cluster ({exc.status} {exc.reason}); the "
                "operator checks readiness again when it reconciles"
            ]
        )


def _apply(decision: AdmissionDecision, warnings: list[str], patch: kopf.Patch) -> None:
    warnings.extend(decision.warnings)
    for key, value in decision.annotations.items():
        patch.metadata.annotations[key] = value
    if not decision.allowed:
        raise kopf.AdmissionError(decision.message, code=decision.code)


def register_admission(
    registry: kopf.OperatorRegistry, cluster: ClusterView, keys: ProofKeys | None = None
) -> None:
    """Register the validating and mutating handlers for every resource of the API group; with
    ``keys``, the mutating one signs the command annotations it stamps."""

    @kopf.on.validate(
        GROUP, VERSION, kopf.EVERYTHING, id=VALIDATE_ID, operations=["CREATE", "UPDATE"], registry=registry
    )
    def validate(**kwargs: Any) -> None:
        _apply(decide("validate", _request_from(kwargs), cluster), kwargs["warnings"], kwargs["patch"])

    @kopf.on.mutate(
        GROUP, VERSION, kopf.EVERYTHING, id=MUTATE_ID, operations=["CREATE", "UPDATE"], registry=registry
    )
    def mutate(**kwargs: Any) -> None:
        _apply(decide("mutate", _request_from(kwargs), cluster, keys), kwargs["warnings"], kwargs["patch"])


def _keep_ca_bundle(kube: KubeApi, configuration: str, ca_pem: bytes, stop: threading.Event) -> None:
    """Re-publish the generated CA now and then: a reinstall or a `kubectl apply` of the
    configurations resets their caBundle, and the apiserver would then reject our certificate."""
    delay = CA_BUNDLE_FIRST_RETRY_SECONDS
    while not stop.wait(delay):
        delay = CA_BUNDLE_RECHECK_SECONDS
        try:
            ensure_ca_bundle(kube, configuration, ca_pem)
        except KubeError as exc:
            _log.warning("cannot refresh the webhook caBundle: %s", exc)


def enable_webhook(
    settings: kopf.OperatorSettings,
    *,
    kube: KubeApi,
    port: int,
    cert_dir: Path | None,
    service: str | None,
    configuration: str,
    registry: kopf.OperatorRegistry | None = None,
) -> tuple[threading.Event, ProofKeys]:
    """Serve admission on 0.0.0.0:``port`` over HTTPS. With a certificate in ``cert_dir`` it is
    used (and reloaded when it changes); otherwise a self-signed one is generated and its CA is
    written into the caBundle of the webhook configurations named ``configuration``. Returns an
    event that stops the caBundle upkeep, and the keys that sign and verify command annotations."""
    files = serving_files(cert_dir, service, now=datetime.now(UTC))
    stop = threading.Event()
    if files.generated_ca is not None:
        try:
            ensure_ca_bundle(kube, configuration, files.generated_ca)
        except KubeError as exc:
            # Reconciling agents matters more than admission (failurePolicy Ignore by default):
            # start anyway, and let the upkeep thread publish the CA once the API lets it.
            _log.warning("cannot publish the webhook caBundle yet: %s", exc)
        threading.Thread(
            target=_keep_ca_bundle,
            args=(kube, configuration, files.generated_ca, stop),
            name="webhook-ca-bundle",
            daemon=True,
        ).start()
    settings.admission.server = kopf.WebhookServer(
        addr="0.0.0.0", port=port, certfile=str(files.certfile), pkeyfile=str(files.keyfile)
    )
    settings.admission.managed = None
    keys = ProofKeys(Path(files.keyfile))
    register_admission(
        registry if registry is not None else kopf.get_default_registry(),
        KubeClusterView(kube, CapabilityCache(kube)),
        keys,
    )
    return stop, keys
