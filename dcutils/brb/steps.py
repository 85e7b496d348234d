"""BRB's step (Algorithm 1) and its ablations: what you call every T epochs of your own loop.

:func:`brb_step` soft-resets the encoder except its embedding layer (Eq. 1,
:mod:`dcutils.resets`), reclusters the clean embedded subsample with k-means
(k-means++, ``n_init`` restarts batched on the device) and zeroes the Adam
moments of the DEC/IDEC centroids; its switches give the ablations
(``reset="soft" | "perturb" | "gaussian" | None``, ``recluster="kmeans" |
"kmeans++" | "kmedoids" | "em" | "own" | None``, ``reset_embedding``,
``reset_momentum``). :func:`noise_step` (Eq. 18) and
:func:`disentangled_step` (Algorithm 2) are the other ablations. Each returns
a :class:`BRBStepInfo` with the seconds of every component and, when
``record`` is set, the d1/d2 ratios and assignments before and after.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import metrics, resets
from dcutils.brb.losses import METHODS, check_choice
from dcutils.hparams import BRB_GRAYSCALE as SETUP
from dcutils.models import embed
from dcutils.timing import Stopwatch

__all__ = ["RESETS", "RECLUSTERS", "BRBStepInfo", "brb_step", "noise_step", "disentangled_step"]

RESETS = ("soft", "perturb", "gaussian", None)
#: EM reclustering's covariance regularisation (the authors' ``GaussianMixture(..., reg_covar=1e-5)``).
EM_REG_COVAR = 1e-5
RECLUSTERS = ("kmeans", "kmeans++", "kmedoids", "em", "own", None)


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
    """New centroids (K, D) and labels (M,) of the embedded subsample ``z``.

    As the authors' ``run_clustering`` (``src/deep/_clustering_utils.py``): k-means with ``n_init`` restarts;
    k-means++ seeds alone; k-medoids; EM = a full-covariance Gaussian mixture with ``n_init`` restarts and
    ``reg_covar`` 1e-5, whose means become the centroids.
    """
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
        res = km.gmm_em(z, k, covariance_type="full", n_init=n_init, reg_covar=EM_REG_COVAR, generator=generator)
        return res.centroids, res.labels
    # "own": the method's own hard assignment to the current centroids
    # (nearest centroid = argmax of DEC's Student-t q), centroids = the means.
    labels = km.assign(z, centroids.to(z.dtype))
    return _means(z, labels, centroids), labels


def _set_centroids(centroids: Tensor, new: Tensor, counts: Tensor | None) -> None:
    with torch.no_grad():
        centroids.copy_(new.to(dtype=centroids.dtype, device=centroids.device))
        if counts is not None:
            counts.fill_(1.0)


def _check_step_args(method: str, centroids: Tensor, x_sub: Tensor, alpha: float | None) -> None:
    check_choice("method", method, METHODS)
    if centroids.dim() != 2:
        raise ValueError(f"centroids must have shape (K, D), got {tuple(centroids.shape)}")
    if x_sub.shape[0] < centroids.shape[0]:
        raise ValueError(
            f"the reclustering subsample has {x_sub.shape[0]} samples, fewer than K = {centroids.shape[0]} clusters"
        )
    if alpha is not None and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (BRB uses 0.8), got {alpha}")


def _diagnose(model, centroids, x_sub, z: Tensor | None = None) -> tuple[np.ndarray, Tensor]:
    """d1/d2 ratios and nearest-centroid labels of ``x_sub`` (embedded now unless ``z`` is given)."""
    z = embed(model, x_sub) if z is None else z
    c = centroids.detach().to(z.dtype)
    return metrics.centroid_distance_ratio(z, c), km.assign(z, c)


class _Step:
    """What every BRB step and ablation shares, around its own middle part.

    ``_Step(...)`` checks the arguments, records d1/d2 and assignments before the step (when ``record``) and
    starts the clock; :meth:`lap` times a component; :meth:`finish` installs the new centroids (resetting
    DCN's Eq. 7 counts), zeroes the DEC/IDEC centroid moments (timed as ``t_momentum``) and records the state
    after the step. Diagnostics are never counted in the timings.
    """

    def __init__(self, model, centroids, optimizer, x_sub, *, method: str, alpha: float | None, record: bool,
                 counts: Tensor | None, reset_momentum: bool):
        _check_step_args(method, centroids, x_sub, alpha)
        self.model, self.centroids, self.optimizer, self.x_sub = model, centroids, optimizer, x_sub
        self.method, self.record, self.counts, self.reset_momentum = method, record, counts, reset_momentum
        self.info = BRBStepInfo(n_subsample=int(x_sub.shape[0]))
        self.clock = Stopwatch(_model_device(model))
        if record:
            self.info.ratio_before, self.info.labels_before = _diagnose(model, centroids, x_sub)
        self._t = self.clock.now()

    def lap(self) -> float:
        """Seconds since the step's clock started or since the last lap."""
        now = self.clock.now()
        took, self._t = now - self._t, now
        return took

    def finish(self, new: Tensor | None, z_after: Tensor | None = None) -> BRBStepInfo:
        """Install ``new`` centroids (None: keep them, no momentum reset), then record the state after."""
        if new is not None:
            _set_centroids(self.centroids, new, self.counts)
            self.info.t_cluster += self.lap()
            _momentum_reset(self.method, self.optimizer, self.centroids, self.reset_momentum)
            self.info.t_momentum = self.lap()
        if self.record:
            self.info.ratio_after, self.info.labels_after = _diagnose(self.model, self.centroids, self.x_sub,
                                                                      z_after)
        return self.info


def _means(z: Tensor, labels: Tensor, old: Tensor) -> Tensor:
    """Per-cluster means of ``z`` under ``labels``; an empty cluster keeps its ``old`` centroid."""
    k = old.shape[0]
    sums = torch.zeros(k, z.shape[1], dtype=z.dtype, device=z.device).index_add_(0, labels, z)
    n = torch.bincount(labels, minlength=k).to(z.dtype).unsqueeze(1)
    return torch.where(n > 0, sums / n.clamp_min(1.0), old.to(z.dtype))


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
       (``resets.reset_adam_moments``). DCN: reset Eq. 7's cluster counts to
       1 when ``counts`` is given (``dcn_centroids="eq7"``); the authors'
       per-epoch pass has no counts to reset (its rate stays 1/101).

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
    counts : DCN's Eq. 7 cluster counts (K,), set to 1 in place when
        reclustered; None with the authors' per-epoch pass
    n_init : k-means restarts (10)
    record : also compute d1/d2 ratios and assignments of ``x_sub`` before and
        after (two extra embedding passes, not counted in the timings)
    generator : torch.Generator for the reset draws and k-means

    Returns
    -------
    BRBStepInfo
    """
    check_choice("reset", reset, RESETS)
    check_choice("recluster", recluster, RECLUSTERS)
    step = _Step(model, centroids, optimizer, x_sub, method=method, alpha=alpha, record=record, counts=counts,
                 reset_momentum=reset_momentum)
    _apply_reset(model, reset, alpha, reset_embedding, generator)
    step.info.t_reset = step.lap()
    if recluster is None:
        return step.finish(None)
    z = embed(model, x_sub)
    step.info.t_embed = step.lap()
    new, _ = _recluster(z, centroids.shape[0], recluster, centroids.detach(), n_init, generator)
    return step.finish(new, z)


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
    step = _Step(model, centroids, optimizer, x_sub, method=method, alpha=None, record=record, counts=counts,
                 reset_momentum=reset_momentum)
    z_clean = embed(model, x_sub)
    z = resets.embedding_noise(z_clean, scale, generator)
    step.info.t_embed = step.lap()
    new, _ = _recluster(z, centroids.shape[0], "kmeans", centroids.detach(), n_init, generator)
    return step.finish(new, z_clean)


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
    step = _Step(model, centroids, optimizer, x_sub, method=method, alpha=alpha, record=record, counts=counts,
                 reset_momentum=reset_momentum)
    twin = copy.deepcopy(model)
    _apply_reset(twin, "soft", alpha, reset_embedding, generator)
    step.info.t_reset = step.lap()
    z_twin = embed(twin, x_sub)
    z = embed(model, x_sub)
    step.info.t_embed = step.lap()
    _, labels = _recluster(z_twin, centroids.shape[0], "kmeans", centroids.detach(), n_init, generator)
    return step.finish(_means(z, labels, centroids.detach()), z)
