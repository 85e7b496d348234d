"""The paper's claims as data, for BRB's grid items: which comparison each item tests, and every such
comparison over the runs.

A :class:`Claim` is one comparison the paper makes (a variant minus a baseline in a final metric, paired
over seeds); :data:`ITEM_CLAIMS` gives each grid item's claims and the metrics its text shows, and
:func:`claim_comparisons` compares every claim in every (data set, method, setting) that has runs of both
sides through the verdict engine (:func:`dcutils.claims.compare`, whose rule it follows), with the verdict at
2 SE and whether it has the paper's sign. Their table is
:func:`dcutils.brb.grid_tables.claims_table`; the texts and verdicts built on them live in
:mod:`dcutils.brb.grid_verdicts`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dcutils import claims as engine
from dcutils.brb.grid_frames import METRIC_NAME, VARIANT_NAME, paper_cells

#: Metrics the paper's Tables 13-15 give (in percent); the others are shown as they are, with 3 decimals.
PERCENT_METRICS = ("acc", "nmi", "ari")


@dataclass(frozen=True)
class Claim:
    """One comparison the paper makes: ``variant`` minus ``baseline`` in final ``metric``, paired over seeds.

    ``sign`` is +1 when the paper has the variant higher, -1 lower; None takes the sign of the paper's own
    difference in Tables 13-15 (acc, nmi and ari only), cell by cell.
    """

    variant: str
    baseline: str
    metric: str
    sign: int | None = None

    def label(self) -> str:
        return f"{VARIANT_NAME[self.variant]} − {VARIANT_NAME[self.baseline]}, {METRIC_NAME[self.metric]}"

    def engine(self) -> engine.Claim:
        """This claim for the verdict engine: the two variants' rows, in points for percent metrics."""
        return engine.Claim({"variant": self.variant}, {"variant": self.baseline}, self.metric, self.sign,
                            label=self.label(), scale=100.0 if self.metric in PERCENT_METRICS else 1.0)


def _all_beyond_plain(metric: str) -> list[Claim]:
    return [Claim("brb", b, metric) for b in ("none", "recluster", "reset")]


#: The claim each grid item tests (the "Claim tested" of its notebook) and the metrics its text shows.
ITEM_CLAIMS: dict[str, tuple[list[Claim], tuple[str, ...]]] = {
    # the reclustering barrier: BRB ends above plain IDEC (the paper: 84.50 vs 66.67)
    "brb/fig01": ([Claim("brb", "none", "acc")], ("acc",)),
    # BRB vs reclustering alone: higher accuracy and spread-out classes (higher inter-CD)
    "brb/fig02": ([Claim("brb", "recluster", "acc"), Claim("brb", "recluster", "inter_cd", +1)], ("acc", "inter_cd")),
    "brb/fig06": ([Claim("brb", "recluster", "acc"), Claim("brb", "recluster", "inter_cd", +1)], ("acc", "inter_cd")),
    # BRB improves DCN with pretraining, more than Recluster or Reset alone
    "brb/fig04": (_all_beyond_plain("acc"), ("acc",)),
    "brb/fig14": ([*_all_beyond_plain("nmi"), *_all_beyond_plain("ari")], ("nmi", "ari")),
    # BRB improves DEC and IDEC without pretraining
    "brb/fig05": ([Claim("brb", "none", "acc")], ("acc",)),
    "brb/fig15": ([Claim("brb", "none", "nmi"), Claim("brb", "none", "ari")], ("nmi", "ari")),
    # the ground-truth silhouette rises with BRB, not with DCN or DCN+Recluster
    "brb/fig16": ([Claim("brb", "none", "silhouette", +1), Claim("brb", "recluster", "silhouette", +1)],
                  ("silhouette",)),
    # BRB lowers the gap between the silhouette with predicted clusters and with the true classes
    "brb/fig17": ([Claim("brb", "none", "silhouette_gap", -1)], ("silhouette", "silhouette_pred")),
    # Tables 13-15: BRB improves each algorithm, more than Recluster or Reset alone
    "brb/tab13": (_all_beyond_plain("acc"), ()),
    "brb/tab14": (_all_beyond_plain("nmi"), ()),
    "brb/tab15": (_all_beyond_plain("ari"), ()),
}
#: Up to this many comparisons the text lists each one; beyond, it gives their counts.
MAX_LISTED = 8


def claim_comparisons(runs: pd.DataFrame, claims: Sequence[Claim]) -> pd.DataFrame:
    """Every claim in every (data set, method, setting) of ``runs`` (a :func:`finals` frame) that has both sides.

    Returns
    -------
    DataFrame, one row per comparison: dataset, method, pretrain, claim (its index in ``claims``), mean, se,
    pairs (the paired difference variant − baseline over seeds, in points for percent metrics), verdict (ahead /
    behind / inconclusive at 2 SE), paper_diff (the paper's difference from Tables 13-15; NaN for a claim with a
    stated sign), sign (+1 / -1 the paper's direction, 0 unknown) and reproduces ("reproduces" when our verdict
    has the paper's sign, "does not reproduce" when it has the other, else "inconclusive"), flagged (the pairs
    with a run flagged unhealthy on either side) and note (:func:`dcutils.health.rests_on`).
    """
    cols = ["dataset", "method", "pretrain", "claim", "mean", "se", "pairs", "verdict", "paper_diff", "sign",
            "reproduces", "flagged", "note"]
    papers: dict[str, pd.Series] = {}

    def paper_diff(c: engine.Claim, group: dict) -> float:
        """Tables 13-15's variant minus baseline in the group's row, for a claim that takes the paper's sign."""
        if c.sign is not None:
            return math.nan
        if c.metric not in papers:
            papers[c.metric] = paper_cells(c.metric).set_index(["pretrain", "method", "dataset", "variant"])["paper"]
        key = (bool(group["pretrain"]), group["method"], group["dataset"])
        return papers[c.metric].get((*key, c.a["variant"]), math.nan) - papers[c.metric].get((*key, c.b["variant"]),
                                                                                            math.nan)

    comp = engine.compare(runs, [c.engine() for c in claims], by=["dataset", "method", "pretrain"],
                          paper_diff=paper_diff)
    return comp.assign(pretrain=comp["pretrain"].astype(bool))[cols]
