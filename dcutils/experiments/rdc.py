"""Settings and run lists of the rdc items.

All FMNIST items (algo1, fig12-fig15, tab03, tab08) build their runs from the
same settings (:data:`FMNIST_RUNS`), so every ``rdc.method`` config they ask
for is identical and computed once: one shared ACAI pretraining per seed,
then one run per method. The Feature Twist items (fig02, fig16) share the
``rdc.twist`` settings.

Only FMNIST and MNIST's test split are real image data offline; CIFAR10 and
the MedMNIST sets stay "paper only" in the notebooks (no substitute is run).
"""
from __future__ import annotations

from dcutils.experiments import run_list
from dcutils.profiles import Settings, register_item
from dcutils.runs import RunConfig

#: Settings of the shared FMNIST runs per profile. ``refresh_every`` counts
#: mini-batches between target refreshes (1 = every iteration, the paper).
FMNIST_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "subsample": 600, "pretrain_epochs": 2, "cluster_epochs": 2,
              "pretrain_log_every": 1, "refresh_every": 3, "patience": 5, "datasets": ["fmnist"]},
    "quick": {"seeds": [0, 1], "subsample": 5000, "pretrain_epochs": 25, "cluster_epochs": 10,
              "pretrain_log_every": 5, "refresh_every": 5, "patience": 5, "datasets": ["fmnist"]},
    "paper": {"seeds": list(range(5)), "subsample": None, "pretrain_epochs": 200, "cluster_epochs": 100,
              "pretrain_log_every": 10, "refresh_every": 1, "patience": 50, "datasets": ["fmnist"]},
}

#: Feature Twist toy (fig02 / fig16): the paper's 200 pretraining epochs at every profile but smoke.
TWIST_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "pretrain_epochs": 20, "cluster_epochs": 10, "snapshots": 3},
    "quick": {"seeds": [0], "pretrain_epochs": 200, "cluster_epochs": 100, "snapshots": 5},
    "paper": {"seeds": [0, 1, 2], "pretrain_epochs": 200, "cluster_epochs": 200, "snapshots": 5},
}

#: Methods each FMNIST item needs (run names of ``rdc.method``).
ITEM_METHODS = {
    "rdc/algo1": ["rdc"],
    "rdc/fig12": ["dynae", "rdc"],
    "rdc/fig13": ["rdc"],
    "rdc/fig14": ["rdc"],
    "rdc/fig15": ["dynae", "rdc"],
    "rdc/tab03": ["ae_kmeans", "dec", "idec", "dynae", "rdc"],
    "rdc/tab08": ["ae_kmeans", "rdc", "dec", "p1p2p3"],
}

for _item, _methods in ITEM_METHODS.items():
    register_item(_item, {p: {**v, "methods": list(_methods)} for p, v in FMNIST_RUNS.items()})
for _item in ("rdc/fig02", "rdc/fig16"):
    register_item(_item, TWIST_RUNS)


def method_configs(s: Settings) -> list[RunConfig]:
    """``rdc.method`` configs: every (data set, method, seed) of the settings."""
    return [
        RunConfig.make("rdc.method", d, seed=seed, profile=s.profile, method=m, subsample=s.subsample,
                       pretrain_epochs=s.pretrain_epochs, cluster_epochs=s.cluster_epochs,
                       pretrain_log_every=s.pretrain_log_every, refresh_every=s.refresh_every, patience=s.patience)
        for d in s["datasets"] for m in s["methods"] for seed in s.seeds
    ]


for _item in ITEM_METHODS:
    run_list(_item)(method_configs)


def twist_configs(s: Settings, method: str) -> list[RunConfig]:
    return [
        RunConfig.make("rdc.twist", "curved4", seed=seed, profile=s.profile, method=method,
                       pretrain_epochs=s.pretrain_epochs, cluster_epochs=s.cluster_epochs, snapshots=s.snapshots)
        for seed in s.seeds
    ]


@run_list("rdc/fig02")
def _fig02(s: Settings) -> list[RunConfig]:
    return twist_configs(s, "dec")


@run_list("rdc/fig16")
def _fig16(s: Settings) -> list[RunConfig]:
    # fig16 shows R-DC next to fig02's DEC runs (same pretraining settings).
    return twist_configs(s, "rdc") + twist_configs(s, "dec")
