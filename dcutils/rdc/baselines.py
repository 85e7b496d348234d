"""The clustering phases R-DC compares against, on its shared pretrained autoencoder: DEC, IDEC and DynAE.

:func:`train_dec`
    DEC (Xie et al. 2016; ``recon_weight=0``) or IDEC (Guo et al. 2017;
    ``recon_weight=1``, ``cluster_weight=0.1``): KL(P || Q) with the Student-t
    soft assignment and target distribution of :mod:`dcutils.dec`, P
    recomputed on the whole data every ``refresh_every`` mini-batches.
:func:`dynae_targets`, :func:`dynae_loss`, :func:`train_dynae`
    DynAE's dynamic loss (Mrabah et al. 2020): decoded k-means centroids as
    targets for confident samples, reconstruction for the rest, and the
    latent pull of confident codes.

VaDE has its own module (:mod:`dcutils.rdc.vade`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import models
from dcutils.core import check_finite
from dcutils.dec import kl_loss, soft_assignment, target_distribution
from dcutils.rdc import inputs
from dcutils.rdc.evaluation import PHASE_DEC, PHASE_DYNAE, EpochLogger

__all__ = ["dynae_targets", "dynae_loss", "train_dec", "train_dynae"]


# ----------------------------------------------------------------------------
# DynAE's dynamic loss (Mrabah et al. 2020)


@torch.no_grad()
def dynae_targets(model: nn.Module, x: Tensor, centroids: Tensor, labels: Tensor, confident: Tensor) -> Tensor:
    """Decoder targets of DynAE: the decoded centroid ``g(mu_{c_i})`` for confident samples, ``x_i`` otherwise.

    Parameters
    ----------
    x : Tensor, shape (N, ...)
    centroids : Tensor, shape (K, k_latent)
    labels : LongTensor, shape (N,)
        Cluster of each sample.
    confident : BoolTensor, shape (N,)

    Returns
    -------
    Tensor, shape (N, d), detached.
    """
    n = x.shape[0]
    flat = x.reshape(n, -1)
    decoded = model.decode(centroids[labels]).reshape(n, -1).to(flat.dtype)
    return torch.where(confident.reshape(n, 1), decoded, flat)


def dynae_loss(model: nn.Module, x: Tensor, centroids: Tensor, labels: Tensor, confident: Tensor,
               *, x_input: Tensor | None = None, lam: float = 1.0) -> tuple[Tensor, dict[str, float]]:
    """DynAE's loss on a mini-batch: construction toward :func:`dynae_targets` plus the latent
    pull of confident codes toward their centroid, weighted by ``lam``.

    Returns
    -------
    loss (scalar Tensor), parts (``construction``, ``pull`` as 0-d detached tensors).
    """
    target = dynae_targets(model, x, centroids, labels, confident)
    z = model.encode(x if x_input is None else x_input)
    x_hat = model.decode(z)
    construction = (x_hat - target).pow(2).mean()
    pull = ((z - centroids[labels].detach()).pow(2).mean(dim=1) * confident.to(z.dtype)).mean()
    return construction + lam * pull, {"construction": construction.detach(), "pull": pull.detach()}


# ----------------------------------------------------------------------------
# clustering loops


def train_dec(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int, lr: float,
              recon_weight: float, cluster_weight: float, refresh_every: int, tol: float, use_augment: bool,
              generator: torch.Generator, log: EpochLogger | Callable, phase: str = PHASE_DEC,
              progress: Callable = lambda it: it) -> dict[str, Any]:
    """DEC (``recon_weight=0``) or IDEC (``recon_weight=1, cluster_weight=0.1``).

    The target distribution P is recomputed on the whole data every
    ``refresh_every`` mini-batches; training stops when fewer than ``tol`` of
    the labels changed between two refreshes (DEC's rule) or after ``epochs``.

    Returns
    -------
    dict with ``iterations``, ``stopped``, ``labels`` (final, LongTensor (N,)).
    """
    mu = nn.Parameter(centroids.detach().clone())
    opt = torch.optim.Adam([*model.parameters(), mu], lr=lr)

    @torch.no_grad()
    def assign() -> tuple[Tensor, Tensor]:
        q = soft_assignment(models.embed(model, x), mu)
        return target_distribution(q), q.argmax(dim=1)

    p, labels = assign()
    step, stopped = 0, "max epochs"
    log(model, phase, 0, 0, math.nan, labels=labels)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                p, new = assign()
                changed = float((new != labels).float().mean())
                labels = new
                if changed < tol:
                    stopped = "label change < tol"
                    break
            xb = x[idx]
            model.train()
            z = model.encode(inputs.augment(xb, use_augment, generator))
            q = soft_assignment(z, mu)
            loss = cluster_weight * kl_loss(q, p[idx])
            if recon_weight > 0:
                loss = loss + recon_weight * F.mse_loss(model.decode(z), xb.reshape(xb.shape[0], -1))
            value = check_finite(loss.detach(), f"{phase} loss", epoch=epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        _, labels_now = assign()
        log(model, phase, epoch, step, total / max(count, 1), labels=labels_now,
            last=epoch == epochs or stopped != "max epochs")
        if stopped != "max epochs":
            break
    _, labels = assign()
    return {"iterations": step, "stopped": stopped, "labels": labels}


def train_dynae(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int, lr: float,
                threshold: float, lam: float, refresh_every: int, use_augment: bool, generator: torch.Generator,
                log: EpochLogger | Callable, progress: Callable = lambda it: it) -> dict[str, Any]:
    """DynAE's clustering phase: decoded-centroid construction for confident samples.

    At every refresh the centroids are updated by one k-means run started
    from the current ones, and the confident set is recomputed: samples whose
    two largest soft assignments differ by at least ``threshold``.

    Returns
    -------
    dict with ``iterations``, ``stopped`` and ``labels`` (LongTensor (N,)).
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    mu = centroids.detach().clone()

    @torch.no_grad()
    def refresh(mu: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z = models.embed(model, x)
        mu = km.kmeans(z, mu.shape[0], init=mu, max_iter=20).centroids
        q = soft_assignment(z, mu)
        top = q.topk(2, dim=1).values
        return mu, q.argmax(dim=1), (top[:, 0] - top[:, 1]) >= threshold

    mu, labels, confident = refresh(mu)
    step = 0
    log(model, PHASE_DYNAE, 0, 0, math.nan, labels=labels, confident_share=float(confident.float().mean()))
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                mu, labels, confident = refresh(mu)
            xb = x[idx]
            model.train()
            loss, _ = dynae_loss(model, xb, mu, labels[idx], confident[idx],
                                 x_input=inputs.augment(xb, use_augment, generator), lam=lam)
            value = check_finite(loss.detach(), "DynAE loss", epoch=epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        mu, labels, confident = refresh(mu)
        log(model, PHASE_DYNAE, epoch, step, total / max(count, 1), labels=labels,
            confident_share=float(confident.float().mean()), last=epoch == epochs)
    return {"iterations": step, "stopped": "max epochs", "labels": labels}
