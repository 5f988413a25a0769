"""Identity proof of command annotations: the webhook signs what it stamps, the operator refuses
what does not verify, for every command (fields this version does not know included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_operator.controller.admission import admission_review, stamp_command_identity
from agent_operator.controller.command_proof import derive_key, proof, verifier, verifies
from agent_operator.controller.commands import COMMAND_PREFIX, command_annotation, parse_commands
from agent_operator.controller.proof_keys import ProofKeys

KEY = derive_key(b"tls private key")
OTHER = derive_key(b"another key")
APPROVE = f"{COMMAND_PREFIX}approve"
AT = datetime(2026, 1, 2, tzinfo=UTC)


def _agent(annotations: dict[str, str], namespace: str = "shop", name: str = "bot") -> dict[str, object]:
    return {"metadata": {"namespace": namespace, "name": name, "annotations": annotations}}


def _stamped(raw: str, user: str = "alice", key: bytes = KEY, annotation: str = APPROVE) -> str:
    return stamp_command_identity(_agent({annotation: raw}), None, user, key)[annotation]


def _raw(**body: object) -> str:
    return json.dumps({"at": "2026-01-02T00:00:00Z", **body})


def test_a_stamped_command_verifies_and_names_the_requester() -> None:
    stamped = _stamped(_raw(by="mallory", revision="abc", step=0))
    assert json.loads(stamped)["by"] == "alice"
    assert verifies((KEY,), "shop", "bot", APPROVE, stamped)
    (command,), problems = parse_commands({APPROVE: stamped}, verifier((KEY,), "shop", "bot"))
    assert (command.by, command.verified, problems) == ("alice", True, [])


def _edit(raw: str, **changes: object) -> str:
    body = json.loads(raw)
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(
    "tamper",
    [
        {"by": "bob"},
        {"at": "2026-01-03T00:00:00Z"},
        {"revision": "other"},
        {"step": 3},
        {"full": True},
        {"toRevision": 1},
        # a command this version does not know yet (a budget override, say) is covered too
        {"usd": 5000},
        {"proof": "v1:" + "0" * 64},
    ],
)
def test_any_edit_after_stamping_breaks_the_proof(tamper: dict[str, object]) -> None:
    stamped = _stamped(_raw(by="x", revision="abc", step=0, usd=50))
    assert not verifies((KEY,), "shop", "bot", APPROVE, _edit(stamped, **tamper))


def test_a_proof_is_bound_to_its_agent_and_annotation() -> None:
    stamped = _stamped(_raw(by="x"))
    assert not verifies((KEY,), "shop", "other-bot", APPROVE, stamped)
    assert not verifies((KEY,), "other-ns", "bot", APPROVE, stamped)
    assert not verifies((KEY,), "shop", "bot", f"{COMMAND_PREFIX}promote", stamped)


@pytest.mark.parametrize(
    "raw",
    [
        _raw(by="alice"),  # written around the webhook: no proof at all
        _raw(by="alice", proof="v1:deadbeef"),
        _raw(by="alice", proof=7),
        "not json",
        "[1]",
    ],
)
def test_a_command_without_a_valid_proof_does_not_verify(raw: str) -> None:
    assert not verifies((KEY,), "shop", "bot", APPROVE, raw)


def test_another_key_does_not_verify_but_a_previous_one_in_the_ring_does() -> None:
    stamped = _stamped(_raw(by="x"), key=OTHER)
    assert not verifies((KEY,), "shop", "bot", APPROVE, stamped)
    assert verifies((KEY, OTHER), "shop", "bot", APPROVE, stamped)


def test_unverified_commands_are_parsed_but_marked() -> None:
    forged = command_annotation("rollback", at=AT, by="cluster-admin")
    ((command,), _) = parse_commands(forged, verifier((KEY,), "shop", "bot"))
    assert (command.verb, command.by, command.verified) == ("rollback", "cluster-admin", False)
    # Without keys (no webhook served) there is nothing to verify against.
    ((trusted,), _) = parse_commands(forged)
    assert trusted.verified


def test_every_verb_is_signed_by_the_same_code() -> None:
    for verb in ("approve", "promote", "abort", "retry", "rollback"):
        annotation = f"{COMMAND_PREFIX}{verb}"
        stamped = _stamped(_raw(by="x"), annotation=annotation)
        assert verifies((KEY,), "shop", "bot", annotation, stamped)


def test_re_stamping_an_already_signed_command_is_a_no_op() -> None:
    stamped = _stamped(_raw(by="x"))
    assert stamp_command_identity(_agent({APPROVE: stamped}), None, "alice", KEY) == {}


def test_a_copied_signed_command_is_restamped_with_the_copier() -> None:
    """Replaying someone's signed approval through the webhook records the replayer, not them."""
    alice = _stamped(_raw(by="x"))
    replayed = stamp_command_identity(_agent({APPROVE: alice}), _agent({}), "mallory", KEY)[APPROVE]
    assert json.loads(replayed)["by"] == "mallory"
    assert verifies((KEY,), "shop", "bot", APPROVE, replayed)


def test_the_mutating_review_signs_with_the_given_key() -> None:
    class NoCluster:
        def policies(self) -> list[object]:
            return []

        def namespace_labels(self, namespace: str) -> dict[str, str]:
            return {}

        def capabilities(self) -> object:
            return None

    request = {
        "resource": {"group": "agentoperator.dev", "version": "v1alpha1", "resource": "agentdeployments"},
        "operation": "CREATE",
        "userInfo": {"username": "alice"},
        "object": _agent({APPROVE: _raw(by="x")}),
    }
    decision = admission_review("mutate", request, NoCluster(), KEY)  # type: ignore[arg-type]
    assert verifies((KEY,), "shop", "bot", APPROVE, decision.annotations[APPROVE])


def test_proof_keys_follow_a_renewed_tls_key_and_keep_the_previous(tmp_path: Path) -> None:
    keyfile = tmp_path / "tls.key"
    keyfile.write_bytes(b"first")
    keys = ProofKeys(keyfile)
    assert keys.keys() == (derive_key(b"first"),)
    keyfile.write_bytes(b"second key")
    assert keys.keys() == (derive_key(b"second key"), derive_key(b"first"))
    assert keys.current() == derive_key(b"second key")


def test_a_proof_is_versioned_hex() -> None:
    value = proof(KEY, "shop", "bot", APPROVE, {"at": "x"})
    assert value.startswith("v1:")
    assert len(value) == 3 + 64


def test_proof_keys_survive_the_key_file_vanishing_mid_renewal(tmp_path: Path) -> None:
    keyfile = tmp_path / "tls.key"
    keyfile.write_bytes(b"first")
    keys = ProofKeys(keyfile)
    keyfile.unlink()
    assert keys.keys() == (derive_key(b"first"),)
    with pytest.raises(FileNotFoundError):
        ProofKeys(tmp_path / "missing.key")
