"""Settings and run lists of the brb items.

The main results of BRB (Tables 13-15, Figures 1, 2, 4-7, 14-18 and the
headline) are views of one grid of ``brb.dc`` runs: DEC, IDEC and DCN, each
plain, +BRB, +Recluster and +Reset, with and without pretraining, per data
set and seed. Every item below asks for (a subset of) the same grid with the
same settings, so each run is computed once and shared; the grid's settings
per profile are :data:`GRID`.

Each profile runs on the data it pins (:data:`dcutils.profiles.DATA`): a
data set the profile does not pin (KMNIST and GTSRB at quick) is left out of
its runs, and the notebooks show the paper's value with the reason; where a
figure is about one such data set (fig02: GTSRB), the item names a substitute.
"""
from __future__ import annotations

import math

from dcutils import runs  # noqa: F401  (registers brb.dc before configs are made)
from dcutils.core import RunConfig
from dcutils.items import config, data_spec, register_item, run_list
from dcutils.profiles import Settings

#: The eight data sets of BRB Table 3, in the paper's order.
TAB03_DATASETS = ["optdigits", "gtsrb5", "usps", "cifar10", "cifar100-20", "mnist", "fmnist", "kmnist"]
register_item("brb/tab03", {p: {"datasets": TAB03_DATASETS} for p in ("smoke", "quick", "paper")})

#: The six data sets of the autoencoder experiments (Tables 13-15), in the paper's column order.
PAPER_DATASETS = ["mnist", "usps", "optdigits", "fmnist", "kmnist", "gtsrb5"]
METHODS = ["dec", "idec", "dcn"]
#: "none" is the plain algorithm (the tables' row without a suffix).
VARIANTS = ["none", "brb", "recluster", "reset"]

#: The shared grid per profile.
#:
#: A profile is designed in optimizer steps: ``min_steps_between`` (floor of
#: steps between two BRB steps) and ``brb_steps`` (BRB steps per run) give T
#: and the clustering epochs per data set (:func:`protocol`) when
#: ``cluster_epochs`` / ``reset_interval`` are None. ``rows`` says which
#: (method, pretrain) rows of the tables a profile runs per data set (None:
#: every row on every data set); ``extra_cells`` which Recluster / Reset
#: cells ("all", or [method, pretrain] on every data set, or [dataset,
#: method, pretrain]). Plain and +BRB run in every row a profile runs.
#:
#: quick (what ``figures/`` holds, computed on the 2-core CPU): every sample
#: (OPTDIGITS' 1,797, USPS' 9,298), the paper's 250 pretraining epochs, at
#: least 440 optimizer steps between BRB steps and 8 BRB steps per run (T = 63
#: epochs on OPTDIGITS, 567 epochs; T = 20 on USPS, 180 epochs: fig01's
#: spacing), 3 paired seeds, bf16 autocast. That protocol costs 2.5-8 minutes
#: of one core per run, so quick runs one data set whole rather than every data
#: set in part (issue 20): all 24 OPTDIGITS cells of Tables 13-15 (DEC, IDEC,
#: DCN x with / without pretraining x plain, +BRB, +Recluster, +Reset), the
#: cheapest data set, plus fig01's row (IDEC without pretraining on USPS:
#: plain, +Recluster, +BRB). Every other cell is the paper profile's.
#: paper: Appendix E (250 + 400 epochs, T = 20, 10 seeds, every sample).
#: ``extra_cells`` that runs every Recluster / Reset cell.
ALL_CELLS = {"recluster": "all", "reset": "all"}

QUICK_ROWS = {"optdigits": [[m, p] for m in METHODS for p in (False, True)], "usps": [["idec", False]]}
#: quick's Recluster / Reset cells: every OPTDIGITS row, and fig01's USPS Recluster baseline.
QUICK_EXTRA = {"recluster": [["optdigits", m, p] for m in METHODS for p in (False, True)] + [["usps", "idec", False]],
               "reset": [["optdigits", m, p] for m in METHODS for p in (False, True)]}

GRID: dict[str, dict] = {
    "smoke": {"seeds": [0], "datasets": ["usps"], "subsample": 300, "pretrain_epochs": 2, "cluster_epochs": 4,
              "reset_interval": 2, "min_steps_between": 1, "brb_steps": 1, "recluster_subsample": 10_000,
              "rows": None,
              "extra_cells": {"recluster": [["idec", False], ["dcn", True]], "reset": [["dcn", True]]},
              "precision": "fp32"},
    "quick": {"seeds": [0, 1, 2], "datasets": ["optdigits", "usps"], "subsample": None,
              "pretrain_epochs": 250, "cluster_epochs": None, "reset_interval": None, "min_steps_between": 440,
              "brb_steps": 8, "recluster_subsample": 10_000, "rows": QUICK_ROWS,
              "extra_cells": QUICK_EXTRA, "precision": "bf16"},
    "paper": {"seeds": list(range(10)), "datasets": PAPER_DATASETS, "subsample": None, "pretrain_epochs": 250,
              "cluster_epochs": 400, "reset_interval": 20, "min_steps_between": 0, "brb_steps": 19,
              "recluster_subsample": 10_000, "rows": None, "extra_cells": ALL_CELLS, "precision": "fp32"},
}

#: The paper's BRB interval (Table 5) and batch size: the floor of T, and the steps per epoch.
PAPER_INTERVAL = 20
BATCH_SIZE = 256


def protocol(s: Settings, dataset: str) -> tuple[int, int]:
    """``(reset_interval, cluster_epochs)`` of ``dataset`` under settings ``s``.

    Given values win; otherwise T = max(20, ceil(min_steps_between / steps per
    epoch)) with steps per epoch = n // 256 (the last partial batch is
    dropped), and cluster_epochs = (brb_steps + 1) · T, so a run holds
    ``brb_steps`` BRB steps at T, 2T, ... .
    """
    spec = data_spec(s.profile, dataset)
    n = s.subsample or (spec.n if spec is not None and spec.n else 10_000)
    per_epoch = max(1, n // BATCH_SIZE)
    interval = s.reset_interval or max(PAPER_INTERVAL, math.ceil(s.min_steps_between / per_epoch))
    epochs = s.cluster_epochs or (s.brb_steps + 1) * interval
    return int(interval), int(epochs)


def row_runs(s: Settings, dataset: str, method: str, pretrain: bool) -> bool:
    """Whether profile ``s`` runs the table row (method, pretrain) on ``dataset`` (its ``rows``)."""
    rows = s.get("rows")
    if rows is None:
        return True
    return [method, bool(pretrain)] in [list(r) for r in rows.get(dataset, [])]


def cell_runs(s: Settings, method: str, pretrain: bool, variant: str, dataset: str | None = None) -> bool:
    """Whether profile ``s`` runs this grid cell: plain and +BRB in every row it runs, the others per
    ``extra_cells``. Without ``dataset``, whether it runs the cell on any of its data sets."""
    if dataset is None:
        return any(cell_runs(s, method, pretrain, variant, d) for d in s["datasets"])
    if not row_runs(s, dataset, method, pretrain):
        return False
    if variant in ("none", "brb"):
        return True
    cells = s.extra_cells.get(variant, [])
    if cells == "all":
        return True
    for c in cells:
        c = list(c)
        if c == [method, bool(pretrain)] or c == [dataset, method, bool(pretrain)]:
            return True
    return False


#: Grid items: which (methods, variants, pretrain settings) of the grid each shows.
GRID_ITEMS: dict[str, dict] = {
    "brb/algo1": {"methods": ["dec"], "variants": ["none", "brb"], "pretrain": [True]},
    "brb/fig01": {"methods": ["idec"], "variants": ["none", "recluster", "brb"], "pretrain": [False]},
    "brb/fig04": {"methods": ["dcn"], "variants": VARIANTS, "pretrain": [True]},
    "brb/fig05": {"methods": ["dec", "idec"], "variants": ["none", "brb"], "pretrain": [False]},
    "brb/fig06": {"methods": ["dcn"], "variants": ["none", "recluster", "brb"], "pretrain": [True]},
    "brb/fig07": {"methods": ["dcn"], "variants": ["brb"], "pretrain": [True]},
    "brb/fig14": {"methods": ["dcn"], "variants": VARIANTS, "pretrain": [True]},
    "brb/fig15": {"methods": ["dec", "idec"], "variants": ["none", "brb"], "pretrain": [False]},
    "brb/fig16": {"methods": ["dcn"], "variants": ["none", "recluster", "brb"], "pretrain": [True]},
    "brb/fig17": {"methods": ["dcn"], "variants": ["none", "brb"], "pretrain": [True]},
    "brb/fig18": {"methods": ["dcn"], "variants": ["none", "brb"], "pretrain": [True]},
    "brb/tab13": {"methods": METHODS, "variants": VARIANTS, "pretrain": [False, True]},
    "brb/tab14": {"methods": METHODS, "variants": VARIANTS, "pretrain": [False, True]},
    "brb/tab15": {"methods": METHODS, "variants": VARIANTS, "pretrain": [False, True]},
    "brb/headline": {"methods": METHODS, "variants": VARIANTS, "pretrain": [False, True]},
}

#: The data set(s) each figure is about in the paper, and a stand-in for a missing one.
FIGURE_DATA: dict[str, dict] = {
    "brb/algo1": {"focus": ["optdigits"], "substitute": "usps"},
    "brb/fig01": {"focus": ["usps"], "substitute": "optdigits"},
    "brb/fig02": {"focus": ["gtsrb5"], "substitute": "optdigits"},
    "brb/fig06": {"focus": ["optdigits", "mnist"], "substitute": "usps"},
    "brb/fig07": {"focus": ["mnist"], "substitute": "optdigits"},
    "brb/fig16": {"focus": ["mnist"], "substitute": "optdigits"},
    "brb/fig17": {"focus": ["usps", "gtsrb5"], "substitute": "optdigits"},
    "brb/fig18": {"focus": ["optdigits"], "substitute": "usps"},
}
GRID_ITEMS["brb/fig02"] = {"methods": ["dcn"], "variants": ["none", "recluster", "brb"], "pretrain": [True]}


def _register() -> None:
    for item, what in GRID_ITEMS.items():
        extra = FIGURE_DATA.get(item, {})
        register_item(item, {p: {**g, **what, **extra} for p, g in GRID.items()})


_register()


def grid_config(s: Settings, dataset: str, method: str, variant: str, pretrain: bool, seed: int) -> RunConfig:
    """The ``brb.dc`` config of one grid cell under settings ``s`` (on the data its profile pins)."""
    interval, epochs = protocol(s, dataset)
    return config(
        "brb.dc", dataset, seed, s.profile, method=method, variant=variant, pretrain=pretrain,
        pretrain_epochs=s.pretrain_epochs, cluster_epochs=epochs, reset_interval=interval,
        subsample=s.subsample, recluster_subsample=s.recluster_subsample, batch_size=BATCH_SIZE,
        precision=s.get("precision", "fp32"),
    )


def _has_cells(s: Settings, dataset: str) -> bool:
    return any(cell_runs(s, m, p, v, dataset) for m in s["methods"] for p in s["pretrain"] for v in s["variants"])


def grid_datasets(s: Settings) -> list[str]:
    """The data sets an item's runs use: its focus data sets (else the grid's) that its profile runs with at
    least one of the item's cells; when none, the item's substitute or the first grid data set that has them."""
    wanted = s["focus"] if "focus" in s else s["datasets"]
    used = [d for d in wanted if d in s["datasets"] and data_spec(s.profile, d) is not None and _has_cells(s, d)]
    if not used and "substitute" in s:
        candidates = [s["substitute"], *s["datasets"]]
        used = [d for d in candidates if d in s["datasets"] and data_spec(s.profile, d) is not None
                and _has_cells(s, d)][:1]
    return used


def grid_configs(s: Settings) -> list[RunConfig]:
    """Every grid config of the item that its profile runs: data sets × methods × variants × pretrain × seeds."""
    return [
        grid_config(s, d, m, v, p, seed)
        for d in grid_datasets(s) for m in s["methods"] for p in s["pretrain"] for v in s["variants"]
        if cell_runs(s, m, p, v, d) for seed in s.seeds
    ]


for _item in GRID_ITEMS:
    run_list(_item)(grid_configs)



# ----------------------------------------------------------------------------
# brb/deviations: the authors' code vs the paper's text, each choice run both ways

#: One row per training choice where the paper's text and the authors' code differ (or the code slips):
#: (name, method the choice matters for, the other value as brb.dc parameters, what the text says,
#: what the code does). ``brb.dc``'s defaults are the code's: the configuration of the runs behind the tables
#: (the authors' grid runner and its defaults); the text's value is the other side of a row.
DEVIATIONS: list[dict] = [
    {"choice": "DCN loss normalisation", "method": "dcn", "other": {"dcn_loss_mean": "samples"},
     "text": "Eq. 6 weighted by 0.025 (mean over samples)",
     "code": "mean over N x K entries (0.025 / K per sample)"},
    {"choice": "DCN centroid update", "method": "dcn", "other": {"dcn_centroids": "eq7"},
     "text": "Eq. 7 after every step, running counts",
     "code": "once per epoch, eval pass, fixed rate 1/101 (a positional-argument slip)"},
    {"choice": "last partial mini-batch", "method": "dcn", "other": {"drop_last": False},
     "text": "silent", "code": "dropped (training loader drop_last=True)"},
    {"choice": "gradient clipping", "method": "idec", "other": {"clip": "all"},
     "text": "silent", "code": "norm 500 over the autoencoder's parameters only"},
    {"choice": "affine interpolation", "method": "dcn", "other": {"interpolation": "bilinear"},
     "text": "silent", "code": "nearest (torchvision's default)"},
    {"choice": "BatchNorm", "method": "dcn", "other": {"batch_norm": False},
     "text": "Table 5: False", "code": "True (the grid runner's default, every table's run)"},
    {"choice": "first k-means without pretraining", "method": "idec", "other": {"first_clustering": "eval"},
     "text": "silent", "code": "train mode (the fresh network is never put in eval mode)"},
    {"choice": "DEC's two views with BatchNorm", "method": "dec", "other": {"view_passes": "joint"},
     "text": "silent", "code": "a no-grad pass over both, then each view alone"},
]

#: brb/deviations per profile: a short sensitivity protocol (not the tables' floors): no pretraining, so each
#: pair differs in one choice only, BRB every ``reset_interval`` epochs, on USPS.
DEVIATION_SETTINGS: dict[str, dict] = {
    "smoke": {"seeds": [0], "dataset": "usps", "subsample": 300, "cluster_epochs": 4, "reset_interval": 2,
              "pretrain": False, "pretrain_epochs": 2, "precision": "fp32"},
    "quick": {"seeds": [0, 1, 2], "dataset": "usps", "subsample": None, "cluster_epochs": 20, "reset_interval": 10,
              "pretrain": False, "pretrain_epochs": 250, "precision": "bf16"},
    "paper": {"seeds": [0, 1, 2, 3, 4], "dataset": "usps", "subsample": None, "cluster_epochs": 400,
              "reset_interval": 20, "pretrain": True, "pretrain_epochs": 250, "precision": "fp32"},
}
register_item("brb/deviations", DEVIATION_SETTINGS)


def deviation_config(s: Settings, method: str, seed: int, **other) -> RunConfig:
    """The ``brb.dc`` +BRB config of one deviation run: the code's choices, or ``other`` switched."""
    return config(
        "brb.dc", s["dataset"], seed, s.profile, method=method, variant="brb", pretrain=s["pretrain"],
        pretrain_epochs=s.pretrain_epochs, cluster_epochs=s.cluster_epochs, reset_interval=s.reset_interval,
        subsample=s.subsample, batch_size=BATCH_SIZE, precision=s["precision"], **other,
    )


@run_list("brb/deviations")
def deviation_configs(s: Settings) -> list[RunConfig]:
    """The code's configuration per method, then each choice's other value, per seed."""
    methods = list(dict.fromkeys(d["method"] for d in DEVIATIONS))
    base = [deviation_config(s, m, seed) for m in methods for seed in s.seeds]
    return base + [deviation_config(s, d["method"], seed, **d["other"]) for d in DEVIATIONS for seed in s.seeds]

#: The two quick cells recomputed in fp32 to check that bf16 autocast gives the same verdicts
#: (``python -m dcutils.compute --profile quick --precision-check fp32``; the result is in README): the
#: cheapest rows, DEC on OPTDIGITS with and without pretraining.
PRECISION_CHECK: list[tuple[str, str, bool]] = [("optdigits", "dec", False), ("optdigits", "dec", True)]
