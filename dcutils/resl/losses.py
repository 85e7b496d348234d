"""The three losses of SCAN's pipeline that ReSL builds on: SimCLR's NT-Xent, SCAN's loss, self-labeling.

All three compute in float32 (inputs are cast), so they can sit inside a bf16 autocast region.

- :func:`nt_xent` (SimCLR pretext, temperature 0.1 in SCAN)::

      l_i = -log( exp(s(z_i, z_i+) / t) / sum_{k != i} exp(s(z_i, z_k) / t) ),  s = cosine

  over the 2N views of N images, averaged over all 2N anchors.
- :func:`scan_loss` (SCAN clustering stage, Eq. 2 of SCAN)::

      L = -1/|D| sum_x sum_{k in N_x} log <p(x), p(k)>  -  lambda * H(mean_x p(x)),   lambda = 5

- :func:`self_label_loss` (ReSL Section 2, L_SL; SCAN's ``ConfidenceBasedCE``)::

      S_tau = {i : max_c q_i,c > tau}                q_i = softmax(logits_weak_i), no gradient
      L_SL  = sum_{i in S_tau} w_{y_i} CE(logits_strong_i, y_i) / sum_{i in S_tau} w_{y_i}
      w_c   = |S_tau| / #{i in S_tau : y_i = c}      (class balancing; w = 1 without it)

  The paper writes ``>= tau``; SCAN's code, which ReSL runs, uses ``> tau`` and so do we: a
  probability exactly at the threshold is not confident.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["nt_xent", "scan_loss", "entropy", "self_label_loss"]

#: SCAN's floor on probabilities inside logarithms.
EPS = 1e-8


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.1, *, normalize: bool = True) -> Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy (NT-Xent).

    Parameters
    ----------
    z1, z2 : Tensor, shape (N, D)
        Projections of two augmented views of the same N images (row i of z1 and z2 is a pair).
    temperature : float, default 0.1 (SCAN's SimCLR setting)
    normalize : bool, default True
        L2-normalise the rows first (cosine similarity); :class:`ContrastiveModel` already does.

    Returns
    -------
    Tensor, scalar: mean over the 2N anchors of -log softmax_{k != i}(s_ik / t)[positive].
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"expected two (N, D) tensors of equal shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = z1.shape[0]
    z = torch.cat([z1, z2]).float()
    if normalize:
        z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, positives)


def entropy(p: Tensor) -> Tensor:
    """H(p) = -sum_c p_c log p_c of a probability vector (C,), with p floored at :data:`EPS` as in SCAN."""
    p = p.clamp_min(EPS)
    return -(p * p.log()).sum(dim=-1)


def scan_loss(
    anchor_logits: Tensor, neighbour_logits: Tensor, entropy_weight: float = 5.0
) -> tuple[Tensor, Tensor, Tensor]:
    """SCAN's clustering loss on anchors and one mined neighbour each.

    Parameters
    ----------
    anchor_logits, neighbour_logits : Tensor, shape (N, C)
        Logits of N anchors and of one of their nearest neighbours (row i pairs with row i).
    entropy_weight : float, default 5.0 (SCAN's lambda)

    Returns
    -------
    total : Tensor, scalar, ``consistency - entropy_weight * entropy``
    consistency : Tensor, scalar, ``-mean_i log <p(x_i), p(n_i)>`` (SCAN: BCE against ones)
    entropy : Tensor, scalar, ``H(mean_i p(x_i))`` of the anchors' mean prediction
    """
    if anchor_logits.shape != neighbour_logits.shape or anchor_logits.dim() != 2:
        raise ValueError(f"expected two (N, C) logit tensors, got {tuple(anchor_logits.shape)} "
                         f"and {tuple(neighbour_logits.shape)}")
    p_a = F.softmax(anchor_logits.float(), dim=1)
    p_n = F.softmax(neighbour_logits.float(), dim=1)
    similarity = (p_a * p_n).sum(dim=1)
    consistency = -similarity.clamp_min(EPS).log().mean()
    ent = entropy(p_a.mean(dim=0))
    return consistency - entropy_weight * ent, consistency, ent


def self_label_loss(
    logits_weak: Tensor, logits_strong: Tensor, threshold: float = 0.99, balance: bool = True
) -> tuple[Tensor | None, int]:
    """Confidence-based cross-entropy of self-labeling (SCAN's ``ConfidenceBasedCE``).

    Parameters
    ----------
    logits_weak : Tensor, shape (N, C)
        Logits of the un-augmented (weak) view; they give the pseudo-labels and are detached here.
    logits_strong : Tensor, shape (N, C)
        Logits of the strongly augmented view of the same images; the loss is taken on them.
    threshold : float, default 0.99
        tau; a sample is confident when ``max_c softmax(logits_weak)_c > tau`` (strictly).
    balance : bool, default True
        Weight class c by ``w_c = |S| / n_c`` (inverse frequency among the confident targets),
        normalised by torch's weighted mean: ``sum_i w_{y_i} l_i / sum_i w_{y_i}``.

    Returns
    -------
    loss : Tensor (scalar) or None
        None when no sample of the batch is confident: skip the batch.
    n_confident : int, |S_tau| of the batch
    """
    if logits_weak.shape != logits_strong.shape or logits_weak.dim() != 2:
        raise ValueError(f"expected two (N, C) logit tensors, got {tuple(logits_weak.shape)} "
                         f"and {tuple(logits_strong.shape)}")
    with torch.no_grad():
        probs = F.softmax(logits_weak.detach().float(), dim=1)
        max_prob, target = probs.max(dim=1)
        mask = max_prob > threshold
    n = int(mask.sum())
    if n == 0:
        return None, 0
    target = target[mask]
    weight = None
    if balance:
        classes, counts = torch.unique(target, return_counts=True)
        weight = torch.ones(logits_strong.shape[1], dtype=torch.float32, device=logits_strong.device)
        weight[classes] = n / counts.float()
    return F.cross_entropy(logits_strong[mask].float(), target, weight=weight), n
