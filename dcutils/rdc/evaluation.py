"""How R-DC's loops are scored while they train: history rows, ACC/F1, ID/LID, neighbour purity, timing.

:class:`EpochLogger`
    The per-epoch logger every clustering phase shares (phase 2, DEC/IDEC,
    DynAE, VaDE): scores, geometry, neighbour purity and training seconds
    with evaluation excluded (:class:`dcutils.timing.Stopwatch`).
Geometry
    :func:`geometry_index` (the fixed rows, seed ``1234 + seed``) and
    :func:`geometry` (TwoNN ID and PCA LID at 90 % variance, Figures 1/15).
Scores
    :func:`scores` (ACC, F1 macro / micro), :func:`kmeans_fit` (k-means with
    a seed), :func:`purity` (neighbour purity of core points, Figure 14).
Results
    :func:`phase_seconds` (training time per phase from history rows) and
    :func:`pca_2d` (Figures 18/19).

Phase labels of the history rows: :data:`PHASE_PRETRAIN` (``"P1"``),
:data:`PHASE_PROXIMITY` (``"P2"``), :data:`PHASE_DEC` (``"P3"``),
:data:`PHASE_IDEC`, :data:`PHASE_DYNAE`, :data:`PHASE_VADE`; the columns of
``rdc.method``'s history: :data:`HISTORY_COLUMNS`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import metrics, models
from dcutils.rdc import proximity
from dcutils.timing import Stopwatch

__all__ = [
    "HISTORY_COLUMNS", "PHASE_PRETRAIN", "PHASE_PROXIMITY", "PHASE_DEC", "PHASE_IDEC", "PHASE_DYNAE", "PHASE_VADE",
    "geometry_index", "geometry", "scores", "kmeans_fit", "purity", "EpochLogger", "phase_seconds", "pca_2d",
]

#: Columns of ``rdc.method``'s history (one row per logged epoch; NaN where a
#: column does not apply, e.g. ``core_ratio`` outside R-DC's phase 2).
HISTORY_COLUMNS = (
    "phase", "epoch", "iteration", "global_iteration", "loss",
    "acc", "f1_macro", "f1_micro", "id", "lid",
    "core_ratio", "purity_initial", "purity_filtered", "confident_share", "train_seconds",
)

PHASE_PRETRAIN, PHASE_PROXIMITY, PHASE_DEC, PHASE_IDEC, PHASE_DYNAE = "P1", "P2", "P3", "IDEC", "DynAE"
PHASE_VADE = "VaDE"


def geometry_index(n: int, size: int, seed: int) -> Tensor:
    """The rows on which ID / LID are logged: the first ``size`` of a permutation drawn with seed ``1234 + seed``."""
    g = torch.Generator().manual_seed(1234 + int(seed))
    return torch.randperm(n, generator=g)[: min(size, n)]


def geometry(z: Tensor, index: Tensor) -> dict[str, float]:
    """TwoNN ID and PCA LID (90 % variance) of the fixed subsample ``z[index]``."""
    sub = z[index.to(z.device)]
    try:
        id_ = metrics.twonn_id(sub)
    except ValueError:
        id_ = math.nan
    return {"id": float(id_), "lid": float(metrics.pca_lid(sub))}


def scores(y: Tensor, labels: Tensor) -> dict[str, float]:
    """ACC, F1 macro and F1 micro of ``labels`` against the true classes ``y``."""
    return {
        "acc": metrics.cluster_acc(y, labels),
        "f1_macro": metrics.f1_macro(y, labels),
        "f1_micro": metrics.f1_micro(y, labels),
    }


def kmeans_fit(z: Tensor, k: int, n_init: int, seed: int) -> km.KMeansResult:
    """k-means on the codes with ``n_init`` starts drawn from ``seed``."""
    return km.kmeans(z, k, n_init=n_init, generator=int(seed))


def purity(z: Tensor, y: Tensor, m: int, beta: float, gamma: float) -> dict[str, float]:
    """Neighbour purity of core points before / after the reliability filter (Fig. 14)."""
    t = proximity.compute_targets(z, m, beta, gamma)
    p = proximity.neighbour_purity(t.idx, t.reliable, y, core=t.core)
    return {"purity_initial": p["initial"], "purity_filtered": p["filtered"], "core_ratio_eval": t.core_ratio}


class EpochLogger:
    """Per-epoch evaluation shared by the loops: ACC/F1, ID/LID, neighbour purity, training time.

    Called by a loop with ``iteration=0`` at the start of its phase (which
    restarts the phase's training clock) and after every epoch; ``every``
    keeps only every ``every``-th epoch and the one passed ``last=True``.
    The time spent here is not counted in ``train_seconds``. Rows without
    the method's own labels are scored by k-means with the run's ``seed`` and
    ``kmeans_n_init``, the same k-means that gives ``acc_pretrained`` and
    R-DC's final clusters, so one embedding always gets one ACC (k-means on
    the same codes with another seed can differ by several points).
    """

    def __init__(self, x: Tensor, y: Tensor, n_clusters: int, geometry_index: Tensor, m: int, beta: float,
                 gamma: float, kmeans_n_init: int, start_iteration: int, every: int = 1, seed: int = 0):
        self.x, self.y, self.k = x, y, n_clusters
        self.geometry_index, self.m, self.beta, self.gamma = geometry_index, m, beta, gamma
        self.kmeans_n_init, self.start, self.every = kmeans_n_init, start_iteration, max(int(every), 1)
        self.seed = int(seed)
        self.rows: list[dict[str, Any]] = []
        self.clock = Stopwatch(x.device)

    def __call__(self, model: nn.Module, phase: str, epoch: int, iteration: int, loss: float,
                 labels: Tensor | None = None, last: bool = False, **extra: float) -> dict[str, Any] | None:
        if iteration == 0:
            self.clock.reset()
        seconds = self.clock.seconds()
        if epoch % self.every and not last:
            return None
        with self.clock.paused():
            z = models.embed(model, self.x)
            if labels is None:
                labels = kmeans_fit(z, self.k, self.kmeans_n_init, self.seed).labels
            pur = purity(z, self.y, self.m, self.beta, self.gamma)
            row = {"phase": phase, "epoch": epoch, "iteration": iteration, "global_iteration": self.start + iteration,
                   "loss": loss, **scores(self.y, labels), **geometry(z, self.geometry_index),
                   "core_ratio": math.nan, "purity_initial": pur["purity_initial"],
                   "purity_filtered": pur["purity_filtered"], "confident_share": math.nan,
                   "train_seconds": seconds}
            row.update(extra)
            self.rows.append(row)
        return row


def phase_seconds(rows: list[dict[str, Any]]) -> float:
    """Sum over phases of each phase's last ``train_seconds`` (training time without evaluation)."""
    last: dict[str, float] = {}
    for row in rows:
        v = row.get("train_seconds", math.nan)
        if v is not None and math.isfinite(float(v)):
            last[row["phase"]] = float(v)
    return float(sum(last.values()))


def pca_2d(z: Tensor) -> np.ndarray:
    """Projection of the centred codes on their first two principal axes (R-DC Figs. 18/19), float32 (N, 2).

    Signs are fixed so that the largest-magnitude loading of each axis is
    positive (the same embedding always gives the same picture).
    """
    zc = (z - z.mean(dim=0, keepdim=True)).double()
    _, _, vh = torch.linalg.svd(zc, full_matrices=False)
    axes = vh[:2]
    pivot = axes.abs().argmax(dim=1)
    axes = axes * axes[torch.arange(axes.shape[0]), pivot].sign().unsqueeze(1)
    out = (zc @ axes.T).float().cpu().numpy()
    if out.shape[1] < 2:  # a 1-D latent space: pad with zeros
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out
