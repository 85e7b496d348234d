"""The paper's claims as data, for R-DC: what each catalog item claims (:data:`STATEMENTS`).

Each entry is the claim the item's notebook tests, copied from its first markdown cell ("**Claim:**" or
"**Claims:**"), or the reason the item makes no claim this companion can test. :mod:`dcutils.statements`
merges the three papers' lists; ``tests/test_statements.py`` keeps them and the notebooks in step.
"""
from __future__ import annotations

from dcutils.claims import Statement

#: Why Figures 4-11 (schematics of the paradigm and the pipeline) claim nothing testable.
SCHEMATIC = "a schematic of the paradigm and pipeline, not regenerated: there is no number to test"

#: What each catalog item (and extra notebook) claims, in its notebook's words, or why it claims nothing testable.
STATEMENTS: dict[str, Statement] = {
    "rdc/algo1": Statement(
        "rdc/algo1",
        "phase 2 grows the core-point ratio while it refines the pretrained codes."),
    "rdc/fig01": Statement(
        "rdc/fig01",
        ("ID and LID move together early in pretraining, then LID stays above ID (curved manifolds); in the "
         "clustering phase LID drops sharply (the manifolds are flattened).")),
    "rdc/fig02": Statement(
        "rdc/fig02",
        "DEC flattens the curved latent manifolds and twists them, so that points of distinct clusters merge."),
    "rdc/fig03": Statement(
        "rdc/fig03",
        "most of the performance comes from pretraining; the clustering phase adds little."),
    **{f"rdc/fig{n:02d}": Statement(f"rdc/fig{n:02d}", "", untestable=SCHEMATIC) for n in range(4, 12)},
    "rdc/fig12": Statement(
        "rdc/fig12",
        ("both start at the same ACC (55.8 % in the paper); R-DC's ACC rises nearly steadily, DynAE's does not, and "
         "R-DC ends higher.")),
    "rdc/fig13": Statement(
        "rdc/fig13",
        "R-DC's ACC increases during phase 2."),
    "rdc/fig14": Statement(
        "rdc/fig14",
        ("filtering raises the share of true neighbours (14a, 14c) and lowers that of false ones (14b, 14d); the "
         "filtered share declines slowly as core points are added.")),
    "rdc/fig15": Statement(
        "rdc/fig15",
        ("DynAE shows an abrupt change at the phase transition and its ID and LID converge (flattened manifolds); "
         "R-DC changes smoothly and its ID and LID curves do not meet (structure preserved).")),
    "rdc/fig16": Statement(
        "rdc/fig16",
        "R-DC's phase 2 preserves the structure of the latent manifolds (no twisting or collapsing), unlike DEC."),
    "rdc/fig17": Statement(
        "rdc/fig17",
        "R-DC is robust across a wide range of values."),
    "rdc/fig18": Statement(
        "rdc/fig18",
        ("PCA preserves clustering-oriented structures for R-DC, so Euclidean distance and k-means work on its "
         "codes.")),
    "rdc/fig19": Statement(
        "rdc/fig19",
        "pseudo-supervision gives less Euclidean-friendly codes than R-DC (compare with fig18)."),
    "rdc/fig20": Statement(
        "rdc/fig20",
        "R-DC's performance is stable across noise levels."),
    "rdc/tab01": Statement(
        "rdc/tab01", "",
        untestable=("a description of the data sets, not a claim: the text compares the catalog's counts with the "
                    "paper's")),
    "rdc/tab02": Statement(
        "rdc/tab02", "",
        untestable="a table of settings (β and γ per data set), not a claim"),
    "rdc/tab03": Statement(
        "rdc/tab03",
        ("R-DC beats all of them, in particular DynAE, DEC, IDEC and AE + k-means, which share its architecture and "
         "pretraining.")),
    "rdc/tab04": Statement(
        "rdc/tab04",
        "R-DC has the best ACC on both data sets (88.2 and 86.7 %)."),
    "rdc/tab05": Statement(
        "rdc/tab05",
        "R-DC has the best ACC on both data sets (66.7 and 59.1 %; +12.8 points over DynAE on BloodMNIST)."),
    "rdc/tab06": Statement(
        "rdc/tab06",
        ("R-DC costs somewhat more than AE + k-means, VaDE, DEC, IDEC and DynAE (its k-NN search) and less than "
         "PSSC, DDC-UCO and CC.")),
    "rdc/tab07": Statement(
        "rdc/tab07", "",
        untestable="a count of hyperparameters, not a claim the runs can test"),
    "rdc/tab08": Statement(
        "rdc/tab08",
        ("P1+P2 (R-DC) beats P1, P1+P3 and P1+P2+P3; adding P3 after P2 lowers ACC (FMNIST: 55.6 / 66.6 / 58.8 / "
         "63.8).")),
    "rdc/choices": Statement(
        "rdc/choices", "",
        untestable="not a claim of the paper: its text against the authors' code, each choice run both ways"),
}
