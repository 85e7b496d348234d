"""The registered run ``brb.contrastive``: SimCLR pretraining, contrastive DEC / IDEC / DCN (+BRB), self-labeling.

*Breaking the Reclustering Barrier* (Miklautz et al., ICLR 2025), Section 6 scenario 3, Appendix E and E.1,
Table 7; the rows of Tables 1, 11, 16 and 17. The pieces and every value's source are in
:mod:`dcutils.brb.contrastive`; this module validates a config, runs the three stages and records them.

1. **Pretraining**: the SimCLR network of the data, subset, architecture and pretraining parameters, trained
   once per ``pretrain_seed`` (None: the run's seed, as the authors pretrain in every run) and cached under
   ``results/pretrained/<dataset>/brbclr-<key>.pt`` (:func:`~dcutils.brb.contrastive_pretrain.pretrained_network`),
   so a seed's plain and +BRB runs start from the same network.
2. **Clustering**: :func:`~dcutils.brb.contrastive.train_contrastive_clustering` with ``brb`` on or off. Its
   row 0 is k-means on the pretrained embedding (Table 1's "Pretraining + k-means").
3. **Self-labeling** (``self_labeling``; Appendix E.1): SCAN's stage as SeCu (Qian, 2023) adds it after a
   centroid-based method: a warm-up trains a linear classification head (``nn.Linear(embedding, K)``,
   PyTorch's initialisation) on the clustering's hard labels of the clean training images, with the network
   frozen (its embedding computed once, eval mode): Adam at ``sl_warmup_lr`` for ``sl_warmup_epochs`` epochs
   in batches of ``sl_batch`` (Table 7's warm-up values were lost in extraction and the authors' repository
   has no self-labeling code: ours). Then :func:`dcutils.resl.selflabel.self_label` trains network and head
   (SCAN's strong augmentation, threshold, class balancing, Adam at ``sl_lr``), no reset strategy, with its
   ``pseudo_label_bn``. Table 7 keeps SCAN's parameters except Adam without weight decay
   (``sl_weight_decay=0``); its own learning rates for DEC & IDEC and for DCN were lost: SCAN's 1e-4 here.

History: the clustering rows (``stage="cluster"``, :data:`~dcutils.brb.contrastive.CLUSTER_COLUMNS`), then
with self-labeling its rows (``stage="selflabel"``, epoch 0 = the warmed-up head before self-labeling; ReSL's
columns, ``loss`` / ``steps`` / ``train_seconds`` renamed ``sl_loss`` / ``sl_steps`` / ``sl_seconds``).
Scores are on the evaluation split. ``meta["health"]``: :func:`dcutils.health.assess` over all rows (the
smallest cluster's share in both stages; the losses of :data:`HEALTH_LOSSES`; with self-labeling ReSL's rule
on clusters without a confident image).

Final metrics: ``acc`` / ``nmi`` / ``ari`` of the run's last stage; ``*_pretrain`` (row 0), ``*_cluster``
(last clustering epoch), ``*_selflabel`` and ``acc_selflabel_best`` (the best self-labeling epoch, chosen with
the labels: the paper reports "the best performance after self-labeling"; NaN without it); ``brb_seconds``,
``train_seconds``, ``brb_overhead``, ``steps``, ``seconds_pretrain``, ``head_agreement`` (the warmed-up head's
agreement with the clustering on the training images), ``confident_fraction``, ``unconfident_clusters``,
``min_cluster_share``.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import health, precision
from dcutils.brb.contrastive import AUTHORS, CLUSTER_COLUMNS, RESET_BLOCKS, ContrastiveNet, train_contrastive_clustering
from dcutils.brb.contrastive_pretrain import PRETRAIN_PARAMS, pretrained_network
from dcutils.brb.losses import METHODS, check_choice
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm
from dcutils.device import seed_everything
from dcutils.hparams import BRB_CONTRASTIVE as SETUP
from dcutils.resl.pretext import TRAIN_SIZES, Splits, batches, cutout_length, embed, load_splits
from dcutils.resl.selflabel import check_pseudo_label_bn, self_label
from dcutils.resl.strategies import NoReset

__all__ = ["HISTORY_COLUMNS", "HEALTH_LOSSES", "SelfLabelNet", "check_config", "estimate_steps", "run_contrastive",
           "warm_up_head"]

#: Self-labeling rows' columns besides the shared ones (ReSL's, renamed where the clustering rows use the name).
SELFLABEL_COLUMNS = ("confident_fraction", "nmi_match", "skipped_batches", "sl_steps", "sl_loss", "sl_seconds",
                     "confident_per_cluster", "unconfident_clusters", "pseudo_confident_per_cluster",
                     "pseudo_confident_fraction")
HISTORY_COLUMNS = CLUSTER_COLUMNS + SELFLABEL_COLUMNS

#: Losses whose growth :func:`dcutils.health.assess` checks, per method (as ``brb.dc``: not DEC's KL, which
#: rises as clusters form; the contrastive loss, DCN's cluster loss and self-labeling's cross-entropy).
HEALTH_LOSSES = {"dec": ("sl_loss",), "idec": ("contrastive_loss", "sl_loss"),
                 "dcn": ("contrastive_loss", "cluster_loss", "sl_loss")}


class SelfLabelNet(nn.Module):
    """The network with a linear classification head on its embedding: ``head(net.encode(x))`` = logits (N, K)."""

    def __init__(self, net: ContrastiveNet, head: nn.Linear) -> None:
        super().__init__()
        self.net, self.head = net, head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.net.encode(x))


def _positive(cfg: RunConfig, names: tuple[str, ...], *, integer: bool = False, allow_none: bool = False) -> None:
    for name in names:
        v = cfg[name]
        if v is None and allow_none:
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and math.isfinite(v)
        if not ok or (integer and int(v) != v):
            raise ValueError(f"{name} must be a positive {'int' if integer else 'number'}, got {v!r}")


def check_config(cfg: RunConfig) -> dict[str, float]:
    """Validate a ``brb.contrastive`` config (ValueError naming the parameter); returns its lr and cluster weight."""
    check_choice("method", cfg["method"], METHODS)
    check_choice("reset_blocks", cfg["reset_blocks"], RESET_BLOCKS)
    for flag in ("brb", "reset_mlp", "reset_projector", "reset_momentum", "self_labeling", "augment_both_views",
                 "balance", "fused_adam"):
        if not isinstance(cfg[flag], bool):
            raise ValueError(f"{flag} must be True or False, got {cfg[flag]!r}")
    _positive(cfg, ("batch_size", "pretrain_epochs", "cluster_epochs", "reset_interval", "recluster_subsample",
                    "kmeans_n_init", "projector_width", "sl_epochs", "sl_batch", "n_ops"), integer=True)
    _positive(cfg, ("n_train", "n_test"), integer=True, allow_none=True)
    for name in ("cutout", "pretrain_seed"):
        v = cfg[name]
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise ValueError(f"{name} must be None or a non-negative int, got {v!r}")
    _positive(cfg, ("width", "temperature", "pretrain_lr", "sl_lr", "sl_warmup_lr", "grad_clip", "warmup_start"))
    _positive(cfg, ("lr", "cluster_weight"), allow_none=True)
    if cfg["batch_size"] < 2:
        raise ValueError(f"batch_size must be at least 2 (SimCLR needs negatives, BatchNorm two samples), "
                         f"got {cfg['batch_size']}")
    for name in ("alpha", "threshold", "warmup_start"):
        if not 0.0 <= float(cfg[name]) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {cfg[name]!r}")
    for name in ("alpha_step", "pretrain_weight_decay", "sl_weight_decay", "contrastive_weight"):
        if not float(cfg[name]) >= 0.0:
            raise ValueError(f"{name} must be non-negative, got {cfg[name]!r}")
    for name in ("warmup_epochs", "sl_warmup_epochs", "projector_depth"):
        if not (isinstance(cfg[name], int) and not isinstance(cfg[name], bool) and cfg[name] >= 0):
            raise ValueError(f"{name} must be a non-negative int, got {cfg[name]!r}")
    mlp = cfg["mlp"]
    if not (isinstance(mlp, tuple) and mlp and all(isinstance(m, int) and m > 0 for m in mlp)):
        raise ValueError(f"mlp must list positive ints (hidden sizes, then the embedding size), got {mlp!r}")
    if cfg["method"] != "dec" and cfg["projector_depth"] == 0 and cfg["reset_projector"] and cfg["brb"]:
        raise ValueError("reset_projector=True needs a projector (projector_depth >= 1)")
    if cfg.dataset not in TRAIN_SIZES:
        raise ValueError(f"brb.contrastive runs on {sorted(TRAIN_SIZES)}, not {cfg.dataset!r}")
    check_pseudo_label_bn(cfg["pseudo_label_bn"])
    precision.check_precision(cfg["precision"])
    method = cfg["method"]
    return {"lr": float(cfg["lr"] if cfg["lr"] is not None else AUTHORS["cluster_lr"][method]),
            "cluster_weight": float(cfg["cluster_weight"] if cfg["cluster_weight"] is not None
                                    else AUTHORS["cluster_weight"][method])}


def estimate_steps(cfg: RunConfig) -> int:
    """Optimizer steps of a run: pretraining (shared by the runs of its key, counted in full), clustering,
    self-labeling (an upper bound; the head's warm-up on fixed features is not counted)."""
    n = cfg["n_train"] if cfg["n_train"] is not None else TRAIN_SIZES.get(cfg.dataset, 50_000)
    per_epoch = max(1, n // cfg["batch_size"])
    sl = cfg["sl_epochs"] * math.ceil(n / cfg["sl_batch"]) if cfg["self_labeling"] else 0
    return int(per_epoch * (cfg["pretrain_epochs"] + cfg["cluster_epochs"]) + sl)


def warm_up_head(z: Tensor, labels: Tensor, k: int, *, epochs: int, batch_size: int, lr: float,
                 generator: torch.Generator) -> tuple[nn.Linear, float]:
    """The self-labeling warm-up (module docstring): a fresh ``nn.Linear(D, k)`` trained with cross-entropy on
    fixed embeddings ``z`` (N, D) and the clustering's ``labels`` (N,). Returns it and its agreement with them."""
    head = nn.Linear(z.shape[1], k).to(z.device)
    opt = precision.adam(head.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in batches(z.shape[0], batch_size, generator, z.device):
            loss = F.cross_entropy(head(z[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        agreement = float((head(z).argmax(1) == labels).float().mean())
    return head, agreement


def _self_labeling(net: ContrastiveNet, labels_train: Tensor, s: Splits, cfg: RunConfig, generator: torch.Generator,
                   ctx: RunContext) -> tuple[list[dict[str, Any]], float]:
    z = embed(net, s.x_train, s.mean, s.std)
    head, agreement = warm_up_head(z, labels_train.to(z.device), int(s.n_classes), epochs=cfg["sl_warmup_epochs"],
                                   batch_size=cfg["sl_batch"], lr=cfg["sl_warmup_lr"], generator=generator)
    model = SelfLabelNet(net, head)
    rows, _ = self_label(model, NoReset(), s, epochs=cfg["sl_epochs"], batch_size=cfg["sl_batch"], lr=cfg["sl_lr"],
                         weight_decay=cfg["sl_weight_decay"], threshold=cfg["threshold"], balance=cfg["balance"],
                         n_ops=cfg["n_ops"], cutout=cutout_length(s.x_train.shape[-1], cfg["cutout"]),
                         generator=generator, prec=cfg["precision"], fused=cfg["fused_adam"],
                         pseudo_label_bn=cfg["pseudo_label_bn"], progress=ctx.progress)
    renamed = {"loss": "sl_loss", "steps": "sl_steps", "train_seconds": "sl_seconds"}
    out = []
    for r in rows:
        ctx.check_finite(r["acc"], "self-labeling acc", r["epoch"])
        row = {renamed.get(key, key): value for key, value in r.items() if key not in ("reset", "alpha")}
        out.append({"stage": "selflabel", **row})
    return out, agreement


@algorithm(
    "brb.contrastive",
    version=1,
    steps=estimate_steps,
    method="idec",
    brb=True,
    split="all",
    n_train=None,
    n_test=None,
    data_seed=0,
    width=1.0,
    mlp=SETUP.mlp[1:],
    projector_width=SETUP.projector[1],
    projector_depth=1,
    temperature=SETUP.temperature,
    batch_size=SETUP.batch_size,
    augment_both_views=True,
    pretrain_epochs=SETUP.pretrain_epochs,
    pretrain_lr=AUTHORS["pretrain_lr"],
    pretrain_weight_decay=AUTHORS["pretrain_weight_decay"],
    pretrain_seed=None,
    cluster_epochs=SETUP.cluster_epochs,
    lr=None,
    cluster_weight=None,
    contrastive_weight=AUTHORS["contrastive_weight"],
    warmup_epochs=AUTHORS["warmup_epochs"],
    warmup_start=AUTHORS["warmup_start"],
    grad_clip=AUTHORS["grad_clip"],
    reset_interval=SETUP.reset_interval,
    reset_blocks=AUTHORS["reset_blocks"],
    reset_mlp=True,
    reset_projector=False,
    alpha=SETUP.alpha_mlp,
    alpha_step=AUTHORS["alpha_step"],
    reset_momentum=SETUP.reset_momentum,
    recluster_subsample=AUTHORS["recluster_subsample"],
    kmeans_n_init=AUTHORS["kmeans_n_init"],
    self_labeling=True,
    sl_warmup_epochs=10,
    sl_warmup_lr=1e-3,
    sl_epochs=200,
    sl_batch=1000,
    sl_lr=1e-4,
    sl_weight_decay=0.0,
    threshold=0.99,
    balance=True,
    n_ops=4,
    cutout=None,
    pseudo_label_bn="train",
    precision="fp32",
    fused_adam=True,
)
def run_contrastive(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """One contrastive DEC / IDEC / DCN run, plain or with BRB, with or without self-labeling (module docstring).

    Parameters (cfg; defaults = the paper profile's values, sources in :mod:`dcutils.brb.contrastive`):
    method (dec / idec / dcn); brb; data: split ("all"), n_train / n_test (balanced subsets of the training
    and test split, None = all), data_seed; network: width, mlp, projector_width, projector_depth; SimCLR:
    temperature, batch_size (both stages, as the authors), augment_both_views, pretrain_epochs, pretrain_lr,
    pretrain_weight_decay, pretrain_seed (None = the run's seed); clustering: cluster_epochs, lr (None = the
    method's: 1e-3 / 3e-3 / 1e-2), cluster_weight (None = 1 / 1 / 1e-4), contrastive_weight, warmup_epochs,
    warmup_start, grad_clip; BRB: reset_interval (epochs), reset_blocks (:data:`RESET_BLOCKS`), reset_mlp,
    reset_projector, alpha (the MLP's factor), alpha_step, reset_momentum, recluster_subsample, kmeans_n_init;
    self-labeling: self_labeling, sl_warmup_epochs, sl_warmup_lr, sl_epochs, sl_batch, sl_lr, sl_weight_decay,
    threshold, balance, n_ops, cutout, pseudo_label_bn; precision, fused_adam.
    """
    chosen = check_config(cfg)
    dev = ctx.device
    s = load_splits(cfg.dataset, split=cfg["split"], n_train=cfg["n_train"], n_test=cfg["n_test"],
                    data_seed=cfg["data_seed"], device=dev)
    n = s.x_train.shape[0]
    if n < cfg["batch_size"]:
        raise ValueError(f"{n} training images are fewer than batch_size {cfg['batch_size']}: no full mini-batch")
    pretrain_seed = cfg.seed if cfg["pretrain_seed"] is None else int(cfg["pretrain_seed"])
    fingerprint = cfg.data_fingerprint or s.info.get("fingerprint") or ""
    net, pre = pretrained_network(cfg.dataset, fingerprint, {k: cfg[k] for k in PRETRAIN_PARAMS}, pretrain_seed, s,
                                  dev, ctx.progress)
    generator = seed_everything(cfg.seed)  # the same draws whether the network was trained now or loaded
    res = train_contrastive_clustering(
        net, s, method=cfg["method"], brb=cfg["brb"], epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"],
        lr=chosen["lr"], cluster_weight=chosen["cluster_weight"], contrastive_weight=cfg["contrastive_weight"],
        temperature=cfg["temperature"], reset_interval=cfg["reset_interval"], reset_blocks=cfg["reset_blocks"],
        reset_mlp=cfg["reset_mlp"], reset_projector=cfg["reset_projector"], alpha=cfg["alpha"],
        alpha_step=cfg["alpha_step"], reset_momentum=cfg["reset_momentum"],
        recluster_subsample=cfg["recluster_subsample"], n_init=cfg["kmeans_n_init"],
        warmup_epochs=cfg["warmup_epochs"], warmup_start=cfg["warmup_start"], grad_clip=cfg["grad_clip"],
        both_views=cfg["augment_both_views"], prec=cfg["precision"], fused=cfg["fused_adam"], generator=generator,
        progress=ctx.progress)
    cluster_rows = res.rows
    sl_rows: list[dict[str, Any]] = []
    agreement = math.nan
    if cfg["self_labeling"]:
        sl_rows, agreement = _self_labeling(net, res.labels_train, s, cfg, generator, ctx)
    history = pd.DataFrame(cluster_rows + sl_rows, columns=list(HISTORY_COLUMNS))
    first, last_cl = cluster_rows[0], cluster_rows[-1]
    last = sl_rows[-1] if sl_rows else last_cl
    train_s = float(sum(r["epoch_seconds"] for r in cluster_rows))
    brb_s = float(sum(r["brb_seconds"] for r in cluster_rows))
    nan = math.nan
    final: dict[str, float] = {
        "acc": last["acc"], "nmi": last["nmi"], "ari": last["ari"],
        **{f"{m}_pretrain": first[m] for m in ("acc", "nmi", "ari")},
        **{f"{m}_cluster": last_cl[m] for m in ("acc", "nmi", "ari")},
        **{f"{m}_selflabel": (sl_rows[-1][m] if sl_rows else nan) for m in ("acc", "nmi", "ari")},
        "acc_selflabel_best": max((r["acc"] for r in sl_rows[1:]), default=nan),
        "brb_seconds": brb_s, "train_seconds": train_s, "brb_overhead": brb_s / train_s if train_s > 0 else nan,
        "steps": float(last_cl["steps"]), "seconds_pretrain": float(pre["seconds"]),
        "seconds_selflabel": float(sl_rows[-1]["sl_seconds"]) if sl_rows else nan,
        "head_agreement": agreement,
        "confident_fraction": float(sl_rows[-1]["confident_fraction"]) if sl_rows else nan,
        "unconfident_clusters": float(sl_rows[-1]["unconfident_clusters"]) if sl_rows else nan,
        "min_cluster_share": float(last["min_cluster_share"]),
    }
    meta: dict[str, Any] = {
        **s.info, "data_fingerprint": fingerprint,
        "pretraining": {"key": pre["key"], "from_cache": pre["from_cache"], "seed": pretrain_seed,
                        "rows": pre["rows"]},
        "lr": chosen["lr"], "cluster_weight": chosen["cluster_weight"],
        "brb_epochs": res.brb_epochs, "resets": res.resets,
        "health": health.assess(history, loss_columns=HEALTH_LOSSES[cfg["method"]],
                                unconfident_column="unconfident_clusters" if sl_rows else None),
    }
    return RunOutput(history=history, final=final, meta=meta)
