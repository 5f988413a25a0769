"""Fixtures for end-to-end tests of the operator on the real control plane."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import ClusterInfo
from tests.support.operator import LOG_DIR, OperatorProcess
from tests.support.rbac import ChartIdentity, chart_identity

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
BUDGET_CLOCK_FILE = LOG_DIR / "budget-clock"
"""The operator's budget clock (--budget-clock-file): absent, the system clock; the budget tests
write a time to it to cross midnight without waiting for it."""


# Package scope: the operator watches every namespace, so it must not outlive the tests that
# expect it (other integration tests write agent status themselves).
@pytest.fixture(scope="package")
def operator_identity(
    cluster: ClusterInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChartIdentity]:
    """The Helm chart's ServiceAccount and RBAC: the operator runs as it, so every test here also
    proves the chart grants what the operator needs (a missing permission fails the test)."""
    with chart_identity(cluster, tmp_path_factory.mktemp("identity"), hint="e2e-operator") as identity:
        yield identity


@pytest.fixture(scope="package")
def operator(
    cluster: ClusterInfo,
    crds_installed: None,
    operator_identity: ChartIdentity,
) -> Iterator[OperatorProcess]:
    BUDGET_CLOCK_FILE.unlink(missing_ok=True)
    proc = OperatorProcess(
        cluster,
        LOG_DIR / "operator.log",
        kubeconfig=operator_identity.kubeconfig,
        extra_args=("--budget-clock-file", str(BUDGET_CLOCK_FILE)),
    )
    proc.log_path.unlink(missing_ok=True)
    proc.start()
    yield proc
    proc.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """A failing operator test shows the end of the operator's log next to its assertion."""
    report = yield
    if report.failed and "operator" in getattr(item, "fixturenames", ()):
        proc = item.funcargs.get("operator") if hasattr(item, "funcargs") else None
        if isinstance(proc, OperatorProcess):
            report.sections.append(("operator log (tail)", proc.log_tail(80)))
    return report


class Agents:
    """AgentDeployments of one test namespace, through the real API."""

    def __init__(self, api: client.CustomObjectsApi, namespace: str) -> None:
        self.api = api
        self.namespace = namespace

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.api.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.api.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return obj

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.api.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, patch
        )
        return result

    def delete(self, name: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)


@pytest.fixture
def agents(custom_objects: client.CustomObjectsApi, namespace: str, operator: OperatorProcess) -> Agents:
    return Agents(custom_objects, namespace)
