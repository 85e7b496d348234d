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
#: quick (what the committed records hold): USPS, OPTDIGITS and MNIST, 2,000
#: samples each, 2 seeds, 30 pretraining and 25 clustering epochs, a BRB step
#: every 5 epochs: about 40 optimizer steps between two BRB steps (the paper:
#: 440-5,480), too short to test BRB's claim. Issue 9 redesigns it in floors of
#: optimizer steps (``cluster_epochs`` / ``reset_interval`` None: derived by
#: :func:`protocol` from ``min_steps_between`` and ``brb_steps``; fewer cells
#: through ``extra_cells``) together with brb.dc version 2.
#: paper: Appendix E (250 + 400 epochs, T = 20, 10 seeds, every sample).
#: ``extra_cells`` that runs every Recluster / Reset cell.
ALL_CELLS = {"recluster": "all", "reset": "all"}

GRID: dict[str, dict] = {
    "smoke": {"seeds": [0], "datasets": ["usps"], "subsample": 300, "pretrain_epochs": 2, "cluster_epochs": 4,
              "reset_interval": 2, "min_steps_between": 1, "brb_steps": 1, "recluster_subsample": 10_000,
              "extra_cells": {"recluster": [["idec", False], ["dcn", True]], "reset": [["dcn", True]]},
              "precision": "fp32"},
    "quick": {"seeds": [0, 1], "datasets": ["usps", "optdigits", "mnist"], "subsample": 2_000,
              "pretrain_epochs": 30, "cluster_epochs": 25, "reset_interval": 5, "min_steps_between": 0,
              "brb_steps": 4, "recluster_subsample": 10_000, "extra_cells": ALL_CELLS, "precision": "fp32"},
    "paper": {"seeds": list(range(10)), "datasets": PAPER_DATASETS, "subsample": None, "pretrain_epochs": 250,
              "cluster_epochs": 400, "reset_interval": 20, "min_steps_between": 0, "brb_steps": 19,
              "recluster_subsample": 10_000, "extra_cells": ALL_CELLS, "precision": "fp32"},
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


def cell_runs(s: Settings, method: str, pretrain: bool, variant: str) -> bool:
    """Whether profile ``s`` runs this grid cell: plain and +BRB always; the others per ``extra_cells``."""
    if variant in ("none", "brb"):
        return True
    cells = s.extra_cells.get(variant, [])
    return cells == "all" or [method, bool(pretrain)] in [list(c) for c in cells]


#: Grid items: which (methods, variants, pretrain settings) of the grid each shows.
GRID_ITEMS: dict[str, dict] = {
    "brb/algo1": {"methods": ["idec"], "variants": ["none", "brb"], "pretrain": [True]},
    "brb/fig01": {"methods": ["idec"], "variants": ["none", "recluster", "brb"], "pretrain": [False]},
    "brb/fig04": {"methods": ["dcn"], "variants": VARIANTS, "pretrain": [True]},
    "brb/fig05": {"methods": ["dec", "idec"], "variants": ["none", "brb"], "pretrain": [False]},
    "brb/fig06": {"methods": ["dcn"], "variants": ["recluster", "brb"], "pretrain": [True]},
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
    "brb/fig02": {"focus": ["gtsrb5"], "substitute": "usps"},
    "brb/fig06": {"focus": ["optdigits", "mnist"], "substitute": "usps"},
    "brb/fig07": {"focus": ["mnist"], "substitute": "usps"},
    "brb/fig16": {"focus": ["mnist"], "substitute": "usps"},
    "brb/fig17": {"focus": ["usps", "gtsrb5"], "substitute": "optdigits"},
    "brb/fig18": {"focus": ["optdigits"], "substitute": "usps"},
}
GRID_ITEMS["brb/fig02"] = {"methods": ["dcn"], "variants": ["recluster", "brb"], "pretrain": [True]}


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
    )


def grid_datasets(s: Settings) -> list[str]:
    """The data sets an item's runs use: its focus data sets (or their substitute) or the grid's, where its profile
    runs them."""
    wanted = s["focus"] if "focus" in s else s["datasets"]
    used = [d for d in wanted if d in s["datasets"] and data_spec(s.profile, d) is not None]
    if not used and "substitute" in s and data_spec(s.profile, s["substitute"]) is not None:
        used = [s["substitute"]]
    return used


def grid_configs(s: Settings) -> list[RunConfig]:
    """Every grid config of the item that its profile runs: data sets × methods × variants × pretrain × seeds."""
    return [
        grid_config(s, d, m, v, p, seed)
        for d in grid_datasets(s) for m in s["methods"] for p in s["pretrain"] for v in s["variants"]
        if cell_runs(s, m, p, v) for seed in s.seeds
    ]


for _item in GRID_ITEMS:
    run_list(_item)(grid_configs)

