"""Proximity-level self-supervision, R-DC phase 2 (Eq. 3-15).

After ACAI pretraining, R-DC fine-tunes the autoencoder without pseudo-labels:

1. **neighbours** (Eq. 3): the ``M`` nearest neighbours of every latent code
   ``z_i`` (Euclidean distance, the point itself excluded), distances sorted
   ascending, ``D[i, 0]`` the closest and ``D[i, M-1]`` the farthest;
2. **core points** (Eq. 4-6): ``r_i = D[i, 0] / D[i, M-1]``; ``z_i`` is a
   core point when ``r_i > beta``. The text lost the ratio and the
   inequality; we read them from its words ("the ratio of the closest and
   farthest nearest neighbors", "core points ... characterized by a ratio
   greater than the threshold", "a ratio close to 1 means that all the
   nearest neighbors are located within a small proximity") and the
   catalog: closest / farthest, strictly greater than ``beta``;
3. **reliable neighbours** (Eq. 7-10): ``D'[i, j] = D[i, j] - D[i, 0]``;
   neighbour ``j`` of ``i`` is reliable when ``D'[i, j] < gamma`` (text:
   "a distance lower than the threshold"; strict), so the closest neighbour
   is always reliable;
4. **targets** (Eq. 11): ``c_i``, the latent centroid of the reliable
   neighbours of ``i``;
5. **loss** (Eq. 12-14): core points are mapped by the autoencoder to the
   decoded centroid ``g(c_i)`` ("we train the auto-encoder to map the core
   samples to the decoded centroids of their most reliable nearest
   neighbors"), border points are reconstructed, and the codes of core points
   are pulled toward ``c_i``;
6. **stopping** (Eq. 15): the targets are refreshed during training and
   training stops when the share of core points stops growing.

Options following the authors' code
-----------------------------------
The authors' TensorFlow code (``Amalsalem/Rethinking-DC``, one file
``DynAE``; phase 2 is ``DynAE.train_second_phase``, lines 1005-1371) differs
from the text as read above in points that are options here, each defaulting
to what dcutils did before (the paper reading):

- ``neighbours_include_self`` (default False; authors True): the authors fit
  ``NearestNeighbors(n_neighbors=5)`` on the codes and query the same codes
  (lines 1072, 1101-1103), so the point itself is neighbour 0, and every loop
  runs over ``x_emb_neighbours[i, j + 1]`` for ``j in range(4)`` (lines
  1112-1113, 1133-1134): ``M = 5`` *including* the point, 4 real
  neighbours. With True, :func:`compute_targets` takes ``m - 1`` other points
  (the point excluded by index, so a duplicate code still counts as a
  neighbour); with False ``m`` others (dcutils: 5 others).
- ``gamma_mode`` (default ``"absolute"``) and ``gamma_quantile``: gamma is a
  distance, and the authors tuned it (0.6, ``Beta`` at line 1065) to their
  latent scale. Their gap is not even the paper's: ``dd = d - smallest_d``
  where ``smallest_d`` is never reset inside the second loop (lines
  1127-1138), a running minimum over all points so far, so their filter is
  close to an absolute bound ``d < gamma + min``. At dcutils' latent scale the
  gap filter ``D[i, j] - D[i, 0] < 0.6`` removes nothing. ``"quantile"`` sets
  gamma at every refresh to the ``gamma_quantile`` quantile
  (``torch.quantile``, linear interpolation) of the gaps
  ``D[i, j] - D[i, 0]``, ``j >= 1``, of the core points (of all points when
  there is none): the filter then removes about ``1 - gamma_quantile`` of the
  core points' non-closest neighbours, whatever the latent scale (our choice,
  not the authors'; default quantile 0.75). :class:`ProximityTargets` records
  the gamma used and the share of the core points' neighbours removed.
- ``construction_weight`` (default 1.0) and ``lam`` (the pull weight, default
  1.0): the authors train phase 2 with ``DynAE.train_on_batch_dynAE``
  (lines 437-448), whose loss is ``loss_dynAE`` (lines 248-255):
  ``mse(f(x), target_code) + gamma * mse(g(f(x)), target_image)`` with
  ``gamma=100`` (``DynAE.__init__``, line 361), Keras' per-sample mean over
  features then mean over the batch. In this module's terms that is
  ``construction_weight=100, lam=1``; dcutils used 1 and 1 (a latent pull
  100x stronger relative to construction).
- ``border_target`` (default ``"input"``; authors ``"own_code"``): the
  authors' target code of a border point is its own code at the refresh
  (``centers_embs = x_emb``, line 1100, only core rows are overwritten) and
  the image target of *every* point is the decoded target code
  (``Y_autoencoder = self.decoder.predict(centers_embs[idx])``, line 1324;
  the reconstruction of the input is commented out there): a border point
  is pulled to its last code and mapped to its decoded code, not
  reconstructed. ``"input"`` is the text (Eq. 12-14: border points
  reconstruct ``x``, only core codes are pulled) and the default.
- ``core_image_targets`` (default ``"per_refresh"``; authors
  ``"per_iteration"``): the authors decode the target codes with the
  *current* decoder at every iteration (line 1324 runs inside the iteration
  loop). ``"per_refresh"`` decodes them once per refresh
  (:func:`decode_targets`, stored in ``ProximityTargets.image``) and holds
  them fixed until the next refresh, as the authors' own DynAE (and
  :mod:`dcutils.rdc.baselines`) does with its decoded centres. The text
  does not say which decoder makes ``g(c_i)``.

Why the defaults anchor the targets
-----------------------------------
With ``border_target="own_code"`` and per-iteration decoding nothing ties
any target to the inputs: every code is pulled toward a code and every
output toward the decoder's own output, so codes and decoder outputs can
grow together at no cost and Adam drifts them. In the quick FMNIST runs of
``rdc.method`` version 2 (seed 0) the phase-2 loss grew from 13.5 to 1.9e7
in 2,520 iterations, the decoder's output RMS from 0.92 to 27.4 and the
clean reconstruction MSE from 0.19 to 755. Border points reconstructing
their input (Eq. 12) anchor the decoder to the data, and decoding the core
targets once per refresh keeps the image targets from following the decoder
within a refresh. Both are the defaults of ``rdc.method`` and ``rdc.twist``
(version 3), of :func:`dcutils.rdc.phase2.train_proximity` and of
:func:`proximity_loss` (given targets from :func:`decode_targets`); the
authors' self-referential targets remain available as
``border_target="own_code"``, ``core_image_targets="per_iteration"``.

Everything runs on the device of its input tensors; targets are computed
without gradients and stay fixed between refreshes.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "knn",
    "core_points",
    "reliable_neighbours",
    "neighbour_centroids",
    "GAMMA_MODES",
    "BORDER_TARGETS",
    "CORE_IMAGE_TARGETS",
    "decode_targets",
    "quantile_gamma",
    "removed_share",
    "ProximityTargets",
    "compute_targets",
    "proximity_loss",
    "neighbour_purity",
    "core_ratio_stopped",
]


#: How gamma is set: the given distance ("absolute", dcutils and the paper) or a
#: quantile of the core points' neighbour gaps at each refresh ("quantile").
GAMMA_MODES = ("absolute", "quantile")

#: Phase-2 targets of border points: the input ("input", Eq. 12, dcutils) or
#: their own code and its decoding ("own_code", the authors' code).
BORDER_TARGETS = ("input", "own_code")

#: When the image targets (decoded target codes) are made: once per refresh and held fixed
#: ("per_refresh", dcutils' default) or by the current decoder at every iteration ("per_iteration",
#: the authors' code).
CORE_IMAGE_TARGETS = ("per_refresh", "per_iteration")


def _check_dist(dist: Tensor) -> None:
    if dist.dim() != 2 or dist.shape[1] < 1:
        raise ValueError(f"dist must have shape (N, M) with M >= 1 (from knn), got {tuple(dist.shape)}")


@torch.no_grad()
def knn(z: Tensor, m: int = 5, *, include_self: bool = False, chunk_size: int = 4096) -> tuple[Tensor, Tensor]:
    """The ``m`` nearest neighbours of every latent code (R-DC Eq. 3).

    Exact Euclidean distances (``torch.cdist`` without the matrix-product
    shortcut, which loses ~1e-3 near zero), ``topk`` per chunk of rows, on
    ``z``'s device, without gradients. The point itself is excluded by index,
    since the paper's neighbour set of ``x_i`` holds the *other* points;
    duplicates of ``z_i`` at distance 0 are other points and are kept.
    ``include_self=True`` keeps the point (then usually in column 0).

    Parameters
    ----------
    z : Tensor, shape (N, k)
    m : int, default 5
        Number of neighbours ``M`` (R-DC: 5).
    include_self : bool, default False
    chunk_size : int, default 4096
        Rows per distance block; memory is ``chunk_size * N`` floats.

    Returns
    -------
    dist : Tensor, shape (N, m)
        Distances, ascending along each row.
    idx : Tensor, shape (N, m), int64
        Indices into ``z`` of the neighbours.
    """
    if z.dim() != 2:
        raise ValueError(f"z must have shape (N, k), got {tuple(z.shape)}")
    n = z.shape[0]
    available = n if include_self else n - 1
    if not 1 <= m <= available:
        raise ValueError(
            f"m={m} neighbours requested but only {available} other points exist among N={n}; use 1 <= m <= {available}"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    z = z.detach()
    dists, idxs = [], []
    for start in range(0, n, chunk_size):
        block = z[start : start + chunk_size]
        d = torch.cdist(block, z, compute_mode="donot_use_mm_for_euclid_dist")
        if not include_self:
            rows = torch.arange(block.shape[0], device=z.device)
            d[rows, rows + start] = float("inf")
        v, i = torch.topk(d, m, dim=1, largest=False, sorted=True)
        dists.append(v)
        idxs.append(i)
    return torch.cat(dists), torch.cat(idxs)


def core_points(dist: Tensor, beta: float) -> Tensor:
    """Core-point mask (R-DC Eq. 4-6): closest / farthest neighbour distance > beta.

    The text lost the inequality; we read it as the strict
    ``dist[:, 0] / dist[:, -1] > beta`` ("a ratio greater than the
    threshold"). When all neighbours sit at distance 0 the ratio is taken as
    1 (the densest possible neighbourhood); when only the closest does, it is 0.

    Parameters
    ----------
    dist : Tensor, shape (N, M)
        Ascending neighbour distances from :func:`knn`.
    beta : float
        Density threshold, expected in [0, 1) (R-DC Table 2: 0.3-0.8).

    Returns
    -------
    BoolTensor, shape (N,)
    """
    _check_dist(dist)
    if beta < 0:
        raise ValueError(f"beta must be >= 0 (a ratio of distances lies in [0, 1]), got {beta}")
    closest, farthest = dist[:, 0], dist[:, -1]
    ratio = torch.where(farthest > 0, closest / farthest.clamp_min(torch.finfo(dist.dtype).tiny),
                        torch.ones_like(closest))
    return ratio > beta


def reliable_neighbours(dist: Tensor, gamma: float) -> Tensor:
    """Reliable-neighbour mask (R-DC Eq. 7-10): ``dist[i, j] - dist[i, 0] < gamma``.

    The text lost the inequality; we read it as strict ("a distance lower
    than the threshold"). With ``gamma > 0`` the closest neighbour is always
    reliable, so every point has at least one reliable neighbour.

    Parameters
    ----------
    dist : Tensor, shape (N, M)
        Ascending neighbour distances from :func:`knn`.
    gamma : float
        Threshold on the distance gap, > 0 (R-DC Table 2: 0.5-1).

    Returns
    -------
    BoolTensor, shape (N, M)
    """
    _check_dist(dist)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0 so that the closest neighbour stays reliable, got {gamma}")
    return (dist - dist[:, :1]) < gamma


def neighbour_centroids(z: Tensor, idx: Tensor, reliable: Tensor) -> Tensor:
    """Latent centroid of each point's reliable neighbours (R-DC Eq. 11).

    ``c_i = mean_{j reliable} z[idx[i, j]]``. The point itself does not join
    the centroid: the text speaks of "the centroid of the most reliable
    nearest neighbors" and the neighbour set from :func:`knn` excludes the
    point (it joins only if ``idx`` was built with ``include_self=True``).
    Rows without any reliable neighbour (impossible for masks from
    :func:`reliable_neighbours`) get their own code ``z_i``.

    Parameters
    ----------
    z : Tensor, shape (N, k)
    idx : Tensor, shape (N, M), int64
    reliable : BoolTensor, shape (N, M)

    Returns
    -------
    Tensor, shape (N, k)
    """
    if idx.shape != reliable.shape or idx.dim() != 2 or idx.shape[0] != z.shape[0]:
        raise ValueError(
            f"idx and reliable must both have shape (N, M) with N = len(z) = {z.shape[0]}; "
            f"got {tuple(idx.shape)} and {tuple(reliable.shape)}"
        )
    w = reliable.to(z.dtype)
    count = w.sum(dim=1, keepdim=True)
    total = (z[idx] * w.unsqueeze(-1)).sum(dim=1)
    return torch.where(count > 0, total / count.clamp_min(1), z)


@torch.no_grad()
def quantile_gamma(dist: Tensor, q: float, core: Tensor | None = None) -> float:
    """Gamma as the ``q`` quantile of the neighbour gaps ``D[i, j] - D[i, 0]``, ``j >= 1``.

    The gaps of the core points are used (of all points when ``core`` is None
    or holds no core point); the closest neighbour's gap (always 0) is left
    out. ``torch.quantile`` with linear interpolation, in float64. Since
    :func:`reliable_neighbours` keeps gaps strictly below gamma, the filter
    then removes the gaps at or above the quantile: about ``1 - q`` of those
    neighbours (exactly ``n - ceil(q (n - 1))`` of ``n`` distinct gaps when
    ``q (n - 1)`` is not an integer). A quantile of 0 (all gaps 0) is
    replaced by the smallest positive float, so the closest neighbour stays
    reliable; with ``M = 1`` (no gap) gamma is infinite.

    Parameters
    ----------
    dist : Tensor, shape (N, M), ascending (from :func:`knn`)
    q : float in (0, 1]
    core : BoolTensor, shape (N,), optional

    Returns
    -------
    float, > 0
    """
    _check_dist(dist)
    if not 0.0 < q <= 1.0:
        raise ValueError(f"gamma_quantile must lie in (0, 1], got {q}")
    if dist.shape[1] < 2:
        return math.inf
    gaps = dist[:, 1:] - dist[:, :1]
    if core is not None and bool(core.any()):
        gaps = gaps[core.to(gaps.device)]
    value = float(torch.quantile(gaps.reshape(-1).double(), q))
    return value if value > 0 else float(torch.finfo(torch.float64).tiny)


def removed_share(reliable: Tensor, core: Tensor) -> float:
    """Share of the core points' neighbours (all ``M`` columns) that the reliability filter removes.

    NaN when there is no core point.
    """
    rows = core.to(reliable.device)
    n = int(rows.sum()) * reliable.shape[1]
    if n == 0:
        return math.nan
    return float((~reliable[rows]).sum()) / n


@dataclass
class ProximityTargets:
    """Phase-2 targets of a whole data set, fixed between refreshes.

    Attributes
    ----------
    idx : Tensor, shape (N, M), int64
        Neighbour indices (the point itself excluded).
    dist : Tensor, shape (N, M)
        Ascending neighbour distances.
    core : BoolTensor, shape (N,)
        Core-point mask (Eq. 5).
    reliable : BoolTensor, shape (N, M)
        Reliable-neighbour mask (Eq. 9), computed for every row; it only
        matters for core points.
    centroid : Tensor, shape (N, k)
        Latent centroid of the reliable neighbours (Eq. 11), every row; the
        loss uses it only for core points.
    core_ratio : float
        Share of core points (Eq. 15).
    gamma_used : float
        The gamma the reliability mask was computed with (the given one, or
        the quantile's value in ``gamma_mode="quantile"``); NaN if unknown.
    removed_share : float
        Share of the core points' neighbours the filter removed
        (:func:`removed_share`); NaN if unknown or no core point.
    code : Tensor, shape (N, k), optional
        The codes the targets were computed from (the target code of border
        points with ``border_target="own_code"``).
    image : Tensor, shape (N, d), optional
        The decoded target codes, made once at the refresh
        (:func:`decode_targets`, ``core_image_targets="per_refresh"``);
        None: :func:`proximity_loss` decodes them with the current decoder
        at every call (``"per_iteration"``).
    """

    idx: Tensor
    dist: Tensor
    core: Tensor
    reliable: Tensor
    centroid: Tensor
    core_ratio: float
    gamma_used: float = math.nan
    removed_share: float = math.nan
    code: Tensor | None = None
    image: Tensor | None = None

    def __len__(self) -> int:
        return self.core.shape[0]

    def subset(self, index: Tensor | slice | Sequence[int]) -> ProximityTargets:
        """The rows of a mini-batch (``idx`` keeps indices into the full set).

        ``core_ratio`` stays the data set's ratio.
        """
        if not isinstance(index, slice):
            index = torch.as_tensor(index, device=self.core.device)
        return ProximityTargets(
            idx=self.idx[index],
            dist=self.dist[index],
            core=self.core[index],
            reliable=self.reliable[index],
            centroid=self.centroid[index],
            core_ratio=self.core_ratio,
            gamma_used=self.gamma_used,
            removed_share=self.removed_share,
            code=None if self.code is None else self.code[index],
            image=None if self.image is None else self.image[index],
        )


@torch.no_grad()
def compute_targets(z: Tensor, m: int = 5, beta: float = 0.6, gamma: float = 0.6, *,
                    chunk_size: int = 4096, neighbours_include_self: bool = False,
                    gamma_mode: str = "absolute", gamma_quantile: float = 0.75) -> ProximityTargets:
    """Neighbours, core points, reliable neighbours and centroids (Eq. 3-11, 15).

    Parameters
    ----------
    z : Tensor, shape (N, k)
        Latent codes of the whole data set (detached; e.g. from
        ``dcutils.models.embed``).
    m : int, default 5
        Number of neighbours ``M``.
    beta, gamma : float
        Core and reliability thresholds (R-DC Table 2; 0.6/0.6 for FMNIST).
        ``gamma`` is ignored with ``gamma_mode="quantile"``.
    chunk_size : int, default 4096
        Passed to :func:`knn`.
    neighbours_include_self : bool, default False
        ``M`` counts the point itself (the authors' ``n_neighbors=5``): the
        targets use ``m - 1`` other points. False: ``m`` other points.
    gamma_mode : {"absolute", "quantile"}, default "absolute"
        See the module doc; "quantile" sets gamma by :func:`quantile_gamma`.
    gamma_quantile : float, default 0.75
        The quantile of ``gamma_mode="quantile"``.

    Returns
    -------
    ProximityTargets
    """
    if gamma_mode not in GAMMA_MODES:
        raise ValueError(f"gamma_mode must be one of {GAMMA_MODES}, got {gamma_mode!r}")
    z = z.detach()
    m_real = m - 1 if neighbours_include_self else m
    if neighbours_include_self and m_real < 1:
        raise ValueError(f"m={m} with neighbours_include_self leaves no neighbour besides the point; use m >= 2")
    dist, idx = knn(z, m_real, include_self=False, chunk_size=chunk_size)
    core = core_points(dist, beta)
    gamma_used = float(gamma) if gamma_mode == "absolute" else quantile_gamma(dist, gamma_quantile, core)
    reliable = reliable_neighbours(dist, gamma_used)
    centroid = neighbour_centroids(z, idx, reliable)
    return ProximityTargets(
        idx=idx,
        dist=dist,
        core=core,
        reliable=reliable,
        centroid=centroid,
        core_ratio=float(core.float().mean()),
        gamma_used=gamma_used,
        removed_share=removed_share(reliable, core),
        code=z,
    )


def _target_codes(targets: ProximityTargets, border_target: str) -> Tensor:
    """The target code of every row: ``c_i`` for core rows; for border rows ``c_i`` too with
    ``border_target="input"`` (decoded but unused: no mask, no device sync) or the row's code at the
    refresh with ``"own_code"``."""
    if border_target not in BORDER_TARGETS:
        raise ValueError(f"border_target must be one of {BORDER_TARGETS}, got {border_target!r}")
    centroid = targets.centroid.detach()
    if border_target == "input":
        return centroid
    if targets.code is None:
        raise ValueError("border_target='own_code' needs targets with their codes (compute_targets sets them)")
    return torch.where(targets.core.to(centroid.device).reshape(-1, 1), centroid,
                       targets.code.to(device=centroid.device, dtype=centroid.dtype).detach())


@torch.no_grad()
def decode_targets(model: nn.Module, targets: ProximityTargets, border_target: str = "input", *,
                   batch_size: int = 4096) -> ProximityTargets:
    """``targets`` with their image targets decoded once (``core_image_targets="per_refresh"``).

    Every row's target code (``c_i``; with ``border_target="own_code"`` a
    border row's own code at the refresh) is decoded by the decoder as it is
    now, in eval mode, in batches of ``batch_size``, without gradients; the
    result, shape (N, d) in the codes' dtype, is stored in ``image``, which
    :func:`proximity_loss` uses until the next refresh. With ``"input"``
    border rows are decoded too (their image is never used). Returns a
    shallow copy; ``targets`` is not changed.
    """
    codes = _target_codes(targets, border_target)
    was_training = model.training
    model.eval()
    try:
        image = torch.cat([model.decode(codes[i : i + batch_size]).reshape(len(codes[i : i + batch_size]), -1)
                           for i in range(0, codes.shape[0], batch_size)]).to(codes.dtype)
    finally:
        model.train(was_training)
    return dataclasses.replace(targets, image=image)


def proximity_loss(
    model: nn.Module,
    x: Tensor,
    targets_batch: ProximityTargets,
    lam: float = 1.0,
    *,
    x_input: Tensor | None = None,
    construction_weight: float = 1.0,
    border_target: str = "input",
) -> tuple[Tensor, dict[str, Tensor]]:
    """R-DC phase-2 objective (Eq. 12-14) on a mini-batch.

    With ``z_i = f(x_i)`` (from ``x_input`` when given, e.g. an augmented
    view) and ``c_i`` the fixed centroid of core point ``i``::

        L_cc  = mean_i mean_features (g(z_i) - t_i)^2,
                t_i = g(c_i) for core points, x_i for border points   (Eq. 12)
        L_enc = mean_i [i core] * mean_latent (z_i - c_i)^2           (Eq. 13)
        L     = L_cc + lam * L_enc                                    (Eq. 14)

    The decoder target of a core point is the *decoded centroid*, not the
    input: the text trains "the auto-encoder to map the core samples to the
    decoded centroids of their most reliable nearest neighbors", generating
    "images that represent the centroids ... as opposed to generating a
    reconstruction of the original images" (as in DynAE, where
    high-confidence points are mapped to decoded cluster centres).

    What is detached: ``c_i`` (a fixed target between refreshes), the decoded
    centroid ``g(c_i)`` and ``x_i``. ``g(c_i)`` is ``targets_batch.image``
    when the targets carry it (decoded once per refresh by
    :func:`decode_targets`, ``core_image_targets="per_refresh"``, the
    default of the loops), else it is decoded here by the current decoder
    under ``torch.no_grad`` at every call (``"per_iteration"``, the authors'
    code; every row is decoded and border rows are discarded, which avoids a
    device sync on the mask, so a BatchNorm decoder in train mode also sees
    the centroids). Gradients flow only
    through ``g(f(x_i))`` and ``f(x_i)``. Both terms average over the whole
    batch (border points add 0 to ``L_enc``), like DynAE's per-element MSE,
    so with no core point ``L`` equals ``F.mse_loss(g(f(x)), x)``.

    Parameters
    ----------
    model : nn.Module
        Autoencoder with ``encode`` and ``decode``.
    x : Tensor, shape (N, d)
        Clean mini-batch: the reconstruction target of border points.
    targets_batch : ProximityTargets
        The batch's rows, ``targets.subset(batch_index)``.
    lam : float, default 1.0
        Weight of the latent pull ``L_enc`` (the authors: 1).
    x_input : Tensor, shape (N, d), optional
        What the autoencoder is fed (an augmented ``x``); defaults to ``x``.
    construction_weight : float, default 1.0
        Weight of ``L_cc``: ``L = construction_weight * L_cc + lam * L_enc``
        (the authors: 100, see the module doc).
    border_target : {"input", "own_code"}, default "input"
        ``"input"`` (Eq. 12, the default): border points reconstruct ``x_i``.
        ``"own_code"`` (the authors' code): every row has a target code
        ``t_i`` (``c_i`` for core points, the row's code at the refresh,
        ``targets_batch.code``, for border points); then
        ``L_cc = mean_i mean (g(z_i) - g(t_i))^2`` and
        ``L_enc = mean_i mean_latent (z_i - t_i)^2`` over *all* rows. Nothing
        then ties a target to the input; with per-iteration decoding the
        loss diverges (module doc). The targets' ``image``, when set, must
        have been decoded with the same ``border_target``.

    Returns
    -------
    loss : Tensor, scalar
    parts : dict of 0-d detached Tensors
        ``construction`` (L_cc), ``pull`` (L_enc), ``core_share`` (share of
        core points in the batch); tensors, so logging costs no device sync
        until ``float()`` is called.
    """
    n = x.shape[0]
    if len(targets_batch) != n:
        raise ValueError(
            f"targets_batch has {len(targets_batch)} rows but x has {n}; pass targets.subset(batch_index)"
        )
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    if construction_weight < 0:
        raise ValueError(f"construction_weight must be >= 0, got {construction_weight}")
    if border_target not in BORDER_TARGETS:
        raise ValueError(f"border_target must be one of {BORDER_TARGETS}, got {border_target!r}")
    if x_input is None:
        x_input = x
    elif x_input.shape != x.shape:
        raise ValueError(f"x_input must have x's shape {tuple(x.shape)}, got {tuple(x_input.shape)}")

    core = targets_batch.core.to(x.device)
    centroid = targets_batch.centroid.to(device=x.device, dtype=x.dtype).detach()

    z = model.encode(x_input)
    x_hat = model.decode(z).reshape(x.shape)

    if border_target == "own_code" and targets_batch.code is None:
        raise ValueError("border_target='own_code' needs targets with their codes (compute_targets sets them)")
    if targets_batch.image is not None:  # decoded once per refresh (decode_targets)
        decoded = targets_batch.image.to(device=x.device, dtype=x.dtype).reshape(x.shape).detach()
    else:  # per iteration, by the current decoder; all rows decoded: no device sync on the core mask
        with torch.no_grad():
            codes = _target_codes(targets_batch, border_target).to(device=x.device, dtype=x.dtype)
            decoded = model.decode(codes).reshape(x.shape).to(x.dtype)
    if border_target == "own_code":
        code = targets_batch.code.to(device=x.device, dtype=x.dtype).detach()
        target_code = torch.where(core.reshape(n, 1), centroid, code)
        construction = (x_hat - decoded).pow(2).reshape(n, -1).mean(dim=1).mean()
        pull = (z - target_code).pow(2).mean(dim=1).mean()
    else:
        target = torch.where(core.reshape(n, *([1] * (x.dim() - 1))), decoded, x.detach())
        per_sample = (x_hat - target).pow(2).reshape(n, -1).mean(dim=1)
        construction = per_sample.mean()

        pull_per_sample = (z - centroid).pow(2).mean(dim=1) * core.to(z.dtype)
        pull = pull_per_sample.mean()
    if construction_weight == 1.0:  # the default keeps dcutils' exact arithmetic
        loss = construction + lam * pull
    else:
        loss = construction_weight * construction + lam * pull
    parts = {
        "construction": construction.detach(),
        "pull": pull.detach(),
        "core_share": core.float().mean(),
    }
    return loss, parts


def neighbour_purity(idx: Tensor, reliable: Tensor, y_true: Tensor, core: Tensor | None = None) -> dict[str, float]:
    """Share of true neighbours before and after filtering (R-DC Fig. 14).

    A neighbour is *true* when it has the point's ground-truth class. The
    shares pool all (point, neighbour) pairs: ``initial`` over all ``M``
    neighbours, ``filtered`` over the reliable ones. The paper measures core
    points ("the true neighbors of a latent code of a core point"); pass
    ``core`` to restrict to them.

    Parameters
    ----------
    idx : Tensor, shape (N, M), int64
    reliable : BoolTensor, shape (N, M)
    y_true : Tensor or array, shape (N,)
        Ground-truth labels of the whole data set (``idx`` indexes into it).
    core : BoolTensor, shape (N,), optional
        Rows to include (default: all).

    Returns
    -------
    dict
        ``initial``, ``filtered`` (true shares), ``false_initial``,
        ``false_filtered`` (1 - share), ``n_initial``, ``n_filtered``
        (numbers of pairs). Shares are NaN when no pair is counted.
    """
    if idx.shape != reliable.shape or idx.dim() != 2:
        raise ValueError(
            f"idx and reliable must both have shape (N, M), got {tuple(idx.shape)} and {tuple(reliable.shape)}"
        )
    y = torch.as_tensor(y_true, device=idx.device)
    if y.dim() != 1:
        raise ValueError(f"y_true must have shape (N,), got {tuple(y.shape)}")
    if idx.shape[0] != y.shape[0]:
        raise ValueError(
            f"idx has {idx.shape[0]} rows but y_true {y.shape[0]} labels; pass the whole data set's neighbours "
            "and labels (restrict rows with core=...)"
        )
    rows = torch.ones(idx.shape[0], dtype=torch.bool, device=idx.device) if core is None else core.to(idx.device)
    if rows.shape != (idx.shape[0],):
        raise ValueError(f"core must have shape ({idx.shape[0]},), got {tuple(rows.shape)}")
    same = y[idx] == y.unsqueeze(1)
    counted = rows.unsqueeze(1).expand_as(same)
    kept = counted & reliable.to(idx.device)
    n_init, n_filt = int(counted.sum()), int(kept.sum())
    initial = float((same & counted).sum()) / n_init if n_init else float("nan")
    filtered = float((same & kept).sum()) / n_filt if n_filt else float("nan")
    return {
        "initial": initial,
        "filtered": filtered,
        "false_initial": 1.0 - initial,
        "false_filtered": 1.0 - filtered,
        "n_initial": n_init,
        "n_filtered": n_filt,
    }


def core_ratio_stopped(history: Sequence[float], patience: int = 3, min_delta: float = 0.0) -> bool:
    """Stopping rule of phase 2: the core-point ratio stopped growing (Eq. 15).

    The paper stops at "full stability ... when updating the centroids does
    not bring any further increase in the number of core points". We read it
    as: stop when none of the last ``patience`` refreshes raised the ratio by
    more than ``min_delta`` above the best ratio seen before them. With the
    default ``min_delta=0`` one extra core point counts as growth.

    Parameters
    ----------
    history : sequence of float
        Core ratio at each target refresh, oldest first.
    patience : int, default 3
        Number of refreshes without growth that stop training.
    min_delta : float, default 0.0
        Smallest rise of the ratio that counts as growth.

    Returns
    -------
    bool
        True when training should stop; False while fewer than
        ``patience + 1`` ratios are recorded.
    """
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    if min_delta < 0:
        raise ValueError(f"min_delta must be >= 0, got {min_delta}")
    history = [float(h) for h in history]
    if len(history) <= patience:
        return False
    best_before = max(history[:-patience])
    return max(history[-patience:]) <= best_before + min_delta
