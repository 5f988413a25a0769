"""The one place the operator talks to the Kubernetes API.

A thin REST layer over the official client's transport: get, list, server-side apply, delete,
and metadata-only lists (so Secret values are never fetched). Every failure surfaces as a
:class:`KubeError` that says whether it is *final* (the request itself is wrong: retrying the
same request cannot help) or *transient* (the server is busy or unreachable). The operator's
client makes one attempt per call: a worker thread that other agents wait on never sleeps
between attempts; the work queue retries transient failures with capped backoff instead.
agentctl, which has no queue, opts into a short in-call :class:`RetryPolicy`.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .._metrics import API_REQUESTS
from .errors import KubeError, error_from_response
from .kinds import EVENT, SELF_SUBJECT_REVIEW, Kind, kind_of

FIELD_MANAGER = "agent-operator"
CONNECTION_POOL_SIZE = 48
_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


class WatchGone(Exception):
    """A watch's resourceVersion is too old (410 Gone): the informer has to list again."""


@dataclass(frozen=True)
class RetryPolicy:
    """In-call retries of transient failures, for callers without a work queue (agentctl).
    The default is a single attempt: the operator's workers never sleep between attempts."""

    attempts: int = 1
    initial_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield random.uniform(delay / 2, delay)
            delay = min(delay * 2, self.max_delay)


def load_api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """An API client from a kubeconfig file, the default kubeconfig, or the in-cluster config."""
    if kubeconfig or context:
        config.load_kube_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    else:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
    cfg = client.Configuration.get_default_copy()
    # One connection per worker thread that may call the API at once (kopf's sync handlers plus
    # the wake-up pool); the default of 10 makes urllib3 drop and reopen connections under load.
    cfg.connection_pool_maxsize = CONNECTION_POOL_SIZE
    return client.ApiClient(cfg)


class KubeApi:
    """Typed-enough access to the API for the operator and agentctl."""

    def __init__(
        self,
        api_client: client.ApiClient,
        field_manager: str = FIELD_MANAGER,
        retry: RetryPolicy = RetryPolicy(),
        request_timeout: float = 30.0,
    ) -> None:
        self._api = api_client
        self.field_manager = field_manager
        self._retry = retry
        self._timeout = request_timeout
        self.instance = socket.gethostname()[:128]

    # -- reads ---------------------------------------------------------------------------------

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self._call("GET", kind, kind.object_path(name, namespace), name=name)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list_objects(
        self,
        kind: Kind,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a kind, optionally filtered by labels and fields. An absent API (CRD not
        installed) lists nothing."""
        query = {"labelSelector": label_selector} if label_selector else {}
        if field_selector:
            query["fieldSelector"] = field_selector
        try:
            body = self._call("GET", kind, kind.collection_path(namespace), query=query)
        except KubeError as exc:
            if exc.status == 404:
                return []
            raise
        items: list[dict[str, Any]] = body.get("items") or []
        for item in items:
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
        return items

    def list_collection(
        self,
        kind: Kind,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        metadata_only: bool = False,
        page_size: int = 500,
    ) -> tuple[list[dict[str, Any]], str]:
        """Every object of a collection, in pages, with the listing's resourceVersion (where a
        watch picks up). ``metadata_only`` asks for PartialObjectMetadata: names and labels,
        never a Secret's values. An absent API lists nothing."""
        items: list[dict[str, Any]] = []
        query = _selectors(label_selector, field_selector)
        headers = {"Accept": _METADATA_LIST} if metadata_only else None
        version = ""
        while True:
            page = {**query, "limit": str(page_size)}
            try:
                body = self._call("GET", kind, kind.collection_path(namespace), query=page, headers=headers)
            except KubeError as exc:
                if exc.status == 404:
                    return [], ""
                raise
            items.extend(body.get("items") or [])
            meta = body.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            query["continue"] = meta.get("continue") or ""
            if not query["continue"]:
                return items, version

    def watch(
        self,
        kind: Kind,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        *,
        resource_version: str,
        metadata_only: bool = False,
        timeout_seconds: int = 300,
        established: Callable[[], None] | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Watch events (type, object) from ``resource_version`` until the server ends the watch
        after ``timeout_seconds``. Bookmarks come through as type BOOKMARK. Raises
        :class:`WatchGone` when the version is too old, :class:`KubeError` on any other failure."""
        query = {
            **_selectors(label_selector, field_selector),
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        path = f"{kind.collection_path(namespace)}?{urlencode(query)}"
        accept = _METADATA if metadata_only else "application/json"
        API_REQUESTS.labels(verb="watch", kind=kind.kind).inc()
        _, url, hdrs, _, _ = self._api.param_serialize(
            method="GET", resource_path=path, header_params={"Accept": accept}, auth_settings=["BearerToken"]
        )
        try:
            resp = self._api.call_api(
                "GET", url, header_params=hdrs, _request_timeout=(30.0, timeout_seconds + 30.0)
            ).response
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            raise KubeError(0, "ConnectionError", str(exc), kind=kind.kind) from exc
        try:
            if resp.status >= 400:
                data = resp.read()
                error = error_from_response(resp.status, resp.reason or "", data, kind=kind.kind, name="")
                if error.status == 410:
                    raise WatchGone(error.message)
                raise error
            if established is not None:
                established()
            yield from _watch_events(resp, kind)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(0, "ConnectionError", str(exc), kind=kind.kind) from exc
        finally:
            resp.release_conn()

    def exists(self, kind: Kind, name: str, namespace: str | None = None) -> bool:
        """Whether the object exists, reading only its metadata. Used for Secrets: the operator
        needs to know a Secret is there and never needs, or fetches, its values."""
        try:
            self._call(
                "GET", kind, kind.object_path(name, namespace), name=name, headers={"Accept": _METADATA}
            )
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def group_version_available(self, api_version: str) -> bool:
        """Whether the cluster serves an API group version (e.g. a CRD's)."""
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            self._request("GET", path, verb="discover", kind_name="discovery")
        except KubeError as exc:
            if exc.status in (404, 503):
                return False
            raise
        return True

    def whoami(self) -> str | None:
        """The username the API server authenticates these credentials as (SelfSubjectReview),
        or None when the cluster does not serve that API or forbids it."""
        review = {"apiVersion": SELF_SUBJECT_REVIEW.api_version, "kind": SELF_SUBJECT_REVIEW.kind}
        try:
            body = self._call(
                "POST",
                SELF_SUBJECT_REVIEW,
                SELF_SUBJECT_REVIEW.collection_path(None),
                body=review,
                headers={"Content-Type": "application/json"},
            )
        except KubeError as exc:
            if exc.status in (403, 404, 405):
                return None
            raise
        username = ((body.get("status") or {}).get("userInfo") or {}).get("username")
        return str(username) if username else None

    # -- writes --------------------------------------------------------------------------------

    def apply(
        self, obj: Mapping[str, Any], *, subresource: str | None = None, force: bool = True
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` as this operator's field manager."""
        kind = kind_of(dict(obj))
        meta = obj["metadata"]
        path = kind.object_path(meta["name"], meta.get("namespace"))
        if subresource:
            path = f"{path}/{subresource}"
        query = {"fieldManager": self.field_manager, "force": "true" if force else "false"}
        return self._call(
            "PATCH",
            kind,
            path,
            name=meta["name"],
            query=query,
            body=dict(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    def dry_run_apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """What a forced server-side apply of ``obj`` would store, without storing it: the
        apiserver's own defaulting and normalisation of what we send. Counted as verb ``dryrun``,
        not as a write."""
        kind = kind_of(dict(obj))
        meta = obj["metadata"]
        query = {"fieldManager": self.field_manager, "force": "true", "dryRun": "All"}
        return self._request(
            "PATCH",
            f"{kind.object_path(meta['name'], meta.get('namespace'))}?{urlencode(query)}",
            verb="dryrun",
            kind_name=kind.kind,
            name=meta["name"],
            body=dict(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )

    def apply_status(
        self,
        kind: Kind,
        name: str,
        namespace: str | None,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """Server-side apply of the status subresource; the stored object comes back. With
        ``resource_version`` the write only lands on that version of the object (409 Conflict
        otherwise): status computed from a stale read never overwrites a newer one."""
        meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
        if resource_version:
            meta["resourceVersion"] = resource_version
        body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, "status": dict(status)}
        path = f"{kind.object_path(name, namespace)}/status"
        query = {"fieldManager": self.field_manager, "force": "true"}
        try:
            return self._call(
                "PATCH",
                kind,
                path,
                name=name,
                query=query,
                body=body,
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
        except KubeError as exc:
            if resource_version and exc.status == 409:
                exc.precondition = True
            raise

    def merge_patch(
        self, kind: Kind, name: str, namespace: str | None, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON merge patch, for the few fields a human command flips (annotations)."""
        return self._call(
            "PATCH",
            kind,
            kind.object_path(name, namespace),
            name=name,
            body=dict(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )

    def json_patch(
        self, kind: Kind, name: str, namespace: str | None, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """A JSON patch (RFC 6902): for one field inside a list, such as a webhook's caBundle,
        where a merge patch would replace the whole list."""
        return self._request(
            "PATCH",
            kind.object_path(name, namespace),
            verb="patch",
            kind_name=kind.kind,
            name=name,
            body=[dict(op) for op in operations],
            headers={"Content-Type": "application/json-patch+json"},
        )

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create an object (for things that are never updated, such as Jobs)."""
        kind = kind_of(dict(obj))
        return self._call(
            "POST",
            kind,
            kind.collection_path(obj["metadata"].get("namespace")),
            name=obj["metadata"].get("name", ""),
            body=dict(obj),
            headers={"Content-Type": "application/json"},
        )

    def post_event(
        self,
        involved: Mapping[str, Any],
        *,
        type_: str,
        reason: str,
        message: str,
        when: str,
        component: str = "agent-operator",
    ) -> None:
        """Record a core/v1 Event about ``involved`` (an AgentDeployment body)."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": meta["name"],
                "namespace": namespace,
                "uid": meta.get("uid"),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": component},
            "reportingComponent": f"agentoperator.dev/{component}",
            "reportingInstance": self.instance,
            "firstTimestamp": when,
            "lastTimestamp": when,
            "count": 1,
        }
        self._call(
            "POST",
            EVENT,
            EVENT.collection_path(namespace),
            body=event,
            headers={"Content-Type": "application/json"},
        )

    def delete(self, kind: Kind, name: str, namespace: str | None, *, uid: str | None = None) -> bool:
        """Delete with background propagation; False when it was already gone. ``uid`` guards
        against deleting a newer object of the same name."""
        options: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:
            options["preconditions"] = {"uid": uid}
        try:
            self._call(
                "DELETE",
                kind,
                kind.object_path(name, namespace),
                name=name,
                body=options,
                headers={"Content-Type": "application/json"},
            )
        except KubeError as exc:
            # 409 here is the uid precondition: the name now belongs to a newer object, which
            # is not ours to delete. Final, like 404: nothing left to do.
            if exc.status in (404, 409):
                return False
            raise
        return True

    # -- transport -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        kind: Kind,
        path: str,
        *,
        name: str = "",
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        if query:
            path = f"{path}?{urlencode(query)}"
        verb = {"GET": "get", "PATCH": "patch", "POST": "create", "DELETE": "delete"}[method]
        return self._request(
            method, path, verb=verb, kind_name=kind.kind, name=name, body=body, headers=headers
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        kind_name: str,
        name: str = "",
        body: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        # Bodies stay mappings: the client's REST layer encodes them as JSON for every JSON and
        # YAML content type (JSON is YAML, so apply patches go out the same way).
        payload: dict[str, Any] | list[dict[str, Any]] | None = (
            None if body is None else dict(body) if isinstance(body, Mapping) else [dict(op) for op in body]
        )

        def once() -> dict[str, Any]:
            API_REQUESTS.labels(verb=verb, kind=kind_name).inc()
            _, url, hdrs, _, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                header_params=dict(all_headers),
                auth_settings=["BearerToken"],
            )
            try:
                resp = self._api.call_api(
                    method, url, header_params=hdrs, body=payload, _request_timeout=self._timeout
                )
                data: bytes = resp.read()  # type: ignore[no-untyped-call]
            except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
                raise KubeError(0, "ConnectionError", str(exc), kind=kind_name, name=name) from exc
            if resp.status >= 400:
                raise error_from_response(resp.status, resp.reason or "", data, kind=kind_name, name=name)
            return json.loads(data) if data else {}

        # No conflict is retried in the call: applies are forced (a field-manager conflict cannot
        # happen) and carry no resourceVersion, so a 409 is final for the body that was sent.
        return _with_retries(once, self._retry)


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    query = {"labelSelector": label_selector} if label_selector else {}
    if field_selector:
        query["fieldSelector"] = field_selector
    return query


def _watch_events(resp: Any, kind: Kind) -> Iterator[tuple[str, dict[str, Any]]]:
    """One JSON event per line of a watch stream; an ERROR event carrying 410 is :class:`WatchGone`."""
    buffer = b""
    for chunk in resp.stream(65536, decode_content=True):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            obj = event.get("object") or {}
            if event.get("type") == "ERROR":
                if obj.get("code") == 410:
                    raise WatchGone(str(obj.get("message", "")))
                raise KubeError(
                    int(obj.get("code") or 500),
                    str(obj.get("reason", "")),
                    str(obj.get("message", "")),
                    kind=kind.kind,
                )
            yield str(event.get("type")), obj


def _with_retries(fn: Callable[[], _T], policy: RetryPolicy) -> _T:
    delays = policy.delays()
    while True:
        try:
            return fn()
        except KubeError as exc:
            delay = None if exc.final else next(delays, None)
            if delay is None:
                raise
            _log.info("retrying after %s %s in %.2fs", exc.status, exc.reason, delay)
            time.sleep(delay)
