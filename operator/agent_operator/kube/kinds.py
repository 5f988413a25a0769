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

# Kinds the operator creates for an agent, in the order they are applied (dependencies first)
# and listed when looking for children to prune.
CHILD_KINDS: tuple[Kind, ...] = (
    SERVICE_ACCOUNT,
    CONFIG_MAP,
    DEPLOYMENT,
    SERVICE,
    NETWORK_POLICY,
    POD_DISRUPTION_BUDGET,
    CILIUM_NETWORK_POLICY,
    SERVICE_MONITOR,
    PROMETHEUS_RULE,
)

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
