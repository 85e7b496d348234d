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


#: What each catalog item (and extra notebook) claims, in its notebook's words, or why it claims nothing testable.
STATEMENTS: dict[str, engine.Statement] = {
    "brb/algo1": engine.Statement(
        "brb/algo1", "",
        untestable="Algorithm 1 is a procedure, not a claim; its notebook shows it at work"),
    "brb/algo2": engine.Statement(
        "brb/algo2",
        "the Disentangled variant ends below BRB (Figure 10)."),
    "brb/fig01": engine.Statement(
        "brb/fig01",
        ("plain IDEC plateaus early; reclustering alone helps little; BRB (soft reset + reclustering + momentum "
         "reset) keeps improving and breaks the plateau (paper: after ~100 of 400 epochs; final ACC 66.67 / 74.49 / "
         "84.50 %).")),
    "brb/fig02": engine.Statement(
        "brb/fig02",
        ("reclustering alone changes few labels after the first steps (the reclustering barrier); BRB's soft reset "
         "changes more labels at each step, spreads the classes (higher inter-CD) and ends with a higher accuracy.")),
    "brb/fig03": engine.Statement(
        "brb/fig03", "",
        untestable=("the paper draws the embedding before and after a BRB step (USPS digits 0, 1, 2, 3) and states "
                    "no number to compare with")),
    "brb/fig04": engine.Statement(
        "brb/fig04",
        ("with a pretrained autoencoder, BRB improves DCN on most data sets, and more than reclustering or resetting"
         " alone.")),
    "brb/fig05": engine.Statement(
        "brb/fig05",
        ("without pretraining DEC and IDEC plateau early, and BRB improves them substantially, up to about 30 % (DEC"
         " on OPTDIGITS and GTSRB, IDEC on USPS).")),
    "brb/fig06": engine.Statement(
        "brb/fig06",
        ("reclustering alone changes few labels after the first steps (the reclustering barrier); BRB's soft reset "
         "changes more labels at each step, spreads the classes (higher inter-CD) and ends with a higher accuracy.")),
    "brb/fig07": engine.Statement(
        "brb/fig07",
        ("a BRB step moves many samples close to a cluster border (more mass in 0.9-1.0), so they can change "
         "clusters afterwards; this is how BRB breaks the reclustering barrier.")),
    "brb/fig08": engine.Statement(
        "brb/fig08",
        ("on MNIST the higher lr 5e-3 is harmful and moderate learning rates are robust to T and α; a claim about "
         "MNIST, so it is not judged on OPTDIGITS.")),
    "brb/fig09": engine.Statement(
        "brb/fig09",
        "USPS and OPTDIGITS benefit from the higher learning rate 5e-3 and suffer more from strong resets (low α)."),
    "brb/fig10": engine.Statement(
        "brb/fig10",
        ("both variants end below BRB (paper: below 80 % vs above 85 %); Disentangled changes too few labels at a "
         "step, Noise too many late in training.")),
    "brb/fig11": engine.Statement(
        "brb/fig11",
        ("resetting the embedding layer too gives small but consistent drops on GTSRB and OPTDIGITS; USPS and MNIST "
         "are mostly unaffected.")),
    "brb/fig12": engine.Statement(
        "brb/fig12",
        ("without the momentum reset ACC drops considerably for DEC on OPTDIGITS (and IDEC on GTSRB); USPS and MNIST"
         " are mostly unaffected.")),
    "brb/fig13": engine.Statement(
        "brb/fig13", "",
        untestable=("the paper draws the embedding before and after a BRB step (USPS digits 0, 1, 2, 3) and states "
                    "no number to compare with")),
    "brb/fig14": engine.Statement(
        "brb/fig14",
        ("with a pretrained autoencoder, BRB improves DCN on most data sets, and more than reclustering or resetting"
         " alone.")),
    "brb/fig15": engine.Statement(
        "brb/fig15",
        ("without pretraining DEC and IDEC plateau early, and BRB improves them substantially, up to about 30 % (DEC"
         " on OPTDIGITS and GTSRB, IDEC on USPS).")),
    "brb/fig16": engine.Statement(
        "brb/fig16",
        ("with BRB the silhouette score with ground-truth labels rises over training, while it stays flat for DCN "
         "and DCN+Recluster: BRB improves the class structure of the embedding, not only the cluster assignment.")),
    "brb/fig17": engine.Statement(
        "brb/fig17",
        ("plain DCN reaches a high silhouette with its own (predicted) clusters but a low one with the true classes,"
         " i.e. compact clusters that do not match the classes; BRB lowers the gap.")),
    "brb/fig18": engine.Statement(
        "brb/fig18",
        ("the reconstruction loss spikes at each soft reset and then recovers quickly, so the autoencoder keeps its "
         "reconstruction ability under BRB.")),
    "brb/fig19": engine.Statement(
        "brb/fig19",
        "removing contraction hinders training; Gaussian noise is a little worse on USPS and similar on OPTDIGITS."),
    "brb/tab01": engine.Statement(
        "brb/tab01",
        ("BRB improves DEC, IDEC and DCN with the contrastive task and self-labeling (\"BRB consistently improves "
         "performance for IDEC and DCN by about 2-3 %, while DEC benefits from BRB for CIFAR10 by more than 2 %\"): "
         "+BRB minus plain in ACC after self-labeling, per method, paired over seeds.")),
    "brb/tab02": engine.Statement(
        "brb/tab02", "",
        untestable="an index of the appendix's sections, nothing to compute (it has no notebook)"),
    "brb/tab03": engine.Statement(
        "brb/tab03", "",
        untestable=("a description of the data sets, not a claim: the text compares the loaded sample counts with "
                    "the paper's")),
    "brb/tab04": engine.Statement(
        "brb/tab04", "",
        untestable=("the paper's times are of an A100 GPU and 400 clustering epochs on the full data; these are one "
                    "CPU thread per run at this profile's protocol, so only their order is comparable")),
    "brb/tab05": engine.Statement(
        "brb/tab05", "",
        untestable="a table of settings, not a claim"),
    "brb/tab06": engine.Statement(
        "brb/tab06", "",
        untestable="a table of settings, not a claim"),
    "brb/tab07": engine.Statement(
        "brb/tab07", "",
        untestable="a table of settings, not a claim"),
    "brb/tab08": engine.Statement(
        "brb/tab08",
        "the share grows with the subsample."),
    "brb/tab09": engine.Statement(
        "brb/tab09",
        ("subsampling costs minimal clustering performance (no direction to judge: the values are lost, so the "
         "difference is shown).")),
    "brb/tab10": engine.Statement(
        "brb/tab10",
        "EM takes the longest, k-means++ initialisation is the fastest."),
    "brb/tab11": engine.Statement(
        "brb/tab11",
        ("with the MLP reset, block 4 ends above every other row run here, and all blocks below no block reset, each"
         " a paired difference over seeds at 2 SE in ACC before self-labeling (the end of clustering).")),
    "brb/tab12": engine.Statement(
        "brb/tab12",
        "EM has the highest average ARI (79.46 vs k-means 76.98), k-means++ init the lowest (74.93)."),
    "brb/tab13": engine.Statement(
        "brb/tab13",
        ("adding BRB (soft reset + k-means reclustering + centroid momentum reset every T epochs) improves DEC, IDEC"
         " and DCN in most cells, and more than reclustering or resetting alone.")),
    "brb/tab14": engine.Statement(
        "brb/tab14",
        ("adding BRB (soft reset + k-means reclustering + centroid momentum reset every T epochs) improves DEC, IDEC"
         " and DCN in most cells, and more than reclustering or resetting alone.")),
    "brb/tab15": engine.Statement(
        "brb/tab15",
        ("adding BRB (soft reset + k-means reclustering + centroid momentum reset every T epochs) improves DEC, IDEC"
         " and DCN in most cells, and more than reclustering or resetting alone.")),
    "brb/tab16": engine.Statement(
        "brb/tab16",
        ("(1) +BRB beats plain after self-labeling for each method (Table 1's ACC); (2) self-labeling raises ACC "
         "over the clustering it starts from, for each method with and without BRB (\"Using self-labeling [...] we "
         "achieve even higher cluster accuracies\", H.9). Each is a paired difference over seeds at 2 SE.")),
    "brb/tab17": engine.Statement(
        "brb/tab17",
        "+BRB beats plain before self-labeling, for each method, paired over seeds at 2 SE."),
    "brb/tab18": engine.Statement(
        "brb/tab18",
        "BRB with k-means reclustering performs similar or better than with the method's own assignments."),
    "brb/tab19": engine.Statement(
        "brb/tab19",
        "k-means reclustering is similar or better; on OPTDIGITS with pretraining more than 4 % better for DEC."),
    "brb/headline": engine.Statement(
        "brb/headline",
        ("over every (algorithm, data set, setting, seed) of the main grid, DEC/IDEC/DCN+BRB ends with a higher "
         "accuracy than the same algorithm without BRB (same pretrained network, same seed) in most runs, and BRB's "
         "steps cost about 1 % of the clustering phase's time.")),
    "brb/deviations": engine.Statement(
        "brb/deviations", "",
        untestable="not a claim of the paper: the authors' code against its text, each choice run both ways"),
}
