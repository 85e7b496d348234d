"""DEC's soft assignment and target distribution, shared by every paper's DEC / IDEC.

Xie et al. (2016), *Unsupervised Deep Embedding for Clustering Analysis*;
BRB Appendix B.1 Eq. 3-5; R-DC's DEC, IDEC and P1+P2+P3 baselines.

:func:`soft_assignment` (Eq. 3)
    ``q_ij ∝ (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha + 1) / 2)``, rows normalised.
:func:`target_distribution` (Eq. 4)
    ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')`` with ``f_j = sum_i q_ij``.
:func:`kl_loss` (Eq. 5)
    ``KL(P || Q)`` summed over clusters, averaged over samples.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["soft_assignment", "target_distribution", "kl_loss"]


def soft_assignment(z: Tensor, centroids: Tensor, alpha: float = 1.0) -> Tensor:
    """Student-t soft assignment q (Eq. 3), computed in log space for stability.

    Parameters
    ----------
    z : Tensor, shape (N, D)
    centroids : Tensor, shape (K, D)
    alpha : float, degrees of freedom of the Student-t kernel (DEC: 1)

    Returns
    -------
    q : Tensor, shape (N, K), rows sum to 1 (differentiable in z and centroids)
    """
    if z.dim() != 2 or centroids.dim() != 2 or z.shape[1] != centroids.shape[1]:
        raise ValueError(f"need z (N, D) and centroids (K, D), got {tuple(z.shape)} and {tuple(centroids.shape)}")
    if not alpha > 0:
        raise ValueError(f"alpha (degrees of freedom) must be positive, got {alpha}")
    d2 = (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(2)
    logits = -(alpha + 1.0) / 2.0 * torch.log1p(d2 / alpha)
    return torch.softmax(logits, dim=1)


def target_distribution(q: Tensor) -> Tensor:
    """DEC's target distribution p (Eq. 4), detached.

    Cluster frequencies ``f_j`` are summed over the rows given (a mini-batch
    in BRB, the whole data set in R-DC's baselines).

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


def kl_loss(q: Tensor, p: Tensor) -> Tensor:
    """KL(P || Q), summed over clusters, averaged over samples (Eq. 5).

    Parameters
    ----------
    q : Tensor, shape (N, K), the prediction (carries the gradient)
    p : Tensor, shape (N, K), the target
    """
    return F.kl_div(q.clamp_min(1e-12).log(), p, reduction="batchmean")
