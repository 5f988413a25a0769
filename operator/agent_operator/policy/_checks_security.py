"""Pod security checks, modelled on the "restricted" Pod Security Standard.

They judge the rendered pod, every container included (init, sidecars from the podTemplate
overlay, ephemeral), the way Pod Security admission does: an overlay that weakens the hardened
defaults fails here even though the spec "meant well".
"""

from __future__ import annotations

from collections.abc import Callable

from ._context import CheckContext, PodContainer
from ._shapes import as_dict, as_list, dig, summarise
from ._types import CheckDefinition, Outcome, levels

POD_SC = "spec.podTemplate.securityContext"
_SECURITY_LEVELS = ("low", "medium", "high", "critical")
_ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
_SAFE_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
# Volume sources the restricted Pod Security Standard allows.
_RESTRICTED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)

Violation = tuple[str, str]  # (message, path)


def _per_container(
    ctx: CheckContext, judge: Callable[[CheckContext, PodContainer], Violation | None], ok: str
) -> Outcome:
    violations = [v for c in ctx.containers() if (v := judge(ctx, c)) is not None]
    if not violations:
        return Outcome.passed(ok)
    return Outcome.failed(summarise([m for m, _ in violations]), violations[0][1])


def _effective(ctx: CheckContext, c: PodContainer, key: str) -> tuple[object, str]:
    """A securityContext field as Kubernetes resolves it (container over pod) and who set it."""
    if key in c.security_context:
        return c.security_context[key], f"{c.security_source}.{key}"
    return ctx.pod_security_context.get(key), f"{POD_SC}.{key}"


def _run_as_non_root(ctx: CheckContext, c: PodContainer) -> Violation | None:
    user, user_path = _effective(ctx, c, "runAsUser")
    if user == 0:
        return f"{c.label} runs as UID 0", user_path
    non_root, path = _effective(ctx, c, "runAsNonRoot")
    if non_root is not True:
        return f"{c.label} does not set runAsNonRoot: true", path
    return None


def _read_only_root(ctx: CheckContext, c: PodContainer) -> Violation | None:
    if c.security_context.get("readOnlyRootFilesystem") is not True:
        return f"{c.label} has a writable root filesystem", f"{c.security_source}.readOnlyRootFilesystem"
    return None


def _no_escalation(ctx: CheckContext, c: PodContainer) -> Violation | None:
    if c.security_context.get("allowPrivilegeEscalation") is not False:
        return (
            f"{c.label} does not set allowPrivilegeEscalation: false",
            f"{c.security_source}.allowPrivilegeEscalation",
        )
    return None


def _capabilities(ctx: CheckContext, c: PodContainer) -> Violation | None:
    caps = as_dict(c.security_context.get("capabilities"))
    path = f"{c.security_source}.capabilities"
    added = sorted({str(a) for a in as_list(caps.get("add"))} - _ALLOWED_ADDED_CAPABILITIES)
    if added:
        return f"{c.label} adds capabilities {', '.join(added)}", f"{path}.add"
    if "ALL" not in as_list(caps.get("drop")):
        return f"{c.label} does not drop ALL capabilities", f"{path}.drop"
    return None


def _seccomp(ctx: CheckContext, c: PodContainer) -> Violation | None:
    profile, path = _effective(ctx, c, "seccompProfile")
    kind = as_dict(profile).get("type")
    if kind not in _SAFE_SECCOMP:
        shown = kind if isinstance(kind, str) else "no profile"
        return f"{c.label} runs with seccomp {shown}", f"{path}.type"
    return None


def _privileged(ctx: CheckContext, c: PodContainer) -> Violation | None:
    sc = c.security_context
    if sc.get("privileged") is True:
        return f"{c.label} is privileged", f"{c.security_source}.privileged"
    if sc.get("procMount") not in (None, "Default"):
        return f"{c.label} unmasks /proc (procMount {sc.get('procMount')})", f"{c.security_source}.procMount"
    if dig(sc, "windowsOptions", "hostProcess") is True:
        return f"{c.label} is a Windows host process", f"{c.security_source}.windowsOptions.hostProcess"
    return None


def _host_ports(ctx: CheckContext, c: PodContainer) -> Violation | None:
    for port in as_list(c.body.get("ports")):
        if as_dict(port).get("hostPort") not in (None, 0):
            return f"{c.label} binds a hostPort", f"{c.source}.ports"
    return None


def check_run_as_non_root(ctx: CheckContext) -> Outcome:
    return _per_container(ctx, _run_as_non_root, "every container runs as a non-root user")


def check_read_only_root(ctx: CheckContext) -> Outcome:
    return _per_container(ctx, _read_only_root, "every container has a read-only root filesystem")


def check_privilege_escalation(ctx: CheckContext) -> Outcome:
    return _per_container(ctx, _no_escalation, "no container can escalate privileges")


def check_capabilities(ctx: CheckContext) -> Outcome:
    return _per_container(ctx, _capabilities, "every container drops ALL capabilities and adds none")


def check_seccomp(ctx: CheckContext) -> Outcome:
    return _per_container(
        ctx, _seccomp, "every container runs under a RuntimeDefault or Localhost seccomp profile"
    )


def check_privileged(ctx: CheckContext) -> Outcome:
    return _per_container(ctx, _privileged, "no container is privileged")


def check_host_namespaces(ctx: CheckContext) -> Outcome:
    pod = ctx.pod_spec
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    if shared:
        return Outcome.failed(
            f"the pod shares the node's namespaces: {', '.join(shared)}", f"spec.podTemplate.{shared[0]}"
        )
    return _per_container(ctx, _host_ports, "the pod uses no host namespaces or host ports")


def check_host_path(ctx: CheckContext) -> Outcome:
    mounted = [
        str(as_dict(v).get("name")) for v in as_list(ctx.pod_spec.get("volumes")) if "hostPath" in as_dict(v)
    ]
    if mounted:
        return Outcome.failed(
            f"hostPath volumes mount the node's filesystem: {', '.join(mounted)}", "spec.podTemplate.volumes"
        )
    return Outcome.passed("no hostPath volumes")


def check_volume_types(ctx: CheckContext) -> Outcome:
    odd = []
    for volume in as_list(ctx.pod_spec.get("volumes")):
        kinds = sorted(set(as_dict(volume)) - {"name"})
        outside = [k for k in kinds if k not in _RESTRICTED_VOLUME_TYPES]
        if outside:
            odd.append(f"{as_dict(volume).get('name')} ({', '.join(outside)})")
    if odd:
        return Outcome.failed(
            f"volume types outside the restricted set: {summarise(odd)}", "spec.podTemplate.volumes"
        )
    return Outcome.passed("every volume is of a type the restricted Pod Security Standard allows")


def check_service_account_token(ctx: CheckContext) -> Outcome:
    path = "spec.podTemplate.automountServiceAccountToken"
    pod_choice = ctx.pod_spec.get("automountServiceAccountToken")
    if pod_choice is False:
        return Outcome.passed("no service account token is mounted")
    if pod_choice is True:
        return Outcome.failed("the pod mounts a Kubernetes API token", path)
    account = ctx.pod_spec.get("serviceAccountName") or "default"
    for sa in ctx.objects_of("ServiceAccount"):
        if dig(sa, "metadata", "name") == account and sa.get("automountServiceAccountToken") is False:
            return Outcome.passed(f"service account {account} does not mount a token")
    return Outcome.failed(
        "the pod mounts a Kubernetes API token (Kubernetes mounts one unless told not to)", path
    )


def _minimum_level(ctx: CheckContext) -> tuple[str, str]:
    if ctx.limits.min_security_level:
        return ctx.limits.min_security_level, "the policy's minSecurityLevel"
    egress = ctx.spec.network.egress if ctx.spec.network else None
    if egress is None or not (egress.allowed_domains or egress.allowed_cidrs):
        return "high", "an agent without outbound allowances"
    return "medium", "an agent with outbound allowances"


def check_security_level(ctx: CheckContext) -> Outcome:
    level = ctx.spec.runtime.security_level if ctx.spec.runtime else "medium"
    minimum, why = _minimum_level(ctx)
    if _SECURITY_LEVELS.index(level) < _SECURITY_LEVELS.index(minimum):
        return Outcome.failed(
            f"securityLevel is {level}; {why} needs at least {minimum}", "spec.runtime.securityLevel"
        )
    return Outcome.passed(f"securityLevel {level} meets the minimum {minimum} ({why})")


_PSS = "the rendered pod: every init, agent, sidecar and ephemeral container"

DEFINITIONS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        "security.runAsNonRoot",
        "Containers run as a non-root user",
        "security",
        f"runAsNonRoot and runAsUser of {_PSS} (container value over pod value)",
        "Remove runAsUser: 0 / runAsNonRoot: false from spec.podTemplate.securityContext, "
        "containerSecurityContext and overlay containers; build the image with a numeric USER such as 10001.",
        levels("required", "required", "warning"),
        check_run_as_non_root,
    ),
    CheckDefinition(
        "security.readOnlyRootFilesystem",
        "Root filesystems are read-only",
        "security",
        f"securityContext.readOnlyRootFilesystem of {_PSS}",
        "Set securityContext.readOnlyRootFilesystem: true on overlay containers and do not override it in "
        "spec.podTemplate.containerSecurityContext; write scratch data to /tmp (an emptyDir) or a volume.",
        levels("required", "required", "warning"),
        check_read_only_root,
    ),
    CheckDefinition(
        "security.privilegeEscalation",
        "No privilege escalation",
        "security",
        f"securityContext.allowPrivilegeEscalation of {_PSS}",
        "Set securityContext.allowPrivilegeEscalation: false on every overlay container (the agent container "
        "has it by default; do not override it in spec.podTemplate.containerSecurityContext).",
        levels("required", "required", "warning"),
        check_privilege_escalation,
    ),
    CheckDefinition(
        "security.capabilities",
        "All Linux capabilities dropped",
        "security",
        f"securityContext.capabilities of {_PSS}: drop must contain ALL, add at most NET_BIND_SERVICE",
        "Set securityContext.capabilities: {drop: [ALL]} on every container of spec.podTemplate.containers "
        "and initContainers, and remove capabilities.add there and in "
        "spec.podTemplate.containerSecurityContext (only NET_BIND_SERVICE is allowed).",
        levels("required", "required", "warning"),
        check_capabilities,
    ),
    CheckDefinition(
        "security.seccomp",
        "Seccomp profile applied",
        "security",
        f"seccompProfile.type of {_PSS} (container value over pod value)",
        "Keep the pod's seccompProfile {type: RuntimeDefault}; remove type: Unconfined from "
        "spec.podTemplate.securityContext and from overlay containers.",
        levels("required", "required", "warning"),
        check_seccomp,
    ),
    CheckDefinition(
        "security.hostNamespaces",
        "No host namespaces or host ports",
        "security",
        "hostNetwork, hostPID and hostIPC of the rendered pod and hostPort of every container port",
        "Remove hostNetwork/hostPID/hostIPC from spec.podTemplate and hostPort from overlay container ports; "
        "expose the agent through its Service instead.",
        levels("required", "required", "required"),
        check_host_namespaces,
    ),
    CheckDefinition(
        "security.privileged",
        "No privileged containers",
        "security",
        f"securityContext.privileged, procMount and windowsOptions.hostProcess of {_PSS}",
        "Remove privileged: true (and procMount: Unmasked, hostProcess: true) from overlay containers and "
        "spec.podTemplate.containerSecurityContext.",
        levels("required", "required", "required"),
        check_privileged,
    ),
    CheckDefinition(
        "security.hostPath",
        "No hostPath volumes",
        "security",
        "volumes of the rendered pod",
        "Replace hostPath volumes in spec.podTemplate.volumes with emptyDir, configMap, secret or a "
        "persistentVolumeClaim.",
        levels("required", "required", "required"),
        check_host_path,
    ),
    CheckDefinition(
        "security.volumeTypes",
        "Only restricted volume types",
        "security",
        "volume sources of the rendered pod: configMap, csi, downwardAPI, emptyDir, ephemeral, "
        "persistentVolumeClaim, projected and secret are allowed",
        "Use one of the allowed volume types in spec.podTemplate.volumes, for example a "
        "persistentVolumeClaim instead of nfs or iscsi.",
        levels("required", "warning", "warning"),
        check_volume_types,
    ),
    CheckDefinition(
        "security.serviceAccountToken",
        "No Kubernetes API token mounted",
        "security",
        "automountServiceAccountToken of the rendered pod and of its ServiceAccount",
        "Leave spec.podTemplate.automountServiceAccountToken unset or false unless the agent calls the "
        "Kubernetes API; if it must, grant a narrow Role and set this check to off in a ReadinessPolicy.",
        levels("warning", "warning", "off"),
        check_service_account_token,
    ),
    CheckDefinition(
        "security.level",
        "Runtime security level high enough",
        "security",
        "spec.runtime.securityLevel against the policy's limits.minSecurityLevel; without one: high for "
        "agents with no egress allowances, medium otherwise",
        "Set spec.runtime.securityLevel: high (or critical); never ship low, which is for local testing.",
        levels("required", "warning", "off"),
        check_security_level,
    ),
)
