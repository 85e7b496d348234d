"""DEC, IDEC and DCN losses as BRB trains them (Appendix B.1 Eq. 3-7; Appendix E Eq. 14-17).

:func:`clustering_loss` gives one mini-batch's loss of DEC, IDEC or DCN with
Table 5's weights (:data:`LOSS_WEIGHTS`); its parts are
:func:`dec_cluster_loss` (Eq. 15-16, DEC's soft assignment and target from
:mod:`dcutils.dec`), :func:`reconstruction_loss` (Eq. 14) and :func:`dcn_loss`
(Eq. 6 / 17). DCN's centroids move with :func:`dcn_centroid_pass` (the
authors' code: once per epoch) or :func:`dcn_update_centroids` (Eq. 7 after
every step). Everything runs on the device of its inputs.

DCN as the authors' code computes it (the paper only cites DCN)
----------------------------------------------------------------
* Loss normalisation (``dcn_loss_mean``): ``"entries"`` (default) is the mean
  over all N x K entries of squared distance x one-hot assignment
  (``src/deep/dcn_module.py``, ``_BRB_DCN_Module.dcn_loss``:
  ``(dist * assignment_matrix).mean()``), so Table 5's weight 0.025 acts per
  sample as 0.025 / K. ``"samples"`` = the mean over samples (Eq. 6 read
  literally; the earlier default).
* Centroid update (``dcn_centroids`` of :func:`dcutils.brb.train_clustering`):
  ``"epoch_pass"`` (default) = :func:`dcn_centroid_pass`: after each epoch's
  network updates, an eval-mode pass over the clean data (same batch size, a
  fresh shuffle, last partial batch dropped: it iterates the training loader)
  assigns each mini-batch to the nearest centroid and moves every centroid
  with members toward its mini-batch mean at the fixed rate 1/101
  (``dcn_module.py``, ``_BRB_DCN_Module.fit`` after the "Update Network"
  loop; ``update_centroids`` -> ``_compute_centroids_mb``: counts start at
  100 and, because ``reinit_lost_clusters=False`` lands in the positional
  slot ``center_lr``, ``center_lr = 0`` keeps them at 100, so
  ``per_center_lr = 1 / (100 + 1)`` and ``c <- (1 - 1/101) c + 1/101 *
  batch_mean``: once per cluster and mini-batch, not per sample).
  ``"eq7"`` = :func:`dcn_update_centroids` after every optimizer step with
  running counts restarting at 1 (the paper's Eq. 7; the earlier default).
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
    "reconstruction_loss", "dcn_loss", "dcn_update_centroids", "dcn_minibatch_update", "dcn_centroid_pass",
    "clustering_loss", "VIEW_PASSES", "check_choice",
    "DCN_LOSS_MEANS", "DCN_CENTROIDS", "DCN_CENTROID_RATE", "has_batch_norm",
]

METHODS = ("dec", "idec", "dcn")

#: ``dcn_loss_mean`` values: the authors' mean over N x K entries, or the mean over samples.
DCN_LOSS_MEANS = ("entries", "samples")

#: ``dcn_centroids`` values: the authors' per-epoch pass at rate 1/101, or Eq. 7 after every step.
DCN_CENTROIDS = ("epoch_pass", "eq7")

#: Rate of the authors' mini-batch centroid update: 1 / (count + 1) with the count fixed at 100
#: (``dcn_module.py``, ``_compute_centroids_mb`` as ``update_centroids`` calls it).
DCN_CENTROID_RATE = 1.0 / 101.0

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


def dcn_loss(z: Tensor, centroids: Tensor, labels: Tensor, z_aug: Tensor | None = None, *,
             dcn_loss_mean: str = "entries") -> Tensor:
    """DCN cluster loss (Eq. 6; with a second view Eq. 17).

    ``sum_i ||z_i - mu_{s(i)}||^2`` divided by N * K (``dcn_loss_mean="entries"``,
    the authors' ``(dist * one_hot).mean()`` in ``dcn_module.py``,
    ``_BRB_DCN_Module.dcn_loss``) or by N (``"samples"``). ``labels`` s(i)
    come from the clean view, so the augmented view is pulled to the clean
    view's centroid; with ``z_aug`` the two views' losses are averaged
    (``_BRB_DCN_Module.cluster_loss``).

    Parameters
    ----------
    z, z_aug : Tensor, shape (N, D)
    centroids : Tensor, shape (K, D) (no gradient needed)
    labels : LongTensor, shape (N,)
    dcn_loss_mean : {"entries", "samples"}
    """
    check_choice("dcn_loss_mean", dcn_loss_mean, DCN_LOSS_MEANS)
    target = centroids[labels]
    k = centroids.shape[0] if dcn_loss_mean == "entries" else 1  # N x K entries, K - 1 of each row zero
    loss = (z - target).pow(2).sum(1).mean() / k
    if z_aug is not None:
        loss = 0.5 * (loss + (z_aug - target).pow(2).sum(1).mean() / k)
    return loss


@torch.no_grad()
def dcn_update_centroids(centroids: Tensor, counts: Tensor, z: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """DCN's running-mean centroid update (Eq. 7), for a whole mini-batch at once (``dcn_centroids="eq7"``).

    Not what the authors' code runs (that is :func:`dcn_centroid_pass`); kept
    as the option that follows Eq. 7 after every optimizer step.

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


@torch.no_grad()
def dcn_minibatch_update(centroids: Tensor, z: Tensor, labels: Tensor, rate: float = DCN_CENTROID_RATE) -> Tensor:
    """The authors' mini-batch centroid step: ``mu_j <- (1 - rate) mu_j + rate * mean_{i in j} z_i``.

    Only clusters with members in the batch move; one step per cluster and
    batch, whatever its number of members (``dcn_module.py``,
    ``_compute_centroids_mb`` with ``center_lr = 0``: rate = 1 / (100 + 1)).

    Parameters
    ----------
    centroids : Tensor (K, D)
    z : Tensor (B, D)
    labels : LongTensor (B,), values in 0..K-1

    Returns
    -------
    Tensor (K, D), the new centroids (``centroids`` is not modified)
    """
    k = centroids.shape[0]
    sums = torch.zeros_like(centroids).index_add_(0, labels, z.to(centroids.dtype))
    m = torch.bincount(labels, minlength=k).to(centroids.dtype).unsqueeze(1)
    moved = (1.0 - rate) * centroids + rate * (sums / m.clamp_min(1.0))
    return torch.where(m > 0, moved, centroids)


@torch.no_grad()
def dcn_centroid_pass(model: nn.Module, x: Tensor, centroids: Tensor, *, batch_size: int,
                      generator: torch.Generator | None = None, drop_last: bool = True,
                      rate: float = DCN_CENTROID_RATE) -> Tensor:
    """DCN's per-epoch centroid pass as in the authors' code, in place on ``centroids``.

    After an epoch's network updates (``dcn_module.py``, ``_BRB_DCN_Module.fit``,
    "Update Assignments and Centroids"): the model in eval mode, the clean
    data in a fresh random order (``torch.randperm(N, generator)``) cut into
    mini-batches of ``batch_size``, the last partial one dropped when
    ``drop_last`` (the authors iterate the training loader, ``drop_last=True``);
    each mini-batch is embedded, assigned to the nearest *current* centroid and
    moved with :func:`dcn_minibatch_update` before the next one. The model's
    train/eval mode is restored.

    Parameters
    ----------
    model : autoencoder with ``encode``
    x : Tensor (N, ...) clean data on the model's device
    centroids : Tensor (K, D), updated in place
    batch_size : mini-batch size (BRB: 256)
    generator : CPU generator for the order
    drop_last : skip the last ``N % batch_size`` samples of the order
    rate : the step toward each mini-batch mean (1/101)

    Returns
    -------
    ``centroids``
    """
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator).to(x.device)
    stop = n - n % batch_size if drop_last else n
    was_training = model.training
    model.eval()
    try:
        for s in range(0, stop, batch_size):
            z = model.encode(x[perm[s : s + batch_size]])
            c = centroids.detach()
            centroids.copy_(dcn_minibatch_update(c, z, km.assign(z, c.to(z.dtype)), rate))
    finally:
        model.train(was_training)
    return centroids


def has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` holds a BatchNorm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


#: ``view_passes`` of :func:`clustering_loss`: how the two views go through a BatchNorm network.
VIEW_PASSES = ("authors", "joint")


def _encode_views(method: str, model: nn.Module, x: Tensor, x_aug: Tensor | None, view_passes: str
                  ) -> tuple[Tensor, Tensor | None]:
    """Embeddings of the clean and the augmented view, passed through the network as ``view_passes`` says."""
    if x_aug is None or not has_batch_norm(model):
        return model.encode(x), (model.encode(x_aug) if x_aug is not None else None)
    if view_passes == "authors" and method == "dec":
        # dec_module.py ``_loss`` without reconstruction: one no-grad pass over both views (it updates the
        # running statistics; the decoder's are never used by DEC), then each view alone, augmented first.
        with torch.no_grad():
            model.encode(torch.cat([x_aug, x]))
        z_aug = model.encode(x_aug)
        return model.encode(x), z_aug
    z_aug, z = model.encode(torch.cat([x_aug, x])).split([x_aug.shape[0], x.shape[0]])
    return z, z_aug


def clustering_loss(method: str, model: nn.Module, x: Tensor, centroids: Tensor,
                    x_aug: Tensor | None = None, *,
                    dcn_loss_mean: str = "entries", view_passes: str = "authors"
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One mini-batch's loss of DEC, IDEC or DCN, weighted as in Table 5.

    ``total = w_rec * L_rec + w_cl * L_cluster`` with (w_rec, w_cl) from
    :data:`LOSS_WEIGHTS`: DEC (0, 1), IDEC (1, 0.1), DCN (1, 0.025); DCN's
    cluster loss is normalised by ``dcn_loss_mean`` (:func:`dcn_loss`; default
    the authors' mean over N x K entries).

    How the two views pass a network with BatchNorm (``view_passes``; without
    BatchNorm every choice gives the same numbers):

    * ``"authors"`` (the authors' code): IDEC and DCN encode and decode both
      views as one batch (``_abstract_autoencoder.py``,
      ``reconstruction_loss`` concatenates them, augmented first), so the
      batch statistics cover both; DEC, which has no reconstruction term,
      first runs one no-grad pass over both views (``dec_module.py``,
      ``_loss``: ``autoencoder.loss`` under ``inference_mode``, which still
      updates the running statistics in train mode), then encodes the
      augmented and the clean view in two separate passes, each normalised
      by its own statistics: three running-statistics updates per batch.
    * ``"joint"``: every method encodes (and decodes) both views as one batch.

    Parameters
    ----------
    method : {"dec", "idec", "dcn"}
    model : autoencoder with ``encode`` / ``decode``
    x : Tensor, shape (N, ...) clean view
    centroids : Tensor, shape (K, D)
    x_aug : Tensor, same shape as x, optional augmented view
    dcn_loss_mean : {"entries", "samples"}, DCN only (see :func:`dcn_loss`)
    view_passes : {"authors", "joint"}, see above

    Returns
    -------
    total, recon, cluster : scalar Tensors (recon is 0 for DEC)
    labels : LongTensor (N,), the clean view's assignment (nearest centroid)
    """
    check_choice("method", method, METHODS)
    check_choice("dcn_loss_mean", dcn_loss_mean, DCN_LOSS_MEANS)
    check_choice("view_passes", view_passes, VIEW_PASSES)
    w_rec, w_cl = LOSS_WEIGHTS[method]
    z, z_aug = _encode_views(method, model, x, x_aug, view_passes)
    if w_rec > 0:
        if z_aug is not None and has_batch_norm(model):
            # decoded as one batch too; the mean over both views equals the average of the two MSEs
            x_hat_aug, x_hat = model.decode(torch.cat([z_aug, z])).split([z_aug.shape[0], z.shape[0]])
        else:
            x_hat, x_hat_aug = model.decode(z), (model.decode(z_aug) if z_aug is not None else None)
        recon = reconstruction_loss(x, x_hat, x_aug, x_hat_aug)
    else:
        recon = z.new_zeros(())
    labels = km.assign(z.detach(), centroids.detach())
    if method == "dcn":
        cluster = dcn_loss(z, centroids.detach(), labels, z_aug, dcn_loss_mean=dcn_loss_mean)
    else:
        cluster = dec_cluster_loss(z, centroids, z_aug)
    return w_rec * recon + w_cl * cluster, recon, cluster, labels
