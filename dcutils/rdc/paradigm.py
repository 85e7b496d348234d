"""The registered run ``rdc.paradigm``: R-DC Figure 1's "typical" paradigm, self-supervised pretraining then DEC.

:func:`run_paradigm`
    The d-500-500-2000-10 autoencoder pretrained by reconstruction or its
    encoder by NT-Xent (:func:`nt_xent`), then DEC
    (:func:`dcutils.rdc.baselines.train_dec`), with ID / LID logged through
    both phases.
:func:`paradigm_steps`
    The optimizer steps a config takes (compute estimates).

``lid_estimator`` (version 2 default ``"authors"``; ``"global90"`` =
version 1, PCA to 90 % on the raw global codes): how ID / LID are computed, see
:func:`dcutils.rdc.evaluation.geometry` (the authors standardise each
k-means cluster's codes, count PCA components to 0.9999 and average ID and
LID over the clusters).

Version 3: k-means with 20 starts (``kmeans_n_init``, the authors' count;
version 2: 3); both phases log the health columns per epoch (``recon_mse``,
``code_rms``, ``decoder_rms`` on the fixed rows, ``min_cluster_share``,
``empty_clusters``; :mod:`dcutils.rdc.evaluation`) and ``meta["health"]``
holds :func:`dcutils.rdc.evaluation.assess_health` with :data:`HEALTH_LOSSES`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from dcutils import health, models
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm
from dcutils.data import load_dataset
from dcutils.device import seed_everything
from dcutils.rdc import inputs
from dcutils.rdc.baselines import train_dec
from dcutils.rdc.evaluation import (
    HEALTH_COLUMNS,
    EpochLogger,
    assess_health,
    geometry,
    geometry_index,
    health_signals,
    kmeans_fit,
    scores,
)

__all__ = ["nt_xent", "paradigm_steps", "run_paradigm", "HEALTH_LOSSES"]

#: The losses whose growth :func:`dcutils.health.assess` checks per phase: the pretext loss (reconstruction
#: or NT-Xent, both falling when training works); not DEC's KL, bounded and rising from near 0 as clusters
#: form (learning, not divergence). DEC does not train the decoder (nor, after NT-Xent, was it ever
#: trained), so ``recon_mse`` is logged, not checked.
HEALTH_LOSSES = {"pretrain": ("loss",), "DEC": ()}


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """SimCLR's NT-Xent loss of two views (rows ``i`` of ``z1`` and ``z2`` are positives).

    Cosine similarities divided by ``temperature``; each of the ``2N`` rows
    is a ``2N - 1``-way classification of its partner among all other rows.
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T) / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def paradigm_steps(cfg: RunConfig) -> int:
    """Optimizer steps of an ``rdc.paradigm`` run: (``pretrain_epochs`` + ``cluster_epochs``) x mini-batches.

    The samples are :func:`dcutils.rdc.inputs.sample_count` (the subsample,
    else the whole data set: an upper bound for a run on one split). An upper
    bound: DEC may stop early.
    """
    per_epoch = inputs.batches_per_epoch(inputs.sample_count(cfg.dataset, cfg["subsample"]), cfg["batch_size"])
    return int((cfg["pretrain_epochs"] + cfg["cluster_epochs"]) * per_epoch)


@algorithm(
    "rdc.paradigm",
    version=3,
    steps=paradigm_steps,
    pretext="reconstruction",
    split="all",
    subsample=3000,
    preprocess="rdc",
    latent_dim=10,
    batch_size=256,
    pretrain_epochs=30,
    pretrain_lr=1e-3,
    temperature=0.5,
    pretrain_log_every=2,
    cluster_epochs=20,
    cluster_lr=1e-4,
    refresh_every=5,
    dec_tol=0.001,
    geometry_sample=1000,
    kmeans_n_init=20,  # version 3: the authors' count (version 2: 3)
    lid_estimator="authors",  # version 2: the authors' estimator (version 1: "global90")
)
def run_paradigm(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """The "typical" paradigm of R-DC Figure 1: self-supervised pretraining, then DEC.

    The autoencoder d-500-500-2000-10 is pretrained by vanilla reconstruction
    (``pretext="reconstruction"``, MSE, no augmentation) or its encoder by
    instance-level contrastive learning (``pretext="contrastive"``: NT-Xent of
    two views made by R-DC's shifts and rotations, cosine similarity of the
    10-d codes, ``temperature``), then fine-tuned by DEC's KL(P || Q) on the
    encoder (centroids from k-means). ``split="test"`` loads only the test
    split (MNIST here).

    History: one row per logged epoch, ``phase`` ``"pretrain"`` or ``"DEC"``,
    ``global_iteration`` counting mini-batches over both phases, ``acc``
    (k-means in pretraining, DEC's assignment after), ``id`` (TwoNN) and
    ``lid`` (PCA, 90 %; or ``lid_estimator``) of a fixed subsample of codes,
    and the health columns (:data:`dcutils.rdc.evaluation.HEALTH_COLUMNS`).
    Meta: the data's display name (``dataset``), ``split``, ``n_samples``,
    ``subsample`` (the loader's record), ``data_fingerprint`` and how DEC stopped.
    """
    pretext = cfg["pretext"]
    if pretext not in ("reconstruction", "contrastive"):
        raise ValueError(f"rdc.paradigm pretext must be 'reconstruction' or 'contrastive', got {pretext!r}")
    dev = ctx.device
    data = load_dataset(cfg.dataset, split=cfg["split"], subsample=cfg["subsample"], seed=cfg.seed,
                        preprocess=cfg["preprocess"], device=dev)
    x, y, k = data.x, data.y, data.n_classes
    geo = geometry_index(len(data), cfg["geometry_sample"], cfg.seed)
    generator = seed_everything(cfg.seed)
    est = cfg["lid_estimator"]
    d = int(np.prod(x.shape[1:]))
    model = models.rdc_autoencoder(d, cfg["latent_dim"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["pretrain_lr"])
    rows: list[dict[str, Any]] = []
    step = 0

    def log(epoch: int, loss: float) -> None:
        z = models.embed(model, x)
        labels = kmeans_fit(z, k, cfg["kmeans_n_init"], cfg.seed).labels
        rows.append({"phase": "pretrain", "epoch": epoch, "iteration": step, "global_iteration": step, "loss": loss,
                     **scores(y, labels), **geometry(z, geo, est, None if est == "global90" else labels),
                     **health_signals(model, x[geo.to(x.device)]), **health.cluster_sizes(labels, k)})

    log(0, math.nan)
    for epoch in ctx.progress(range(1, cfg["pretrain_epochs"] + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], cfg["batch_size"], generator, dev):
            xb = x[idx]
            model.train()
            if pretext == "reconstruction":
                loss = F.mse_loss(model(xb)[1], xb.reshape(xb.shape[0], -1))
            else:
                loss = nt_xent(model.encode(inputs.augment(xb, True, generator)),
                               model.encode(inputs.augment(xb, True, generator)), cfg["temperature"])
            value = inputs.optimizer_step(opt, loss, f"{pretext} pretraining loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        if epoch % cfg["pretrain_log_every"] == 0 or epoch == cfg["pretrain_epochs"]:
            log(epoch, total / max(count, 1))
    n_pre = step
    dec_log = EpochLogger(x, y, k, geo, 5, 0.6, 0.6, cfg["kmeans_n_init"], n_pre, seed=cfg.seed, lid_estimator=est)
    mu = kmeans_fit(models.embed(model, x), k, cfg["kmeans_n_init"], cfg.seed).centroids
    info = train_dec(model, x, mu, epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                     recon_weight=0.0, cluster_weight=1.0, refresh_every=cfg["refresh_every"], tol=cfg["dec_tol"],
                     use_augment=False, generator=generator, log=dec_log, phase="DEC", progress=ctx.progress)
    history = pd.DataFrame([*rows, *dec_log.rows])
    history = history[["phase", "epoch", "iteration", "global_iteration", "loss", "acc", "f1_macro", "f1_micro",
                       "id", "lid", *HEALTH_COLUMNS]]
    z = models.embed(model, x)
    geo_labels = None if est == "global90" else kmeans_fit(z, k, cfg["kmeans_n_init"], cfg.seed).labels
    final = {**scores(y, info["labels"]), **geometry(z, geo, est, geo_labels), "acc_pretrained": float(rows[-1]["acc"]),
             "lid_pretrained": float(rows[-1]["lid"]), "id_pretrained": float(rows[-1]["id"]),
             "iterations_pretrain": float(n_pre), "iterations_cluster": float(info["iterations"])}
    return RunOutput(history=history, final=final,
                     meta={"dataset": data.info.get("display_name"), "split": cfg["split"],
                           "n_samples": len(data), "subsample": data.info.get("subsample"),
                           "data_fingerprint": data.info.get("fingerprint"), "stopped": info["stopped"],
                           "health": assess_health(history, HEALTH_LOSSES)})
