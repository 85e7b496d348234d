"""DEC, IDEC and DCN losses as BRB trains them (Appendix B.1 Eq. 3-7; Appendix E Eq. 14-17).

:func:`clustering_loss` gives one mini-batch's loss of DEC, IDEC or DCN with
Table 5's weights (:data:`LOSS_WEIGHTS`); its parts are
:func:`dec_cluster_loss` (Eq. 15-16, DEC's soft assignment and target from
:mod:`dcutils.dec`), :func:`reconstruction_loss` (Eq. 14), :func:`dcn_loss`
(Eq. 6 / 17) and DCN's running-mean centroid update :func:`dcn_update_centroids`
(Eq. 7). Everything runs on the device of its inputs.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils.dec import kl_loss as dec_loss
from dcutils.dec import soft_assignment as dec_soft_assignment
from dcutils.dec import target_distribution as dec_target_distribution
from dcutils.hparams import BRB_GRAYSCALE as SETUP

__all__ = [
    "METHODS", "LOSS_WEIGHTS", "dec_soft_assignment", "dec_target_distribution", "dec_loss", "dec_cluster_loss",
    "reconstruction_loss", "dcn_loss", "dcn_update_centroids", "clustering_loss", "check_choice",
]

METHODS = ("dec", "idec", "dcn")

#: (reconstruction weight, cluster weight) per method (Table 5; Appendix B.1).
LOSS_WEIGHTS: dict[str, tuple[float, float]] = {
    "dec": (0.0, 1.0),
    "idec": (SETUP.reconstruction_weight, SETUP.idec_cluster_weight),
    "dcn": (SETUP.reconstruction_weight, SETUP.dcn_cluster_weight),
}


def check_choice(name: str, value: Any, valid: tuple) -> None:
    """Raise ValueError naming the valid values when ``value`` is not one of them."""
    if value not in valid:
        raise ValueError(f"{name} must be one of {list(valid)}, got {value!r}")


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
    check_choice("method", method, METHODS)
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


