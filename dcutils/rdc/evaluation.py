"""How R-DC's loops are scored while they train: history rows, ACC/F1, ID/LID, neighbour purity, timing.

:class:`EpochLogger`
    The per-epoch logger every clustering phase shares (phase 2, DEC/IDEC,
    DynAE, VaDE): scores, geometry, neighbour purity and training seconds
    with evaluation excluded (:class:`dcutils.timing.Stopwatch`).
Geometry
    :func:`geometry_index` (the fixed rows, seed ``1234 + seed``) and
    :func:`geometry` (TwoNN ID and PCA LID, Figures 1/15), with two
    estimators (:data:`LID_ESTIMATORS`):

    - ``"global90"`` (default, dcutils so far): TwoNN ID and the number of
      PCA components reaching 90 % of the variance (Ansuini et al. 2019, whom
      the paper cites) of the raw codes of the fixed rows, all clusters
      together;
    - ``"authors"``: as the authors' code computes them (file ``DynAE`` of
      ``Amalsalem/Rethinking-DC``: ``computePC_ID`` lines 105-115, called per
      k-means cluster and averaged in ``train_second_phase`` lines 1281-1297,
      in the pretraining callbacks lines 503-518 and in ``train_aci_ae`` lines
      610-622; ``computeID`` lines 92-103, TwoNN on one cluster's pairwise
      distances): the fixed rows are split by k-means clusters, each
      cluster's codes are standardised (``StandardScaler``) and its LID is
      the number of PCA components whose cumulative share first exceeds
      0.9999; ID and LID are the means over the clusters of the per-cluster
      TwoNN ID and LID. Clusters of fewer than 2 rows get no LID and of fewer
      than 3 distinct rows no ID (the authors' code would fail on them);
    - ``"authors_index"``: the same with the value the authors' function
      literally returns, ``np.argwhere(cs > th)[0][0]``, the 0-based index of
      that component, i.e. the count minus one.

    The authors compute on all codes and the k-means of that evaluation
    (``n_init=20``); here the fixed rows (``geometry_sample``) and the run's
    k-means (seed and ``kmeans_n_init``) are used.
Scores
    :func:`scores` (ACC, F1 macro / micro), :func:`kmeans_fit` (k-means with
    a seed), :func:`purity` (neighbour purity of core points, Figure 14, with
    the gamma used and the share of neighbours the filter removed).
Health
    :func:`health_signals` (clean reconstruction MSE, the codes' RMS and the
    decoder output's RMS on the fixed rows) and the cluster sizes
    (:func:`dcutils.health.cluster_sizes`), logged per epoch by every loop so
    that a diverging or collapsing run shows in its history;
    :func:`assess_health` (:func:`dcutils.health.assess` with the losses
    checked chosen per phase).
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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from dcutils import health, metrics, models
from dcutils import kmeans as km
from dcutils.rdc import proximity
from dcutils.timing import Stopwatch

__all__ = [
    "HISTORY_COLUMNS", "PHASE_PRETRAIN", "PHASE_PROXIMITY", "PHASE_DEC", "PHASE_IDEC", "PHASE_DYNAE", "PHASE_VADE",
    "LID_ESTIMATORS", "HEALTH_COLUMNS", "geometry_index", "geometry", "scores", "kmeans_fit", "purity",
    "health_signals", "assess_health", "EpochLogger", "phase_seconds", "pca_2d",
]

#: Columns of ``rdc.method``'s history (one row per logged epoch; NaN where a
#: column does not apply, e.g. ``core_ratio`` outside R-DC's phase 2).
HISTORY_COLUMNS = (
    "phase", "epoch", "iteration", "global_iteration", "loss",
    "acc", "f1_macro", "f1_micro", "id", "lid",
    "core_ratio", "purity_initial", "purity_filtered", "gamma_value", "gamma_removed", "confident_share",
    "train_seconds", "recon_mse", "code_rms", "decoder_rms", "min_cluster_share", "empty_clusters",
)

#: The health columns every clustering loop logs per epoch (:func:`health_signals` and
#: :func:`dcutils.health.cluster_sizes`; NaN in the phase-1 rows, which come from the pretraining cache).
HEALTH_COLUMNS = ("recon_mse", "code_rms", "decoder_rms", "min_cluster_share", "empty_clusters")

#: Estimators of :func:`geometry` (see the module doc).
LID_ESTIMATORS = ("global90", "authors", "authors_index")

#: The authors' explained-variance threshold (``computePC_ID(emb_np, th=0.9999)``).
AUTHORS_LID_VARIANCE = 0.9999

PHASE_PRETRAIN, PHASE_PROXIMITY, PHASE_DEC, PHASE_IDEC, PHASE_DYNAE = "P1", "P2", "P3", "IDEC", "DynAE"
PHASE_VADE = "VaDE"


def geometry_index(n: int, size: int, seed: int) -> Tensor:
    """The rows on which ID / LID are logged: the first ``size`` of a permutation drawn with seed ``1234 + seed``."""
    g = torch.Generator().manual_seed(1234 + int(seed))
    return torch.randperm(n, generator=g)[: min(size, n)]


def geometry(z: Tensor, index: Tensor, estimator: str = "global90", labels: Tensor | None = None) -> dict[str, float]:
    """TwoNN ID and PCA LID of the fixed subsample ``z[index]``.

    ``estimator="global90"``: all rows together, LID at 90 % variance of the
    raw codes. ``"authors"`` / ``"authors_index"``: per cluster of ``labels``
    (k-means labels of all N rows; required), standardised codes, 0.9999,
    averaged over the clusters (module doc).
    """
    if estimator not in LID_ESTIMATORS:
        raise ValueError(f"lid_estimator must be one of {LID_ESTIMATORS}, got {estimator!r}")
    sub = z[index.to(z.device)]
    if estimator == "global90":
        try:
            id_ = metrics.twonn_id(sub)
        except ValueError:
            id_ = math.nan
        return {"id": float(id_), "lid": float(metrics.pca_lid(sub))}
    if labels is None:
        raise ValueError(f"lid_estimator={estimator!r} averages over clusters: pass the k-means labels")
    lab = torch.as_tensor(labels, device=z.device)[index.to(z.device)]
    ids, lids = [], []
    for c in torch.unique(lab).tolist():
        part = sub[lab == c]
        if part.shape[0] >= 2:
            lid = metrics.pca_lid(part, AUTHORS_LID_VARIANCE, standardize=True, strict=True)
            lids.append(lid - 1 if estimator == "authors_index" else lid)
        try:
            ids.append(metrics.twonn_id(part))
        except ValueError:  # fewer than 3 distinct points
            pass
    return {"id": float(np.mean(ids)) if ids else math.nan, "lid": float(np.mean(lids)) if lids else math.nan}


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


def purity(z: Tensor, y: Tensor, m: int, beta: float, gamma: float, **options: Any) -> dict[str, float]:
    """Neighbour purity of core points before / after the reliability filter (Fig. 14).

    ``options``: ``neighbours_include_self``, ``gamma_mode``, ``gamma_quantile``
    of :func:`dcutils.rdc.proximity.compute_targets`. Also returns the gamma
    used (``gamma_value``) and the share of the core points' neighbours the
    filter removed (``gamma_removed``).
    """
    t = proximity.compute_targets(z, m, beta, gamma, **options)
    p = proximity.neighbour_purity(t.idx, t.reliable, y, core=t.core)
    return {"purity_initial": p["initial"], "purity_filtered": p["filtered"], "core_ratio_eval": t.core_ratio,
            "gamma_value": float(t.gamma_used), "gamma_removed": float(t.removed_share)}


@torch.no_grad()
def health_signals(model: nn.Module, x: Tensor) -> dict[str, float]:
    """How far the autoencoder has drifted, on the rows ``x`` (a fixed subsample), in eval mode, no gradients.

    ``recon_mse``: mean squared error of the clean reconstruction ``g(f(x))``
    against ``x``; ``code_rms``: root mean square of the codes ``f(x)``;
    ``decoder_rms``: root mean square of ``g(f(x))``. A run whose codes and
    decoder outputs rescale together (R-DC phase 2 with self-referential
    targets, :mod:`dcutils.rdc.proximity`) shows here as a growing
    ``recon_mse`` and ``decoder_rms`` while its loss may still look finite.
    """
    was_training = model.training
    model.eval()
    try:
        z = model.encode(x).float()
        x_hat = model.decode(z).reshape(x.shape[0], -1).float()
    finally:
        model.train(was_training)
    flat = x.reshape(x.shape[0], -1).float()
    return {"recon_mse": float((x_hat - flat).pow(2).mean()), "code_rms": float(z.pow(2).mean().sqrt()),
            "decoder_rms": float(x_hat.pow(2).mean().sqrt())}


def assess_health(history: pd.DataFrame, losses: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """:func:`dcutils.health.assess` over the rows of the phases named in ``losses``, each phase's growth rule
    applied to its own loss columns only.

    ``losses`` maps a phase label (``history["phase"]``) to the columns whose
    growth is checked in that phase's rows (the reason why per method is
    given where it is chosen); other phases' rows (phase 1, which comes from
    the pretraining cache) are left out. The cluster-size rule reads
    ``min_cluster_share`` / ``empty_clusters`` of all rows kept. A checked
    column becomes ``"<phase> <column>"`` so that a loss of one phase is
    never compared with another phase's start (P1+P2+P3: phase 2's loss is
    ~100x DEC's) and a reason names its phase.
    """
    rows = history[history["phase"].isin(list(losses))] if "phase" in history else history.iloc[0:0]
    frame = pd.DataFrame({c: rows[c] for c in ("min_cluster_share", "empty_clusters") if c in rows})
    columns = []
    for phase, cols in losses.items():
        mine = rows["phase"] == phase
        for col in cols:
            if col in rows:
                name = f"{phase} {col}"
                frame[name] = pd.to_numeric(rows[col], errors="coerce").where(mine)
                columns.append(name)
    return health.assess(frame, loss_columns=columns)


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

    Every row also carries the health columns (:data:`HEALTH_COLUMNS`):
    :func:`health_signals` on the fixed geometry rows and the cluster sizes
    of the row's labels (the method's own, else the k-means).

    ``probe_every`` > 0 adds, between the rows, the ACC of the current network
    at every ``probe_every``-th iteration of a phase (:meth:`probe`, called by
    the loops after each optimizer step; the authors validate every 140
    iterations and keep the best ACC, chosen with the labels); the probes
    go to ``probes``, never into the history.

    ``neighbours_include_self``, ``gamma_mode`` and ``gamma_quantile`` make
    the purity columns use phase 2's neighbour rule; ``lid_estimator`` picks
    the ID / LID estimator (:func:`geometry`; the per-cluster estimators use
    that k-means, computed for the purpose when the row has the method's own
    labels).
    """

    def __init__(self, x: Tensor, y: Tensor, n_clusters: int, geometry_index: Tensor, m: int, beta: float,
                 gamma: float, kmeans_n_init: int, start_iteration: int, every: int = 1, seed: int = 0, *,
                 neighbours_include_self: bool = False, gamma_mode: str = "absolute", gamma_quantile: float = 0.75,
                 lid_estimator: str = "global90", probe_every: int = 0):
        self.x, self.y, self.k = x, y, n_clusters
        self.geometry_index, self.m, self.beta, self.gamma = geometry_index, m, beta, gamma
        self.kmeans_n_init, self.start, self.every = kmeans_n_init, start_iteration, max(int(every), 1)
        self.seed = int(seed)
        self.options: dict[str, Any] = {}
        if neighbours_include_self:
            self.options["neighbours_include_self"] = True
        if gamma_mode != "absolute":
            self.options.update(gamma_mode=gamma_mode, gamma_quantile=gamma_quantile)
        if lid_estimator not in LID_ESTIMATORS:
            raise ValueError(f"lid_estimator must be one of {LID_ESTIMATORS}, got {lid_estimator!r}")
        self.lid_estimator = lid_estimator
        self.rows: list[dict[str, Any]] = []
        self.probe_every = max(int(probe_every or 0), 0)
        self.probes: list[dict[str, float]] = []
        self.clock = Stopwatch(x.device)

    def keeps(self, epoch: int, last: bool = False) -> bool:
        """Whether the row of ``epoch`` is kept: every ``every``-th epoch and the one passed ``last=True``."""
        return epoch % self.every == 0 or bool(last)

    def probe(self, model: nn.Module, iteration: int, labels: Callable[[], Tensor] | None = None) -> None:
        """ACC of the current network after the phase's ``iteration``-th step, when it is a multiple of
        ``probe_every`` (else nothing): ``labels()`` (the method's own clusters, computed only then) or the
        run's k-means. Appended to ``probes`` as ``global_iteration`` / ``acc``; not timed as training."""
        if not self.probe_every or iteration % self.probe_every:
            return
        with self.clock.paused():
            lab = labels() if labels is not None else kmeans_fit(models.embed(model, self.x), self.k,
                                                                  self.kmeans_n_init, self.seed).labels
            self.probes.append({"global_iteration": float(self.start + iteration),
                                "acc": metrics.cluster_acc(self.y, lab)})

    def __call__(self, model: nn.Module, phase: str, epoch: int, iteration: int, loss: float,
                 labels: Tensor | None = None, last: bool = False, **extra: float) -> dict[str, Any] | None:
        if iteration == 0:
            self.clock.reset()
        seconds = self.clock.seconds()
        if not self.keeps(epoch, last):
            return None
        with self.clock.paused():
            z = models.embed(model, self.x)
            km_labels = None
            if labels is None:
                labels = km_labels = kmeans_fit(z, self.k, self.kmeans_n_init, self.seed).labels
            geo_labels = None
            if self.lid_estimator != "global90":
                geo_labels = km_labels if km_labels is not None else kmeans_fit(z, self.k, self.kmeans_n_init,
                                                                               self.seed).labels
            pur = purity(z, self.y, self.m, self.beta, self.gamma, **self.options)
            row = {"phase": phase, "epoch": epoch, "iteration": iteration, "global_iteration": self.start + iteration,
                   "loss": loss, **scores(self.y, labels),
                   **geometry(z, self.geometry_index, self.lid_estimator, geo_labels),
                   "core_ratio": math.nan, "purity_initial": pur["purity_initial"],
                   "purity_filtered": pur["purity_filtered"], "gamma_value": pur["gamma_value"],
                   "gamma_removed": pur["gamma_removed"], "confident_share": math.nan,
                   "train_seconds": seconds}
            row.update(health_signals(model, self.x[self.geometry_index.to(self.x.device)]))
            row.update(health.cluster_sizes(labels, self.k))
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
