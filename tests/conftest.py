"""Shared fixtures for tests that need a Kubernetes cluster.

Fixtures (all cluster fixtures skip locally / fail under CI=true without a cluster):

* ``cluster`` (session) -> ClusterInfo: the local KWOK control plane, started or
  reused via hack/cluster-up.sh, or USE_EXISTING_CLUSTER=true + KUBECONFIG.
* ``api_client`` (session) -> kubernetes.client.ApiClient for that cluster.
* ``core_v1``, ``apps_v1``, ``batch_v1``, ``custom_objects``, ``apiextensions_v1``
  (session): typed API clients; ``dynamic_client`` (session): DynamicClient.
* ``namespace`` (function) -> str: a fresh namespace for the test, deleted afterwards.
* ``make_namespace`` (function) -> Callable[[dict[str, str] | None], str]: more
  namespaces (e.g. with Pod Security labels), all deleted afterwards.

Wait helpers live in tests.support (wait_for, wait_for_pod_ready, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from kubernetes import client, dynamic

from tests.support.cluster import ClusterInfo, ClusterUnavailable, ensure_cluster, unavailable
from tests.support.kube import create_namespace, delete_namespace, namespace_name


@pytest.fixture(scope="session")
def cluster() -> ClusterInfo:
    try:
        return ensure_cluster()
    except ClusterUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def api_client(cluster: ClusterInfo) -> Iterator[client.ApiClient]:
    api = cluster.new_api_client()
    with api:
        yield api


@pytest.fixture(scope="session")
def core_v1(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps_v1(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def batch_v1(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


@pytest.fixture(scope="session")
def custom_objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def apiextensions_v1(api_client: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api_client)


@pytest.fixture(scope="session")
def dynamic_client(api_client: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api_client)  # type: ignore[no-untyped-call]


@pytest.fixture
def make_namespace(request: pytest.FixtureRequest, core_v1: client.CoreV1Api) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(labels: dict[str, str] | None = None) -> str:
        name = create_namespace(core_v1, namespace_name(request.node.name), labels)
        created.append(name)
        return name

    yield make
    for name in created:
        delete_namespace(core_v1, name)


@pytest.fixture
def namespace(make_namespace: Callable[..., str]) -> str:
    return make_namespace()
