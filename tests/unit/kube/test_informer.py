"""The informer's loop against a scripted client (the real apiserver is in the integration tests):
an API that is not served is looked at again after minutes, not every few seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from agent_operator.kube.informer import Informer, Source
from agent_operator.kube.kinds import AGENT_DEPLOYMENT
from agent_operator.kube.store import ObjectStore
from tests.support.wait import wait_for


class AbsentApi:
    """Answers every list as an API that is not served (what list_collection returns on 404)."""

    def __init__(self) -> None:
        self.lists = 0
        self.watches = 0

    def list_collection(self, *_: Any, **__: Any) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        return [], ""

    def watch(self, *_: Any, **__: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        self.watches += 1
        return iter(())


def test_an_api_that_is_not_served_is_listed_again_after_minutes_and_never_watched() -> None:
    api = AbsentApi()
    store = ObjectStore("agentoperator.dev/agent")
    informer = Informer(api, store, Source(AGENT_DEPLOYMENT), lambda _: None)  # type: ignore[arg-type]
    informer.start()
    try:
        wait_for(lambda: (api.lists >= 1, api.lists), "the first list", timeout=10)
        wait_for(lambda: (store.synced(), store.stale_kinds()), "an absent kind counts as synced", timeout=10)
        time.sleep(0.5)  # long enough for a few-second retry loop to have gone round many times
        assert (api.lists, api.watches) == (1, 0)
    finally:
        informer.stop()
