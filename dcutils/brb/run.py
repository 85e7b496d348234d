"""The registered run ``brb.dc``: DEC / IDEC / DCN with a BRB variant on one data set and seed.

*Breaking the Reclustering Barrier in Centroid-based Deep Clustering*
(Miklautz et al., ICLR 2025), Sections 5-6 and Appendix E: load the data
the config names, take the cached pretrained autoencoder (or a fresh one
without pretraining), run :func:`dcutils.brb.train.train_clustering` and
return its history, final metrics, the d1/d2 ratios around the middle BRB
step, and meta data (data set, fingerprint, substitutes, pretraining,
timings). Change what a run computes and bump ``version`` below.

The defaults follow the authors' code where the paper is silent; the other
value of each parameter keeps the earlier behaviour as an option:
``dcn_loss_mean="entries"`` (vs "samples"), ``dcn_centroids="epoch_pass"``
(vs "eq7"), ``drop_last=True`` (vs False), ``clip="autoencoder"`` (vs
"all"), ``interpolation="nearest"`` (vs "bilinear"). ``precision``
("fp32" default; the quick profile runs "bf16" autocast) and ``fused_adam``
(True) are part of the config too. Sources are listed in :mod:`dcutils.brb`.

Version 2 (issue 20) trains as the runs behind the published tables did: the
authors' grid runner (``config/runner_config.py``) runs every table's config
with ``batch_norm=True``, which Table 5's "BatchNorm: False" does not describe
(the text's value is a row of the deviations notebook); a network that was
not pretrained is embedded in train mode for the first k-means and epoch 0's
scores (``first_clustering="authors"``; "eval" = version 1); DEC passes its
two views separately after a no-grad statistics pass (``view_passes="authors"``;
"joint" = version 1). Each record also carries its health
(:func:`dcutils.health.assess`, ``meta["health"]``) and the per-epoch
``min_cluster_share`` / ``empty_clusters`` it rests on.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import torch

from dcutils import health, metrics
from dcutils.brb.pretrain import new_model, pretrained_autoencoder
from dcutils.brb.stacked import train_clustering_group
from dcutils.brb.train import METRICS_SUBSAMPLE, batches_per_epoch, clustering_augmenter, train_clustering
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm, canonical_json, stacks
from dcutils.data import Dataset, load_dataset, split_size
from dcutils.device import seed_everything
from dcutils.hparams import BRB_GRAYSCALE as SETUP

__all__ = ["run_dc", "run_dc_group", "stack_key", "SHARED_PARAMS", "RUN_PARAMS", "estimate_steps", "select_classes",
           "FIRST_CLUSTERING", "HEALTH_LOSSES"]

#: ``first_clustering`` of ``brb.dc``: "authors" = train mode without pretraining, eval mode after it (what
#: the authors' code does, ``src/training/ae.py``); "eval" = always eval mode (version 1).
FIRST_CLUSTERING = ("authors", "eval")

#: The losses whose growth :func:`dcutils.health.assess` checks, per method. DEC's and IDEC's cluster loss
#: KL(P||Q) is left out: it is bounded, and on a network that was never trained it starts near 0 (Q nearly
#: uniform) and rises a hundred- to a thousandfold within the first epochs as clusters form, which is
#: learning, not divergence. DCN's cluster loss (squared distances) and every reconstruction loss are checked.
HEALTH_LOSSES = {"dec": (), "idec": ("recon_loss",), "dcn": ("recon_loss", "cluster_loss")}

#: The authors' grid runner's BatchNorm (``config/runner_config.py``): on in every run behind the tables.
RUNNER_BATCH_NORM = SETUP.batch_norm_runs


@lru_cache(maxsize=4)
def _load(name: str, split: str, subsample: int | None, device: str) -> Dataset:
    """The run's data on its device, kept for the next runs of this process (training never writes to it)."""
    return load_dataset(name, split=split, subsample=subsample, seed=0, device=device)


def estimate_steps(cfg: RunConfig) -> int:
    """Optimizer steps of a ``brb.dc`` run: pretraining (when on) plus clustering epochs × mini-batches.

    Clustering epochs drop the last partial mini-batch when ``drop_last``; pretraining keeps it.

    ``n`` is the subsample, else the split's published size
    (:func:`dcutils.data.split_size`: OPTDIGITS' test split 1,797); pretraining
    is shared between the variants of a data set and seed, so this overcounts a
    grid.
    """
    n = cfg["subsample"] or split_size(cfg.dataset, cfg["split"]) or 10_000
    pre = cfg["pretrain_epochs"] if cfg["pretrain"] else 0
    return (math.ceil(n / cfg["batch_size"]) * pre
            + batches_per_epoch(n, cfg["batch_size"], cfg["drop_last"]) * cfg["cluster_epochs"])


@algorithm(
    "brb.dc",
    version=2,
    steps=estimate_steps,
    method="idec",
    variant="brb",
    pretrain=True,
    pretrain_epochs=SETUP.pretrain_epochs,
    cluster_epochs=SETUP.cluster_epochs,
    reset_interval=SETUP.reset_interval,
    alpha=SETUP.alpha,
    lr=SETUP.lr,
    pretrain_lr=SETUP.lr,
    batch_size=SETUP.batch_size,
    split="all",
    subsample=None,
    recluster_subsample=SETUP.recluster_subsample,
    recluster="kmeans",
    reset_embedding=SETUP.reset_embedding,
    reset_momentum=SETUP.reset_momentum,
    augment=SETUP.cluster_augmentation,
    noise_scale=0.5,
    kmeans_n_init=SETUP.kmeans_n_init,
    metrics_subsample=METRICS_SUBSAMPLE,
    # Where the paper is silent: the authors' code (issue 9). A config names every parameter, so the records
    # computed with the earlier defaults (samples, eq7, no drop_last, clip all, bilinear) keep their keys.
    dcn_loss_mean="entries",
    dcn_centroids="epoch_pass",
    drop_last=True,
    clip="autoencoder",
    interpolation="nearest",
    # Version 2 (issue 20): the authors' runs. Table 5's text value (False) is a deviations row.
    batch_norm=RUNNER_BATCH_NORM,
    first_clustering="authors",
    view_passes="authors",
    precision="fp32",
    fused_adam=True,
    # Issue 13. Added once records existed: at these defaults a config keeps the key it had before.
    added_later={"embedding_dim": None, "classes": None, "record_embedding": False},
)
def run_dc(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """DEC / IDEC / DCN with a BRB variant on one data set and seed (BRB Sections 5-6).

    Parameters (cfg): method (dec/idec/dcn), variant (:data:`VARIANTS`),
    pretrain, pretrain_epochs, pretrain_lr, cluster_epochs, reset_interval (T),
    alpha, lr, batch_size, split (all/train/test), subsample (None = all;
    drawn with seed 0, the same for every seed), recluster_subsample,
    recluster (:data:`RECLUSTERS`), reset_embedding, reset_momentum, augment,
    noise_scale (variant "noise", Eq. 18; the paper's value was lost in
    extraction, 0.5 is ours), kmeans_n_init, metrics_subsample; where the
    paper is silent (see the package docstring): dcn_loss_mean ("entries" =
    authors' code | "samples"), dcn_centroids ("epoch_pass" = authors' code |
    "eq7"), drop_last, clip ("autoencoder" = authors' code | "all"),
    interpolation ("nearest" = authors' code | "bilinear"); batch_norm (True,
    the authors' grid runner; False = Table 5's text); first_clustering
    (:data:`FIRST_CLUSTERING`); view_passes ("authors" | "joint",
    :func:`~dcutils.brb.losses.clustering_loss`); precision ("fp32" | "bf16" autocast); fused_adam (True;
    False = torch's single-tensor Adam).
    Added in issue 13 (left out of a config's key at their defaults): embedding_dim (None = K; 2 for
    Figure 13), classes (None = every class; a list keeps those classes, relabelled 0..k-1 in the
    given order, K = k; Figure 13's 4 USPS classes), record_embedding (also keep every sample's
    embedding and the centroids before and after the recorded step: arrays ``embedding_before``,
    ``embedding_after``, ``centroids_before``, ``centroids_after`` and ``labels_true``).

    Returns history per epoch (:data:`HISTORY_COLUMNS`), final metrics (last
    row; ``brb_overhead`` = BRB seconds / training seconds, the paper's
    "increase in total runtime"), arrays ``ratio_before`` / ``ratio_after``
    (d1/d2 around the middle BRB step) and meta (substitutes, pretraining,
    timings).
    """
    s = _start(cfg, ctx)
    result = train_clustering(s.model, s.data.x, s.data.y, **_shared_args(cfg, s.data), **_run_args(cfg, s),
                              ctx=ctx)
    return _output(cfg, s, result)


#: ``brb.dc`` parameters a stacked group's runs share (:func:`stack_key`): the data and the shape of the
#: training. Every other parameter (the seed, pretraining, the variant and its step's settings, the first
#: clustering's mode, the metrics subsample, the snapshot) each run sets for itself.
SHARED_PARAMS = ("split", "subsample", "classes", "method", "cluster_epochs", "lr", "batch_size", "augment",
                 "interpolation", "dcn_loss_mean", "dcn_centroids", "drop_last", "clip", "view_passes", "precision",
                 "fused_adam", "batch_norm", "embedding_dim")

#: ``brb.dc`` parameters each run of a stacked group sets for itself (with the seed).
RUN_PARAMS = ("pretrain", "pretrain_epochs", "pretrain_lr", "variant", "reset_interval", "alpha",
              "recluster_subsample", "recluster", "reset_embedding", "reset_momentum", "noise_scale",
              "kmeans_n_init", "metrics_subsample", "first_clustering", "record_embedding")


def stack_key(cfg: RunConfig) -> str | None:
    """What ``brb.dc`` runs share to train as one stacked group (:data:`SHARED_PARAMS` and the data), or None
    for DCN's Eq. 7 update after every step, which trains alone."""
    if cfg["dcn_centroids"] == "eq7":
        return None
    return canonical_json({"dataset": cfg.dataset, "data": cfg.data_fingerprint,
                           **{k: cfg[k] for k in SHARED_PARAMS}})


@stacks("brb.dc", key=stack_key)
def run_dc_group(cfgs: list[RunConfig], ctxs: list[RunContext]) -> list[RunOutput]:
    """Several ``brb.dc`` runs with one :func:`stack_key`, trained as one stacked model.

    Each run starts as alone (its seed, its pretrained or fresh network); then
    :func:`dcutils.brb.stacked.train_clustering_group` trains them together, each with its own generator,
    variant and steps; each output is what :func:`run_dc` returns for it, up to floating-point reordering.
    """
    starts = [_start(cfg, ctx) for cfg, ctx in zip(cfgs, ctxs)]
    data = starts[0].data
    results = train_clustering_group([s.model for s in starts], data.x, data.y,
                                     [_run_args(cfg, s) for cfg, s in zip(cfgs, starts)],
                                     **_shared_args(cfgs[0], data), ctx=ctxs[0])
    return [_output(cfg, s, result) for cfg, s, result in zip(cfgs, starts, results)]


class _Start(NamedTuple):
    """A run before its clustering phase: its data, starting network (pretrained from the cache, or fresh),
    pretraining facts, whether it was pretrained, and its generator (seeded first: every draw starts from it)."""

    data: Dataset
    model: torch.nn.Module
    pre_info: dict
    pretrain: bool
    gen: torch.Generator


def _start(cfg: RunConfig, ctx: RunContext) -> _Start:
    """:class:`_Start` of ``cfg``."""
    if cfg["first_clustering"] not in FIRST_CLUSTERING:
        raise ValueError(f"first_clustering must be one of {FIRST_CLUSTERING}, got {cfg['first_clustering']!r}")
    dev = ctx.device
    gen = seed_everything(cfg.seed)
    data = _load(cfg.dataset, cfg["split"], cfg["subsample"], str(dev))
    if cfg["classes"] is not None:
        data = select_classes(data, cfg["classes"])
    pretrain = bool(cfg["pretrain"]) and cfg["pretrain_epochs"] > 0
    if pretrain:
        model = pretrained_autoencoder(
            cfg.dataset, data, cfg.seed,
            {"epochs": cfg["pretrain_epochs"], "lr": cfg["pretrain_lr"], "batch_size": cfg["batch_size"],
             "batch_norm": cfg["batch_norm"], "precision": cfg["precision"], "fused_adam": cfg["fused_adam"],
             "embedding_dim": cfg["embedding_dim"], "classes": cfg["classes"]},
            dev, ctx)
        pre_info = {k: v for k, v in model.pretrain_info.items() if k != "path"}
    else:
        model = new_model(data, cfg.seed, dev, batch_norm=cfg["batch_norm"], embedding_dim=cfg["embedding_dim"])
        pre_info = {"from_cache": False, "losses": []}
    return _Start(data, model, pre_info, pretrain, gen)


def _shared_args(cfg: RunConfig, data: Dataset) -> dict[str, Any]:
    """The arguments of the clustering loop a stacked group's runs share (:data:`dcutils.brb.stacked.SHARED`)."""
    return dict(method=cfg["method"], cluster_epochs=cfg["cluster_epochs"], lr=cfg["lr"],
                batch_size=cfg["batch_size"],
                augment=clustering_augmenter(data, cfg["interpolation"]) if cfg["augment"] else False,
                dcn_loss_mean=cfg["dcn_loss_mean"], dcn_centroids=cfg["dcn_centroids"], drop_last=cfg["drop_last"],
                clip=cfg["clip"], interpolation=cfg["interpolation"], view_passes=cfg["view_passes"],
                precision=cfg["precision"], fused_adam=cfg["fused_adam"])


def _run_args(cfg: RunConfig, start: _Start) -> dict[str, Any]:
    """The arguments of the clustering loop each run sets for itself (:data:`dcutils.brb.stacked.PER_RUN`)."""
    return dict(variant=cfg["variant"], reset_interval=cfg["reset_interval"], alpha=cfg["alpha"],
                recluster_subsample=cfg["recluster_subsample"], recluster=cfg["recluster"],
                reset_embedding=cfg["reset_embedding"], reset_momentum=cfg["reset_momentum"],
                noise_scale=cfg["noise_scale"], n_init=cfg["kmeans_n_init"], metrics_subsample=cfg["metrics_subsample"],
                first_clustering="train" if cfg["first_clustering"] == "authors" and not start.pretrain else "eval",
                snapshot=bool(cfg["record_embedding"]), generator=start.gen)


def _output(cfg: RunConfig, start: _Start, result) -> RunOutput:
    """The record's content of one trained run: history, final metrics, d1/d2 arrays, meta and health."""
    data = start.data
    h = result.history
    last = h.iloc[-1]
    train_s, brb_s = float(h["epoch_seconds"].sum()), float(h["brb_seconds"].sum())
    final = {k: float(last[k]) for k in ("acc", "nmi", "ari", "intra_cd", "inter_cd", "silhouette", "silhouette_pred")}
    final.update(brb_seconds=brb_s, train_seconds=train_s,
                 brb_overhead=brb_s / train_s if train_s > 0 else math.nan,
                 seconds_per_epoch=train_s / max(cfg["cluster_epochs"], 1))
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {
        "dataset": data.info.get("display_name"),
        "data_fingerprint": data.info.get("fingerprint"),
        "split": data.info.get("split"),
        "n_samples": len(data),
        "substitute": data.info.get("substitute", False),
        "substitute_what": data.info.get("substitute_what"),
        "note": data.info.get("note"),
        "pretraining": start.pre_info,
        # 0-based epochs at whose start a step ran (= epochs trained before it; paper: 20, 40, ...)
        "brb_epochs": [int(e) - 1 for e in h.loc[h["brb"], "epoch"]],
        "metrics_subsample": cfg["metrics_subsample"],
        "health": health.assess(h, loss_columns=HEALTH_LOSSES[cfg["method"]]),
    }
    if result.ratio_step is not None:
        step = result.steps[result.ratio_step]
        arrays = {"ratio_before": step.ratio_before.astype(np.float32),
                  "ratio_after": step.ratio_after.astype(np.float32)}
        meta["ratio_epoch"] = meta["brb_epochs"][result.ratio_step]
        meta["ratio_label_change"] = metrics.cluster_label_change(
            step.labels_before.cpu().numpy(), step.labels_after.cpu().numpy())
    if result.snapshot is not None:
        arrays.update(result.snapshot)
        arrays["labels_true"] = data.y.cpu().numpy().astype(np.int16)
    if cfg["classes"] is not None:
        meta["classes"] = list(cfg["classes"])
    return RunOutput(history=h, final=final, arrays=arrays, meta=meta)


def select_classes(data: Dataset, classes) -> Dataset:
    """The samples of ``classes`` only, relabelled 0..k-1 in the given order (K = k); provenance kept."""
    wanted = [int(c) for c in classes]
    if len(set(wanted)) != len(wanted) or len(wanted) < 2:
        raise ValueError(f"classes must name at least two distinct classes, got {list(classes)}")
    present = set(data.y.unique().tolist())
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ValueError(f"classes {missing} do not occur in {data.name} (it has {sorted(present)})")
    lookup = torch.full((int(data.y.max()) + 1,), -1, dtype=torch.int64, device=data.y.device)
    lookup[torch.tensor(wanted, device=data.y.device)] = torch.arange(len(wanted), device=data.y.device)
    mask = lookup[data.y] >= 0
    info = {**data.info, "n_classes": len(wanted), "classes": wanted}
    return Dataset(data.x[mask], lookup[data.y[mask]], data.name, info)

