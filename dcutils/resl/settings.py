"""Settings and run lists of the resl items (the layer above training).

Every resl data item is a view of one set of ``resl.selflabel`` runs that all start from the same
cached SimCLR + SCAN network per (data set, width, stage settings) (:mod:`dcutils.resl.pretext`):

- SCAN+SL (``strategy="none"``), seeds of the profile: fig01, fig03, fig04, tab01-tab06;
- the SP grid (``alpha`` x ``every``) and the HT grid (``momentum`` x ``every``), every seed: fig05,
  fig06, and tab01 / tab04-tab06 take each strategy's best cell by mean ACC over the seeds, as the
  paper does (Section 5.1) -- on the same seeds, which favours the resets slightly (said in tab01);
- SP* at one cell; HT at the paper's best cell (mu = 0.995, R = 20), fig03 / fig04 / tab02;
- plasticity injection (fig02, fig07), ``pi_seeds`` seeds, against SCAN+SL of the same seeds (and
  SCAN+SL's seed-to-seed spread over all seeds as the yardstick of "similar").

**Scaling the schedule** (:func:`scaled_every`, :func:`scaled_momentum`, :func:`injection_epochs`).
The paper's self-labeling is 200 epochs of CIFAR10 / CIFAR100 at batch 1000, i.e.
:data:`PAPER_STEPS` = 200 x 50 = 10,000 optimizer steps. A profile that runs S steps keeps the
mechanics: the reset interval R is the same fraction of the run (R = 20 of 200 epochs -> 10 %),
and the EMA keeps the paper's memory relative to the run: ``mu_profile = mu ** (10,000 / S)``,
so ``mu ** (EMA updates per run)`` is the paper's (HT updates per step). The injection epochs
100, 200 and 250 of Figure 2 imply a run of at least 250 epochs; we read it as 300 and inject at
1/3, 2/3 and 5/6 of the run. The paper profile uses the paper's values unchanged.

Grids (ours, the paper's grid values are not in its text): SP alpha in {0.8, 0.95} (the two best
values the paper names) x R in {10, 20} paper epochs; HT mu in {0.99, 0.995} x R in {10, 20}.
SP*: alpha_0 = 0.8 (ours) with R = 20.

SCAN's learning rate at quick is 1e-3, ten times SCAN's 1e-4: quick's SCAN stage has 720 optimizer
steps, about 2 % of SCAN's 100 CIFAR epochs, and at 1e-4 it ended with no training image above the
0.99 threshold (measured: ACC 48 %, 0.0 % confident after 30 epochs), so self-labeling would have had
nothing to train on; at 1e-3 a probe continuing that network reached 9.7 % confident in 10 epochs.
Self-labeling keeps the paper's Adam 1e-4 at every profile, and its threshold 0.99 at the paper profile.

Quick's confidence threshold is 0.9, not 0.99 (issue 22). A cluster without a confident image gets no
pseudo-label and can only shrink, so self-labeling needs every cluster confident somewhere at its start.
Measured on quick's base network (version 2, SCAN 30 epochs at lr 1e-3), images of the 3,000 above the
threshold per cluster, eval-mode / train-mode pseudo-label pass (batches of 250): at 0.99 four clusters
have none in either mode (22.0 % / 12.2 % of the images confident), at 0.98 three, at 0.95 one in eval
mode (two images in another) and four in train mode, at 0.9 none (smallest clusters 27 / 6 images; 58 %
/ 45 % confident). A longer SCAN stage does not fix it: continuing the same SCAN training to 45, 60, 90
and 120 epochs left 3, 2, 1 and 1 clusters without an image above 0.99 in eval mode and 4, 4, 2 and 3 in
train mode (ACC 0.60-0.61 throughout), and SCAN's lr 1e-4 leaves no image above 0.99 at all (above). So
quick takes the largest of 0.99, 0.98, 0.95 and 0.9 at which every cluster has confident images at the
start in both BatchNorm modes, a rule on the precondition, not on any result; the threshold is a run
parameter and the paper profile keeps 0.99.

**BatchNorm in the pseudo-label pass** (``pseudo_label_bn`` in each profile's ``run``; what the two values
mean: :mod:`dcutils.resl.selflabel`). The paper and smoke profiles run "train", SCAN's code. The issue's
rule for quick: whichever value keeps self-labeling from degrading the SCAN network it starts from
(SCAN+SL minus SCAN not behind beyond 2 SE), chosen by the paired check of ``resl/deviations``
(:data:`DEVIATIONS`) over 3 seeds on SCAN+SL alone; the other value is that notebook's deviation row.
At quick both values keep SCAN+SL above the SCAN network (the notebook gives the numbers), so the
project's rule for healthy runs decides: with "train" every seed ended with a cluster that had no
confident image left (flagged by :mod:`dcutils.health`; the train-mode pass of the base network gives
one cluster a single confident target), with "eval" none did. Quick runs "eval"; "train", SCAN's code,
is the deviation row, although its ACC was higher, which the notebook shows. Nothing else reads which
value is the profile's: every run list and text takes it from ``run`` (:func:`deviation_values`).

**Input normalisation** (``normalization``). SCAN, whose code and released networks the paper's runs
started from, normalises with fixed per-channel constants per data set (ReSL's Table 3); the paper profile
does too ("scan"). SCAN has no constants for FMNIST, so smoke and quick normalise with the training
subset's mean and std ("subset", the only value there was before the parameter). The other value is a row
of :data:`DEVIATIONS` on the data sets SCAN has constants for (:func:`deviation_datasets`): the paper
profile runs it both ways; smoke and quick have none of them and say so.

Profiles (``RUNS``): smoke: a few hundred FMNIST images, the narrowest ResNet18 here (width 1/16),
one seed, seconds. quick: FMNIST 3,000 balanced training images and 2,000 balanced test images,
width 1/8 (``make bench``), bf16 autocast, 3 seeds for everything but plasticity injection (one
seed). paper: CIFAR10, CIFAR100-20, CIFAR100 and STL10 in full, width 1, the paper's protocol,
5 seeds.
"""
from __future__ import annotations

import math

from dcutils import items  # dcutils.resl, imported first, registers resl.selflabel
from dcutils.core import RunConfig, get_algorithm
from dcutils.items import register_item, run_list
from dcutils.profiles import Settings
from dcutils.resl.pretext import SCAN_NORMALIZATION

__all__ = ["RUNS", "PAPER_STEPS", "PAPER_EPOCHS", "PAPER_DATASETS", "ITEMS", "available", "steps_per_run",
           "scaled_every", "scaled_momentum", "injection_epochs", "selflabel_config", "strategy_configs",
           "grid_cells", "run_datasets", "DEVIATIONS", "deviation_datasets", "deviation_values", "deviation_configs"]

#: Self-labeling in the paper: 200 epochs; CIFAR10/100 at batch 1000 = 50 steps per epoch.
PAPER_EPOCHS = 200
PAPER_STEPS = 200 * 50
#: The paper's data sets (Table 1 order).
PAPER_DATASETS = ["stl10", "cifar10", "cifar100-20", "cifar100"]

_COMMON = {"sp_alphas": [0.8, 0.95], "sp_every": [10, 20], "ht_momenta": [0.99, 0.995], "ht_every": [10, 20],
           "spstar_alpha": 0.8, "spstar_every": 20, "ht_best": [0.995, 20], "pi_at": [100, 200, 250],
           "pi_run_epochs": 300}

#: Per profile: the ``resl.selflabel`` parameters (``run``), seeds and data sets, and the grids.
#: ``pseudo_label_bn``: "train" (SCAN's code) at every profile until resl/deviations' paired check picks quick's
#: value (module docstring); equal to resl.selflabel's default, so every config and key is what it was without it.
RUNS: dict[str, dict] = {
    # smoke's one-epoch SCAN network is nearly uniform (no image reaches 0.3, let alone 0.99): a threshold of
    # 0.15 lets self-labeling train on confident samples, so the notebooks run that code path (numbers mean
    # nothing). Batches of 20 give 40 steps, so HT's momentum scaled to the run (0.995 ** (10,000 / 40) = 0.29)
    # leaves a tortoise that lags the hare; at 8 steps it was ~0.002 and HT drew SCAN+SL's curve.
    "smoke": {**_COMMON, "seeds": [0], "pi_seeds": [0], "datasets": ["fmnist"],
              "run": {"n_train": 200, "n_test": 100, "width": 0.0625, "simclr_epochs": 1, "simclr_batch": 64,
                      "scan_epochs": 1, "scan_batch": 64, "scan_lr": 1e-3, "sl_epochs": 4, "sl_batch": 20,
                      "threshold": 0.15, "precision": "bf16", "pseudo_label_bn": "train", "normalization": "subset"}},
    "quick": {**_COMMON, "seeds": [0, 1, 2], "pi_seeds": [0], "datasets": ["fmnist"],
              "run": {"n_train": 3000, "n_test": 2000, "width": 0.125, "simclr_epochs": 80, "simclr_batch": 512,
                      "scan_epochs": 30, "scan_batch": 128, "scan_lr": 1e-3, "sl_epochs": 20, "sl_batch": 250,
                      "threshold": 0.9, "precision": "bf16", "pseudo_label_bn": "eval", "normalization": "subset"}},
    "paper": {**_COMMON, "seeds": list(range(5)), "pi_seeds": list(range(5)), "datasets": list(PAPER_DATASETS),
              "run": {"n_train": None, "n_test": None, "width": 1.0, "simclr_epochs": 500, "simclr_batch": 512,
                      "scan_epochs": 100, "scan_batch": 128, "scan_lr": 1e-4, "sl_epochs": 200, "sl_batch": 1000,
                      "precision": "fp32", "pseudo_label_bn": "train", "normalization": "scan"}},
}


def available(dataset: str, profile: str) -> bool:
    """Whether ``profile`` pins data for ``dataset`` (else its cells are the paper profile's)."""
    return items.data_spec(profile, dataset) is not None


def run_datasets(s: Settings) -> list[str]:
    """The settings' data sets its profile runs."""
    return [d for d in s["datasets"] if available(d, s.profile)]


def steps_per_run(run: dict, n_full: int = 50_000) -> int:
    """Self-labeling optimizer steps of one run (every batch trained)."""
    n = run["n_train"] if run["n_train"] is not None else n_full
    return int(run["sl_epochs"] * math.ceil(n / run["sl_batch"]))


def scaled_every(every_paper: int, run: dict) -> int:
    """The reset interval as the same fraction of the run as ``every_paper`` of 200 epochs (at least 1)."""
    if run["sl_epochs"] == PAPER_EPOCHS:
        return int(every_paper)
    return max(1, int(round(every_paper / PAPER_EPOCHS * run["sl_epochs"])))


def scaled_momentum(mu_paper: float, run: dict) -> float:
    """mu such that mu ** (steps per run) equals the paper's mu ** 10,000 (unchanged at 10,000 steps)."""
    steps = steps_per_run(run)
    if run["sl_epochs"] == PAPER_EPOCHS and run["n_train"] is None:
        return float(mu_paper)
    return float(mu_paper ** (PAPER_STEPS / steps))


def injection_epochs(at_paper: list[int], run_epochs_paper: int, run: dict) -> list[int]:
    """Injection epochs at the paper's fractions of its run (at least 1, before the last epoch, distinct)."""
    if run["sl_epochs"] == run_epochs_paper:
        return [int(e) for e in at_paper]
    out = sorted({min(run["sl_epochs"] - 1, max(1, int(round(e / run_epochs_paper * run["sl_epochs"]))))
                  for e in at_paper})
    return out


def selflabel_config(s: Settings, dataset: str, seed: int, **params) -> RunConfig:
    """One ``resl.selflabel`` config on the profile's data with the profile's run parameters."""
    return items.config("resl.selflabel", dataset, seed, s.profile, **{**s["run"], **params})


def grid_cells(s: Settings, strategy: str) -> list[dict]:
    """The paper-unit cells of a grid: SP (alpha, R) or HT (mu, R), with the run parameters they map to."""
    run = s["run"]
    if strategy == "sp":
        return [{"alpha": float(a), "every_paper": int(r), "params": {"strategy": "sp", "alpha": float(a),
                                                                      "every": scaled_every(r, run)}}
                for r in s["sp_every"] for a in s["sp_alphas"]]
    if strategy == "ht":
        return [{"momentum_paper": float(m), "every_paper": int(r),
                 "params": {"strategy": "ht", "momentum": scaled_momentum(m, run), "every": scaled_every(r, run)}}
                for m in s["ht_momenta"] for r in s["ht_every"]]
    raise ValueError(f"grids exist for 'sp' and 'ht', not {strategy!r}")


def strategy_params(s: Settings, name: str) -> dict:
    """Run parameters of a named run kind: "none", "sp*", "ht_best", "pi"."""
    run = s["run"]
    if name == "none":
        return {"strategy": "none"}
    if name == "sp*":
        return {"strategy": "sp*", "alpha": float(s["spstar_alpha"]), "every": scaled_every(s["spstar_every"], run)}
    if name == "ht_best":
        mu, r = s["ht_best"]
        return {"strategy": "ht", "momentum": scaled_momentum(mu, run), "every": scaled_every(r, run)}
    if name == "pi":
        if run["sl_epochs"] == PAPER_EPOCHS:  # the paper's Figure 2 runs past epoch 250
            return {"strategy": "pi", "inject_at": tuple(s["pi_at"]), "sl_epochs": int(s["pi_run_epochs"])}
        return {"strategy": "pi", "inject_at": tuple(injection_epochs(s["pi_at"], s["pi_run_epochs"], run))}
    raise ValueError(f"unknown run kind {name!r}")


def strategy_configs(s: Settings, kinds: list[str], seeds: list[int] | None = None) -> list[RunConfig]:
    """Configs of run kinds ("none", "sp*", "ht_best", "pi", "sp_grid", "ht_grid") on every data set run."""
    seeds = s.seeds if seeds is None else seeds
    out = []
    for d in run_datasets(s):
        for kind in kinds:
            if kind in ("sp_grid", "ht_grid"):
                plist = [c["params"] for c in grid_cells(s, kind[:2])]
            else:
                plist = [strategy_params(s, kind)]
            for params in plist:
                for seed in seeds:
                    out.append(selflabel_config(s, d, seed, **params))
    return list(dict.fromkeys(out))


#: Which run kinds each item shows (its run list).
ITEMS: dict[str, list[str]] = {
    "resl/algo1": ["none", "ht_best"],
    "resl/fig01": ["none"],
    "resl/fig03": ["none", "ht_best"],
    "resl/fig04": ["none", "ht_best"],
    "resl/fig05": ["none", "sp_grid"],
    "resl/fig06": ["none", "ht_grid"],
    "resl/tab01": ["none", "sp_grid", "sp*", "ht_grid"],
    "resl/tab02": ["none", "ht_best"],
    "resl/tab04": ["none", "sp_grid", "sp*", "ht_grid"],
    "resl/tab05": ["none", "sp_grid", "sp*", "ht_grid"],
    "resl/tab06": ["none", "sp_grid", "sp*", "ht_grid"],
}


def _register(item: str, kinds: list[str]) -> None:
    register_item(item, {p: {**v, "kinds": list(kinds)} for p, v in RUNS.items()})

    @run_list(item)
    def _runs(s: Settings) -> list[RunConfig]:
        return strategy_configs(s, s["kinds"])


for _item, _kinds in ITEMS.items():
    _register(_item, _kinds)

for _item in ("resl/fig02", "resl/fig07"):
    register_item(_item, {p: {**v, "kinds": ["none", "pi"]} for p, v in RUNS.items()})

    @run_list(_item)
    def _pi_runs(s: Settings) -> list[RunConfig]:
        out = strategy_configs(s, ["pi"], s["pi_seeds"])
        base = dict(strategy_params(s, "pi"))
        base.pop("inject_at")
        base["strategy"] = "none"
        # SCAN+SL at every seed: the injection runs' baseline, and its seed-to-seed spread as the yardstick
        out += [selflabel_config(s, d, seed, **base) for d in run_datasets(s) for seed in s.seeds]
        return list(dict.fromkeys(out))


# ---------------------------------------------------------------- resl/deviations
#: Choices of ours where SCAN's code could be followed or not, each run both ways on SCAN+SL alone: one row per
#: choice, (name, the ``resl.selflabel`` parameter, what each of its values means). The profile's value is its
#: ``run``'s (:func:`deviation_values`), the other value is the row's deviation run.
DEVIATIONS: list[dict] = [
    {"choice": "BatchNorm in the pseudo-label pass", "param": "pseudo_label_bn",
     "values": {"train": "SCAN's code: train mode, the clean batch normalised by its own statistics, which "
                         "update the running ones",
                "eval": "eval mode: the running statistics, which our SCAN stage fitted to strong views; nothing "
                        "updated"}},
    {"choice": "Input normalisation", "param": "normalization",
     "values": {"scan": "SCAN's per-channel constants (ReSL's Table 3), what the runs behind the paper used",
                "subset": "the training subset's per-channel mean and std, computed"},
     "datasets": tuple(SCAN_NORMALIZATION)},
]


def deviation_datasets(s: Settings, row: dict) -> list[str]:
    """The profile's data sets on which ``row`` of :data:`DEVIATIONS` is run both ways: all of them, or those of
    the row's ``datasets`` (a choice that exists only there: SCAN's normalisation constants)."""
    return [d for d in run_datasets(s) if "datasets" not in row or d in row["datasets"]]


def deviation_values(s: Settings, row: dict) -> tuple:
    """``(profile's value, other value)`` of a row of :data:`DEVIATIONS`: the profile's is its ``run``'s (else
    resl.selflabel's default), the other the row's one remaining value."""
    param = row["param"]
    mine = s["run"].get(param, get_algorithm("resl.selflabel").defaults[param])
    others = [v for v in row["values"] if v != mine]
    if mine not in row["values"] or len(others) != 1:
        raise ValueError(f"{row['choice']}: the profile's {param}={mine!r} must be one of the two values "
                         f"{list(row['values'])}")
    return mine, others[0]


#: resl/deviations runs the settings of every resl item (its SCAN+SL runs are theirs, computed once) and, per
#: seed, SCAN+SL with each row's other value: at quick 3 runs beyond the shared ones.
register_item("resl/deviations", {p: {**v, "kinds": ["none"]} for p, v in RUNS.items()})


@run_list("resl/deviations")
def deviation_configs(s: Settings) -> list[RunConfig]:
    """SCAN+SL at the profile's run parameters per data set and seed (the configs of tab01, fig01, ...), then
    SCAN+SL with each row of :data:`DEVIATIONS` switched to its other value, per seed."""
    out = strategy_configs(s, ["none"])
    for row in DEVIATIONS:
        _, other = deviation_values(s, row)
        out += [selflabel_config(s, d, seed, **{**strategy_params(s, "none"), row["param"]: other})
                for d in deviation_datasets(s, row) for seed in s.seeds]
    return list(dict.fromkeys(out))
