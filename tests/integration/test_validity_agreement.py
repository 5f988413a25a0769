"""One truth for validity: ``agentctl validate`` and the apiserver decide every malformed
AgentDeployment the same way.

The corpus (tests/support/malformed.py) mutates the examples at every level. Each variant goes
through ``validate``'s own pipeline in-process (exit 2 means refused) and through a server-side
dry-run create against the generated CRD alone (no webhook), with strict field validation as
``kubectl apply`` uses by default. The test demands 100% agreement and prints the figures.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from agent_operator.cli._command import EXIT_INVALID
from agent_operator.cli.validate import check_documents
from agent_operator.loader import Document
from tests.support.malformed import Variant, corpus

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
# The apiserver's answers for an object it refuses: 422 Invalid (schema, CEL) and 400 BadRequest
# (strict field validation, undecodable values). Anything else is a broken test rig.
_REFUSALS = frozenset({400, 422})


def validate_admits(variant: Variant) -> bool:
    outcome = check_documents([Document("corpus.yaml", 0, variant.obj)])
    return outcome.exit_code != EXIT_INVALID


def apiserver_admits(custom: client.CustomObjectsApi, namespace: str, variant: Variant) -> bool:
    body: dict[str, Any] = json.loads(json.dumps(variant.obj))
    body["metadata"] = {**body["metadata"], "namespace": namespace}
    try:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body, dry_run="All", field_validation="Strict"
        )
    except ApiException as exc:
        if exc.status in _REFUSALS:
            return False
        raise
    return True


def test_validate_and_the_apiserver_agree_on_every_malformed_variant(
    api_client: client.ApiClient, namespace: str, crds_installed: None
) -> None:
    variants = corpus()
    custom = client.CustomObjectsApi(api_client)
    # Dry-run creates are independent: a few in parallel keep the few hundred calls quick.
    with ThreadPoolExecutor(max_workers=4) as pool:
        server = list(pool.map(lambda v: apiserver_admits(custom, namespace, v), variants))
    offline = [validate_admits(v) for v in variants]

    disagreements = [
        f"{v.label}: validate {'admits' if o else 'refuses'}, apiserver {'admits' if s else 'refuses'}"
        for v, o, s in zip(variants, offline, server, strict=True)
        if o != s
    ]
    admitted = sum(server)
    rate = 100.0 * (len(variants) - len(disagreements)) / len(variants)
    print(
        f"\nvalidity agreement: {len(variants)} variants, {admitted} admitted, "
        f"{len(variants) - admitted} refused, agreement {rate:.1f}%"
    )
    assert len(variants) >= 300, "the corpus must stay several hundred cases"
    assert 0 < admitted < len(variants), "a corpus that is all valid or all invalid tests nothing"
    assert disagreements == [], "\n".join(disagreements)
