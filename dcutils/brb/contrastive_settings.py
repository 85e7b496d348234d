"""Settings and run lists of BRB's contrastive items, brb tab01, tab11, tab16 and tab17, per profile.

These functions build :class:`~dcutils.core.RunConfig` lists of ``brb.contrastive``
(:mod:`dcutils.brb.contrastive_run`), and importing the module registers each item's values per profile
(:func:`profile_values`: seeds, data sets, tab11's rows and every run parameter, so a notebook's
``overrides`` reach the runs) and its run list with the items (:func:`dcutils.items.register_item`,
:func:`~dcutils.items.run_list`; :mod:`dcutils.experiments` imports it). :func:`item_configs` gives an item's
list, :func:`design` the protocol of a profile in optimizer steps; both take a profile's registered values or a
notebook's settings.

What each item reads
--------------------
* **tab01 / tab16** (Table 1; Table 16 its per-method rows with self-labeling): every method (DEC, IDEC, DCN)
  plain and +BRB, 3 seeds at quick: 18 runs with self-labeling, read before it (``acc_cluster``, ...) and
  after it (``acc``; ``acc_selflabel_best`` is the best epoch, the paper's "best performance after
  self-labeling", chosen with the labels). Row 0 of each run is Table 1's "Pretraining + k-means".
* **tab17** (without self-labeling): the same 18 runs, read at the end of the clustering stage. Self-labeling
  runs after clustering and changes none of its numbers (a test shows the clustering rows of a run with and
  without it are equal), so separate runs without it would repeat the clustering stage draw for draw.
* **tab11** (which ResNet blocks to reset; the paper names neither its method nor whether it self-labels):
  DCN, the method whose BRB gain the text singles out on CIFAR10 (H.9), with the MLP reset, read before
  self-labeling. Quick runs a reduced set: blocks **none, 4 and all** with the MLP reset (the rows behind the
  text's two claims, "block 4 outperforms the other combinations" and "resetting all blocks leads to a large
  drop"); block 4 with the MLP reset is tab01's DCN+BRB run. A fourth row is a deviation, not a claim:
  block 4 with the MLP **and the projector** reset, Appendix E's text ("we reset the projector network ...
  with each weight reset of BRB"), where the authors' configs (the runs behind the tables, the default
  here) reset no projector; it is paired with the block-4 row and shown, not judged. Quick leaves it out to keep the
  four items within their 75 minutes (measured below), so quick adds 3 x 2 = 6 runs without self-labeling.
  Left to the paper profile: blocks 1, 1+2 and 4+3, the column without the MLP reset and the projector
  deviation (smoke still runs it, so its code path is exercised in CI).
  With the authors' step 0.2 the two-block rows reduce to one block (4+3 = block 4 at 0.9, block 3 at 1.0;
  1+2 = block 2 at 0.9, block 1 at 1.0; :func:`dcutils.brb.contrastive.block_factors`), so at the paper
  profile rows 4 and 4+3 compute the same numbers twice unless ``alpha_step`` is changed for them.

The quick protocol (Fashion-MNIST in place of CIFAR, which is not available offline; every output names it)
---------------------------------------------------------------------------------------------------------
ReSL's quick data (:mod:`dcutils.resl.settings`): 3,000 balanced training and 2,000 balanced evaluation
images (``data_seed`` 0), ResNet18 at width 1/8, bf16 autocast; the projector's width scales with the
ResNet's (2048 / 8 = 256), the MLP keeps the authors' 512-256-128 (about 3 % of the network's multiply-adds
at this width). Designed in optimizer steps, with the brb floors (at least 8 BRB steps, at least 440 steps
between two of them): batch 24 gives 125 steps per epoch, so T = 4 epochs = **500 steps between BRB steps**
and 36 clustering epochs = **4,500 steps with 8 BRB steps** (at epochs 4, 8, ..., 32, the last followed by a
full interval), the same 9 intervals the paper's T = 10 of 1,000 epochs would give in its first 90 epochs.
The lr warm-up keeps the authors' 2 intervals (their 20 epochs at T = 10): 8 epochs. SimCLR pretraining: 50
epochs (6,250 steps at batch 24), once for all seeds (``pretrain_seed`` 0, as ReSL shares its SimCLR + SCAN
network), so a seed's plain and +BRB runs, and every seed, start from one network. Self-labeling: ReSL's
quick values (batch 250, threshold 0.9, BatchNorm "eval" in the pseudo-label pass, issue 22) for 10 epochs
(120 steps), after a 50-epoch warm-up of the head on fixed embeddings (600 steps, about the 500 that 10 epochs
take at the paper's scale; on a network after 10 SimCLR epochs 10 warm-up epochs agreed with k-means on 97.3 %
of the images and left 51 % above 0.9, 50 epochs 98.1 % and 77 %). The paper's batch 512 would leave 5 steps
per epoch and need 88 epochs between BRB steps; at batch 24 the contrastive loss sees 46 negatives per anchor,
not 1,022: that is the price of the floors on two cores. The learning rates stay the authors' (1e-3 / 3e-3 /
1e-2), tuned for batch 512: in a 3-epoch probe at batch 24 after 10 SimCLR epochs DCN's contrastive loss
rose from 5.81 to 6.65 as its lr reached 1e-2 (IDEC's from 5.85 to 6.05 at 3e-3), so the quick records may
show the step noise of a 20x smaller batch; a scaled lr would be a deviation row, not a default.

**Cost** (estimated from measured epochs, not measured end to end). Measured on this 2-core machine with one
torch thread while another job kept both cores busy (load 2.5-2.9; a 2048^3 matmul ran at 94 % of its quiet
one-thread speed, so quiet cores are taken as 0.9 of these times), on quick's data and network: at batch 32
(93 steps per epoch, every method, 2 epochs with a BRB step, one self-labeling epoch) a clustering epoch took
7.8 s (DEC, with the authors' extra no-grad statistics pass), 6.1 s (IDEC), 7.0 s (DCN, with its centroid
pass), a SimCLR epoch 5.9 s, a BRB step 2.65 s (k-means with 10 restarts on 3,000 embeddings), a
self-labeling epoch about 5.6 s with its evaluation, scoring the 2,000 evaluation images about 1 s; at
quick's batch 24 (125 steps per epoch, IDEC and DCN, 3 epochs after 10 SimCLR epochs) 6.0-6.2 s (IDEC),
7.0-7.1 s (DCN), 6.0 s per SimCLR epoch and 2.6 s per BRB step: the same cost per image. Per quick run (36
epochs with their scoring, about 4 s of embedding and k-means around them): DEC 321 s (+BRB 342 s), IDEC 260 s
(281 s), DCN 294 s (315 s); self-labeling 64 s (10 epochs, the warm-up and its scoring). Total: the 18 runs of
tab01/16/17 5,439 s + their self-labeling 1,152 s, tab11's first 6 runs 1,890 s, the one pretraining 300 s =
8,781 s as measured, about 7,900 core-seconds on quiet cores: about 66 minutes on two one-thread workers, 68-71
with the second worker waiting 4.5 minutes for the shared pretraining and the last run's tail. The projector
deviation's 3 runs add about 14 core-minutes (7 minutes of wall time): **about 73-78 minutes, at the
75-minute budget for the four items** (estimated; the quick compute measures it, and if it is over, the
deviation row moves to the paper profile first, the claims' rows stay).

Paper profile
-------------
CIFAR10 and CIFAR100-20 in full (50,000 training, 10,000 test images), width 1, batch 512, 1,000 SimCLR
epochs (per seed, as the authors pretrain in every run), 1,000 clustering epochs with T = 10, the lr warm-up
over 20 epochs, self-labeling 200 epochs at batch 1,000 with threshold 0.99 and BatchNorm "train" (SCAN's
code), fp32, the authors' 10 seeds (``config/contrastive/*.py``: 214, 148, 820, 400, 40, 805, 111, 491, 215,
513); tab11 on CIFAR10 with every block choice, with and without the MLP reset.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dcutils.brb.contrastive_run  # noqa: F401  (registers brb.contrastive)
from dcutils import items
from dcutils.brb.contrastive import AUTHORS, RESET_BLOCKS
from dcutils.core import RunConfig, get_algorithm
from dcutils.profiles import SettingsError, check_profile

__all__ = ["ITEMS", "METHODS", "RUNS", "RUN_KEYS", "profile_values", "run_config", "main_configs", "block_configs",
           "item_configs", "design", "tab11_rows"]

ITEMS = ("brb/tab01", "brb/tab11", "brb/tab16", "brb/tab17")
METHODS = ("dec", "idec", "dcn")

#: Table 11's rows at the paper profile, then the projector deviation: block 4 with the MLP and the projector
#: reset (Appendix E's text; the authors' configs reset no projector, ``brb.contrastive``'s default).
_ALL_BLOCKS = [(b, m) for m in (True, False) for b in RESET_BLOCKS] + [("4", True, True)]

#: Per profile: seeds, data sets, tab11's method, data sets and (reset_blocks, reset_mlp) rows, and the
#: ``brb.contrastive`` parameters every run of the profile uses (the rest are the algorithm's defaults, the
#: paper's values).
RUNS: dict[str, dict[str, Any]] = {
    "smoke": {"seeds": [0], "datasets": ["fmnist"], "tab11_method": "dcn", "tab11_datasets": ["fmnist"],
              "tab11_rows": [("none", True), ("4", True), ("all", True), ("4", True, True)],
              "run": {"n_train": 96, "n_test": 60, "width": 1 / 16, "projector_width": 128, "batch_size": 16,
                      "pretrain_epochs": 1, "pretrain_seed": 0, "cluster_epochs": 4, "reset_interval": 2,
                      "warmup_epochs": 2, "sl_warmup_epochs": 2, "sl_epochs": 2, "sl_batch": 48, "threshold": 0.15,
                      "pseudo_label_bn": "train", "precision": "bf16"}},
    "quick": {"seeds": [0, 1, 2], "datasets": ["fmnist"], "tab11_method": "dcn", "tab11_datasets": ["fmnist"],
              "tab11_rows": [("none", True), ("4", True), ("all", True)],
              "run": {"n_train": 3000, "n_test": 2000, "width": 0.125, "projector_width": 256, "batch_size": 24,
                      "pretrain_epochs": 50, "pretrain_seed": 0, "cluster_epochs": 36, "reset_interval": 4,
                      "warmup_epochs": 8, "sl_warmup_epochs": 50, "sl_epochs": 10, "sl_batch": 250,
                      "threshold": 0.9, "pseudo_label_bn": "eval", "precision": "bf16"}},
    "paper": {"seeds": list(AUTHORS["seeds"]), "datasets": ["cifar10", "cifar100-20"], "tab11_method": "dcn",
              "tab11_datasets": ["cifar10"], "tab11_rows": _ALL_BLOCKS,
              "run": {"n_train": None, "n_test": None, "width": 1.0, "batch_size": 512, "pretrain_epochs": 1000,
                      "pretrain_seed": None, "cluster_epochs": 1000, "reset_interval": 10, "warmup_epochs": 20,
                      "sl_epochs": 200, "sl_batch": 1000, "threshold": 0.99, "pseudo_label_bn": "train",
                      "precision": "fp32"}},
}


#: The ``brb.contrastive`` parameters an item's settings hold (each profile's ``run`` values, the algorithm's
#: defaults where a profile gives none), so every profile declares the same names.
RUN_KEYS: tuple[str, ...] = tuple(dict.fromkeys([*(k for p in RUNS.values() for k in p["run"]),
                                                 "recluster_subsample"]))


def profile_values(profile: str) -> dict[str, Any]:
    """The values the items register for ``profile``: seeds, data sets, tab11's method, data sets and rows (lists
    ``[reset_blocks, reset_mlp]``), the run parameters of :data:`RUN_KEYS`, and ``subsample`` None (the profiles'
    base value, which these runs do not read: they take ``n_train`` / ``n_test``)."""
    p = RUNS[check_profile(profile)]
    defaults = get_algorithm("brb.contrastive").defaults
    return {"seeds": list(p["seeds"]), "datasets": list(p["datasets"]), "tab11_method": p["tab11_method"],
            "tab11_datasets": list(p["tab11_datasets"]), "tab11_rows": [list(r) for r in p["tab11_rows"]],
            "subsample": None, **{k: p["run"].get(k, defaults[k]) for k in RUN_KEYS}}


def _values(profile: str, values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if values is None:
        return profile_values(profile)
    if values.get("subsample") is not None:
        raise SettingsError(f"the contrastive items take n_train / n_test, not subsample "
                            f"(got subsample={values['subsample']!r})")
    return values


def tab11_rows(values: Mapping[str, Any]) -> list[tuple[str, bool, bool]]:
    """tab11's (reset_blocks, reset_mlp, reset_projector) rows of a profile's values or a notebook's settings, in
    order; a row written ``[blocks, mlp]`` resets no projector (the authors' configs)."""
    out = []
    for row in values["tab11_rows"]:
        if len(row) not in (2, 3):
            raise SettingsError(f"a tab11 row is [reset_blocks, reset_mlp] or [reset_blocks, reset_mlp, "
                                f"reset_projector], got {row!r}")
        out.append((str(row[0]), bool(row[1]), bool(row[2]) if len(row) == 3 else False))
    return out


def run_config(profile: str, dataset: str, seed: int, values: Mapping[str, Any] | None = None,
               **params: Any) -> RunConfig:
    """A ``brb.contrastive`` config on the data ``profile`` pins, with the run parameters of ``values`` (default:
    the profile's, :func:`profile_values`) and ``params``."""
    check_profile(profile)
    v = _values(profile, values)
    return items.config("brb.contrastive", dataset, seed, profile, **{**{k: v[k] for k in RUN_KEYS}, **params})


def main_configs(profile: str, values: Mapping[str, Any] | None = None) -> list[RunConfig]:
    """tab01 / tab16 / tab17: every data set x method x (plain, +BRB) x seed, with self-labeling."""
    v = _values(profile, values)
    return [run_config(profile, d, seed, v, method=m, brb=brb, self_labeling=True)
            for d in v["datasets"] for m in METHODS for brb in (False, True) for seed in v["seeds"]]


def block_configs(profile: str, values: Mapping[str, Any] | None = None) -> list[RunConfig]:
    """tab11: the profile's (reset_blocks, reset_mlp) rows of its method, every seed; a row equal to the main
    list's +BRB run (block 4 with the MLP reset) is that run, the others run without self-labeling."""
    v = _values(profile, values)
    main = {(c.dataset, c["method"], c["brb"], c["reset_blocks"], c["reset_mlp"], c["reset_projector"], c.seed): c
            for c in main_configs(profile, v)}
    out = []
    for d in v["tab11_datasets"]:
        for blocks, mlp, projector in tab11_rows(v):
            for seed in v["seeds"]:
                shared = main.get((items.data_spec(profile, d).name, v["tab11_method"], True, blocks, mlp, projector,
                                   seed))
                out.append(shared or run_config(profile, d, seed, v, method=v["tab11_method"], brb=True,
                                                reset_blocks=blocks, reset_mlp=mlp, reset_projector=projector,
                                                self_labeling=False))
    return out


def item_configs(item: str, profile: str, values: Mapping[str, Any] | None = None) -> list[RunConfig]:
    """The run list of one of :data:`ITEMS` at ``profile`` (duplicates removed, order kept), from the profile's
    values or a notebook's settings ``values``."""
    if item not in ITEMS:
        raise ValueError(f"unknown contrastive item {item!r}; choose one of {list(ITEMS)}")
    configs = block_configs(profile, values) if item == "brb/tab11" else main_configs(profile, values)
    return list(dict.fromkeys(configs))


def design(profile: str, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The protocol of ``profile`` in optimizer steps (from its run parameters and the algorithm's defaults)."""
    v = _values(profile, values)
    cfg = run_config(profile, v["datasets"][0], 0, v)
    n = cfg["n_train"] if cfg["n_train"] is not None else 50_000
    per_epoch = n // cfg["batch_size"]
    t, epochs = cfg["reset_interval"], cfg["cluster_epochs"]
    brb_epochs = list(range(t, epochs, t))
    return {"steps_per_epoch": per_epoch, "reset_interval_epochs": t, "steps_between_brb": t * per_epoch,
            "brb_steps": len(brb_epochs), "cluster_epochs": epochs, "cluster_steps": epochs * per_epoch,
            "steps_after_last_brb": (epochs - brb_epochs[-1]) * per_epoch if brb_epochs else math.nan,
            "pretrain_steps": cfg["pretrain_epochs"] * per_epoch,
            "selflabel_steps": cfg["sl_epochs"] * math.ceil(n / cfg["sl_batch"]),
            "runs": {item: len(item_configs(item, profile, v)) for item in ITEMS},
            "distinct_runs": len(set(main_configs(profile, v)) | set(block_configs(profile, v)))}


def _item_runs(s) -> list[RunConfig]:
    """The registered run list of a contrastive item: :func:`item_configs` under the notebook's settings."""
    return item_configs(s.item, s.profile, s)


def _register() -> None:
    for item in ITEMS:
        items.register_item(item, {p: profile_values(p) for p in RUNS})
        items.run_list(item)(_item_runs)


_register()
