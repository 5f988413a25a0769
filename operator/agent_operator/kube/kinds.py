"""Where each kind the operator touches lives in the Kubernetes API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One API resource: enough to build its REST path."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def collection_path(self, namespace: str | None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            if namespace is None:
                return f"{base}/{self.plural}"
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None) -> str:
        return f"{self.collection_path(namespace)}/{name}"


AGENT_DEPLOYMENT = Kind("agentoperator.dev/v1alpha1", "AgentDeployment", "agentdeployments")
READINESS_POLICY = Kind("agentoperator.dev/v1alpha1", "ReadinessPolicy", "readinesspolicies", False)
NAMESPACE = Kind("v1", "Namespace", "namespaces", False)
SECRET = Kind("v1", "Secret", "secrets")
POD = Kind("v1", "Pod", "pods")
EVENT = Kind("v1", "Event", "events")
SERVICE_ACCOUNT = Kind("v1", "ServiceAccount", "serviceaccounts")
CONFIG_MAP = Kind("v1", "ConfigMap", "configmaps")
SERVICE = Kind("v1", "Service", "services")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
REPLICA_SET = Kind("apps/v1", "ReplicaSet", "replicasets")
CONTROLLER_REVISION = Kind("apps/v1", "ControllerRevision", "controllerrevisions")
JOB = Kind("batch/v1", "Job", "jobs")
NETWORK_POLICY = Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies")
POD_DISRUPTION_BUDGET = Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets")
CILIUM_NETWORK_POLICY = Kind("cilium.io/v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies")
SERVICE_MONITOR = Kind("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors")
PROMETHEUS_RULE = Kind("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules")
SELF_SUBJECT_REVIEW = Kind("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", False)
CUSTOM_RESOURCE_DEFINITION = Kind(
    "apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False
)


@dataclass(frozen=True)
class Child:
    """A kind of object that belongs to an agent."""

    kind: Kind
    watched: bool
    """A change to one (status, a human edit, a deletion) wakes its agent's reconcile."""
    optional: bool = False
    """Its API comes with an add-on (Cilium, Prometheus Operator) and may be absent: it is listed
    only when the cluster serves it, and not watched."""
    rendered: bool = True
    """The renderer emits it: listed on every reconcile and pruned when no longer wanted. The others
    are made by someone else for the agent (ReplicaSets by Deployments; evaluation Jobs are created
    once, not applied)."""


# The one list of an agent's child kinds, rendered ones in the renderer's apply order (dependencies
# first: render.APPLY_ORDER, checked by a test).
CHILDREN: tuple[Child, ...] = (
    Child(SERVICE_ACCOUNT, watched=True),
    Child(NETWORK_POLICY, watched=True),
    Child(CILIUM_NETWORK_POLICY, watched=False, optional=True),
    Child(CONFIG_MAP, watched=True),
    Child(DEPLOYMENT, watched=True),
    Child(SERVICE, watched=True),
    Child(POD_DISRUPTION_BUDGET, watched=True),
    Child(SERVICE_MONITOR, watched=False, optional=True),
    Child(PROMETHEUS_RULE, watched=False, optional=True),
    Child(REPLICA_SET, watched=True, rendered=False),
    Child(JOB, watched=True, rendered=False),
)
CHILD_KINDS: tuple[Kind, ...] = tuple(c.kind for c in CHILDREN if c.rendered)
"""Kinds the renderer emits for an agent, listed when looking for children to prune."""
WATCHED_KINDS: tuple[Kind, ...] = tuple(c.kind for c in CHILDREN if c.watched)
OPTIONAL_KINDS: tuple[Kind, ...] = tuple(c.kind for c in CHILDREN if c.optional)

_BY_KEY = {
    (k.api_version, k.kind): k
    for k in (
        *CHILD_KINDS,
        CONTROLLER_REVISION,
        JOB,
        AGENT_DEPLOYMENT,
        READINESS_POLICY,
        CUSTOM_RESOURCE_DEFINITION,
    )
}


def kind_of(obj: dict[str, object]) -> Kind:
    """The :class:`Kind` of a rendered object; unknown kinds are a programming error."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"the operator does not manage {key[1]} ({key[0]})") from None
