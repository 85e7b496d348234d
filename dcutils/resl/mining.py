"""Nearest-neighbour mining for SCAN's clustering stage.

SCAN mines the k = 20 nearest neighbours of every image in the SimCLR feature space by cosine
similarity (inner product of L2-normalised features) and reports how often a neighbour shares the
anchor's true class. Here the search is exact and batched on the device of ``features`` (or
``device``); the point itself is excluded explicitly (SCAN drops the first hit of a k+1 search,
which breaks when two images have identical features).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["mine_neighbours", "neighbour_accuracy"]


@torch.no_grad()
def mine_neighbours(
    features: Tensor, k: int = 20, *, batch_size: int = 1024, device: torch.device | str | None = None
) -> Tensor:
    """Indices of the k most cosine-similar other points of every point.

    Parameters
    ----------
    features : Tensor, shape (N, D)
    k : int, default 20, at most N - 1
    batch_size : int, default 1024
        Rows of the (batch, N) similarity matrix computed at once.
    device : optional
        Where to compute (default: where ``features`` lie).

    Returns
    -------
    LongTensor, shape (N, k), on the CPU: row i holds the neighbours of i, most similar first,
    never i itself. Ties are broken by ``torch.topk``.
    """
    if features.dim() != 2:
        raise ValueError(f"expected features of shape (N, D), got {tuple(features.shape)}")
    n = features.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must lie in [1, N - 1] = [1, {n - 1}], got {k}")
    f = F.normalize(features.to(device if device is not None else features.device).float(), dim=1)
    out = torch.empty(n, k, dtype=torch.long)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        sim = f[start:stop] @ f.T
        rows = torch.arange(stop - start, device=f.device)
        sim[rows, rows + start] = float("-inf")
        out[start:stop] = sim.topk(k, dim=1).indices.cpu()
    return out


def neighbour_accuracy(indices: Tensor, labels: Tensor) -> float:
    """Share of (anchor, neighbour) pairs with the same true label (SCAN's mining accuracy).

    Parameters
    ----------
    indices : LongTensor (N, k), from :func:`mine_neighbours`
    labels : Tensor (N,), integer classes

    Returns
    -------
    float in [0, 1]: ``mean_{i, j} [labels[indices[i, j]] == labels[i]]``.
    """
    labels = torch.as_tensor(labels).cpu()
    indices = torch.as_tensor(indices).cpu()
    return float((labels[indices] == labels[:, None]).float().mean())
