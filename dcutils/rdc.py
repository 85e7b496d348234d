"""R-DC training: ACAI pretraining, proximity-level self-supervision and the baselines.

*Rethinking Deep Clustering Paradigms: Self-Supervision Is All You Need*
(R-DC), Sections 1.2, 3 and 4. Two registered algorithms:

``rdc.method``
    One method on one data set, all starting from the **same** pretrained
    autoencoder (d-500-500-2000-10, ACAI, Section 3.1), cached under
    ``results/pretrained/<dataset>/<key>.pt`` by (data set, seed, subsample,
    pretraining parameters, pretraining code). ``method`` is one of

    - ``"ae_kmeans"``  phase 1 only, k-means on the embedding (AE + k-means; ablation P1);
    - ``"dec"``        phase 1, then DEC's KL(P || Q) on the encoder (ablation P1+P3);
    - ``"idec"``       phase 1, then reconstruction + 0.1 KL(P || Q);
    - ``"dynae"``      phase 1, then DynAE's dynamic loss (decoded k-means
      centroids as targets for confident samples, reconstruction for the rest);
    - ``"rdc"``        phase 1, then R-DC's proximity-level self-supervision
      (Eq. 3-15), k-means on the final embedding (ablation P1+P2);
    - ``"p1p2p3"``     R-DC's phase 2, then DEC (ablation P1+P2+P3); phase 2 is
      shared with ``"rdc"`` through the same network cache.

``rdc.twist``
    The Feature Twist toy (Figures 2 and 16): four curved 2-D clusters, the
    affine two-layer autoencoder, 200 epochs of plain reconstruction, then DEC
    or R-DC phase 2, with latent snapshots.

Choices where the paper is silent or its text lost the value (all are
parameters with these defaults):

- batch 256; Adam lr 1e-3 in phase 1 and 1e-4 in phases 2/3 (the text lost
  both learning rates and the number of pretraining iterations);
- ACAI with ``lam = 0.5`` and ACAI's fixed blend ``gamma = 0.2`` (see
  :mod:`dcutils.acai`); augmentation (shifts <= 0.1, rotation <= 10 degrees)
  in every phase of every method, as Section 4.1.3 says;
- phase 2 refreshes the targets every ``refresh_every`` mini-batches (the
  paper: every iteration; 1 gives that) and stops when the core-point ratio
  has not grown for ``patience`` refreshes
  (:func:`dcutils.proximity.core_ratio_stopped`) or after ``cluster_epochs``;
- DEC/IDEC: Student-t soft assignment (alpha = 1), target distribution
  recomputed on the whole data every ``refresh_every`` mini-batches,
  centroids initialised by k-means and trained with the encoder; IDEC weight
  0.1 (Guo et al.);
- DynAE: a sample is confident when the gap between its two largest soft
  assignments is at least ``dynae_threshold``; centroids are refreshed by a
  one-run k-means started from the previous centroids;
- ID (TwoNN) and LID (PCA, 90 % variance) on a fixed subsample of
  ``geometry_sample`` codes (the first codes of a permutation drawn with seed
  ``1234 + seed``, the same rows at every logging step).

Everything runs on the device of the run context; mini-batches come from
index permutations of the data tensor on that device.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import acai, augment, cache, kmeans as km, metrics, models, paths, proximity
from dcutils.data import load_dataset
from dcutils.device import seed_everything
from dcutils.hparams import RDC
from dcutils.runs import NonFiniteLossError, RunConfig, RunContext, RunOutput, algorithm

__all__ = [
    "METHODS",
    "HISTORY_COLUMNS",
    "resolve_beta_gamma",
    "pretrain_acai",
    "pretrained_autoencoder",
    "soft_assignment",
    "target_distribution",
    "dynae_targets",
    "dynae_loss",
    "train_proximity",
    "train_dec",
    "train_dynae",
    "train_vade",
    "pca_2d",
    "METHOD_HYPERPARAMETERS",
    "run_method",
    "run_paradigm",
    "run_twist",
]

#: Methods of ``rdc.method``; P1+P3 of the ablation is ``"dec"`` (DEC after phase 1).
METHODS = ("ae_kmeans", "dec", "idec", "dynae", "rdc", "p1p2p3", "vade")

#: The method-specific hyperparameters of each method as this module runs it
#: (``rdc.method`` parameter names; R-DC Table 7 counts hyperparameters per
#: method). Shared choices (architecture, batch size, learning rates,
#: pretraining, augmentation, number of clusters) are not counted, as in the paper.
METHOD_HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "ae_kmeans": ("kmeans_n_init",),
    "dec": ("refresh_every", "dec_tol", "student-t alpha (fixed 1)"),
    "idec": ("refresh_every", "dec_tol", "student-t alpha (fixed 1)", "idec_weight"),
    "dynae": ("refresh_every", "dynae_threshold", "pull_weight"),
    "rdc": ("beta", "gamma", "n_neighbours", "pull_weight"),
    "p1p2p3": ("beta", "gamma", "n_neighbours", "pull_weight", "refresh_every", "dec_tol"),
    "vade": ("vade_lr", "gmm init (k components, diagonal)"),
}

#: Columns of ``rdc.method``'s history (one row per logged epoch; NaN where a
#: column does not apply, e.g. ``core_ratio`` outside R-DC's phase 2).
HISTORY_COLUMNS = (
    "phase", "epoch", "iteration", "global_iteration", "loss",
    "acc", "f1_macro", "f1_micro", "id", "lid",
    "core_ratio", "purity_initial", "purity_filtered", "confident_share", "train_seconds",
)

PHASE_PRETRAIN, PHASE_PROXIMITY, PHASE_DEC, PHASE_IDEC, PHASE_DYNAE = "P1", "P2", "P3", "IDEC", "DynAE"
PHASE_VADE = "VaDE"


# ----------------------------------------------------------------------------
# small helpers


class _Clock:
    """Training seconds of one phase, without the time spent in evaluation (logging).

    ``reset()`` at the start of a phase; wrap every evaluation in ``paused()``;
    ``seconds()`` is the wall time since the reset minus the paused time.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.t0, self.off = time.perf_counter(), 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.t0 - self.off

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.off += time.perf_counter() - t


def _finite(value: float, what: str, where: str) -> float:
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"{what} became {value} {where}. Nothing was cached. "
            "Try a lower learning rate or check the input data for NaNs."
        )
    return value


def _batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> list[Tensor]:
    """Index mini-batches of one epoch (a permutation drawn on the CPU generator)."""
    perm = torch.randperm(n, generator=generator).to(device)
    return [perm[i : i + batch_size] for i in range(0, n, batch_size) if perm[i : i + batch_size].numel() > 1]


def _augment(x: Tensor, on: bool, generator: torch.Generator) -> Tensor:
    """R-DC's shifts and rotations for image batches (N, C, H, W); other shapes pass unchanged.

    Flat or 2-D data (curved4) has nothing to shift or rotate, and 3-D volumes
    (VesselMNIST3D, (N, 1, D, H, W)) get no augmentation: the paper names only
    2-D height/width shifts and an in-plane rotation.
    """
    if not on or x.dim() != 4:
        return x
    return augment.rdc_augment(x, shift=RDC.shift, rotation=RDC.rotation, generator=generator)


def resolve_beta_gamma(dataset: str, beta: float | None, gamma: float | None) -> tuple[float, float]:
    """beta / gamma of R-DC's Table 2 (``dcutils.hparams.RDC``) unless given explicitly."""
    if beta is None or gamma is None:
        try:
            b, g = RDC.beta(dataset), RDC.gamma(dataset)
        except KeyError as err:
            raise ValueError(
                f"R-DC's Table 2 gives no beta/gamma for {dataset!r}; pass beta=... and gamma=... "
                f"explicitly ({err})"
            ) from None
        beta = b if beta is None else beta
        gamma = g if gamma is None else gamma
    return float(beta), float(gamma)


def _geometry_index(n: int, size: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(1234 + int(seed))
    return torch.randperm(n, generator=g)[: min(size, n)]


def _geometry(z: Tensor, index: Tensor) -> dict[str, float]:
    """TwoNN ID and PCA LID (90 % variance) of the fixed subsample ``z[index]``."""
    sub = z[index.to(z.device)]
    try:
        id_ = metrics.twonn_id(sub)
    except ValueError:
        id_ = math.nan
    return {"id": float(id_), "lid": float(metrics.pca_lid(sub))}


def _scores(y: Tensor, labels: Tensor) -> dict[str, float]:
    return {
        "acc": metrics.cluster_acc(y, labels),
        "f1_macro": metrics.f1_macro(y, labels),
        "f1_micro": metrics.f1_micro(y, labels),
    }


def _kmeans_labels(z: Tensor, k: int, n_init: int, seed: int) -> km.KMeansResult:
    return km.kmeans(z, k, n_init=n_init, generator=int(seed))


def _purity(z: Tensor, y: Tensor, m: int, beta: float, gamma: float) -> dict[str, float]:
    """Neighbour purity of core points before / after the reliability filter (Fig. 14)."""
    t = proximity.compute_targets(z, m, beta, gamma)
    p = proximity.neighbour_purity(t.idx, t.reliable, y, core=t.core)
    return {"purity_initial": p["initial"], "purity_filtered": p["filtered"], "core_ratio_eval": t.core_ratio}


# ----------------------------------------------------------------------------
# phase 1: ACAI pretraining, cached


def pretrain_acai(
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    lam: float,
    blend: float,
    use_augment: bool,
    latent_dim: int,
    n_clusters: int,
    geometry_index: Tensor,
    log_every: int,
    generator: torch.Generator,
    kmeans_n_init: int = 3,
    progress: Callable = lambda it: it,
) -> tuple[models.FeedForwardAutoencoder, list[dict[str, Any]]]:
    """R-DC phase 1: ACAI on (augmented) mini-batches with Adam (Eq. 1-2).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W) or (N, d)
    y : Tensor, shape (N,)
        Only for logging ACC / F1 of k-means on the embedding.
    geometry_index : LongTensor, shape (S,)
        Rows on which ID and LID are logged.
    log_every : int
        Log (k-means ACC, ID, LID) every this many epochs, and after the last.

    Returns
    -------
    model, history rows (``phase="P1"``; ``iteration`` counts mini-batches;
    ``train_seconds`` the training time so far, evaluation excluded).
    """
    dev = x.device
    d = int(np.prod(x.shape[1:]))
    model = models.rdc_autoencoder(d, latent_dim).to(dev)
    critic = acai.Critic(d).to(dev)
    opt_ae = torch.optim.Adam(model.parameters(), lr=lr)
    opt_c = torch.optim.Adam(critic.parameters(), lr=lr)
    rows: list[dict[str, Any]] = []
    step = 0
    clock = _Clock()

    def log(epoch: int, loss: float) -> None:
        seconds = clock.seconds()
        with clock.paused():
            z = models.embed(model, x)
            labels = _kmeans_labels(z, n_clusters, kmeans_n_init, 0).labels
            rows.append({"phase": PHASE_PRETRAIN, "epoch": epoch, "iteration": step, "global_iteration": step,
                         "loss": loss, **_scores(y, labels), **_geometry(z, geometry_index),
                         "train_seconds": seconds})

    clock.reset()
    log(0, math.nan)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in _batches(x.shape[0], batch_size, generator, dev):
            xb = _augment(x[idx], use_augment, generator)
            try:
                parts = acai.acai_step(model, critic, opt_ae, opt_c, xb, generator=generator, lam=lam, gamma=blend)
            except NonFiniteLossError:
                raise
            except FloatingPointError as err:
                raise NonFiniteLossError(f"ACAI pretraining diverged at epoch {epoch}: {err}. Nothing was cached.") from err
            total += parts["recon"] * idx.numel()
            count += idx.numel()
            step += 1
        if epoch % log_every == 0 or epoch == epochs:
            log(epoch, total / max(count, 1))
    return model, rows


def _pretrain_code() -> str:
    """Hash of the code that determines a pretrained network (not of the rest of this module)."""
    parts = [inspect.getsource(f) for f in (pretrain_acai, _batches, _augment, _geometry, _scores, _kmeans_labels,
                                            _Clock, _noisy)]
    mods = [cache.code_hash(m) for m in ("dcutils.acai", "dcutils.models", "dcutils.augment", "dcutils.data",
                                         "dcutils.metrics", "dcutils.kmeans", "dcutils.hparams")]
    return cache.sha256_text("\n".join(parts + mods))[:16]


def _pretrain_params(cfg: RunConfig) -> dict[str, Any]:
    return {k: cfg[k] for k in ("subsample", "pretrain_epochs", "batch_size", "pretrain_lr", "acai_lam",
                                "acai_blend", "augment", "latent_dim", "geometry_sample", "pretrain_log_every",
                                "noise_std")}


def _noisy(x: Tensor, std: float, seed: int) -> Tensor:
    """``x`` plus Gaussian noise of standard deviation ``std`` (R-DC Eq. 17), drawn with seed ``777 + seed``.

    The inputs are already z-scored (``preprocess="rdc"``: per channel, so
    the data's standard deviation is 1 and ``std`` is a share of it); the
    same noisy copy is used in every phase.
    """
    if std == 0:
        return x
    if std < 0:
        raise ValueError(f"noise_std must be >= 0, got {std}")
    g = torch.Generator().manual_seed(777 + int(seed))
    return x + std * torch.randn(x.shape, generator=g).to(device=x.device, dtype=x.dtype)


def _net_path(dataset: str, key_obj: dict[str, Any]) -> tuple[Any, str]:
    key = cache.sha256_text(cache.canonical_json(key_obj))[:16]
    return paths.results_root() / "pretrained" / dataset / f"{key}.pt", key


def _load_net(path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return cache.load_tensors(path)
    except cache.CorruptCacheError as err:
        cache.quarantine(path, str(err))
        return None


def pretrained_autoencoder(cfg: RunConfig, x: Tensor, y: Tensor, n_clusters: int,
                           geometry_index: Tensor, ctx: RunContext | None = None):
    """The phase-1 autoencoder of (data set, seed, pretraining params): loaded or trained and cached.

    Returns
    -------
    model, history rows, info dict (``key``, ``from_cache``).
    """
    params = _pretrain_params(cfg)
    key_obj = {"kind": "rdc-acai", "dataset": cfg.dataset, "seed": cfg.seed, "params": params, "code": _pretrain_code()}
    path, key = _net_path(cfg.dataset, key_obj)
    with cache.file_lock(path):  # parallel workers train each network once
        return _load_or_pretrain(cfg, path, key, key_obj, x, y, n_clusters, geometry_index, ctx)


def _load_or_pretrain(cfg, path, key, key_obj, x, y, n_clusters, geometry_index, ctx):
    d = int(np.prod(x.shape[1:]))
    stored = _load_net(path)
    if stored is not None:
        model = models.rdc_autoencoder(d, cfg["latent_dim"]).to(x.device)
        model.load_state_dict(stored["state"])
        return model, _rows_from_columns(stored["history"]), {"key": key, "from_cache": True}
    generator = seed_everything(cfg.seed)
    model, rows = pretrain_acai(
        x, y, epochs=cfg["pretrain_epochs"], batch_size=cfg["batch_size"], lr=cfg["pretrain_lr"],
        lam=cfg["acai_lam"], blend=cfg["acai_blend"], use_augment=cfg["augment"], latent_dim=cfg["latent_dim"],
        n_clusters=n_clusters, geometry_index=geometry_index, log_every=cfg["pretrain_log_every"],
        generator=generator, progress=(ctx.progress if ctx is not None else (lambda it: it)),
    )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save_tensors(path, {"state": state, "history": _columns_from_rows(rows), "key": key_obj})
    return model, rows, {"key": key, "from_cache": False}


def _columns_from_rows(rows: list[dict[str, Any]]) -> dict[str, list]:
    frame = pd.DataFrame(rows)
    return {c: [v if not isinstance(v, (np.floating, np.integer)) else v.item() for v in frame[c].tolist()]
            for c in frame.columns}


def _rows_from_columns(cols: dict[str, list]) -> list[dict[str, Any]]:
    return pd.DataFrame(cols).to_dict(orient="records")


# ----------------------------------------------------------------------------
# DEC / IDEC pieces (Xie et al. 2016; Guo et al. 2017)


def soft_assignment(z: Tensor, centroids: Tensor, alpha: float = 1.0) -> Tensor:
    """DEC's Student-t soft assignment ``q_ij`` (Xie et al. 2016, Eq. 1).

    Parameters
    ----------
    z : Tensor, shape (N, k_latent)
    centroids : Tensor, shape (K, k_latent)

    Returns
    -------
    Tensor, shape (N, K), rows summing to 1.
    """
    d2 = torch.cdist(z, centroids).pow(2)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    """DEC's target ``p_ij = (q_ij^2 / f_j) / sum_j'(...)`` with ``f_j = sum_i q_ij`` (Eq. 3). Shape as ``q``."""
    w = q.pow(2) / q.sum(dim=0, keepdim=True)
    return w / w.sum(dim=1, keepdim=True)


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
    n = x.shape[0]
    target = dynae_targets(model, x, centroids, labels, confident)
    z = model.encode(x if x_input is None else x_input)
    x_hat = model.decode(z)
    construction = (x_hat - target).pow(2).mean()
    pull = ((z - centroids[labels].detach()).pow(2).mean(dim=1) * confident.to(z.dtype)).mean()
    return construction + lam * pull, {"construction": construction.detach(), "pull": pull.detach()}


# ----------------------------------------------------------------------------
# phase-2 / phase-3 training loops


class _Logger:
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
        self.clock = _Clock()

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
                labels = _kmeans_labels(z, self.k, self.kmeans_n_init, self.seed).labels
            pur = _purity(z, self.y, self.m, self.beta, self.gamma)
            row = {"phase": phase, "epoch": epoch, "iteration": iteration, "global_iteration": self.start + iteration,
                   "loss": loss, **_scores(self.y, labels), **_geometry(z, self.geometry_index),
                   "core_ratio": math.nan, "purity_initial": pur["purity_initial"],
                   "purity_filtered": pur["purity_filtered"], "confident_share": math.nan,
                   "train_seconds": seconds}
            row.update(extra)
            self.rows.append(row)
        return row


def train_proximity(model: nn.Module, x: Tensor, *, epochs: int, batch_size: int, lr: float, beta: float,
                    gamma: float, m: int, lam: float, refresh_every: int, patience: int, use_augment: bool,
                    generator: torch.Generator, log: _Logger, progress: Callable = lambda it: it) -> dict[str, Any]:
    """R-DC phase 2 (Eq. 3-15): proximity-level self-supervision with refreshed targets.

    Targets (:func:`dcutils.proximity.compute_targets` on the whole embedding)
    are recomputed every ``refresh_every`` mini-batches; training stops when
    :func:`dcutils.proximity.core_ratio_stopped` says the core ratio stopped
    growing for ``patience`` refreshes, or after ``epochs`` epochs.

    Returns
    -------
    dict with ``iterations``, ``stopped`` (``"core ratio"`` or ``"max epochs"``),
    ``core_ratios`` (the ratio at every refresh, the first before training).
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    targets = proximity.compute_targets(models.embed(model, x), m, beta, gamma)
    ratios = [targets.core_ratio]
    step, stopped = 0, "max epochs"
    log(model, PHASE_PROXIMITY, 0, 0, math.nan, core_ratio=targets.core_ratio)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in _batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                targets = proximity.compute_targets(models.embed(model, x), m, beta, gamma)
                ratios.append(targets.core_ratio)
                if proximity.core_ratio_stopped(ratios, patience=patience):
                    stopped = "core ratio"
                    break
            xb = x[idx]
            model.train()
            loss, _ = proximity.proximity_loss(model, xb, targets.subset(idx), lam,
                                               x_input=_augment(xb, use_augment, generator))
            value = _finite(float(loss.detach()), "R-DC phase-2 loss", f"at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        log(model, PHASE_PROXIMITY, epoch, step, total / max(count, 1), core_ratio=targets.core_ratio,
            last=epoch == epochs or stopped != "max epochs")
        if stopped != "max epochs":
            break
    return {"iterations": step, "stopped": stopped, "core_ratios": ratios}


def train_dec(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int, lr: float,
              recon_weight: float, cluster_weight: float, refresh_every: int, tol: float, use_augment: bool,
              generator: torch.Generator, log: _Logger, phase: str = PHASE_DEC,
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
        for idx in _batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                p, new = assign()
                changed = float((new != labels).float().mean())
                labels = new
                if changed < tol:
                    stopped = "label change < tol"
                    break
            xb = x[idx]
            model.train()
            z = model.encode(_augment(xb, use_augment, generator))
            q = soft_assignment(z, mu)
            loss = cluster_weight * F.kl_div(q.clamp_min(1e-12).log(), p[idx], reduction="batchmean")
            if recon_weight > 0:
                loss = loss + recon_weight * F.mse_loss(model.decode(z), xb.reshape(xb.shape[0], -1))
            value = _finite(float(loss.detach()), f"{phase} loss", f"at epoch {epoch}")
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
                log: _Logger, progress: Callable = lambda it: it) -> dict[str, Any]:
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
        for idx in _batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                mu, labels, confident = refresh(mu)
            xb = x[idx]
            model.train()
            loss, _ = dynae_loss(model, xb, mu, labels[idx], confident[idx],
                                 x_input=_augment(xb, use_augment, generator), lam=lam)
            value = _finite(float(loss.detach()), "DynAE loss", f"at epoch {epoch}")
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


# ----------------------------------------------------------------------------
# VaDE (Jiang et al. 2017) on the shared autoencoder


class _VaDE(nn.Module):
    """VaDE's encoder / prior around the pretrained autoencoder.

    The pretrained encoder gives the posterior mean ``mu(x)``; a new linear
    head on its last hidden layer gives ``log sigma^2(x)`` (weights 0, bias
    ``logvar_init``, so training starts from the pretrained codes with small
    noise). The prior is a Gaussian mixture with diagonal covariances,
    initialised from a GMM (EM) fitted to the pretrained codes, as in VaDE.
    """

    def __init__(self, model: models.FeedForwardAutoencoder, weights: Tensor, means: Tensor, variances: Tensor,
                 logvar_init: float):
        super().__init__()
        self.model = model
        self.logvar_head = nn.Linear(model.embedding_layer.in_features, model.embedding_dim)
        nn.init.zeros_(self.logvar_head.weight)
        nn.init.constant_(self.logvar_head.bias, float(logvar_init))
        dev = means.device
        self.logvar_head.to(dev)
        self.pi_logits = nn.Parameter(weights.clamp_min(1e-6).log().to(dev).clone())
        self.mu_c = nn.Parameter(means.detach().clone())
        self.logvar_c = nn.Parameter(variances.clamp_min(1e-6).log().detach().clone())

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.model.encoder[:-1](self.model._flatten(x))
        return self.model.encoder[-1](h), self.logvar_head(h)

    def responsibilities(self, z: Tensor) -> Tensor:
        """``gamma_ic = p(c | z_i)`` under the mixture prior, shape (N, K)."""
        var_c = self.logvar_c.exp()
        log_pzc = -0.5 * (self.logvar_c.unsqueeze(0) + (z.unsqueeze(1) - self.mu_c.unsqueeze(0)).pow(2)
                          / var_c.unsqueeze(0)).sum(dim=2)
        return torch.softmax(F.log_softmax(self.pi_logits, dim=0).unsqueeze(0) + log_pzc, dim=1)

    def loss(self, x_input: Tensor, x_target: Tensor, generator: torch.Generator) -> Tensor:
        """Negative ELBO per sample (Jiang et al. 2017, Eq. 12) with a unit-variance Gaussian decoder."""
        mu, logvar = self.posterior(x_input)
        eps = torch.randn(mu.shape, generator=generator).to(device=mu.device, dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        recon = 0.5 * (self.model.decode(z) - x_target.reshape(x_target.shape[0], -1)).pow(2).sum(dim=1)
        gamma = self.responsibilities(z)
        var_c = self.logvar_c.exp().unsqueeze(0)
        kl_z = 0.5 * (gamma * (self.logvar_c.unsqueeze(0) + logvar.exp().unsqueeze(1) / var_c
                               + (mu.unsqueeze(1) - self.mu_c.unsqueeze(0)).pow(2) / var_c).sum(dim=2)).sum(dim=1)
        log_pi = F.log_softmax(self.pi_logits, dim=0).unsqueeze(0)
        kl_c = (gamma * (gamma.clamp_min(1e-10).log() - log_pi)).sum(dim=1)
        entropy = -0.5 * (1.0 + logvar).sum(dim=1)
        return (recon + kl_z + kl_c + entropy).mean()

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.responsibilities(models.embed(self.model, x)).argmax(dim=1)


def train_vade(model: models.FeedForwardAutoencoder, x: Tensor, n_clusters: int, *, epochs: int, batch_size: int,
               lr: float, logvar_init: float, use_augment: bool, generator: torch.Generator, log: _Logger,
               seed: int, progress: Callable = lambda it: it) -> dict[str, Any]:
    """VaDE's training phase from the pretrained autoencoder (the encoder mean is ``model.encode``).

    Returns
    -------
    dict with ``iterations``, ``stopped``, ``labels`` (argmax of the mixture
    responsibilities at the posterior means, LongTensor (N,)) and
    ``init_seconds`` (the GMM fit that initialises the prior).
    """
    t0 = time.perf_counter()
    z0 = models.embed(model, x)
    gmm = km.gmm_em(z0, n_clusters, covariance_type="diag", n_init=1, generator=int(seed))
    vade = _VaDE(model, gmm.weights, gmm.centroids, gmm.covariances, logvar_init)
    init_seconds = time.perf_counter() - t0
    opt = torch.optim.Adam(vade.parameters(), lr=lr)
    labels = vade.predict(x)
    step = 0
    log(model, PHASE_VADE, 0, 0, math.nan, labels=labels)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in _batches(x.shape[0], batch_size, generator, x.device):
            xb = x[idx]
            vade.train()
            loss = vade.loss(_augment(xb, use_augment, generator), xb, generator)
            value = _finite(float(loss.detach()), "VaDE loss", f"at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        labels = vade.predict(x)
        log(model, PHASE_VADE, epoch, step, total / max(count, 1), labels=labels, last=epoch == epochs)
    return {"iterations": step, "stopped": "max epochs", "labels": labels, "init_seconds": init_seconds}


# ----------------------------------------------------------------------------
# rdc.method


def _phase2_code() -> str:
    parts = [inspect.getsource(f) for f in (train_proximity, _Logger, _Clock, _purity, _finite)]
    mods = [cache.code_hash("dcutils.proximity"), _pretrain_code()]
    return cache.sha256_text("\n".join(parts + mods))[:16]


def _phase2_params(cfg: RunConfig) -> dict[str, Any]:
    return {k: cfg[k] for k in ("cluster_epochs", "batch_size", "cluster_lr", "beta", "gamma", "n_neighbours",
                                "pull_weight", "refresh_every", "patience", "augment", "kmeans_n_init",
                                "cluster_log_every")}


def _run_phase2(cfg, ctx, model, x, log, beta, gamma, pre_key, generator) -> tuple[list[dict], dict[str, Any]]:
    """R-DC phase 2 from the pretrained ``model`` (in place); cached so ``rdc`` and ``p1p2p3`` share it."""
    key_obj = {"kind": "rdc-phase2", "dataset": cfg.dataset, "seed": cfg.seed, "pretrained": pre_key,
               "params": _phase2_params(cfg), "beta_gamma": [beta, gamma], "code": _phase2_code()}
    path, _ = _net_path(cfg.dataset, key_obj)
    with cache.file_lock(path):  # "rdc" and "p1p2p3" workers share one phase 2
        return _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path)


def _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path):
    stored = _load_net(path)
    if stored is not None:
        model.load_state_dict(stored["state"])
        info = {"iterations": int(stored["iterations"]), "stopped": str(stored["stopped"]),
                "core_ratios": [float(v) for v in stored["core_ratios"]], "phase2_from_cache": True}
        return _rows_from_columns(stored["history"]), info
    start = len(log.rows)
    info = train_proximity(model, x, epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"],
                           lr=cfg["cluster_lr"], beta=beta, gamma=gamma, m=cfg["n_neighbours"],
                           lam=cfg["pull_weight"], refresh_every=cfg["refresh_every"], patience=cfg["patience"],
                           use_augment=cfg["augment"], generator=generator, log=log, progress=ctx.progress)
    rows = log.rows[start:]
    del log.rows[start:]
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save_tensors(path, {"state": state, "history": _columns_from_rows(rows), "iterations": info["iterations"],
                              "stopped": info["stopped"], "core_ratios": info["core_ratios"]})
    return rows, {**info, "phase2_from_cache": False}


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


def _timed_kmeans(z: Tensor, k: int, n_init: int, seed: int) -> tuple[km.KMeansResult, float]:
    t = time.perf_counter()
    res = _kmeans_labels(z, k, n_init, seed)
    return res, time.perf_counter() - t


def _phase_seconds(rows: list[dict[str, Any]]) -> float:
    """Sum over phases of each phase's last ``train_seconds`` (training time without evaluation)."""
    last: dict[str, float] = {}
    for row in rows:
        v = row.get("train_seconds", math.nan)
        if v is not None and math.isfinite(float(v)):
            last[row["phase"]] = float(v)
    return float(sum(last.values()))


@algorithm(
    "rdc.method",
    method="rdc",
    subsample=5000,
    preprocess="rdc",
    noise_std=0.0,
    latent_dim=10,
    batch_size=256,
    pretrain_epochs=50,
    pretrain_lr=1e-3,
    acai_lam=0.5,
    acai_blend=0.2,
    augment=True,
    pretrain_log_every=5,
    cluster_epochs=30,
    cluster_lr=1e-4,
    cluster_log_every=1,
    refresh_every=5,
    patience=5,
    beta=None,
    gamma=None,
    n_neighbours=5,
    pull_weight=1.0,
    idec_weight=0.1,
    dec_tol=0.001,
    dynae_threshold=0.1,
    vade_logvar_init=-4.0,
    geometry_sample=1000,
    kmeans_n_init=5,
)
def run_method(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """One R-DC method (see :data:`METHODS`) from the shared ACAI-pretrained autoencoder.

    History: :data:`HISTORY_COLUMNS`, phase 1 rows (``phase="P1"``) first, then
    the method's rows (``"P2"``, ``"P3"``, ``"IDEC"``, ``"DynAE"`` or ``"VaDE"``),
    logged every ``cluster_log_every`` epochs and after the last one. The
    method's rows start with its phase (iteration 0) scored by the same
    k-means as ``acc_pretrained``; the phase-1 rows come from the shared
    pretraining cache and are scored by k-means with seed 0, so for seeds
    other than 0 the last P1 row and the first row of the method may differ
    by k-means' own run-to-run spread.
    Final: ``acc``, ``f1_macro``, ``f1_micro``, ``nmi``, ``ari``, ``id``, ``lid``,
    ``acc_pretrained`` (k-means after phase 1), ``iterations`` (after phase 1),
    ``seconds_pretrain`` (phase-1 training time, evaluation excluded; the
    time of the run that trained the shared network) and ``seconds_cluster``
    (the method's own training time after phase 1, evaluation excluded, its
    k-means included).
    Arrays: ``pca_final`` / ``pca_pretrained`` (S, 2) PCA projections of the
    codes of the fixed geometry rows after the method and after phase 1,
    ``pca_y`` (S,) their true classes, ``pca_pred`` (S,) their clusters.

    ``noise_std`` > 0 adds Gaussian noise to the z-scored inputs before any
    training (Figure 20); the pretraining then runs on the noisy data.
    """
    method = cfg["method"]
    if method not in METHODS:
        raise ValueError(f"unknown R-DC method {method!r}; use one of {METHODS} (P1+P3 of the ablation is 'dec')")
    dev = ctx.device
    beta, gamma = resolve_beta_gamma(cfg.dataset, cfg["beta"], cfg["gamma"])
    data = load_dataset(cfg.dataset, subsample=cfg["subsample"], seed=cfg.seed, preprocess=cfg["preprocess"], device=dev)
    x, y, k = _noisy(data.x, cfg["noise_std"], cfg.seed), data.y, data.n_classes
    geo = _geometry_index(len(data), cfg["geometry_sample"], cfg.seed)

    model, pre_rows, pre = pretrained_autoencoder(cfg, x, y, k, geo, ctx)
    n_pre = int(pre_rows[-1]["global_iteration"]) if pre_rows else 0
    generator = seed_everything(cfg.seed + 10_000)
    log = _Logger(x, y, k, geo, cfg["n_neighbours"], beta, gamma, cfg["kmeans_n_init"], n_pre,
                  every=cfg["cluster_log_every"], seed=cfg.seed)
    z0 = models.embed(model, x)
    km0, t_km = _timed_kmeans(z0, k, cfg["kmeans_n_init"], cfg.seed)
    acc_pre = metrics.cluster_acc(y, km0.labels)
    meta: dict[str, Any] = {"pretrained_key": pre["key"], "pretrained_from_cache": pre["from_cache"],
                            "beta": beta, "gamma": gamma, "dataset": data.info.get("display_name"),
                            "subsample": data.info.get("subsample"), "geometry_rows": int(geo.numel()),
                            "noise_std": cfg["noise_std"]}
    common = dict(batch_size=cfg["batch_size"], lr=cfg["cluster_lr"], use_augment=cfg["augment"],
                  generator=generator, log=log, progress=ctx.progress)
    labels: Tensor | None = None
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {"iterations": 0, "stopped": "no phase 2"}
    if method == "ae_kmeans":
        labels = km0.labels
    elif method in ("rdc", "p1p2p3"):
        t_km = 0.0  # R-DC does not start from k-means; its final k-means is timed below
        rows, info = _run_phase2(cfg, ctx, model, x, log, beta, gamma, pre["key"], generator)
        meta.update(phase2_from_cache=info["phase2_from_cache"], core_ratios=info["core_ratios"],
                    phase2_stopped=info["stopped"])
        log.start = n_pre + info["iterations"]
        if method == "p1p2p3":
            z2 = models.embed(model, x)
            km2, t_km = _timed_kmeans(z2, k, cfg["kmeans_n_init"], cfg.seed)
            p3 = train_dec(model, x, km2.centroids, epochs=cfg["cluster_epochs"], recon_weight=0.0,
                           cluster_weight=1.0, refresh_every=cfg["refresh_every"], tol=cfg["dec_tol"], **common)
            rows += log.rows
            labels = p3["labels"]
            meta["phase3_stopped"] = p3["stopped"]
            info = {"iterations": info["iterations"] + p3["iterations"], "stopped": p3["stopped"]}
    elif method in ("dec", "idec"):
        idec = method == "idec"
        info = train_dec(model, x, km0.centroids, epochs=cfg["cluster_epochs"], recon_weight=1.0 if idec else 0.0,
                         cluster_weight=cfg["idec_weight"] if idec else 1.0, refresh_every=cfg["refresh_every"],
                         tol=cfg["dec_tol"], phase=PHASE_IDEC if idec else PHASE_DEC, **common)
        rows, labels = log.rows, info["labels"]
    elif method == "dynae":
        info = train_dynae(model, x, km0.centroids, epochs=cfg["cluster_epochs"], threshold=cfg["dynae_threshold"],
                           lam=cfg["pull_weight"], refresh_every=cfg["refresh_every"], **common)
        rows, labels = log.rows, info["labels"]
    elif method == "vade":
        t_km = 0.0  # VaDE starts from a GMM, timed inside train_vade
        info = train_vade(model, x, k, epochs=cfg["cluster_epochs"], logvar_init=cfg["vade_logvar_init"],
                          seed=cfg.seed, **common)
        rows, labels = log.rows, info["labels"]
        t_km = info["init_seconds"]

    z = models.embed(model, x)
    if labels is None:  # R-DC: k-means on the final embedding
        km_final, t_final = _timed_kmeans(z, k, cfg["kmeans_n_init"], cfg.seed)
        labels, t_km = km_final.labels, t_km + t_final
    final = {**_scores(y, labels), "nmi": metrics.nmi(y, labels), "ari": metrics.ari(y, labels),
             **_geometry(z, geo), "acc_pretrained": acc_pre, "iterations": float(info.get("iterations", 0)),
             "seconds_pretrain": _phase_seconds(pre_rows), "seconds_cluster": _phase_seconds(rows) + t_km}
    meta["stopped"] = info.get("stopped")
    history = pd.DataFrame([*pre_rows, *rows])
    for col in HISTORY_COLUMNS:
        if col not in history.columns:
            history[col] = math.nan
    history = history[list(HISTORY_COLUMNS)]
    g = geo.to(z.device)
    arrays = {"pca_final": pca_2d(z[g]), "pca_pretrained": pca_2d(z0[g]),
              "pca_y": y[g].cpu().numpy().astype(np.int64), "pca_pred": labels[g].cpu().numpy().astype(np.int64)}
    return RunOutput(history=history, final=final, arrays=arrays, meta=meta)


# ----------------------------------------------------------------------------
# rdc.paradigm (Figure 1)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """SimCLR's NT-Xent loss of two views (rows ``i`` of ``z1`` and ``z2`` are positives).

    Cosine similarities divided by ``temperature``; each of the ``2N`` rows
    is a ``2N - 1``-way classification of its partner among all other rows.
    """
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T) / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


@algorithm(
    "rdc.paradigm",
    pretext="reconstruction",
    split="all",
    subsample=3000,
    preprocess="rdc",
    latent_dim=10,
    batch_size=256,
    pretrain_epochs=30,
    pretrain_lr=1e-3,
    temperature=0.5,
    pretrain_log_every=2,
    cluster_epochs=20,
    cluster_lr=1e-4,
    refresh_every=5,
    dec_tol=0.001,
    geometry_sample=1000,
    kmeans_n_init=3,
)
def run_paradigm(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """The "typical" paradigm of R-DC Figure 1: self-supervised pretraining, then DEC.

    The autoencoder d-500-500-2000-10 is pretrained by vanilla reconstruction
    (``pretext="reconstruction"``, MSE, no augmentation) or its encoder by
    instance-level contrastive learning (``pretext="contrastive"``: NT-Xent of
    two views made by R-DC's shifts and rotations, cosine similarity of the
    10-d codes, ``temperature``), then fine-tuned by DEC's KL(P || Q) on the
    encoder (centroids from k-means). ``split="test"`` loads only the test
    split (MNIST here).

    History: one row per logged epoch, ``phase`` ``"pretrain"`` or ``"DEC"``,
    ``global_iteration`` counting mini-batches over both phases, ``acc``
    (k-means in pretraining, DEC's assignment after), ``id`` (TwoNN) and
    ``lid`` (PCA, 90 %) of a fixed subsample of codes.
    """
    pretext = cfg["pretext"]
    if pretext not in ("reconstruction", "contrastive"):
        raise ValueError(f"rdc.paradigm pretext must be 'reconstruction' or 'contrastive', got {pretext!r}")
    dev = ctx.device
    data = load_dataset(cfg.dataset, split=cfg["split"], subsample=cfg["subsample"], seed=cfg.seed,
                        preprocess=cfg["preprocess"], device=dev)
    x, y, k = data.x, data.y, data.n_classes
    geo = _geometry_index(len(data), cfg["geometry_sample"], cfg.seed)
    generator = seed_everything(cfg.seed)
    d = int(np.prod(x.shape[1:]))
    model = models.rdc_autoencoder(d, cfg["latent_dim"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["pretrain_lr"])
    rows: list[dict[str, Any]] = []
    step = 0

    def log(epoch: int, loss: float) -> None:
        z = models.embed(model, x)
        labels = _kmeans_labels(z, k, cfg["kmeans_n_init"], cfg.seed).labels
        rows.append({"phase": "pretrain", "epoch": epoch, "iteration": step, "global_iteration": step, "loss": loss,
                     **_scores(y, labels), **_geometry(z, geo)})

    log(0, math.nan)
    for epoch in ctx.progress(range(1, cfg["pretrain_epochs"] + 1)):
        total, count = 0.0, 0
        for idx in _batches(x.shape[0], cfg["batch_size"], generator, dev):
            xb = x[idx]
            model.train()
            if pretext == "reconstruction":
                loss = F.mse_loss(model(xb)[1], xb.reshape(xb.shape[0], -1))
            else:
                loss = nt_xent(model.encode(_augment(xb, True, generator)), model.encode(_augment(xb, True, generator)),
                               cfg["temperature"])
            value = _finite(float(loss.detach()), f"{pretext} pretraining loss", f"at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * idx.numel()
            count += idx.numel()
            step += 1
        if epoch % cfg["pretrain_log_every"] == 0 or epoch == cfg["pretrain_epochs"]:
            log(epoch, total / max(count, 1))
    n_pre = step
    dec_log = _Logger(x, y, k, geo, 5, 0.6, 0.6, cfg["kmeans_n_init"], n_pre, seed=cfg.seed)
    mu = _kmeans_labels(models.embed(model, x), k, cfg["kmeans_n_init"], cfg.seed).centroids
    info = train_dec(model, x, mu, epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                     recon_weight=0.0, cluster_weight=1.0, refresh_every=cfg["refresh_every"], tol=cfg["dec_tol"],
                     use_augment=False, generator=generator, log=dec_log, phase="DEC", progress=ctx.progress)
    history = pd.DataFrame([*rows, *dec_log.rows])
    history = history[["phase", "epoch", "iteration", "global_iteration", "loss", "acc", "f1_macro", "f1_micro",
                       "id", "lid"]]
    z = models.embed(model, x)
    final = {**_scores(y, info["labels"]), **_geometry(z, geo), "acc_pretrained": float(rows[-1]["acc"]),
             "lid_pretrained": float(rows[-1]["lid"]), "id_pretrained": float(rows[-1]["id"]),
             "iterations_pretrain": float(n_pre), "iterations_cluster": float(info["iterations"])}
    return RunOutput(history=history, final=final,
                     meta={"dataset": data.info.get("display_name"), "split": cfg["split"],
                           "subsample": data.info.get("subsample"), "stopped": info["stopped"]})


# ----------------------------------------------------------------------------
# rdc.twist (Figures 2 and 16)


def _knn_purity(z: Tensor, y: Tensor, m: int = 5) -> float:
    _, idx = proximity.knn(z, m)
    return float((y[idx] == y.unsqueeze(1)).float().mean())


def _flatness(z: Tensor) -> float:
    """Smaller / larger singular value of the centred 2-D codes (0 = collapsed onto a line)."""
    s = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))
    return float(s[-1] / s[0]) if float(s[0]) > 0 else 0.0


@algorithm(
    "rdc.twist",
    method="dec",
    n_per_cluster=250,
    hidden=16,
    batch_size=64,
    pretrain_epochs=200,
    pretrain_lr=1e-3,
    cluster_epochs=100,
    cluster_lr=1e-3,
    refresh_every=16,
    patience=1_000_000,
    beta=0.6,
    gamma=0.6,
    n_neighbours=5,
    pull_weight=1.0,
    snapshots=5,
)
def run_twist(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    """Feature Twist toy: curved4, affine two-layer AE, reconstruction pretraining, then DEC or R-DC phase 2.

    ``method`` is ``"dec"`` (Figure 2) or ``"rdc"`` (Figure 16). The default
    ``patience`` is so large that phase 2 runs all ``cluster_epochs`` (the
    figures compare equal lengths); beta / gamma are our choice (the paper
    gives none for the toy).

    Arrays: ``latent`` (S, N, 2) snapshots, ``snapshot_epoch`` (S,) (0 =
    before pretraining, ``pretrain_epochs`` = after it, then phase-2 epochs
    counted on from there), ``y`` (N,), ``x`` (N, 2) the z-scored input.
    History: one row per phase-2 epoch (and epoch 0 = after pretraining):
    ``knn_purity`` (share of 5-NN with the same true cluster), ``flatness``,
    ``acc`` and ``loss``.
    """
    method = cfg["method"]
    if method not in ("dec", "rdc"):
        raise ValueError(f"rdc.twist compares 'dec' (Figure 2) and 'rdc' (Figure 16), got {method!r}")
    if cfg.dataset != "curved4":
        raise ValueError(f"rdc.twist runs on the synthetic 'curved4' data set, got {cfg.dataset!r}")
    dev = ctx.device
    generator = seed_everything(cfg.seed)
    from dcutils.data import make_curved_clusters

    raw = make_curved_clusters(n_per_cluster=cfg["n_per_cluster"], seed=cfg.seed)
    x = raw.x.to(dev)
    x = (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)
    y = raw.y.to(dev)
    k = 4
    model = models.linear_autoencoder(2, 2, hidden=cfg["hidden"]).to(dev)
    n_pre, n_cl = cfg["pretrain_epochs"], cfg["cluster_epochs"]
    s = max(int(cfg["snapshots"]), 2)
    snap_epochs = sorted({0, n_pre, *[n_pre + int(round(v)) for v in np.linspace(0, n_cl, s)[1:]]})
    snaps: dict[int, np.ndarray] = {}

    def snap(epoch: int) -> None:
        if epoch in snap_epochs:
            snaps[epoch] = models.embed(model, x).cpu().numpy()

    snap(0)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["pretrain_lr"])
    for epoch in ctx.progress(range(1, n_pre + 1)):
        for idx in _batches(x.shape[0], cfg["batch_size"], generator, dev):
            model.train()
            loss = F.mse_loss(model(x[idx])[1], x[idx])
            _finite(float(loss.detach()), "twist pretraining loss", f"at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        snap(epoch)

    rows: list[dict[str, Any]] = []

    class _TwistLog:
        def __init__(self):
            self.rows = rows

        def __call__(self, model, phase, epoch, iteration, loss, labels=None, **extra):
            z = models.embed(model, x)
            if labels is None:
                labels = _kmeans_labels(z, k, 5, 0).labels
            rows.append({"epoch": n_pre + epoch, "phase": phase, "iteration": iteration, "loss": loss,
                         "acc": metrics.cluster_acc(y, labels), "knn_purity": _knn_purity(z, y),
                         "flatness": _flatness(z), "core_ratio": extra.get("core_ratio", math.nan)})
            snap(n_pre + epoch)

    log = _TwistLog()
    if method == "dec":
        mu = _kmeans_labels(models.embed(model, x), k, 5, cfg.seed).centroids
        info = train_dec(model, x, mu, epochs=n_cl, batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                         recon_weight=0.0, cluster_weight=1.0, refresh_every=cfg["refresh_every"], tol=-1.0,
                         use_augment=False, generator=generator, log=log)
    else:
        info = train_proximity(model, x, epochs=n_cl, batch_size=cfg["batch_size"], lr=cfg["cluster_lr"],
                               beta=cfg["beta"], gamma=cfg["gamma"], m=cfg["n_neighbours"], lam=cfg["pull_weight"],
                               refresh_every=cfg["refresh_every"], patience=cfg["patience"], use_augment=False,
                               generator=generator, log=log)
    for e in snap_epochs:  # a stop before the last epoch: later snapshots repeat the final state
        if e not in snaps:
            snaps[e] = models.embed(model, x).cpu().numpy()
    epochs_sorted = sorted(snaps)
    arrays = {
        "latent": np.stack([snaps[e] for e in epochs_sorted]).astype(np.float32),
        "snapshot_epoch": np.asarray(epochs_sorted, dtype=np.int64),
        "y": y.cpu().numpy().astype(np.int64),
        "x": x.cpu().numpy().astype(np.float32),
    }
    hist = pd.DataFrame(rows)
    first, last = hist.iloc[0], hist.iloc[-1]
    final = {"acc": float(last["acc"]), "knn_purity": float(last["knn_purity"]), "flatness": float(last["flatness"]),
             "knn_purity_pretrained": float(first["knn_purity"]), "flatness_pretrained": float(first["flatness"]),
             "acc_pretrained": float(first["acc"]), "iterations": float(info["iterations"])}
    return RunOutput(history=hist, final=final, arrays=arrays, meta={"stopped": info["stopped"]})
