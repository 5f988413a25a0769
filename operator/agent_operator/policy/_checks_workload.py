"""Workload checks: probes, resources, images and availability."""

from __future__ import annotations

import re

from ..api.core import Probe
from ._context import CheckContext
from ._shapes import as_dict, dig, selects, summarise
from ._types import CheckDefinition, Outcome, levels

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _probe_port_problem(ctx: CheckContext, probe: Probe) -> str | None:
    handler = probe.http_get or probe.tcp_socket
    port = handler.port if handler is not None else None
    if not isinstance(port, str):
        return None
    declared = [p.name for p in ctx.spec.container.ports or []]
    if port not in declared:
        return f"it targets port {port!r}, which spec.container.ports does not declare"
    return None


def _probe_check(kind: str) -> CheckDefinition:
    attribute = kind

    def run(ctx: CheckContext) -> Outcome:
        path = f"spec.container.probes.{kind}"
        probes = ctx.spec.container.probes
        probe: Probe | None = getattr(probes, attribute) if probes else None
        if probe is None:
            return Outcome.failed(f"the agent container has no {kind} probe", path)
        problem = _probe_port_problem(ctx, probe)
        if problem:
            return Outcome.failed(f"the {kind} probe is broken: {problem}", path)
        if kind == "liveness" and probes is not None and probes.readiness == probe:
            return Outcome.advisory(
                "liveness and readiness probes are identical: a busy agent gets restarted instead of being "
                "taken out of rotation",
                path,
            )
        return Outcome.passed(f"{kind} probe configured")

    purpose = {
        "liveness": (
            "Liveness probe",
            "restarts an agent whose loop hangs",
            "httpGet: {path: /healthz, port: http}",
        ),
        "readiness": (
            "Readiness probe",
            "keeps traffic away until the agent can serve",
            "httpGet: {path: /ready, port: http}",
        ),
        "startup": (
            "Startup probe",
            "gives a slow agent (model warm-up, index load) time to start",
            "httpGet: {path: /healthz, port: http}, failureThreshold: 30, periodSeconds: 5",
        ),
    }[kind]
    lv = (
        levels("warning", "warning", "off")
        if kind == "startup"
        else levels("required", "required", "warning")
    )
    return CheckDefinition(
        f"probes.{kind}",
        f"{purpose[0]} configured",
        "probes",
        f"spec.container.probes.{kind}; a named port must be declared in spec.container.ports"
        + ("; identical liveness and readiness probes give a warning" if kind == "liveness" else ""),
        f"Set spec.container.probes.{kind}, for example {purpose[2]}: it {purpose[1]}.",
        lv,
        run,
    )


def _resource_check(
    ctx: CheckContext, section: str, names: tuple[str, ...], agent_only: bool = False
) -> Outcome:
    missing: list[str] = []
    path = ""
    for c in ctx.containers():
        if c.kind == "ephemeralContainer" or (agent_only and not c.is_agent):
            continue
        have = as_dict(dig(c.body, "resources", section))
        lacking = [n for n in names if n not in have]
        if lacking:
            missing.append(f"{c.label} has no {' or '.join(lacking)} {section[:-1]}")
            path = path or f"{c.source}.resources.{section}"
    if missing:
        return Outcome.failed(summarise(missing), path)
    return Outcome.passed(f"{' and '.join(names)} {section} set")


def check_requests(ctx: CheckContext) -> Outcome:
    return _resource_check(ctx, "requests", ("cpu", "memory"))


def check_limits(ctx: CheckContext) -> Outcome:
    return _resource_check(ctx, "limits", ("cpu", "memory"))


def check_ephemeral_storage(ctx: CheckContext) -> Outcome:
    return _resource_check(ctx, "limits", ("ephemeral-storage",), agent_only=True)


def _image_problem(image: str, ctx: CheckContext) -> str | None:
    registries = ctx.limits.allowed_registries
    if registries and not any(image == r or image.startswith(r.rstrip("/") + "/") for r in registries):
        return "comes from a registry outside limits.allowedRegistries"
    if _DIGEST.search(image):
        return None
    if ctx.limits.require_image_digest:
        return "is not pinned by digest (name@sha256:...)"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it means :latest"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the moving tag :latest"
    return None


def check_image_pinned(ctx: CheckContext) -> Outcome:
    images = [(c.label, str(c.body.get("image", "")), f"{c.source}.image") for c in ctx.containers()]
    if ctx.spec.evaluation:
        images.append(("the evaluation job", ctx.spec.evaluation.image, "spec.evaluation.image"))
    problems = [
        (f"{label} image {problem}", path)
        for label, image, path in images
        if (problem := _image_problem(image, ctx))
    ]
    if problems:
        return Outcome.failed(summarise([m for m, _ in problems]), problems[0][1])
    return Outcome.passed("every image is pinned" + (" by digest" if ctx.limits.require_image_digest else ""))


def check_replicas(ctx: CheckContext) -> Outcome:
    minimum = ctx.limits.min_replicas if ctx.limits.min_replicas is not None else 1
    if ctx.spec.replicas < minimum:
        return Outcome.failed(
            f"replicas is {ctx.spec.replicas}; at least {minimum} required", "spec.replicas"
        )
    return Outcome.passed(f"{ctx.spec.replicas} replicas (minimum {minimum})")


def check_disruption_budget(ctx: CheckContext) -> Outcome:
    if ctx.spec.replicas <= 1:
        return Outcome.skipped("a PodDisruptionBudget needs at least 2 replicas to leave room for evictions")
    labels = ctx.pod_labels
    budgets = [
        b for b in ctx.objects_of("PodDisruptionBudget") if selects(dig(b, "spec", "selector"), labels)
    ]
    if not budgets:
        return Outcome.failed("no PodDisruptionBudget covers the agent's pods", "spec.replicas")
    min_available = dig(budgets[0], "spec", "minAvailable")
    if isinstance(min_available, int) and min_available >= ctx.spec.replicas:
        return Outcome.failed(
            "the PodDisruptionBudget allows no eviction, which blocks node drains", "spec.replicas"
        )
    return Outcome.passed("a PodDisruptionBudget limits voluntary disruptions")


def check_graceful_shutdown(ctx: CheckContext) -> Outcome:
    grace = ctx.pod_spec.get("terminationGracePeriodSeconds", 30)
    if grace == 0:
        return Outcome.failed(
            "terminationGracePeriodSeconds is 0: stopping pods are killed mid-task",
            "spec.podTemplate.terminationGracePeriodSeconds",
        )
    agent = ctx.agent_container()
    if agent is None or dig(agent.body, "lifecycle", "preStop") is None:
        return Outcome.failed(
            "the agent container has no preStop hook to drain in-flight work", "spec.container"
        )
    return Outcome.passed(f"preStop drain and a {grace}s termination grace period")


DEFINITIONS: tuple[CheckDefinition, ...] = (
    _probe_check("liveness"),
    _probe_check("readiness"),
    _probe_check("startup"),
    CheckDefinition(
        "resources.requests",
        "CPU and memory requests set",
        "resources",
        "resources.requests.cpu and .memory of every init and main container of the rendered pod",
        "Set spec.container.resources.requests, for example {cpu: 250m, memory: 512Mi}, and requests on "
        "every overlay container in spec.podTemplate.containers.",
        levels("required", "required", "warning"),
        check_requests,
    ),
    CheckDefinition(
        "resources.limits",
        "CPU and memory limits set",
        "resources",
        "resources.limits.cpu and .memory of every init and main container of the rendered pod",
        "Set spec.container.resources.limits, for example {cpu: '1', memory: 1Gi}, and limits on every "
        "overlay container.",
        levels("required", "required", "warning"),
        check_limits,
    ),
    CheckDefinition(
        "resources.ephemeralStorage",
        "Ephemeral storage bounded",
        "resources",
        "resources.limits.ephemeral-storage of the agent container",
        "Set spec.container.resources.limits.ephemeral-storage, for example 1Gi, so a runaway agent "
        "cannot fill the node's disk.",
        levels("warning", "warning", "off"),
        check_ephemeral_storage,
    ),
    CheckDefinition(
        "image.pinned",
        "Images pinned and from allowed registries",
        "image",
        "image of every container of the rendered pod and spec.evaluation.image, against limits."
        "requireImageDigest and limits.allowedRegistries; without requireImageDigest a tag other than latest "
        "is enough",
        "Set spec.container.image, spec.evaluation.image and overlay container images by digest, for example "
        "registry.example.com/support-bot@sha256:<64 hex>, from a registry the policy allows.",
        levels("required", "required", "warning"),
        check_image_pinned,
    ),
    CheckDefinition(
        "availability.replicas",
        "Enough replicas",
        "availability",
        "spec.replicas against limits.minReplicas (1 when unset)",
        "Set spec.replicas to at least the policy's minReplicas, for example 2, so one pod can fail or be "
        "drained without an outage.",
        levels("required", "warning", "off"),
        check_replicas,
    ),
    CheckDefinition(
        "availability.disruptionBudget",
        "PodDisruptionBudget present",
        "availability",
        "the rendered PodDisruptionBudget selecting the agent's pods (skipped below 2 replicas)",
        "Run at least 2 replicas (spec.replicas: 2); the operator then renders a PodDisruptionBudget.",
        levels("required", "warning", "off"),
        check_disruption_budget,
    ),
    CheckDefinition(
        "availability.gracefulShutdown",
        "Graceful shutdown",
        "availability",
        "terminationGracePeriodSeconds of the rendered pod and the agent container's preStop hook",
        "Do not set spec.podTemplate.terminationGracePeriodSeconds to 0; give the agent time to finish its "
        "task, for example terminationGracePeriodSeconds: 60.",
        levels("required", "warning", "off"),
        check_graceful_shutdown,
    ),
)
