"""Every catalog item states what it claims (``dcutils/<paper>/claims.py``), and the notebooks say the same."""
from __future__ import annotations

import json
import re

import pytest

from dcutils import catalog
from dcutils.statements import STATEMENTS, statement

ALL_ITEMS = [*catalog.ITEMS, *catalog.EXTRAS]
#: The labels a notebook's first markdown cell puts before the claim it tests.
LABEL = re.compile(r"\*\*(Claim tested|Claims?):\*\*")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _intro(item: catalog.Item) -> str | None:
    """The first markdown cell of the item's notebook; None when it has no notebook."""
    if not item.notebook.exists():
        return None
    cells = json.loads(item.notebook.read_text())["cells"]
    return next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), "")


@pytest.mark.parametrize("item", ALL_ITEMS, ids=lambda i: i.key)
def test_every_item_has_a_statement(item):
    st = STATEMENTS.get(item.key)
    assert st is not None, f"{item.key} has no Statement in dcutils/{item.paper}/claims.py"
    assert st.item == item.key
    assert st.claim.strip() or (st.untestable or "").strip(), f"{item.key}: neither a claim nor an untestable reason"


def test_no_statement_without_an_item():
    assert set(STATEMENTS) == {item.key for item in ALL_ITEMS}


@pytest.mark.parametrize("item", [i for i in ALL_ITEMS if i.key in STATEMENTS and STATEMENTS[i.key].claim],
                         ids=lambda i: i.key)
def test_claim_is_the_notebooks(item):
    """A claim is copied from its notebook's first markdown cell: they cannot drift apart."""
    intro = _intro(item)
    if intro is None:
        pytest.skip(f"{item.key} has no notebook")
    claim = _squash(STATEMENTS[item.key].claim)
    if LABEL.search(intro):
        after = _squash(intro[LABEL.search(intro).end():])
        assert after.startswith(claim), f"{item.key}: the claim is not the text after the notebook's claim label"
    else:
        assert claim in _squash(intro), f"{item.key}: the claim is not in the notebook's first markdown cell"


def test_unknown_item_is_named():
    with pytest.raises(KeyError, match="brb/nonexistent"):
        statement("brb/nonexistent")
    assert statement("brb/fig01").item == "brb/fig01"
