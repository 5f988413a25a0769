"""The nesting bound is read from the text alone and never below the true depth, whatever the parser."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_operator import loader
from agent_operator._nesting import first_too_deep
from agent_operator.loader import MAX_NESTING, DocumentError, parse_documents

# Strings that look like YAML structure: brackets, quotes, indicators, comments, block scalar marks.
TRICKY = st.text(alphabet="ab[]{}'\"#:-?|>,* \\", max_size=12)
SCALARS = st.one_of(st.integers(), st.booleans(), st.none(), TRICKY)
KEYS = st.text(alphabet="abc[]'\":- #", min_size=1, max_size=6)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def bound(text: str) -> int:
    """The smallest limit the text stays within."""
    limit = 0
    while first_too_deep(text, limit) is not None:
        limit += 1
    return limit


@settings(max_examples=1000, deadline=None)
@given(TREES, st.sampled_from([False, True, None]), st.sampled_from(["|", ">", None]))
def test_bound_is_never_below_the_true_depth(tree: Any, flow: bool | None, style: str | None) -> None:
    text = yaml.safe_dump(tree, default_flow_style=flow, default_style=style, width=20)
    assert bound(text) >= depth(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text",
    [
        # A block scalar whose key is quoted ends where its key's column ends, not the item's.
        '- "-": |-\n    :\n  ":":\n  - []\n',
        "- 'k': >\n    x\n  'j':\n  - - []\n",
    ],
)
def test_a_quoted_key_owns_its_block_scalar(text: str) -> None:
    assert bound(text) >= depth(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 101 + "]" * 101,
        "{a: " * 101 + "}" * 101,
        "- " * 101 + "x",
        "".join(f"{'  ' * i}k:\n" for i in range(101)),
        "a: '[[[['\nb: " + "[" * 101 + "]" * 101,
        's: |\n  "unclosed [[[\nt: ' + "[" * 101 + "]" * 101,
        "# [[[[\n" + "- [" * 101 + "]" * 101,
    ],
    ids=["flow-seq", "flow-map", "compact-seq", "block-map", "after-quoted", "after-block-scalar", "mixed"],
)
def test_deep_input_is_refused_by_our_check_before_any_parser(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parser_must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("the parser saw input that is too deep")

    monkeypatch.setattr(loader.yaml, "parse", parser_must_not_run)
    monkeypatch.setattr(loader.yaml, "load_all", parser_must_not_run)
    with pytest.raises(DocumentError) as err:
        parse_documents(text, "deep.yaml")
    assert f"nested more than {MAX_NESTING} levels deep" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "a: '" + "[" * 500 + "'",
        'a: "' + "{" * 500 + '"',
        "a: |\n  " + "[" * 500 + "\nb: 1",
        "# " + "[" * 500,
    ],
    ids=["single-quoted", "double-quoted", "block-scalar", "comment"],
)
def test_brackets_in_text_do_not_count(text: str) -> None:
    assert first_too_deep(text, MAX_NESTING) is None
    parse_documents(text, "ok.yaml")  # and the parser accepts it


@pytest.mark.parametrize(
    ("text", "depth"),
    [(":[:\n- - 0\n", 3), ("a: x[1\nb:\n- - - 0\n", 4), ("k: v{\nm:\n- [[0]]\n", 4)],
    ids=["bracket-in-plain-key", "bracket-in-plain-value", "brace-in-plain-value"],
)
def test_a_bracket_inside_a_plain_scalar_opens_nothing(text: str, depth: int) -> None:
    """Found by the property above: `[` in the middle of a plain scalar is text, not a flow
    collection, so the block structure after it still counts."""
    assert bound(text) >= depth
