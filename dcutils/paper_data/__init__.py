"""Numbers published in the papers, as tidy tables (never our results).

Each CSV opens with ``#`` lines citing its source (paper, table or figure,
section); one loader per file returns it as a DataFrame (cached: treat it as
read-only, ``.copy()`` before changing it). Values are in percent as printed.

``brb_variants.csv``
    BRB Appendix H.8, Tables 13-15: ACC, NMI and ARI (percent, mean and
    standard error over 10 seeds) of DEC, IDEC and DCN, each plain, +BRB,
    +Recluster and +Reset, with and without pretraining, on six data sets.
    Parsed from the paper text; its "AVERAGE" column agrees with the row means.
``rdc_clustering.csv``
    R-DC Tables 3-5 (Section 4.2.1): ACC, F1 macro and F1 micro of ten methods
    on six data sets.
``rdc_runtime.csv``
    R-DC Table 6 (Section 4.2.1): seconds per method on three data sets.
``rdc_hyperparameters.csv``
    R-DC Table 7 (Section 4.2.1): hyperparameter counts (its complexity column
    was lost in the text extraction).
``rdc_ablation.csv``
    R-DC Table 8 (Section 4.2.3): the phase ablation on four data sets.
``rdc_datasets.csv``
    R-DC Table 1 (Section 4.1): samples and classes per data set.
``rdc_figures.csv``
    Single numbers of R-DC's figures (Figure 12's start ACC), by key.
``brb_contrastive.csv``
    BRB Section 6, Table 1: ACC, NMI and ARI (percent) of DEC, IDEC and DCN, plain and +BRB, with SimCLR and
    self-labeling on CIFAR10 and CIFAR100-20, and the rows "Pretraining + k-means", SCAN, GCC and SeCu; the
    catalog's reference values (the authors' release), which agree with the rows the paper's text kept. Table 16
    prints Table 1's ACC; Tables 11 and 17 were lost in the text (their notebooks state the text's claims).
``resl_tables.csv``
    ReSL Tables 1/4 (ACC), 5 (ARI), 6 (NMI): average and maximum over five
    seeds of SP, SP*, HT and SCAN+SL on four data sets; Table 2: NMI match at
    epochs 100 and 200 of HT and SCAN+SL.

Data set names are the catalog's keys (:data:`dcutils.data.DATASETS`:
``cifar10``, ``fmnist``, ``vesselmnist3d``, ...); method names as the paper
prints them (``"AE + k-means"``, ``"DDC-UCO"``, ``"R-DC"``, ...).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def _read(name: str) -> pd.DataFrame:
    # pandas' default (high-precision) parser gives Python's float() of the text: 66.6 == 66.6 (tested)
    return pd.read_csv(HERE / name, comment="#")


@cache
def brb_variants() -> pd.DataFrame:
    """BRB Tables 13-15 as rows (metric, method, variant, pretrain, dataset, mean, se).

    ``metric`` in {acc, nmi, ari}; ``method`` in {dec, idec, dcn}; ``variant``
    in {plain, brb, recluster, reset}; ``pretrain`` bool; ``dataset`` in
    {mnist, usps, optdigits, fmnist, kmnist, gtsrb5}; values in percent.
    """
    return pd.read_csv(HERE / "brb_variants.csv", comment="#")


@cache
def rdc_clustering() -> pd.DataFrame:
    """R-DC Tables 3-5 as rows (table, dataset, method, acc, f1_macro, f1_micro).

    ``table`` in {3, 4, 5} (3: cifar10, fmnist; 4: vesselmnist3d,
    pneumoniamnist; 5: breastmnist, bloodmnist); ``method`` one of the ten of
    the tables, in the paper's order (FINCH ... R-DC); metrics in percent as
    printed. One row per (dataset, method). DDC-UCO's F1 micro on FMNIST (31.4)
    and BloodMNIST (26.4) differs from its ACC, as printed.
    """
    return _read("rdc_clustering.csv")


@cache
def rdc_runtime() -> pd.DataFrame:
    """R-DC Table 6 as rows (dataset, method, seconds).

    ``dataset`` in {fmnist, vesselmnist3d, pneumoniamnist}; ``seconds`` (int)
    for the same number of iterations on the authors' Tesla T4. One row per
    (dataset, method).
    """
    return _read("rdc_runtime.csv")


@cache
def rdc_ablation() -> pd.DataFrame:
    """R-DC Table 8 as rows (dataset, phases, acc, f1_macro, f1_micro).

    ``dataset`` in {fmnist, pneumoniamnist, bloodmnist, breastmnist};
    ``phases`` in {P1, P1+P2, P1+P3, P1+P2+P3} (P1 ACAI pretraining, P2
    proximity-level self-supervision, P3 DEC pseudo-supervision); metrics in
    percent. One row per (dataset, phases).
    """
    return _read("rdc_ablation.csv")


@cache
def rdc_hyperparameters() -> pd.DataFrame:
    """R-DC Table 7 as rows (method, count): the number of hyperparameters per method (int)."""
    return _read("rdc_hyperparameters.csv")


@cache
def rdc_datasets() -> pd.DataFrame:
    """R-DC Table 1 as rows (dataset, samples, classes), both int, as printed."""
    return _read("rdc_datasets.csv")


@cache
def rdc_figures() -> pd.DataFrame:
    """Single numbers of R-DC's figures as rows (key, value, source).

    ``key``: ``fig12_start_acc`` (the FMNIST ACC, percent, at which DynAE and
    R-DC both start phase 2 in Figure 12); ``source`` names figure and section.
    """
    return _read("rdc_figures.csv")


def rdc_figure_value(key: str) -> float:
    """The value of ``key`` in :func:`rdc_figures` (``rdc_figure_value("fig12_start_acc") == 55.8``)."""
    values = rdc_figures().set_index("key")["value"]
    if key not in values.index:
        raise KeyError(f"no R-DC figure number {key!r}; known: {', '.join(values.index)}")
    return float(values[key])


@cache
def brb_contrastive() -> pd.DataFrame:
    """BRB Table 1 (= Table 16's ACC) as rows (row, method, brb, dataset, metric, value).

    ``row`` as printed ("Pretraining + k-means", "DEC", "DEC+BRB", ..., "SCAN", "GCC", "SeCu"); ``method`` in
    {dec, idec, dcn} for the compared algorithms, else ``pretraining``, ``scan``, ``gcc``, ``secu``; ``brb``
    bool; ``dataset`` in {cifar10, cifar100-20}; ``metric`` in {acc, nmi, ari}; percent. GCC gives ACC only.
    """
    return _read("brb_contrastive.csv")


@cache
def resl_tables() -> pd.DataFrame:
    """ReSL Tables 1, 2, 4-6 as rows (metric, strategy, dataset, stat, value).

    ``metric`` in {acc, ari, nmi, nmi_match}; ``strategy`` in {sp, sp*, ht, none}
    (none = SCAN+SL); ``dataset`` in {stl10, cifar10, cifar100-20, cifar100};
    ``stat`` avg / max over five seeds, or e100 / e200 for nmi_match; percent.
    """
    return _read("resl_tables.csv")
