"""BRB: DEC, IDEC and DCN with soft resets, reclustering and momentum resets.

*Breaking the Reclustering Barrier in Centroid-based Deep Clustering*
(Miklautz et al., ICLR 2025), Sections 3-5, Appendices A, B.1, E and F.

Adding BRB to your own loop takes one call every T epochs::

    from dcutils import brb
    centroids = torch.nn.Parameter(...)                     # DEC / IDEC centroids
    optimizer = torch.optim.Adam([*model.parameters(), centroids], lr=1e-3)
    for epoch in range(epochs):
        if epoch > 0 and epoch % T == 0:
            info = brb.brb_step(model, centroids, optimizer, x[brb.subsample(...)],
                                alpha=0.8, method="idec", generator=g)
        for xb in batches:
            total, recon, cluster = brb.clustering_loss("idec", model, xb, centroids, xb_aug)
            ...

Pieces (all run on the device of their input tensors)
------------------------------------------------------
Losses (Appendix B.1 Eq. 3-7; augmentation-consistent Eq. 14-17):
:func:`dec_soft_assignment` (Eq. 3), :func:`dec_target_distribution`
(Eq. 4), :func:`dec_loss` (KL(P||Q), Eq. 5), :func:`dec_cluster_loss`
(Eq. 15-16), :func:`reconstruction_loss` (Eq. 14), :func:`dcn_loss`
(Eq. 6 / 17), :func:`dcn_update_centroids` (Eq. 7), and
:func:`clustering_loss` combining them with the paper's weights
(:data:`LOSS_WEIGHTS`, from :mod:`dcutils.hparams`).

BRB steps: :func:`brb_step` (Algorithm 1: soft reset of the encoder except
its embedding layer, k-means reclustering on the clean embedded subsample,
zeroed Adam moments of the DEC/IDEC centroids) with ablation switches
(``reset="soft" | "perturb" | "gaussian" | None``, ``recluster="kmeans" |
"kmeans++" | "kmedoids" | "em" | "own" | None``, ``reset_embedding``,
``reset_momentum``); siblings :func:`noise_step` (Eq. 18) and
:func:`disentangled_step` (Algorithm 2).

Training: :func:`pretrain_autoencoder`, :func:`pretrained_autoencoder`
(cached under ``results/pretrained``), :func:`train_clustering`, and the
registered run ``brb.dc``.

Choices where the paper is silent (stated so they can be checked)
-----------------------------------------------------------------
* DCN cluster counts start at 1 after every (re)clustering (the k-means
  centroid counts as one sample in the running mean of Eq. 7).
* DCN centroid update (Eq. 7) uses the clean view's embedding after the
  network step, as the paper's order ("first update the network, then
  assign, then update the centres") says.
* Eq. 14: each view reconstructs itself; the two MSEs are averaged.
* "Recluster" and "Reset" baselines do not reset momentum (the authors'
  public configs set ``reset_momentum=False`` for them); BRB and its
  ablations do (``reset_momentum``).
* A subsample of the data (``subsample``) is the same for every seed (drawn
  with seed 0), so seeds vary only the network and the algorithm's draws.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import cache, paths
from dcutils import kmeans as km
from dcutils import metrics, resets
from dcutils.augment import color_augment, random_affine
from dcutils.data import Dataset, load_dataset
from dcutils.device import seed_everything
from dcutils.hparams import BRB_GRAYSCALE, BRB_GTSRB, BRBAutoencoderSetup
from dcutils.models import FeedForwardAutoencoder, brb_autoencoder, embed
from dcutils.runs import RunConfig, RunContext, RunOutput, algorithm, check_finite

__all__ = [
    "METHODS", "VARIANTS", "RESETS", "RECLUSTERS", "LOSS_WEIGHTS", "HISTORY_COLUMNS",
    "dec_soft_assignment", "dec_target_distribution", "dec_loss", "dec_cluster_loss",
    "reconstruction_loss", "dcn_loss", "dcn_update_centroids", "clustering_loss",
    "BRBStepInfo", "brb_step", "noise_step", "disentangled_step",
    "pretrain_autoencoder", "pretrained_autoencoder", "pretrained_path",
    "ClusteringResult", "train_clustering", "reset_epochs", "run_dc", "setup_for", "make_augmenter",
]

SETUP: BRBAutoencoderSetup = BRB_GRAYSCALE

METHODS = ("dec", "idec", "dcn")
#: BRB step kinds: what each variant does every T epochs.
VARIANTS = ("none", "brb", "recluster", "reset", "perturb_only", "gaussian", "noise", "disentangled")
RESETS = ("soft", "perturb", "gaussian", None)
RECLUSTERS = ("kmeans", "kmeans++", "kmedoids", "em", "own", None)

#: (reconstruction weight, cluster weight) per method (Table 5; Appendix B.1).
LOSS_WEIGHTS: dict[str, tuple[float, float]] = {
    "dec": (0.0, 1.0),
    "idec": (SETUP.reconstruction_weight, SETUP.idec_cluster_weight),
    "dcn": (SETUP.reconstruction_weight, SETUP.dcn_cluster_weight),
}

#: Columns of :attr:`ClusteringResult.history` (one row per epoch; row 0 =
#: after the initial k-means, before any clustering epoch).
HISTORY_COLUMNS = (
    "epoch", "acc", "nmi", "ari", "cl_change", "intra_cd", "inter_cd", "silhouette", "silhouette_pred",
    "recon_loss", "cluster_loss", "brb", "t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds",
    "epoch_seconds",
)

#: Samples used for intra-/inter-CD and silhouettes each epoch (fixed subset).
METRICS_SUBSAMPLE = 2_000


def _check_choice(name: str, value: Any, valid: tuple) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}, got {value!r}")


# =============================================================================
# losses (Appendix B.1, Eq. 3-7; Appendix E, Eq. 14-17)
# =============================================================================
def dec_soft_assignment(z: Tensor, centroids: Tensor, dof: float = 1.0) -> Tensor:
    """Student-t soft assignment q (Eq. 3).

    ``q_ij ∝ (1 + ||z_i - mu_j||^2 / dof)^(-(dof + 1) / 2)``, rows normalised.

    Parameters
    ----------
    z : Tensor, shape (N, D)
    centroids : Tensor, shape (K, D)
    dof : float, default 1 (DEC's choice)

    Returns
    -------
    q : Tensor, shape (N, K), rows sum to 1
    """
    if z.dim() != 2 or centroids.dim() != 2 or z.shape[1] != centroids.shape[1]:
        raise ValueError(f"need z (N, D) and centroids (K, D), got {tuple(z.shape)} and {tuple(centroids.shape)}")
    d2 = (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(2)
    logits = -(dof + 1.0) / 2.0 * torch.log1p(d2 / dof)
    return torch.softmax(logits, dim=1)


def dec_target_distribution(q: Tensor) -> Tensor:
    """DEC's target distribution p (Eq. 4), detached.

    ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')`` with soft cluster
    frequencies ``f_j = sum_i q_ij`` over the given (mini-)batch.

    Parameters
    ----------
    q : Tensor, shape (N, K)

    Returns
    -------
    p : Tensor, shape (N, K), rows sum to 1, no gradient
    """
    q = q.detach()
    w = q.pow(2) / q.sum(0, keepdim=True)
    return w / w.sum(1, keepdim=True)


def dec_loss(q: Tensor, p: Tensor) -> Tensor:
    """KL(P || Q), summed over clusters, averaged over samples (Eq. 5, cluster term).

    Parameters
    ----------
    q : Tensor, shape (N, K) (the prediction, carries the gradient)
    p : Tensor, shape (N, K) (the target)
    """
    return F.kl_div(q.clamp_min(1e-12).log(), p, reduction="batchmean")


def dec_cluster_loss(z: Tensor, centroids: Tensor, z_aug: Tensor | None = None) -> Tensor:
    """DEC/IDEC cluster loss with augmentation consistency (Eq. 15-16).

    p is computed from the clean view ``z`` and detached; the loss averages
    KL(P || Q(z)) and KL(P || Q(z_aug)), so the augmented view must keep the
    clean view's assignment. Without ``z_aug`` it is plain DEC (Eq. 5).

    Parameters
    ----------
    z, z_aug : Tensor, shape (N, D)
    centroids : Tensor, shape (K, D)
    """
    q = dec_soft_assignment(z, centroids)
    p = dec_target_distribution(q)
    loss = dec_loss(q, p)
    if z_aug is not None:
        loss = 0.5 * (loss + dec_loss(dec_soft_assignment(z_aug, centroids), p))
    return loss


def reconstruction_loss(x: Tensor, x_hat: Tensor, x_aug: Tensor | None = None,
                        x_hat_aug: Tensor | None = None) -> Tensor:
    """Mean squared reconstruction error; with a second view, the mean of both (Eq. 14).

    Parameters
    ----------
    x, x_aug : Tensor, shape (N, d) or (N, C, H, W) (flattened here)
    x_hat, x_hat_aug : Tensor, shape (N, d)
    """
    loss = F.mse_loss(x_hat, x.reshape(x.shape[0], -1))
    if x_aug is not None:
        loss = 0.5 * (loss + F.mse_loss(x_hat_aug, x_aug.reshape(x_aug.shape[0], -1)))
    return loss


def dcn_loss(z: Tensor, centroids: Tensor, labels: Tensor, z_aug: Tensor | None = None) -> Tensor:
    """DCN cluster loss (Eq. 6; with a second view Eq. 17).

    Mean over samples of ``||z_i - mu_{s(i)}||^2``; ``labels`` s(i) come from
    the clean view, so the augmented view is pulled to the clean view's centroid.

    Parameters
    ----------
    z, z_aug : Tensor, shape (N, D)
    centroids : Tensor, shape (K, D) (no gradient needed)
    labels : LongTensor, shape (N,)
    """
    target = centroids[labels]
    loss = (z - target).pow(2).sum(1).mean()
    if z_aug is not None:
        loss = 0.5 * (loss + (z_aug - target).pow(2).sum(1).mean())
    return loss


@torch.no_grad()
def dcn_update_centroids(centroids: Tensor, counts: Tensor, z: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """DCN's running-mean centroid update (Eq. 7), for a whole mini-batch at once.

    Processing the batch's samples one by one with
    ``N_j += 1; mu_j <- mu_j - (mu_j - z_i) / N_j`` gives exactly
    ``mu_j <- (N_j mu_j + sum_{i in j} z_i) / (N_j + m_j)``, which is what is
    computed here (no Python loop over samples).

    Parameters
    ----------
    centroids : Tensor, shape (K, D)
    counts : Tensor, shape (K,), samples assigned so far (float)
    z : Tensor, shape (N, D)
    labels : LongTensor, shape (N,), values in 0..K-1

    Returns
    -------
    centroids, counts : new tensors, shapes (K, D) and (K,)
    """
    k = centroids.shape[0]
    sums = torch.zeros_like(centroids).index_add_(0, labels, z.to(centroids.dtype))
    m = torch.bincount(labels, minlength=k).to(counts.dtype)
    new_counts = counts + m
    new = (counts.unsqueeze(1) * centroids + sums) / new_counts.clamp_min(1e-12).unsqueeze(1)
    new = torch.where(m.unsqueeze(1) > 0, new, centroids)
    return new, new_counts


def clustering_loss(method: str, model: nn.Module, x: Tensor, centroids: Tensor,
                    x_aug: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One mini-batch's loss of DEC, IDEC or DCN, weighted as in Table 5.

    ``total = w_rec * L_rec + w_cl * L_cluster`` with (w_rec, w_cl) from
    :data:`LOSS_WEIGHTS`: DEC (0, 1), IDEC (1, 0.1), DCN (1, 0.025).

    Parameters
    ----------
    method : {"dec", "idec", "dcn"}
    model : autoencoder with ``encode`` / ``decode``
    x : Tensor, shape (N, ...) clean view
    centroids : Tensor, shape (K, D)
    x_aug : Tensor, same shape as x, optional augmented view

    Returns
    -------
    total, recon, cluster : scalar Tensors (recon is 0 for DEC)
    labels : LongTensor (N,), the clean view's assignment (nearest centroid)
    """
    _check_choice("method", method, METHODS)
    w_rec, w_cl = LOSS_WEIGHTS[method]
    z = model.encode(x)
    z_aug = model.encode(x_aug) if x_aug is not None else None
    if w_rec > 0:
        recon = reconstruction_loss(x, model.decode(z), x_aug, model.decode(z_aug) if z_aug is not None else None)
    else:
        recon = z.new_zeros(())
    labels = km.assign(z.detach(), centroids.detach())
    if method == "dcn":
        cluster = dcn_loss(z, centroids.detach(), labels, z_aug)
    else:
        cluster = dec_cluster_loss(z, centroids, z_aug)
    return w_rec * recon + w_cl * cluster, recon, cluster, labels


# =============================================================================
# BRB step (Algorithm 1) and its ablations
# =============================================================================
@dataclass
class BRBStepInfo:
    """What one BRB step did and how long each component took (seconds).

    ``ratio_before`` / ``ratio_after``: d1/d2 (distance to the closest over
    the second-closest centroid, :func:`dcutils.metrics.centroid_distance_ratio`)
    of the subsample before the step (old embedding, old centroids) and after
    it (new embedding, new centroids), float64 arrays (M,), when recorded.
    ``labels_before`` / ``labels_after``: nearest-centroid assignments of the
    subsample before and after (LongTensor (M,)), when recorded.
    """

    t_reset: float = 0.0
    t_embed: float = 0.0
    t_cluster: float = 0.0
    t_momentum: float = 0.0
    ratio_before: np.ndarray | None = None
    ratio_after: np.ndarray | None = None
    labels_before: Tensor | None = None
    labels_after: Tensor | None = None
    n_subsample: int = 0
    notes: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Seconds of the BRB components (diagnostics excluded)."""
        return self.t_reset + self.t_embed + self.t_cluster + self.t_momentum

    def times(self) -> dict[str, float]:
        return {"t_reset": self.t_reset, "t_embed": self.t_embed, "t_cluster": self.t_cluster,
                "t_momentum": self.t_momentum, "brb_seconds": self.total}


class _Timer:
    """Wall-clock seconds, synchronising CUDA so GPU work is counted where it happens."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = torch.device(device).type == "cuda"

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _apply_reset(model: nn.Module, reset: str | None, alpha: float, reset_embedding: bool,
                 generator: torch.Generator | None) -> None:
    if reset is None:
        return
    layers = resets.brb_reset_layers(model, reset_embedding=reset_embedding)
    if reset == "soft":
        resets.soft_reset(layers, alpha, generator=generator)
    elif reset == "perturb":
        resets.perturb_only(layers, alpha, generator=generator)
    else:
        resets.scaled_gaussian_noise(layers, alpha, generator=generator)


def _recluster(z: Tensor, k: int, how: str, centroids: Tensor, n_init: int,
               generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """New centroids (K, D) and labels (M,) of the embedded subsample ``z``."""
    if how == "kmeans":
        res = km.kmeans(z, k, n_init=n_init, generator=generator)
        return res.centroids, res.labels
    if how == "kmeans++":
        c = km.kmeans_plusplus(z, k, generator)
        return c, km.assign(z, c)
    if how == "kmedoids":
        res = km.kmedoids(z, k, generator=generator)
        return res.centroids, res.labels
    if how == "em":
        res = km.gmm_em(z, k, generator=generator)
        return res.centroids, res.labels
    # "own": the method's own hard assignment to the current centroids
    # (nearest centroid = argmax of DEC's Student-t q), centroids = the means.
    labels = km.assign(z, centroids.to(z.dtype))
    sums = torch.zeros(k, z.shape[1], dtype=z.dtype, device=z.device).index_add_(0, labels, z)
    counts = torch.bincount(labels, minlength=k).to(z.dtype).unsqueeze(1)
    new = torch.where(counts > 0, sums / counts.clamp_min(1.0), centroids.to(z.dtype))
    return new, labels


def _set_centroids(centroids: Tensor, new: Tensor, counts: Tensor | None) -> None:
    with torch.no_grad():
        centroids.copy_(new.to(dtype=centroids.dtype, device=centroids.device))
        if counts is not None:
            counts.fill_(1.0)


def _check_step_args(method: str, centroids: Tensor, x_sub: Tensor, alpha: float) -> None:
    _check_choice("method", method, METHODS)
    if centroids.dim() != 2:
        raise ValueError(f"centroids must have shape (K, D), got {tuple(centroids.shape)}")
    if x_sub.shape[0] < centroids.shape[0]:
        raise ValueError(
            f"the reclustering subsample has {x_sub.shape[0]} samples, fewer than K = {centroids.shape[0]} clusters"
        )
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (BRB uses 0.8), got {alpha}")


def _diagnose_before(model, centroids, x_sub, info: BRBStepInfo, record: bool) -> None:
    if not record:
        return
    z = embed(model, x_sub)
    c = centroids.detach().to(z.dtype)
    info.ratio_before = metrics.centroid_distance_ratio(z, c)
    info.labels_before = km.assign(z, c)


def _diagnose_after(model, centroids, x_sub, info: BRBStepInfo, record: bool, z: Tensor | None = None) -> None:
    if not record:
        return
    z = embed(model, x_sub) if z is None else z
    c = centroids.detach().to(z.dtype)
    info.ratio_after = metrics.centroid_distance_ratio(z, c)
    info.labels_after = km.assign(z, c)


def _momentum_reset(method: str, optimizer, centroids: Tensor, reset_momentum: bool) -> None:
    if reset_momentum and method != "dcn" and optimizer is not None:
        resets.reset_adam_moments(optimizer, [centroids])


def brb_step(
    model: nn.Module,
    centroids: Tensor,
    optimizer: torch.optim.Optimizer | None,
    x_sub: Tensor,
    *,
    alpha: float = SETUP.alpha,
    method: str = "idec",
    reset: str | None = "soft",
    recluster: str | None = "kmeans",
    reset_embedding: bool = SETUP.reset_embedding,
    reset_momentum: bool = SETUP.reset_momentum,
    counts: Tensor | None = None,
    n_init: int = SETUP.kmeans_n_init,
    record: bool = True,
    generator: torch.Generator | None = None,
) -> BRBStepInfo:
    """One BRB step (Algorithm 1), in place: soft reset, recluster, momentum reset.

    1. Soft reset (Eq. 1) of every encoder Linear layer except the embedding
       layer (``resets.brb_reset_layers``); the decoder is never touched.
    2. Embed the clean subsample ``x_sub`` with the reset encoder and recluster
       it with k-means (k-means++ init, ``n_init`` runs); the centroids are
       overwritten with the new ones (Eq. 2).
    3. DEC / IDEC: zero the Adam moments of the centroid parameter
       (``resets.reset_adam_moments``). DCN: reset the cluster counts to 1.

    Parameters
    ----------
    model : autoencoder (``encoder`` / ``encode``), e.g. FeedForwardAutoencoder
    centroids : Tensor (K, D), an ``nn.Parameter`` in ``optimizer`` for DEC/IDEC,
        a plain tensor for DCN; overwritten in place.
    optimizer : the optimizer holding ``centroids`` (DEC/IDEC); may be None for DCN
    x_sub : Tensor (M, ...) clean (non-augmented) samples to recluster on
        (BRB: 10,000 drawn at random)
    alpha : float in [0, 1], share of the old weights kept (0.8)
    method : {"dec", "idec", "dcn"}
    reset : {"soft", "perturb", "gaussian", None}
        Eq. 1; "perturb" = no contraction (H.13); "gaussian" = scaled Gaussian
        noise instead of the uniform init (H.13); None = no reset ("Recluster").
    recluster : {"kmeans", "kmeans++", "kmedoids", "em", "own", None}
        Tables 10/12 variants; "own" = the method's own hard assignment to the
        current centroids, centroids moved to the cluster means (Tables 18/19);
        None = no reclustering ("Reset").
    reset_embedding : also soft-reset the embedding layer (Appendix H.1)
    reset_momentum : zero the centroid Adam moments (Appendix H.2), DEC/IDEC only
    counts : DCN's cluster counts (K,), set to 1 in place when reclustered
    n_init : k-means restarts (10)
    record : also compute d1/d2 ratios and assignments of ``x_sub`` before and
        after (two extra embedding passes, not counted in the timings)
    generator : torch.Generator for the reset draws and k-means

    Returns
    -------
    BRBStepInfo
    """
    _check_step_args(method, centroids, x_sub, alpha)
    _check_choice("reset", reset, RESETS)
    _check_choice("recluster", recluster, RECLUSTERS)
    info = BRBStepInfo(n_subsample=int(x_sub.shape[0]))
    timer = _Timer(_model_device(model))
    _diagnose_before(model, centroids, x_sub, info, record)

    t0 = timer.now()
    _apply_reset(model, reset, alpha, reset_embedding, generator)
    t1 = timer.now()
    info.t_reset = t1 - t0
    z = None
    if recluster is not None:
        z = embed(model, x_sub)
        t2 = timer.now()
        new, _ = _recluster(z, centroids.shape[0], recluster, centroids.detach(), n_init, generator)
        _set_centroids(centroids, new, counts)
        t3 = timer.now()
        info.t_embed, info.t_cluster = t2 - t1, t3 - t2
        t4 = timer.now()
        _momentum_reset(method, optimizer, centroids, reset_momentum)
        info.t_momentum = timer.now() - t4
    _diagnose_after(model, centroids, x_sub, info, record, z)
    return info


def noise_step(
    model: nn.Module,
    centroids: Tensor,
    optimizer: torch.optim.Optimizer | None,
    x_sub: Tensor,
    *,
    scale: float,
    method: str = "idec",
    reset_momentum: bool = SETUP.reset_momentum,
    counts: Tensor | None = None,
    n_init: int = SETUP.kmeans_n_init,
    record: bool = True,
    generator: torch.Generator | None = None,
) -> BRBStepInfo:
    """Noise ablation (Appendix F.2, Eq. 18): recluster a noised embedding, keep the network.

    ``z + scale * ||z|| * eps / ||eps||`` (``resets.embedding_noise``), then
    k-means on it; the centroids become the new ones; the network is not
    changed. Other arguments as :func:`brb_step`.
    """
    _check_step_args(method, centroids, x_sub, 0.5)
    info = BRBStepInfo(n_subsample=int(x_sub.shape[0]))
    timer = _Timer(_model_device(model))
    _diagnose_before(model, centroids, x_sub, info, record)
    t0 = timer.now()
    z_clean = embed(model, x_sub)
    z = resets.embedding_noise(z_clean, scale, generator)
    t1 = timer.now()
    new, _ = _recluster(z, centroids.shape[0], "kmeans", centroids.detach(), n_init, generator)
    _set_centroids(centroids, new, counts)
    t2 = timer.now()
    _momentum_reset(method, optimizer, centroids, reset_momentum)
    t3 = timer.now()
    info.t_embed, info.t_cluster, info.t_momentum = t1 - t0, t2 - t1, t3 - t2
    _diagnose_after(model, centroids, x_sub, info, record, z_clean)
    return info


def disentangled_step(
    model: nn.Module,
    centroids: Tensor,
    optimizer: torch.optim.Optimizer | None,
    x_sub: Tensor,
    *,
    alpha: float = SETUP.alpha,
    method: str = "idec",
    reset_embedding: bool = SETUP.reset_embedding,
    reset_momentum: bool = SETUP.reset_momentum,
    counts: Tensor | None = None,
    n_init: int = SETUP.kmeans_n_init,
    record: bool = True,
    generator: torch.Generator | None = None,
) -> BRBStepInfo:
    """The "Disentangled" ablation (Algorithm 2, Appendix F.1).

    A *copy* of the model is soft-reset; k-means on the copy's embedding of
    ``x_sub`` gives new labels; the new centroids are the means of the
    *unchanged* model's embeddings under those labels (an empty cluster keeps
    its centroid). The model itself is not modified. Arguments as :func:`brb_step`.
    """
    _check_step_args(method, centroids, x_sub, alpha)
    info = BRBStepInfo(n_subsample=int(x_sub.shape[0]))
    timer = _Timer(_model_device(model))
    _diagnose_before(model, centroids, x_sub, info, record)
    t0 = timer.now()
    twin = copy.deepcopy(model)
    _apply_reset(twin, "soft", alpha, reset_embedding, generator)
    t1 = timer.now()
    z_twin = embed(twin, x_sub)
    z = embed(model, x_sub)
    t2 = timer.now()
    _, labels = _recluster(z_twin, centroids.shape[0], "kmeans", centroids.detach(), n_init, generator)
    k = centroids.shape[0]
    sums = torch.zeros(k, z.shape[1], dtype=z.dtype, device=z.device).index_add_(0, labels, z)
    n = torch.bincount(labels, minlength=k).to(z.dtype).unsqueeze(1)
    new = torch.where(n > 0, sums / n.clamp_min(1.0), centroids.detach().to(z.dtype))
    _set_centroids(centroids, new, counts)
    t3 = timer.now()
    _momentum_reset(method, optimizer, centroids, reset_momentum)
    t4 = timer.now()
    info.t_reset, info.t_embed, info.t_cluster, info.t_momentum = t1 - t0, t2 - t1, t3 - t2, t4 - t3
    _diagnose_after(model, centroids, x_sub, info, record, z)
    return info


# =============================================================================
# pretraining (cached, shared by every variant of a data set and seed)
# =============================================================================
def _check_training_args(epochs: int, lr: float, batch_size: int) -> None:
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if not (lr > 0):
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def _check(value: float, what: str, ctx: RunContext | None, epoch: int | None) -> float:
    return ctx.check_finite(value, what, epoch) if ctx is not None else check_finite(value, what, None, epoch)


def pretrain_autoencoder(
    model: nn.Module,
    x: Tensor,
    *,
    epochs: int = SETUP.pretrain_epochs,
    lr: float = SETUP.lr,
    batch_size: int = SETUP.batch_size,
    generator: torch.Generator | None = None,
    ctx: RunContext | None = None,
) -> list[float]:
    """Reconstruction pretraining (MSE, Adam, no augmentation; Table 5).

    Parameters
    ----------
    model : autoencoder, trained in place on ``x``'s device
    x : Tensor (N, ...) on the model's device
    epochs, lr, batch_size : Table 5 defaults 250, 1e-3, 256
    generator : CPU generator for the mini-batch order
    ctx : RunContext for progress and NaN checks (optional)

    Returns
    -------
    list of float: mean reconstruction MSE per epoch

    Raises
    ------
    NonFiniteLossError when the loss becomes NaN or infinite.
    """
    _check_training_args(epochs, lr, batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=SETUP.betas, weight_decay=SETUP.weight_decay)
    n = x.shape[0]
    losses: list[float] = []
    epochs_iter = range(epochs)
    if ctx is not None:
        epochs_iter = ctx.progress(epochs_iter, desc=f"pretraining {ctx.cfg.label()}")
    model.train()
    for epoch in epochs_iter:
        perm = torch.randperm(n, generator=generator).to(x.device)
        total = x.new_zeros(())
        for s in range(0, n, batch_size):
            xb = x[perm[s : s + batch_size]]
            loss = F.mse_loss(model(xb)[1], xb.reshape(xb.shape[0], -1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
        losses.append(_check(float(total) / n, "pretraining reconstruction loss", ctx, epoch))
    return losses


def pretrained_path(dataset_name: str, data: Dataset, seed: int, params: dict[str, Any]) -> Any:
    """Where :func:`pretrained_autoencoder` caches the network for these inputs.

    ``results/pretrained/<dataset>/<key>.pt`` with key = sha256 of the data set,
    split, subsample, seed, pretraining parameters and the code hash of this
    module, first 16 hex digits.
    """
    ident = {
        "dataset": str(dataset_name).lower(),
        "split": data.info.get("split"),
        "subsample": data.info.get("subsample"),
        "n": len(data),
        "seed": int(seed),
        "params": dict(sorted(params.items())),
        "code": cache.code_hash(__name__),
    }
    key = cache.sha256_text(cache.canonical_json(ident))[:16]
    return paths.results_root() / "pretrained" / str(dataset_name).lower() / f"{key}.pt"


def _new_model(data: Dataset, seed: int, device: Any) -> FeedForwardAutoencoder:
    """BRB's autoencoder with PyTorch's default init, seeded by ``seed`` (same init for all variants)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = brb_autoencoder(data.flat().shape[1], data.n_classes, batch_norm=SETUP.batch_norm)
    return model.to(device)


def pretrained_autoencoder(dataset_name: str, data: Dataset, seed: int, params: dict[str, Any],
                           device: Any, ctx: RunContext | None = None) -> FeedForwardAutoencoder:
    """The pretrained autoencoder for (data set, seed, params), trained once and cached.

    Parameters
    ----------
    dataset_name : name used in the cache path (e.g. ``"usps"``)
    data : the Dataset to pretrain on (its split / subsample enter the key)
    seed : seeds the initial weights and the mini-batch order
    params : ``{"epochs": int, "lr": float, "batch_size": int}``
    device : where the returned model lives
    ctx : RunContext for progress and NaN checks (optional)

    Returns
    -------
    FeedForwardAutoencoder on ``device``, with ``model.pretrain_info`` =
    ``{"from_cache": bool, "path": str, "losses": list[float]}``.

    A cache file that fails its checksum or cannot be loaded is quarantined
    (``cache.quarantine``) and the network is retrained.
    """
    unknown = set(params) - {"epochs", "lr", "batch_size"}
    if unknown:
        raise ValueError(f"unknown pretraining parameter(s) {sorted(unknown)}; use epochs, lr, batch_size")
    params = {"epochs": int(params.get("epochs", SETUP.pretrain_epochs)), "lr": float(params.get("lr", SETUP.lr)),
              "batch_size": int(params.get("batch_size", SETUP.batch_size))}
    path = pretrained_path(dataset_name, data, seed, params)
    with cache.file_lock(path):  # parallel workers train each network once
        return _load_or_pretrain(path, data, seed, params, device, ctx)


def _load_or_pretrain(path, data: Dataset, seed: int, params: dict[str, Any], device: Any,
                      ctx: RunContext | None) -> FeedForwardAutoencoder:
    model = _new_model(data, seed, device)
    if path.exists():
        try:
            state = cache.load_tensors(path, map_location=device)
            model.load_state_dict(state["model"])
            model.pretrain_info = {"from_cache": True, "path": str(path), "losses": state["losses"].tolist()}
            return model
        except (cache.CorruptCacheError, KeyError, RuntimeError) as err:
            cache.quarantine(path, f"pretrained network could not be loaded: {err}")
    x = data.flat().to(device)
    gen = torch.Generator().manual_seed(int(seed))
    losses = pretrain_autoencoder(model, x, epochs=params["epochs"], lr=params["lr"],
                                  batch_size=params["batch_size"], generator=gen, ctx=ctx)
    state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "losses": torch.tensor(losses, dtype=torch.float64)}
    cache.save_tensors(path, state)
    model.pretrain_info = {"from_cache": False, "path": str(path), "losses": losses}
    return model


# =============================================================================
# the clustering loop
# =============================================================================
def reset_epochs(cluster_epochs: int, reset_interval: int) -> list[int]:
    """Epochs (0-based) at whose start a BRB step runs: T, 2T, ... < cluster_epochs.

    The paper's 400 epochs with T = 20 give 20, 40, ..., 380 (19 steps).
    """
    if reset_interval < 1:
        raise ValueError(f"reset_interval must be >= 1 epoch, got {reset_interval}")
    return list(range(reset_interval, cluster_epochs, reset_interval))


@dataclass
class ClusteringResult:
    """Output of :func:`train_clustering`.

    history : one row per epoch, columns :data:`HISTORY_COLUMNS` (row 0: after
        the initial k-means; row e: after clustering epoch e)
    centroids : Tensor (K, D) at the end
    labels : np.ndarray (N,) final assignments
    steps : BRBStepInfo of every BRB step, in order
    ratio_step : index into ``steps`` whose d1/d2 were recorded (or None)
    """

    history: pd.DataFrame
    centroids: Tensor
    labels: np.ndarray
    steps: list[BRBStepInfo]
    ratio_step: int | None


def _silhouette(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of (b - a) / max(a, b), 0 where undefined.

    Computed here rather than with ``metrics.silhouette`` because, when many
    embeddings coincide (an untrained network), float error can make a(i)
    slightly negative with b(i) = 0, and that division gives +inf there.
    """
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, None)
    b = np.clip(b, 0.0, None)
    den = np.maximum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(den > 0, (b - a) / den, 0.0)
    return float(s.mean())


def _evaluate(model, x, y_np, centroids, prev_labels, metric_idx) -> tuple[dict[str, float], np.ndarray]:
    z = embed(model, x)
    labels = km.assign(z, centroids.detach().to(z.dtype)).cpu().numpy()
    scores = metrics.clustering_scores(y_np, labels)
    row = {"acc": scores["acc"], "nmi": scores["nmi"], "ari": scores["ari"]}
    row["cl_change"] = metrics.cluster_label_change(prev_labels, labels) if prev_labels is not None else math.nan
    zs = z[metric_idx] if metric_idx is not None else z
    ys = y_np[metric_idx.cpu().numpy()] if metric_idx is not None else y_np
    a, b = metrics.silhouette_components(zs, ys, metric="cosine")
    row.update(intra_cd=float(np.nanmean(a)), inter_cd=float(np.mean(b)), silhouette=_silhouette(a, b))
    lp = labels[metric_idx.cpu().numpy()] if metric_idx is not None else labels
    row["silhouette_pred"] = (_silhouette(*metrics.silhouette_components(zs, lp, metric="cosine"))
                              if 2 <= len(np.unique(lp)) <= len(lp) - 1 else math.nan)
    return row, labels


def _step_for_variant(variant: str, *, model, centroids, optimizer, x_sub, method, alpha, recluster,
                      reset_embedding, reset_momentum, counts, noise_scale, n_init, record, generator) -> BRBStepInfo:
    common = dict(method=method, counts=counts, n_init=n_init, record=record, generator=generator)
    if variant == "noise":
        return noise_step(model, centroids, optimizer, x_sub, scale=noise_scale,
                          reset_momentum=reset_momentum, **common)
    if variant == "disentangled":
        return disentangled_step(model, centroids, optimizer, x_sub, alpha=alpha, reset_embedding=reset_embedding,
                                 reset_momentum=reset_momentum, **common)
    reset = {"brb": "soft", "recluster": None, "reset": "soft", "perturb_only": "perturb", "gaussian": "gaussian"}[variant]
    how = None if variant == "reset" else recluster
    # The "Recluster" and "Reset" baselines reset no momentum (authors' configs).
    momentum = reset_momentum and variant not in ("recluster", "reset")
    return brb_step(model, centroids, optimizer, x_sub, alpha=alpha, reset=reset, recluster=how,
                    reset_embedding=reset_embedding, reset_momentum=momentum, **common)


def train_clustering(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    method: str = "idec",
    variant: str = "brb",
    cluster_epochs: int = SETUP.cluster_epochs,
    reset_interval: int = SETUP.reset_interval,
    alpha: float = SETUP.alpha,
    lr: float = SETUP.lr,
    batch_size: int = SETUP.batch_size,
    recluster_subsample: int = SETUP.recluster_subsample,
    recluster: str = "kmeans",
    reset_embedding: bool = SETUP.reset_embedding,
    reset_momentum: bool = SETUP.reset_momentum,
    augment: bool | Callable[[Tensor, torch.Generator], Tensor] = SETUP.cluster_augmentation,
    noise_scale: float = 0.5,
    n_init: int = SETUP.kmeans_n_init,
    metrics_subsample: int | None = METRICS_SUBSAMPLE,
    ratio_step: int | None = None,
    generator: torch.Generator | None = None,
    ctx: RunContext | None = None,
) -> ClusteringResult:
    """Train DEC / IDEC / DCN (with a BRB variant) on one on-device data tensor.

    Initial k-means (k-means++, ``n_init``) on every sample's embedding, then
    ``cluster_epochs`` epochs over random mini-batches: the first view is
    augmented (``random_affine`` with BRB's Table 5 parameters and ``fill`` as
    the background), the second stays clean (Eq. 14-17); gradient norms are
    clipped at 500; a BRB step (``variant``) runs at the start of epochs
    T, 2T, ... (:func:`reset_epochs`) on ``recluster_subsample`` clean samples
    drawn anew each time.

    Per epoch (on all samples): acc, nmi, ari, cl_change (percent vs the
    previous row); intra_cd / inter_cd / silhouette (ground truth) and
    silhouette_pred (predicted clusters), cosine, on a fixed random subset of
    ``metrics_subsample`` samples (all when None or N is smaller) for speed;
    mean reconstruction and cluster loss of the epoch's mini-batches; BRB
    component times; training seconds of the epoch (no metrics, no BRB).

    Parameters
    ----------
    model : autoencoder on the same device as ``x``
    x : Tensor (N, C, H, W) or (N, d), z-scored data on the device
    y : LongTensor (N,) ground truth (metrics only)
    method : {"dec", "idec", "dcn"}
    variant : one of :data:`VARIANTS` ("none" = no step every T epochs)
    ratio_step : which BRB step (0-based) records d1/d2 ratios; default the
        middle one
    generator : CPU torch.Generator driving every random draw of the loop
    ctx : RunContext for progress bars and NaN checks

    Raises
    ------
    NonFiniteLossError when a loss becomes NaN or infinite.
    """
    _check_choice("method", method, METHODS)
    _check_choice("variant", variant, VARIANTS)
    _check_choice("recluster", recluster, RECLUSTERS[:-1])
    _check_training_args(cluster_epochs, lr, batch_size)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")
    if x.dim() == 4:
        image_shape = tuple(x.shape[1:])
    elif x.dim() == 2 and int(math.isqrt(x.shape[1])) ** 2 == x.shape[1]:
        image_shape = (1, math.isqrt(x.shape[1]), math.isqrt(x.shape[1]))
    else:
        image_shape = None
    if augment is True:
        if image_shape is None:
            raise ValueError(f"augmentation needs images (N, C, H, W), got x of shape {tuple(x.shape)}; "
                             "pass augment=False")
        augment = _affine_augmenter(SETUP, 0.0, image_shape)
    augmenter = augment if callable(augment) else None
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    device = x.device
    timer = _Timer(device)
    n, k = x.shape[0], int(y.max().item()) + 1
    y_np = y.cpu().numpy()
    steps_at = reset_epochs(cluster_epochs, reset_interval) if variant != "none" else []
    if ratio_step is None and steps_at:
        ratio_step = (len(steps_at) - 1) // 2

    # initial clustering on all samples
    z_all = embed(model, x)
    init = km.kmeans(z_all, k, n_init=n_init, generator=generator)
    if method == "dcn":
        centroids = init.centroids.clone()
        counts = torch.ones(k, dtype=centroids.dtype, device=device)
        params = list(model.parameters())
    else:
        centroids = nn.Parameter(init.centroids.clone())
        counts = None
        params = [*model.parameters(), centroids]
    optimizer = torch.optim.Adam(params, lr=lr, betas=SETUP.betas, weight_decay=SETUP.weight_decay)

    metric_idx = None
    if metrics_subsample is not None and n > metrics_subsample:
        metric_idx = km.subsample_indices(n, metrics_subsample, torch.Generator().manual_seed(0), device=device)
    empty_times = BRBStepInfo().times()
    row, labels = _evaluate(model, x, y_np, centroids, None, metric_idx)
    rows = [{"epoch": 0, **row, "recon_loss": math.nan, "cluster_loss": math.nan, "brb": False,
             **empty_times, "epoch_seconds": 0.0}]
    steps: list[BRBStepInfo] = []

    epochs_iter = range(cluster_epochs)
    if ctx is not None:
        epochs_iter = ctx.progress(epochs_iter)
    for epoch in epochs_iter:
        times = empty_times
        if epoch in steps_at:
            idx = km.subsample_indices(n, recluster_subsample, generator, device=device)
            info = _step_for_variant(
                variant, model=model, centroids=centroids, optimizer=optimizer, x_sub=x[idx], method=method,
                alpha=alpha, recluster=recluster, reset_embedding=reset_embedding, reset_momentum=reset_momentum,
                counts=counts, noise_scale=noise_scale, n_init=n_init, record=len(steps) == ratio_step,
                generator=generator)
            steps.append(info)
            times = info.times()
        model.train()
        t0 = timer.now()
        perm = torch.randperm(n, generator=generator).to(device)
        rec_sum = x.new_zeros(())
        cl_sum = x.new_zeros(())
        for s in range(0, n, batch_size):
            xb = x[perm[s : s + batch_size]]
            xa = augmenter(xb, generator) if augmenter is not None else None
            total, recon, cluster, _ = clustering_loss(method, model, xb, centroids, xa)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            nn.utils.clip_grad_norm_(params, SETUP.grad_clip)
            optimizer.step()
            if method == "dcn":
                with torch.no_grad():
                    zb = model.encode(xb)
                    new_c, new_n = dcn_update_centroids(centroids, counts, zb, km.assign(zb, centroids))
                    centroids.copy_(new_c)
                    counts.copy_(new_n)
            rec_sum += recon.detach() * xb.shape[0]
            cl_sum += cluster.detach() * xb.shape[0]
        rec, cl = float(rec_sum) / n, float(cl_sum) / n
        epoch_seconds = timer.now() - t0
        _check(rec, "reconstruction loss", ctx, epoch + 1)
        _check(cl, "cluster loss", ctx, epoch + 1)
        row, labels_now = _evaluate(model, x, y_np, centroids, labels, metric_idx)
        labels = labels_now
        rows.append({"epoch": epoch + 1, **row, "recon_loss": rec if method != "dec" else math.nan,
                     "cluster_loss": cl, "brb": epoch in steps_at, **times, "epoch_seconds": epoch_seconds})
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return ClusteringResult(history, centroids.detach().clone(), labels, steps,
                            ratio_step if steps and ratio_step is not None and ratio_step < len(steps) else None)


# =============================================================================
# the registered run
# =============================================================================
def setup_for(dataset: str) -> BRBAutoencoderSetup:
    """BRB's hyperparameters for a data set: Table 6 for GTSRB, Table 5 for the grayscale ones."""
    return BRB_GTSRB if str(dataset).strip().lower().startswith("gtsrb") else BRB_GRAYSCALE


def _channel_stats(data: Dataset) -> tuple[Tensor, Tensor]:
    """Per-channel z-score mean and std of the data set, shape (1, C, 1, 1) each (0 and 1 when not z-scored)."""
    c = data.x.shape[1] if data.x.dim() == 4 else 1
    mean = data.info.get("channel_mean") or [0.0] * c
    std = data.info.get("channel_std") or [1.0] * c
    as_t = lambda v: torch.tensor(v, dtype=data.x.dtype, device=data.x.device).view(1, -1, 1, 1)  # noqa: E731
    return as_t(mean), as_t([s if s > 0 else 1.0 for s in std])


def _affine_augmenter(setup: BRBAutoencoderSetup, fill: Tensor | float, image_shape) -> Callable:
    a = setup.affine

    def augment(xb: Tensor, generator: torch.Generator) -> Tensor:
        return random_affine(xb, a.degrees, a.translate, a.shear, generator, fill=fill, image_shape=image_shape)

    return augment


def make_augmenter(data: Dataset, setup: BRBAutoencoderSetup | None = None) -> Callable[[Tensor, torch.Generator], Tensor]:
    """The batched augmentation of BRB's clustering phase for ``data`` (z-scored images on the device).

    Grayscale (Table 5): random affine (rotation ±16°, translation 0.1, shear
    ±8°) with the z-scored black background (``-mean / std``) moved in.
    GTSRB (Table 6): undo the z-score, apply :func:`dcutils.augment.color_augment`
    (RandomResizedCrop, ColorJitter, RandomGrayscale, flip, RandomSolarize) on
    [0, 1] images, z-score again.

    Returns
    -------
    callable ``(x_batch (B, C, H, W), generator) -> (B, C, H, W)``, one fresh
    transform per sample, no Python loop over samples.
    """
    setup = setup or setup_for(data.name)
    if data.x.dim() != 4:
        raise ValueError(f"augmentation needs images (N, C, H, W), got {tuple(data.x.shape)}")
    mean, std = _channel_stats(data)
    if setup.color is not None:
        col = setup.color

        def augment(xb: Tensor, generator: torch.Generator) -> Tensor:
            unit = (xb * std + mean).clamp(0.0, 1.0)
            out = color_augment(unit, size=col.crop_size, scale=col.crop_scale, brightness=col.jitter[0],
                                contrast=col.jitter[1], saturation=col.jitter[2], hue=col.jitter[3],
                                jitter_p=col.jitter_p, grayscale_p=col.grayscale_p, flip_p=col.hflip_p,
                                solarize_p=col.solarize_p, generator=generator)
            return (out - mean) / std

        return augment
    return _affine_augmenter(setup, (-mean / std).flatten(), tuple(data.x.shape[1:]))


@lru_cache(maxsize=4)
def _load(name: str, split: str, subsample: int | None, device: str) -> Dataset:
    """The run's data on its device, kept for the next runs of this process (training never writes to it)."""
    return load_dataset(name, split=split, subsample=subsample, seed=0, device=device)


@algorithm(
    "brb.dc",
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
)
def run_dc(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """DEC / IDEC / DCN with a BRB variant on one data set and seed (BRB Sections 5-6).

    Parameters (cfg): method (dec/idec/dcn), variant (:data:`VARIANTS`),
    pretrain, pretrain_epochs, pretrain_lr, cluster_epochs, reset_interval (T),
    alpha, lr, batch_size, split (all/train/test), subsample (None = all;
    drawn with seed 0, the same for every seed), recluster_subsample,
    recluster (:data:`RECLUSTERS`), reset_embedding, reset_momentum, augment,
    noise_scale (variant "noise", Eq. 18; the paper's value was lost in
    extraction, 0.5 is ours), kmeans_n_init, metrics_subsample.

    Returns history per epoch (:data:`HISTORY_COLUMNS`), final metrics (last
    row; ``brb_overhead`` = BRB seconds / training seconds, the paper's
    "increase in total runtime"), arrays ``ratio_before`` / ``ratio_after``
    (d1/d2 around the middle BRB step) and meta (substitutes, pretraining,
    timings).
    """
    dev = ctx.device
    gen = seed_everything(cfg.seed)
    data = _load(cfg.dataset, cfg["split"], cfg["subsample"], str(dev))
    pretrain = bool(cfg["pretrain"]) and cfg["pretrain_epochs"] > 0
    if pretrain:
        model = pretrained_autoencoder(
            cfg.dataset, data, cfg.seed,
            {"epochs": cfg["pretrain_epochs"], "lr": cfg["pretrain_lr"], "batch_size": cfg["batch_size"]}, dev, ctx)
        pre_info = {k: v for k, v in model.pretrain_info.items() if k != "path"}
    else:
        model = _new_model(data, cfg.seed, dev)
        pre_info = {"from_cache": False, "losses": []}
    result = train_clustering(
        model, data.x, data.y, method=cfg["method"], variant=cfg["variant"], cluster_epochs=cfg["cluster_epochs"],
        reset_interval=cfg["reset_interval"], alpha=cfg["alpha"], lr=cfg["lr"], batch_size=cfg["batch_size"],
        recluster_subsample=cfg["recluster_subsample"], recluster=cfg["recluster"],
        reset_embedding=cfg["reset_embedding"], reset_momentum=cfg["reset_momentum"],
        augment=make_augmenter(data) if cfg["augment"] else False, noise_scale=cfg["noise_scale"],
        n_init=cfg["kmeans_n_init"],
        metrics_subsample=cfg["metrics_subsample"], generator=gen, ctx=ctx)
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
        "split": data.info.get("split"),
        "n_samples": len(data),
        "substitute": data.info.get("substitute", False),
        "substitute_what": data.info.get("substitute_what"),
        "note": data.info.get("note"),
        "pretraining": pre_info,
        # 0-based epochs at whose start a step ran (= epochs trained before it; paper: 20, 40, ...)
        "brb_epochs": [int(e) - 1 for e in h.loc[h["brb"], "epoch"]],
        "metrics_subsample": cfg["metrics_subsample"],
    }
    if result.ratio_step is not None:
        step = result.steps[result.ratio_step]
        arrays = {"ratio_before": step.ratio_before.astype(np.float32),
                  "ratio_after": step.ratio_after.astype(np.float32)}
        meta["ratio_epoch"] = meta["brb_epochs"][result.ratio_step]
        meta["ratio_label_change"] = metrics.cluster_label_change(
            step.labels_before.cpu().numpy(), step.labels_after.cpu().numpy())
    return RunOutput(history=h, final=final, arrays=arrays, meta=meta)
