"""Which Secrets a spec cannot start without."""

from __future__ import annotations

from ..api.agent import AgentDeploymentSpec


def required_secrets(spec: AgentDeploymentSpec) -> frozenset[str]:
    """Names of Secrets the agent's pod needs to start. References marked optional are left
    out: the pod starts without them, so a rollout need not wait."""
    names: set[str] = {s.name for s in spec.secrets or []}
    if spec.model and spec.model.api_key_secret and not spec.model.api_key_secret.optional:
        names.add(spec.model.api_key_secret.name)
    for env in spec.container.env or []:
        ref = env.value_from.secret_key_ref if env.value_from else None
        if ref and not ref.optional:
            names.add(ref.name)
    for source in spec.container.env_from or []:
        if source.secret_ref and not source.secret_ref.optional:
            names.add(source.secret_ref.name)
    return frozenset(names)
