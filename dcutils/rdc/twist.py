"""The registered run ``rdc.twist``: the Feature Twist toy of R-DC Figures 2 and 16.

:func:`run_twist`
    Four curved 2-D clusters (:func:`dcutils.data.make_curved_clusters`),
    the two-layer autoencoder, plain reconstruction pretraining, then
    DEC (:func:`dcutils.rdc.baselines.train_dec`, Figure 2) or R-DC phase 2
    (:func:`dcutils.rdc.phase2.train_proximity`, Figure 16), with latent
    snapshots, 5-NN purity and flatness per epoch.
:func:`twist_autoencoder`
    The toy's autoencoder, affine or with ReLU.
:func:`twist_steps`
    The optimizer steps a config takes (compute estimates).

``twist_activation`` (version 2 default ``"relu"``; None = version 1): the paper calls the toy's network a
"linear two-layer auto-encoder" (Sections 1.2.1, 4.2.2), which we read
literally: ``2 -> hidden -> 2`` and back with no activation, an affine map,
in which no twist can appear (an affine encoder maps the curved clusters to
an affine copy of themselves, and DEC can only move the whole picture
affinely). ``"relu"`` puts a ReLU after the hidden layer of encoder and
decoder (``2 -> hidden -> ReLU -> 2``, ``hidden`` = 16 by default, our
choice; the paper gives no width), a non-linear network that can twist; version 2 uses it, since the claim
(DEC twists the features, R-DC does not) needs a network where a twist can
appear or not. The authors' repository has no code for the toy.

The R-DC phase-2 options of :mod:`dcutils.rdc.proximity`
(``construction_weight``, ``neighbours_include_self``, ``gamma_mode`` /
``gamma_quantile``, ``border_target``, ``core_image_targets``) are parameters
here too, with the same defaults as ``rdc.method``: version 3 anchors the
targets (border points reconstruct their input, Eq. 12, and the decoded core
targets are made once per refresh); version 2 used the authors'
self-referential ``border_target="own_code"`` with per-iteration decoding,
which lets codes and decoder outputs drift (:mod:`dcutils.rdc.proximity`).
Version 3 also reads out with 20 k-means starts (``kmeans_n_init``; version
2: 5), logs the health columns per epoch (``recon_mse``, ``code_rms``,
``decoder_rms`` on all points, ``min_cluster_share``, ``empty_clusters``) and
stores ``meta["health"]``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import health, metrics, models
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm, check_finite
from dcutils.data import fingerprint, make_curved_clusters
from dcutils.device import seed_everything
from dcutils.rdc import inputs, proximity
from dcutils.rdc.baselines import train_dec
from dcutils.rdc.evaluation import PHASE_DEC, PHASE_PROXIMITY, assess_health, health_signals, kmeans_fit
from dcutils.rdc.phase2 import train_proximity

__all__ = ["twist_autoencoder", "twist_steps", "run_twist"]

#: Activations of the toy's autoencoder: None (affine, the paper read literally) or "relu".
TWIST_ACTIVATIONS = (None, "relu")


def twist_autoencoder(hidden: int = 16, activation: str | None = None) -> nn.Module:
    """The toy's ``2 -> hidden -> 2`` autoencoder (decoder mirrored): affine, or ReLU after the hidden layers."""
    if activation not in TWIST_ACTIVATIONS:
        raise ValueError(f"twist_activation must be one of {TWIST_ACTIVATIONS}, got {activation!r}")
    return models.linear_autoencoder(2, 2, hidden=hidden, activation=activation)

#: Clusters of the toy data (curved4).
N_CLUSTERS = 4

#: The losses whose growth :func:`dcutils.health.assess` checks per phase (as ``rdc.method``'s
#: ``HEALTH_LOSSES``): R-DC phase 2 trains the decoder (loss and clean reconstruction must stay bounded);
#: DEC's KL is bounded and rises from near 0 as clusters form, and DEC leaves the decoder untrained.
HEALTH_LOSSES = {PHASE_PROXIMITY: ("loss", "recon_mse"), PHASE_DEC: ()}


def _knn_purity(z: Tensor, y: Tensor, m: int = 5) -> float:
    """Share of the ``m`` nearest neighbours (the point itself excluded) with the same true cluster."""
    _, idx = proximity.knn(z, m)
    return float((y[idx] == y.unsqueeze(1)).float().mean())


def _flatness(z: Tensor) -> float:
    """Smaller / larger singular value of the centred 2-D codes (0 = collapsed onto a line)."""
    s = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))
    return float(s[-1] / s[0]) if float(s[0]) > 0 else 0.0


class _TwistLog:
    """The clustering phase's logger: k-means ACC, 5-NN purity, flatness and a snapshot per epoch."""

    def __init__(self, x: Tensor, y: Tensor, n_pre: int, snap: Callable[[int], None], kmeans_n_init: int = 20):
        self.x, self.y, self.n_pre, self.snap, self.kmeans_n_init = x, y, n_pre, snap, kmeans_n_init
        self.rows: list[dict[str, Any]] = []

    def __call__(self, model: nn.Module, phase: str, epoch: int, iteration: int, loss: float,
                 labels: Tensor | None = None, **extra: Any) -> None:
        z = models.embed(model, self.x)
        if labels is None:
            labels = kmeans_fit(z, N_CLUSTERS, self.kmeans_n_init, 0).labels
        self.rows.append({"epoch": self.n_pre + epoch, "phase": phase, "iteration": iteration, "loss": loss,
                          "acc": metrics.cluster_acc(self.y, labels), "knn_purity": _knn_purity(z, self.y),
                          "flatness": _flatness(z), "core_ratio": extra.get("core_ratio", math.nan),
                          **health_signals(model, self.x), **health.cluster_sizes(labels, N_CLUSTERS)})
        self.snap(self.n_pre + epoch)


def twist_steps(cfg: RunConfig) -> int:
    """Optimizer steps of an ``rdc.twist`` run: (``pretrain_epochs`` + ``cluster_epochs``) x mini-batches
    of the ``4 * n_per_cluster`` points (an upper bound: phase 2 may stop early)."""
    per_epoch = inputs.batches_per_epoch(N_CLUSTERS * cfg["n_per_cluster"], cfg["batch_size"])
    return int((cfg["pretrain_epochs"] + cfg["cluster_epochs"]) * per_epoch)


@algorithm(
    "rdc.twist",
    version=3,
    steps=twist_steps,
    method="dec",
    n_per_cluster=250,
    hidden=16,
    batch_size=64,
    pretrain_epochs=200,
    pretrain_lr=1e-3,
    cluster_epochs=100,
    cluster_lr=1e-3,
    refresh_every=16,
    patience=1_000_000,
    beta=0.6,
    gamma=0.6,
    n_neighbours=5,
    pull_weight=1.0,
    snapshots=5,
    kmeans_n_init=20,  # version 3: the authors' count (version 2: 5)
    # version 2: a non-linear toy network (ReLU; the affine one, None, cannot twist anything) and R-DC's
    # phase 2 as the authors run it (as rdc.method version 2)
    twist_activation="relu",
    construction_weight=100.0,
    neighbours_include_self=True,
    gamma_mode="quantile",
    gamma_quantile=0.75,
    # version 3: anchored targets (version 2: "own_code" and per-iteration decoding, the authors' code)
    border_target="input",
    core_image_targets="per_refresh",
)
def run_twist(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """Feature Twist toy: curved4, two-layer AE (affine unless ``twist_activation``), reconstruction
    pretraining, then DEC or R-DC phase 2.

    ``method`` is ``"dec"`` (Figure 2) or ``"rdc"`` (Figure 16). The default
    ``patience`` is so large that phase 2 runs all ``cluster_epochs`` (the
    figures compare equal lengths); beta / gamma are our choice (the paper
    gives none for the toy).

    Arrays: ``latent`` (S, N, 2) snapshots, ``snapshot_epoch`` (S,) (0 =
    before pretraining, ``pretrain_epochs`` = after it, then phase-2 epochs
    counted on from there), ``y`` (N,), ``x`` (N, 2) the z-scored input.
    History: one row per phase-2 epoch (and epoch 0 = after pretraining):
    ``knn_purity`` (share of 5-NN with the same true cluster), ``flatness``,
    ``acc``, ``loss`` and the health columns (``recon_mse``, ``code_rms``,
    ``decoder_rms``, ``min_cluster_share``, ``empty_clusters``).
    Meta: the data's display name (``dataset``), ``split``, ``n_samples``,
    ``data_fingerprint`` (:func:`dcutils.data.fingerprint` of the generated
    points before z-scoring), how the clustering phase stopped and ``health``
    (:func:`dcutils.rdc.evaluation.assess_health`, losses :data:`HEALTH_LOSSES`).
    """
    method = cfg["method"]
    if method not in ("dec", "rdc"):
        raise ValueError(f"rdc.twist compares 'dec' (Figure 2) and 'rdc' (Figure 16), got {method!r}")
    if cfg.dataset != "curved4":
        raise ValueError(f"rdc.twist runs on the synthetic 'curved4' data set, got {cfg.dataset!r}")
    dev = ctx.device
    generator = seed_everything(cfg.seed)

    raw = make_curved_clusters(n_per_cluster=cfg["n_per_cluster"], seed=cfg.seed)
    x = raw.x.to(dev)
    x = (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)
    y = raw.y.to(dev)
    k = N_CLUSTERS
    model = twist_autoencoder(cfg["hidden"], cfg["twist_activation"]).to(dev)
    n_pre, n_cl = cfg["pretrain_epochs"], cfg["cluster_epochs"]
    s = max(int(cfg["snapshots"]), 2)
    snap_epochs = sorted({0, n_pre, *[n_pre + int(round(v)) for v in np.linspace(0, n_cl, s)[1:]]})
    snaps: dict[int, np.ndarray] = {}

    def snap(epoch: int) -> None:
        if epoch in snap_epochs:
            snaps[epoch] = models.embed(model, x).cpu().numpy()

    snap(0)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["pretrain_lr"])
    for epoch in ctx.progress(range(1, n_pre + 1)):
        for idx in inputs.batches(x.shape[0], cfg["batch_size"], generator, dev):
            model.train()
            loss = F.mse_loss(model(x[idx])[1], x[idx])
            check_finite(loss.detach(), "twist pretraining loss", epoch=epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        snap(epoch)

    log = _TwistLog(x, y, n_pre, snap, cfg["kmeans_n_init"])
    if method == "dec":
        mu = kmeans_fit(models.embed(model, x), k, cfg["kmeans_n_init"], cfg.seed).centroids
        info = train_dec(model, x, mu, epochs=n_cl, batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                         recon_weight=0.0, cluster_weight=1.0, refresh_every=cfg["refresh_every"], tol=-1.0,
                         use_augment=False, generator=generator, log=log)
    else:
        info = train_proximity(model, x, epochs=n_cl, batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                               beta=cfg["beta"], gamma=cfg["gamma"], m=cfg["n_neighbours"], lam=cfg["pull_weight"],
                               refresh_every=cfg["refresh_every"], patience=cfg["patience"], use_augment=False,
                               generator=generator, log=log, y=y, construction_weight=cfg["construction_weight"],
                               neighbours_include_self=cfg["neighbours_include_self"],
                               gamma_mode=cfg["gamma_mode"], gamma_quantile=cfg["gamma_quantile"],
                               border_target=cfg["border_target"],
                               core_image_targets=cfg["core_image_targets"])
    for e in snap_epochs:  # a stop before the last epoch: later snapshots repeat the final state
        if e not in snaps:
            snaps[e] = models.embed(model, x).cpu().numpy()
    epochs_sorted = sorted(snaps)
    arrays = {
        "latent": np.stack([snaps[e] for e in epochs_sorted]).astype(np.float32),
        "snapshot_epoch": np.asarray(epochs_sorted, dtype=np.int64),
        "y": y.cpu().numpy().astype(np.int64),
        "x": x.cpu().numpy().astype(np.float32),
    }
    hist = pd.DataFrame(log.rows)
    first, last = hist.iloc[0], hist.iloc[-1]
    final = {"acc": float(last["acc"]), "knn_purity": float(last["knn_purity"]), "flatness": float(last["flatness"]),
             "knn_purity_pretrained": float(first["knn_purity"]), "flatness_pretrained": float(first["flatness"]),
             "acc_pretrained": float(first["acc"]), "iterations": float(info["iterations"])}
    meta = {"dataset": raw.info.get("display_name"), "split": raw.info.get("split", "all"), "n_samples": len(raw),
            "data_fingerprint": fingerprint(raw.x, raw.y, "curved4", "all"),  # the generated points, as made
            "stopped": info["stopped"], "refreshes": info.get("refreshes", []),
            "health": assess_health(hist, HEALTH_LOSSES)}
    return RunOutput(history=hist, final=final, arrays=arrays, meta=meta)
