"""Numbers published in the papers, as tidy tables (never our results).

``brb_variants.csv``
    BRB Appendix H.8, Tables 13-15: ACC, NMI and ARI (percent, mean and
    standard error over 10 seeds) of DEC, IDEC and DCN, each plain, +BRB,
    +Recluster and +Reset, with and without pretraining, on six data sets.
    Parsed from the paper text; its "AVERAGE" column agrees with the row means.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def brb_variants() -> pd.DataFrame:
    """BRB Tables 13-15 as rows (metric, method, variant, pretrain, dataset, mean, se).

    ``metric`` in {acc, nmi, ari}; ``method`` in {dec, idec, dcn}; ``variant``
    in {plain, brb, recluster, reset}; ``pretrain`` bool; ``dataset`` in
    {mnist, usps, optdigits, fmnist, kmnist, gtsrb5}; values in percent.
    """
    return pd.read_csv(HERE / "brb_variants.csv", comment="#")
