"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.support.operator import install_crds


@pytest.fixture(scope="session")
def crds_installed(api_client: client.ApiClient) -> None:
    """The committed CRDs (crds/*.yaml), server-side applied and Established."""
    install_crds(api_client)
