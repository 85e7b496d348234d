"""The paper's claims as data, for ReSL: what each catalog item claims (:data:`STATEMENTS`).

Each entry is the claim the item's notebook tests, copied from its first markdown cell ("**Claim tested:**"),
or the reason the item makes no claim this companion can test. :mod:`dcutils.statements` merges the three
papers' lists; ``tests/test_statements.py`` keeps them and the notebooks in step.
"""
from __future__ import annotations

from dcutils.claims import Statement

#: What each catalog item (and extra notebook) claims, in its notebook's words, or why it claims nothing testable.
STATEMENTS: dict[str, Statement] = {
    "resl/algo1": Statement(
        "resl/algo1",
        "the mechanics: resets every R epochs (never after the last), the tortoise evaluated."),
    "resl/fig01": Statement(
        "resl/fig01",
        "the confident fraction rises over self-labeling (paired over seeds: last epoch minus the start)."),
    "resl/fig02": Statement(
        "resl/fig02",
        ("final ACC with injection is similar to SCAN+SL's (CIFAR10 is the paper profile's; the profile's data set "
         "stands in, named on the figure).")),
    "resl/fig03": Statement(
        "resl/fig03",
        ("at the end of self-labeling HT's NMI match exceeds SCAN+SL's, paired over seeds; premise: under SCAN+SL "
         "NMI match falls.")),
    "resl/fig04": Statement(
        "resl/fig04",
        ("HT's mean CL change over the epochs is lower than SCAN+SL's (paired over seeds); final ACC and NMI match "
         "reported alongside.")),
    "resl/fig05": Statement(
        "resl/fig05",
        "higher alpha gives higher ACC (paired over seed and R)."),
    "resl/fig06": Statement(
        "resl/fig06",
        "HT at the paper's setting minus SCAN+SL, paired over seeds."),
    "resl/fig07": Statement(
        "resl/fig07",
        "as Figure 2."),
    "resl/tab01": Statement(
        "resl/tab01",
        "ReSL_HT beats SCAN+SL (paired over seeds; the paper: on every data set)."),
    "resl/tab02": Statement(
        "resl/tab02",
        "HT's NMI match exceeds SCAN+SL's at both points (paired over seeds)."),
    "resl/tab03": Statement(
        "resl/tab03", "",
        untestable="a table of settings (SCAN's self-labeling hyperparameters per data set), not a claim"),
    "resl/tab04": Statement(
        "resl/tab04",
        "ReSL_HT beats SCAN+SL (paired over seeds; the paper: on every data set)."),
    "resl/tab05": Statement(
        "resl/tab05",
        "ReSL_HT's ARI beats SCAN+SL (paired over seeds; the paper: on every data set)."),
    "resl/tab06": Statement(
        "resl/tab06",
        "ReSL_HT's NMI beats SCAN+SL (paired over seeds; the paper: on every data set)."),
    "resl/deviations": Statement(
        "resl/deviations", "",
        untestable=("not a claim of the paper: a choice of ours where SCAN's code could be followed or not, run both"
                    " ways on SCAN+SL")),
}
