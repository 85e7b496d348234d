"""Settings and run lists of the rdc items (the layer above training: imports the item registry, not the reverse).

All FMNIST items (algo1, fig03, fig12-fig15, fig18, fig19, tab03, tab06,
tab08, and the choices notebook ``rdc/choices``) build their runs from the
same settings (:data:`FMNIST_RUNS`), so every ``rdc.method`` config they ask
for is identical and computed once: one shared ACAI pretraining per (data
set, seed), then one run per method; ``rdc/choices`` adds, per seed, one R-DC
run per choice of :data:`CHOICES` switched to the authors' value. The
Feature Twist items (fig02, fig16) share the ``rdc.twist`` settings; fig01
has its own ``rdc.paradigm`` runs.

Which data a profile runs is part of the profile (:func:`dcutils.items.data_spec`):
smoke and quick pin FMNIST, MNIST's test split and a few small sets, paper the
papers' full sets. Items whose paper data sets are CIFAR10 or MedMNIST list
them at the quick and paper profiles; :func:`available` drops the ones the
profile does not pin ("paper profile only"), and the notebooks then show the
paper's numbers with the reason "not run at <profile>", or name the FMNIST
substitute they ran instead. Configs are built with :func:`dcutils.items.config`,
which adds the profile's split and data fingerprint.

Method names in the settings are ``rdc.method`` methods. Every method runs
the same fixed budget (``stop="budget"``); R-DC's core-ratio stopping rule is
logged, not obeyed, so phase 2 is always shown over all ``cluster_epochs``.
"""
from __future__ import annotations

from dcutils import items  # the package dcutils.rdc, imported first, registers the rdc algorithms
from dcutils.core import RunConfig
from dcutils.items import register_item, run_list
from dcutils.profiles import Settings

#: Settings of the shared FMNIST runs per profile. ``refresh_every`` counts
#: mini-batches between target refreshes (1 = every iteration, the paper's
#: text; the authors' code: 140); ``patience`` counts refreshes without growth
#: of the core ratio (recorded only: every method runs its whole budget,
#: ``stop="budget"``).
#:
#: quick, in optimizer steps (issue 10): FMNIST 10,000 images (40 mini-batches
#: of 256 per epoch), 3 seeds, one ACAI pretraining per seed of 100 epochs
#: (4,000 steps; the notebooks show AE + k-means per logged epoch, so a reader
#: sees whether it has plateaued), then the same phase-2 budget for every
#: method: 63 epochs = 2,520 iterations, targets refreshed once per epoch
#: (every 40 iterations); bf16 autocast and fused Adam. Every third epoch
#: (``cluster_log_every``: 120 iterations, near the authors' evaluation every
#: 140) and the last are logged with the scores and the health columns
#: (``recon_mse``, ``decoder_rms``, ...), so a phase 2 that drifts shows within
#: 120 iterations. Until version 3's records every epoch was logged; the
#: evaluation (a 20-start k-means, neighbour purity, ID / LID and the health
#: signals on all 10,000 codes, about a second a row) was then half of a run's
#: time and put the quick profile over its hour.
#:
#: ``best_acc_every``: iterations between the ACC probes behind the best ACC
#: chosen with the labels (reported apart): the authors' 140 at the paper
#: profile; 0 (the logged rows, every 120 iterations) at quick.
FMNIST_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "subsample": 600, "pretrain_epochs": 2, "cluster_epochs": 2,
              "pretrain_log_every": 1, "refresh_every": 3, "patience": 5, "precision": "fp32",
              "best_acc_every": 0, "cluster_log_every": 1},
    "quick": {"seeds": [0, 1, 2], "subsample": 10_000, "pretrain_epochs": 100, "cluster_epochs": 63,
              "pretrain_log_every": 10, "refresh_every": 40, "patience": 5, "precision": "bf16",
              "best_acc_every": 0, "cluster_log_every": 3},
    "paper": {"seeds": list(range(5)), "subsample": None, "pretrain_epochs": 200, "cluster_epochs": 100,
              "pretrain_log_every": 10, "refresh_every": 1, "patience": 50, "precision": "fp32",
              "best_acc_every": 140, "cluster_log_every": 1},
}

#: The methods of Tables 3-5 that this companion reruns (FINCH, PSSC, CC and
#: DDC-UCO appear with the paper's numbers only).
TABLE_METHODS = ["ae_kmeans", "dec", "idec", "dynae", "vade", "rdc"]


def _datasets(smoke: list[str], quick: list[str], paper: list[str] | None = None) -> dict[str, list[str]]:
    return {"smoke": smoke, "quick": quick, "paper": paper if paper is not None else quick}


#: Per FMNIST-family item: the methods and the data sets per profile (paper
#: data sets first; those the profile does not pin are dropped by :func:`available`).
ITEMS: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "rdc/algo1": (["rdc"], _datasets(["fmnist"], ["fmnist"])),
    "rdc/fig03": (["dec", "idec", "dynae", "vade"], _datasets(["fmnist"], ["fmnist", "cifar10", "pneumoniamnist",
                                                                        "breastmnist", "bloodmnist"])),
    "rdc/fig12": (["dynae", "rdc"], _datasets(["fmnist"], ["fmnist"])),
    "rdc/fig13": (["rdc"], _datasets(["fmnist"], ["fmnist", "bloodmnist"])),
    "rdc/fig14": (["rdc"], _datasets(["fmnist"], ["fmnist", "bloodmnist"])),
    "rdc/fig15": (["dynae", "rdc"], _datasets(["fmnist"], ["fmnist"])),
    "rdc/fig18": (["rdc"], _datasets(["fmnist"], ["fmnist", "cifar10", "pneumoniamnist", "breastmnist",
                                                  "bloodmnist", "vesselmnist3d"])),
    "rdc/fig19": (["dec", "dynae"], _datasets(["fmnist"], ["fmnist"])),
    "rdc/tab03": (TABLE_METHODS, _datasets(["fmnist"], ["cifar10", "fmnist"])),
    "rdc/tab04": (TABLE_METHODS, _datasets([], ["vesselmnist3d", "pneumoniamnist"])),
    "rdc/tab05": (TABLE_METHODS, _datasets([], ["breastmnist", "bloodmnist"])),
    "rdc/tab06": (TABLE_METHODS, _datasets(["fmnist"], ["fmnist", "vesselmnist3d", "pneumoniamnist"])),
    "rdc/tab08": (["ae_kmeans", "rdc", "dec", "p1p2p3"],
                  _datasets(["fmnist"], ["fmnist", "pneumoniamnist", "bloodmnist", "breastmnist"])),
}

#: Feature Twist toy (fig02 / fig16): the paper's 200 pretraining epochs at every profile but smoke.
TWIST_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "pretrain_epochs": 20, "cluster_epochs": 10, "snapshots": 3},
    "quick": {"seeds": [0], "pretrain_epochs": 200, "cluster_epochs": 100, "snapshots": 5},
    "paper": {"seeds": [0, 1, 2], "pretrain_epochs": 200, "cluster_epochs": 200, "snapshots": 5},
}

#: Figure 1: reconstruction / NT-Xent pretraining then DEC, on MNIST (test split here) and FMNIST.
PARADIGM_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "subsample": 400, "pretrain_epochs": 2, "cluster_epochs": 2, "pretrain_log_every": 1,
              "pretexts": ["reconstruction", "contrastive"], "datasets": ["fmnist", "mnist"]},
    "quick": {"seeds": [0], "subsample": 3000, "pretrain_epochs": 20, "cluster_epochs": 10, "pretrain_log_every": 2,
              "pretexts": ["reconstruction", "contrastive"], "datasets": ["fmnist", "mnist"]},
    "paper": {"seeds": [0, 1, 2], "subsample": None, "pretrain_epochs": 200, "cluster_epochs": 100,
              "pretrain_log_every": 5, "pretexts": ["reconstruction", "contrastive"], "datasets": ["fmnist", "mnist"]},
}

#: Figure 17: beta x gamma grid of R-DC (the paper's 5 x 5 grid at the paper
#: profile), from the shared pretrained network; gamma is the paper's absolute
#: distance here (``gamma_mode="absolute"``), the quantity the figure is about,
#: while every other run sets gamma as a quantile. ``cells`` (optional) lists the
#: (beta, gamma) cells run, else every pair of ``betas`` x ``gammas``: quick runs
#: the cross through Table 2's (0.6, 0.6) of a 3 x 3 grid, each parameter moved
#: alone to both ends (5 runs; the 4 corners, where both move at once, are left
#: to the paper profile and blank in the figure), to keep the profile's hour.
SENSITIVITY_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "betas": [0.1, 0.9], "gammas": [0.1, 1.2], "cells": None, "datasets": ["fmnist"]},
    "quick": {"seeds": [0], "betas": [0.1, 0.6, 0.9], "gammas": [0.1, 0.6, 1.2],
              "cells": [[0.1, 0.6], [0.6, 0.6], [0.9, 0.6], [0.6, 0.1], [0.6, 1.2]],
              "datasets": ["pneumoniamnist", "fmnist"]},
    "paper": {"seeds": [0, 1, 2], "betas": [0.1, 0.6, 0.8, 0.9, 1.0], "gammas": [0.1, 0.3, 0.7, 1.0, 1.2],
              "cells": None,
              "datasets": ["pneumoniamnist", "fmnist"]},
}

#: Figure 20: Gaussian noise on the z-scored inputs (the text lost the levels; ours). Each level pretrains its
#: own autoencoder on the noisy inputs (371 s at quick), so quick runs the clean data and the largest level,
#: 0.5, only (the level between, 0.25, is left to the paper profile, which runs 0 to 0.5 by 0.1), to keep
#: the profile's hour.
NOISE_RUNS: dict[str, dict] = {
    "smoke": {"seeds": [0], "noise_levels": [0.0, 0.5], "datasets": ["fmnist"]},
    "quick": {"seeds": [0], "noise_levels": [0.0, 0.5],
              "datasets": ["bloodmnist", "vesselmnist3d", "fmnist"]},
    "paper": {"seeds": [0, 1, 2], "noise_levels": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
              "datasets": ["bloodmnist", "vesselmnist3d", "fmnist"]},
}


def available(dataset: str, profile: str) -> bool:
    """Whether ``profile`` runs ``dataset``: it pins data for it (:func:`dcutils.items.data_spec`).

    A property of the profile, not of the machine: the same configs on every
    machine. Data sets the profile does not pin are "paper profile only".
    """
    return items.data_spec(profile, dataset) is not None


def missing_datasets(settings: Settings) -> list[str]:
    """The settings' data sets that its profile does not run (:func:`available`)."""
    return [d for d in settings["datasets"] if not available(d, settings.profile)]


def method_configs(s: Settings, methods: list[str] | None = None, datasets: list[str] | None = None,
                   **extra) -> list[RunConfig]:
    """``rdc.method`` configs: every (data set, method, seed) of the settings that its profile runs."""
    methods = s["methods"] if methods is None else methods
    datasets = [d for d in (s["datasets"] if datasets is None else datasets) if available(d, s.profile)]
    base = {k: FMNIST_RUNS[s.profile][k] for k in ("subsample", "pretrain_epochs", "cluster_epochs",
                                                   "pretrain_log_every", "refresh_every", "patience",
                                                   "precision", "best_acc_every", "cluster_log_every")}
    base.update({k: s[k] for k in base if k in s})
    out = []
    for d in datasets:
        for m in methods:
            for seed in s.seeds:
                params = {**base, "method": m, **extra}
                out.append(items.config("rdc.method", d, seed, s.profile, **params))
    return out


for _item, (_methods, _data) in ITEMS.items():
    register_item(_item, {p: {**FMNIST_RUNS[p], "methods": list(_methods), "datasets": list(_data[p])}
                          for p in FMNIST_RUNS})
    run_list(_item)(method_configs)


# ---------------------------------------------------------------- fig17, fig20

for _p in SENSITIVITY_RUNS:
    SENSITIVITY_RUNS[_p] = {**FMNIST_RUNS[_p], **SENSITIVITY_RUNS[_p]}
    NOISE_RUNS[_p] = {**FMNIST_RUNS[_p], **NOISE_RUNS[_p]}
register_item("rdc/fig17", SENSITIVITY_RUNS)
register_item("rdc/fig20", NOISE_RUNS)


def first_available(s: Settings) -> list[str]:
    """The first data set of the settings its profile runs (the paper's, else the substitute), as a list."""
    for d in s["datasets"]:
        if available(d, s.profile):
            return [d]
    return []


@run_list("rdc/fig17")
def _fig17(s: Settings) -> list[RunConfig]:
    # Only the final metrics matter: evaluate once, after the last epoch.
    return [cfg for b, g in sensitivity_cells(s)
            for cfg in method_configs(s, ["rdc"], first_available(s), beta=float(b), gamma=float(g),
                                      gamma_mode="absolute", cluster_log_every=s.cluster_epochs)]


def sensitivity_cells(s: Settings) -> list[tuple[float, float]]:
    """Figure 17's (beta, gamma) cells of the settings: ``cells`` when given, else every pair of ``betas`` x
    ``gammas``; a cell off those axes is an error naming it."""
    grid = [(float(b), float(g)) for b in s["betas"] for g in s["gammas"]]
    if s.get("cells") is None:
        return grid
    cells = [(float(b), float(g)) for b, g in s["cells"]]
    off = [c for c in cells if c not in grid]
    if off:
        raise ValueError(f"Figure 17's cells {off} are not on the grid betas {s['betas']} x gammas {s['gammas']}")
    return cells


@run_list("rdc/fig20")
def _fig20(s: Settings) -> list[RunConfig]:
    return [cfg for level in s["noise_levels"]
            for cfg in method_configs(s, ["rdc"], first_available(s), noise_std=float(level))]


# ---------------------------------------------------------------- fig01

register_item("rdc/fig01", PARADIGM_RUNS)


@run_list("rdc/fig01")
def _fig01(s: Settings) -> list[RunConfig]:
    out = []
    for d in s["datasets"]:
        # the profile's split: quick runs MNIST's test split (named in the notebook), paper the full set
        if not available(d, s.profile):  # the notebook lists it as not run at this profile
            continue
        for pretext in s["pretexts"]:
            for seed in s.seeds:
                out.append(items.config("rdc.paradigm", d, seed, s.profile, pretext=pretext,
                                        subsample=s.subsample, pretrain_epochs=s.pretrain_epochs,
                                        cluster_epochs=s.cluster_epochs, pretrain_log_every=s.pretrain_log_every))
    return out


# ---------------------------------------------------------------- fig02, fig16

for _item in ("rdc/fig02", "rdc/fig16"):
    register_item(_item, TWIST_RUNS)


def twist_configs(s: Settings, method: str) -> list[RunConfig]:
    return [
        items.config("rdc.twist", "curved4", seed, s.profile, method=method,
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


# ---------------------------------------------------------------- rdc/choices

#: R-DC choices where this companion follows the paper's text and the authors' code does otherwise: one row
#: per choice, (name, the code's value as ``rdc.method`` parameters, what the text says, what the code does).
#: The other side of every row is the default of the profile, so each row reads "the code's value vs ours":
#:
#: - phase-2 targets, at every profile: the code's self-referential targets (``border_target="own_code"``,
#:   ``core_image_targets="per_iteration"``) vs ``rdc.method``'s version-3 defaults (``"input"``,
#:   ``"per_refresh"``). At paper, whose refresh is every iteration, decoding per refresh and per iteration
#:   coincide (up to arithmetic), so there the row differs in the border points' target alone;
#: - refresh interval: the code's 140 iterations vs the profile's ``refresh_every``: 3 at smoke (one
#:   refresh in 6 iterations), 40 at quick (one epoch of 10,000 images), 1 at paper (the text's "every
#:   iteration"). An override ``refresh_every=140`` makes the two sides of that row the same runs.
CHOICES: list[dict] = [
    {"choice": "phase-2 targets", "other": {"border_target": "own_code", "core_image_targets": "per_iteration"},
     "text": "border points reconstruct their input (Eq. 12); core targets decoded once per refresh",
     "code": "border points pulled to their own code; every target decoded by the current decoder each iteration"},
    {"choice": "target refresh interval", "other": {"refresh_every": 140},
     "text": "every iteration", "code": "every 140 iterations"},
]

#: rdc/choices runs the shared FMNIST R-DC runs (the base, one per seed, the very configs of tab03, fig12, ...)
#: and, per seed, one run per row of :data:`CHOICES` from the same pretrained network: at quick 3 seeds x 2
#: rows = 6 R-DC runs beyond the shared ones.
register_item("rdc/choices", {p: {**FMNIST_RUNS[p], "methods": ["rdc"], "datasets": ["fmnist"]}
                              for p in FMNIST_RUNS})


@run_list("rdc/choices")
def choice_configs(s: Settings) -> list[RunConfig]:
    """The shared R-DC runs per seed, then each choice of :data:`CHOICES` switched to the code's value, per seed."""
    return [*method_configs(s, ["rdc"]), *(cfg for c in CHOICES for cfg in method_configs(s, ["rdc"], **c["other"]))]
