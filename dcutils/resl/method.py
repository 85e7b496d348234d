"""The registered run ``resl.selflabel``: one self-labeling run with a reset strategy from the cached SCAN network.

:func:`run_selflabel` loads the training and evaluation subsets (:func:`dcutils.resl.pretext.load_splits`),
takes the SimCLR + SCAN network of the config (:func:`dcutils.resl.pretext.base_network`, trained once
per data set, width and stage parameters, whatever the seed or strategy), builds the strategy
(:func:`make_run_strategy`) and self-labels (:func:`dcutils.resl.selflabel.self_label`), seeded by
the run's seed.

Strategies (``strategy``): ``"none"`` (SCAN+SL), ``"sp"`` (``alpha``, ``every``), ``"sp*"``
(``alpha`` is alpha_0, raised linearly to 1 at the last epoch), ``"ht"`` (``momentum``, ``every``,
``ht_update``), ``"pi"`` (plasticity injection after the completed epochs ``inject_at``).
``every`` counts self-labeling epochs. The options where the paper is ambiguous are parameters
(defaults and reasons in :mod:`dcutils.resl.strategies`): ``reset_at_epoch_zero`` (False: resets
after R, 2R, ... epochs), ``ht_update`` ("step": the EMA after every optimizer step),
``ema_buffers`` (True), ``reset_optimizer_state`` (False: Adam's moments kept), ``init`` ("torch":
theta' from PyTorch's default Linear initialiser). ``pseudo_label_bn`` ("train", SCAN's code; or
"eval"): BatchNorm mode of the pass that computes the targets (:mod:`dcutils.resl.selflabel`).
``cutout`` (None: SCAN's value for the image side, 14 at 28 px): Cutout's largest side
(:func:`dcutils.resl.pretext.cutout_length`). ``normalization`` ("subset": the training subset's per-channel
mean and std; "scan": SCAN's constants, ReSL's Table 3, for the data sets SCAN has them for): added after
version 2's records existed, so a config holding "subset" keeps its key (``added_later``).

Final metrics: ``acc``, ``nmi``, ``ari`` of the evaluated model (HT: the tortoise) after the last
epoch on the evaluation split, ``acc_scan`` / ``nmi_scan`` / ``ari_scan`` of the SCAN network before
self-labeling, ``confident_fraction`` and ``nmi_match`` at the end, ``neighbour_accuracy`` of the
mining, ``steps`` (self-labeling optimizer steps), ``skipped_batches`` (total), ``seconds_selflabel``
(training time, evaluation excluded), ``seconds_simclr`` / ``seconds_scan`` (of the run that trained
the shared network), ``unconfident_clusters_scan`` / ``unconfident_clusters`` (clusters without a
training image above the threshold, before and after self-labeling), ``pseudo_confident_fraction_scan``
(targets above the threshold in the pseudo-label pass at the start) and ``min_cluster_share``. Meta:
the data's name, sizes, fingerprint, the base network's key and whether it came from the cache, the
reset epochs, and ``health`` (:func:`dcutils.health.assess` of the history with the rule on
unconfident clusters, ``unconfident_column="unconfident_clusters"``).

Versions: 2 (issue "ReSL: self-labeling that helps before resets are judged"): SCAN's strong
augmentation exactly (:mod:`dcutils.resl.augment`; base networks of version 2), ``pseudo_label_bn``,
the health columns of the history.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dcutils import health
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm
from dcutils.device import seed_everything
from dcutils.hparams import RESL_SELF_LABELING
from dcutils.precision import check_precision
from dcutils.resl.pretext import base_network, cutout_length, load_splits
from dcutils.resl.selflabel import HISTORY_COLUMNS, check_pseudo_label_bn, self_label
from dcutils.resl.strategies import HareTortoise, NoReset, PlasticityInjection, ResetStrategy, ShrinkPerturb

__all__ = ["STRATEGIES", "make_run_strategy", "selflabel_steps", "run_selflabel"]

STRATEGIES = ("none", "sp", "sp*", "ht", "pi")

#: ReSL's Table 3 (SCAN's self-labeling setup), the source of the self-labeling defaults below: its optimizer,
#: confidence threshold, class balancing, epochs and batch are the same for every data set of the table.
_SL = RESL_SELF_LABELING["CIFAR10"]


def make_run_strategy(cfg: RunConfig) -> ResetStrategy:
    """The reset strategy a ``resl.selflabel`` config asks for (seeded by the run's seed)."""
    name, epochs = cfg["strategy"], cfg["sl_epochs"]
    common = {"reset_at_epoch_zero": cfg["reset_at_epoch_zero"], "reset_optimizer_state": cfg["reset_optimizer_state"]}
    if name == "none":
        return NoReset()
    if name in ("sp", "sp*"):
        return ShrinkPerturb(cfg["alpha"], cfg["every"], "linear" if name == "sp*" else "constant", epochs,
                             init=cfg["init"], seed=cfg.seed + 20_000, **common)
    if name == "ht":
        return HareTortoise(cfg["momentum"], cfg["every"], cfg["ht_update"], epochs, ema_buffers=cfg["ema_buffers"],
                            **common)
    if name == "pi":
        return PlasticityInjection(cfg["inject_at"], init=cfg["init"], seed=cfg.seed + 20_000)
    raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def _n(cfg: RunConfig, name: str, full: int = 50_000) -> int:
    return int(cfg[name]) if cfg[name] is not None else full


def selflabel_steps(cfg: RunConfig) -> int:
    """Optimizer steps of a run: SimCLR and SCAN (shared, counted in full) and self-labeling (an upper bound)."""
    n = _n(cfg, "n_train")
    simclr = cfg["simclr_epochs"] * max(1, n // cfg["simclr_batch"])
    scan = cfg["scan_epochs"] * math.ceil(n / cfg["scan_batch"])
    return int(simclr + scan + cfg["sl_epochs"] * math.ceil(n / cfg["sl_batch"]))


@algorithm(
    "resl.selflabel",
    version=2,
    steps=selflabel_steps,
    added_later={"normalization": "subset"},
    split="all",
    n_train=3000,
    n_test=2000,
    data_seed=0,
    width=0.125,
    base_seed=0,
    simclr_epochs=100,
    simclr_batch=512,
    simclr_lr=0.4,
    simclr_temperature=0.1,
    n_neighbours=20,
    scan_epochs=30,
    scan_batch=128,
    scan_lr=1e-4,
    entropy_weight=5.0,
    weight_decay=_SL.weight_decay,
    n_ops=4,
    cutout=None,
    strategy="none",
    sl_epochs=_SL.epochs,
    sl_batch=_SL.batch_size,
    sl_lr=_SL.lr,
    threshold=_SL.confidence_threshold,
    balance=_SL.class_balancing,
    alpha=0.8,
    every=20,
    momentum=0.995,
    ht_update="step",
    ema_buffers=True,
    inject_at=(100, 200, 250),
    reset_at_epoch_zero=False,
    reset_optimizer_state=False,
    init="torch",
    pseudo_label_bn="train",
    precision="fp32",
    fused_adam=True,
)
def run_selflabel(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """One self-labeling run (module docstring)."""
    if cfg["strategy"] not in STRATEGIES:
        raise ValueError(f"unknown strategy {cfg['strategy']!r}; choose one of {STRATEGIES}")
    check_precision(cfg["precision"])
    check_pseudo_label_bn(cfg["pseudo_label_bn"])
    dev = ctx.device
    s = load_splits(cfg.dataset, split=cfg["split"], n_train=cfg["n_train"], n_test=cfg["n_test"],
                    data_seed=cfg["data_seed"], device=dev, normalization=cfg["normalization"])
    model, base_rows, base = base_network(cfg, s, dev, ctx.progress)
    generator = seed_everything(cfg.seed)
    strategy = make_run_strategy(cfg)
    rows, _ = self_label(model, strategy, s, epochs=cfg["sl_epochs"], batch_size=cfg["sl_batch"], lr=cfg["sl_lr"],
                         weight_decay=cfg["weight_decay"], threshold=cfg["threshold"], balance=cfg["balance"],
                         n_ops=cfg["n_ops"], cutout=cutout_length(s.x_train.shape[-1], cfg["cutout"]),
                         generator=generator, prec=cfg["precision"], fused=cfg["fused_adam"],
                         pseudo_label_bn=cfg["pseudo_label_bn"], progress=ctx.progress)
    for r in rows:
        ctx.check_finite(r["acc"], "acc", r["epoch"])
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    first, last = rows[0], rows[-1]
    final: dict[str, float] = {
        "acc": last["acc"], "nmi": last["nmi"], "ari": last["ari"], "acc_scan": first["acc"], "nmi_scan": first["nmi"],
        "ari_scan": first["ari"], "confident_fraction": last["confident_fraction"], "nmi_match": last["nmi_match"],
        "neighbour_accuracy": float(base["neighbour_accuracy"]), "steps": float(last["steps"]),
        "skipped_batches": float(sum(r["skipped_batches"] for r in rows)),
        "seconds_selflabel": float(last["train_seconds"]), "seconds_simclr": float(base["seconds_simclr"]),
        "seconds_scan": float(base["seconds_scan"]),
        "unconfident_clusters_scan": float(first["unconfident_clusters"]),
        "unconfident_clusters": float(last["unconfident_clusters"]),
        "pseudo_confident_fraction_scan": float(first["pseudo_confident_fraction"]),
        "min_cluster_share": float(last["min_cluster_share"]),
    }
    meta: dict[str, Any] = {**s.info, "data_fingerprint": s.info.get("fingerprint"), "base_key": base["key"],
                            "base_from_cache": base["from_cache"],
                            "reset_epochs": [int(r["epoch"]) for r in rows if r["reset"]],
                            "base_history": base_rows,
                            "health": health.assess(history, unconfident_column="unconfident_clusters")}
    return RunOutput(history=history, final=final, meta=meta)
