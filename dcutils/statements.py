"""What every catalog item claims, all papers merged: :data:`STATEMENTS` and :func:`statement`.

Each paper lists its items' statements (:class:`dcutils.claims.Statement`) in ``dcutils/<paper>/claims.py``;
the gallery, the notebooks and the tests read them here.
"""
from __future__ import annotations

from dcutils.brb import claims as brb_claims
from dcutils.claims import Statement
from dcutils.rdc import claims as rdc_claims
from dcutils.resl import claims as resl_claims

#: Every catalog item's and extra notebook's statement, by item key (``"brb/fig01"``).
STATEMENTS: dict[str, Statement] = {**brb_claims.STATEMENTS, **rdc_claims.STATEMENTS, **resl_claims.STATEMENTS}


def statement(item: str) -> Statement:
    """The statement of catalog item ``item`` (``"rdc/tab03"``); KeyError naming the item when none is listed."""
    try:
        return STATEMENTS[item]
    except KeyError:
        paper = item.split("/")[0]
        near = sorted(k for k in STATEMENTS if k.startswith(paper + "/")) or sorted(STATEMENTS)
        raise KeyError(f"no statement for item {item!r}; items are like {', '.join(near[:8])}, ...") from None


def gallery_claims() -> dict[str, str]:
    """Per item key, the line the figure index shows under its title: ``"Claim: ..."`` (the paper's claim its
    notebook tests) or ``"Not testable here: ..."`` (its reason)."""
    return {k: (f"Claim: {st.claim}" if st.claim else f"Not testable here: {st.untestable}")
            for k, st in STATEMENTS.items()}
