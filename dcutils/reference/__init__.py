"""Reference numbers printed by the authors' own code, run here (never the papers' numbers, never ours).

``brb_authors_code_dec_optdigits.csv``
    Issue 20's cross-check: ACC per clustering epoch of plain DEC and DEC+BRB
    without pretraining on OPTDIGITS, from BRB's authors' repository run
    offline with their grid runner's configuration (T = 63 epochs, our quick
    protocol's), seeds 400, 148, 820. Its ``#`` lines say how it was made.
    :mod:`dcutils.brb.crosscheck` compares it with our records.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = ["REFERENCE_DIR", "brb_authors_dec_optdigits"]

REFERENCE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def brb_authors_dec_optdigits() -> pd.DataFrame:
    """Columns variant ("DEC" | "DEC+BRB"), seed, epoch (0 = after the initial k-means), acc (percent)."""
    frame = pd.read_csv(REFERENCE_DIR / "brb_authors_code_dec_optdigits.csv", comment="#")
    expected = ["variant", "seed", "epoch", "acc"]
    if list(frame.columns) != expected:
        raise ValueError(f"{REFERENCE_DIR / 'brb_authors_code_dec_optdigits.csv'} has columns "
                         f"{list(frame.columns)}, expected {expected}: restore it from git")
    return frame
