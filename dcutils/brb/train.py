"""BRB's clustering loop: DEC, IDEC or DCN with a BRB variant every T epochs.

:func:`train_clustering` runs the clustering phase on one on-device data
tensor: initial k-means on every sample's embedding, then epochs over random
mini-batches with an augmented and a clean view (Eq. 14-17), gradient-norm
clipping, and the variant's step (:mod:`dcutils.brb.steps`) at the start of
epochs T, 2T, ... (:func:`reset_epochs`). Each epoch is evaluated on all
samples (ACC, NMI, ARI, label change, intra-/inter-CD, silhouettes).

Where the paper is silent the loop follows the authors' code
(``Probabilistic-and-Interactive-ML/breaking-the-reclustering-barrier``);
each switch's other value keeps the earlier behaviour:

* ``drop_last=True``: the last partial mini-batch of every clustering epoch
  is dropped (``src/datasets/augmentation_dataloader.py``,
  ``get_dataloader_with_augmentation``: the augmented training loader has
  ``shuffle=True, drop_last=True``). Pretraining keeps every sample (its
  loader, ``src/datasets/dataset_init.py``, ``_get_train_eval_loader``, has no
  ``drop_last``). ``False``: the last partial batch is trained on.
* ``clip="autoencoder"``: the gradient norm (500) is clipped over the
  autoencoder's parameters only (``src/deep/dec_module.py`` and
  ``dcn_module.py``, ``fit``: ``clip_grad_norm_(autoencoder.parameters(), 500)``),
  so DEC/IDEC centroid gradients are never scaled. ``"all"``: centroids
  included in the clipped norm.
* ``interpolation="nearest"``: the affine view samples the nearest pixel
  (``augmentation_dataloader.py`` uses ``v2.RandomAffine`` without
  ``interpolation``, i.e. torchvision's default NEAREST). ``"bilinear"``: blends.
* ``dcn_loss_mean="entries"`` and ``dcn_centroids="epoch_pass"``: DCN as
  ``src/deep/dcn_module.py`` computes it (:mod:`dcutils.brb.losses`);
  ``"samples"`` / ``"eq7"`` give the mean over samples and Eq. 7 after every step.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import metrics
from dcutils.augment import random_affine
from dcutils.brb.augmentation import _channel_stats, make_augmenter, setup_for
from dcutils.brb.losses import (
    DCN_CENTROIDS,
    DCN_LOSS_MEANS,
    METHODS,
    VIEW_PASSES,
    check_choice,
    clustering_loss,
    dcn_centroid_pass,
    dcn_update_centroids,
)
from dcutils.brb.pretrain import check_loss, check_training_args
from dcutils.brb.steps import RECLUSTERS, BRBStepInfo, brb_step, disentangled_step, noise_step
from dcutils.core import RunContext
from dcutils.data import Dataset
from dcutils.health import cluster_sizes  # re-exported: dcutils.brb.train.cluster_sizes stays importable
from dcutils.hparams import BRB_GRAYSCALE as SETUP
from dcutils.hparams import BRBAutoencoderSetup
from dcutils.models import embed
from dcutils.precision import adam, autocast, check_precision
from dcutils.timing import Stopwatch

__all__ = ["VARIANTS", "CLIPS", "INTERPOLATIONS", "FIRST_CLUSTERING_MODES", "HISTORY_COLUMNS", "METRICS_SUBSAMPLE",
           "reset_epochs", "ClusteringResult", "ClusteringRun", "check_loop_args", "train_clustering",
           "step_for_variant", "affine_view", "clustering_augmenter", "batches_per_epoch", "cluster_sizes"]

#: BRB step kinds: what each variant does every T epochs.
VARIANTS = ("none", "brb", "recluster", "reset", "perturb_only", "gaussian", "noise", "disentangled")

#: Columns of :attr:`ClusteringResult.history` (one row per epoch; row 0 =
#: after the initial k-means, before any clustering epoch).
HISTORY_COLUMNS = (
    "epoch", "acc", "nmi", "ari", "cl_change", "intra_cd", "inter_cd", "silhouette", "silhouette_pred",
    "recon_loss", "cluster_loss", "brb", "t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds",
    "epoch_seconds", "min_cluster_share", "empty_clusters",
)

#: Samples used for intra-/inter-CD and silhouettes each epoch (fixed subset).
METRICS_SUBSAMPLE = 2_000

#: ``clip`` values: the autoencoder's parameters only (authors' code), or centroids too.
CLIPS = ("autoencoder", "all")

#: ``interpolation`` values of the affine view: torchvision's default (authors), or bilinear.
INTERPOLATIONS = ("nearest", "bilinear")

#: ``first_clustering`` values: the network's mode for the initial k-means and epoch 0's scores.
FIRST_CLUSTERING_MODES = ("eval", "train")


def batches_per_epoch(n: int, batch_size: int, drop_last: bool = True) -> int:
    """Optimizer steps of one clustering epoch over ``n`` samples."""
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def affine_view(setup: BRBAutoencoderSetup, fill: Tensor | float, image_shape,
                interpolation: str = "nearest") -> Callable[[Tensor, torch.Generator], Tensor]:
    """Random affine views with ``setup``'s Table 5 parameters, ``fill`` moved in, ``interpolation`` sampling."""
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    a = setup.affine

    def augment(xb: Tensor, generator: torch.Generator) -> Tensor:
        return random_affine(xb, a.degrees, a.translate, a.shear, generator, fill=fill, image_shape=image_shape,
                             interpolation=interpolation)

    return augment


def clustering_augmenter(data: Dataset, interpolation: str = "nearest") -> Callable[[Tensor, torch.Generator], Tensor]:
    """:func:`dcutils.brb.make_augmenter` with the affine view's ``interpolation``.

    Grayscale sets (Table 5): random affine with the z-scored black background
    moved in, sampled with ``interpolation`` ("nearest" = the authors'
    ``v2.RandomAffine`` default). GTSRB (Table 6): the colour pipeline of
    :func:`~dcutils.brb.make_augmenter`, unchanged (no affine warp).
    """
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    setup = setup_for(data.name)
    if setup.color is not None:
        return make_augmenter(data, setup)
    if data.x.dim() != 4:
        raise ValueError(f"augmentation needs images (N, C, H, W), got {tuple(data.x.shape)}")
    mean, std = _channel_stats(data)
    return affine_view(setup, (-mean / std).flatten(), tuple(data.x.shape[1:]), interpolation)


def reset_epochs(cluster_epochs: int, reset_interval: int) -> list[int]:
    """Epochs (0-based) at whose start a BRB step runs: T, 2T, ... < cluster_epochs.

    The paper's 400 epochs with T = 20 give 20, 40, ..., 380 (19 steps).
    """
    if reset_interval < 1:
        raise ValueError(f"reset_interval must be >= 1 epoch, got {reset_interval}")
    return list(range(reset_interval, cluster_epochs, reset_interval))


@dataclass
class ClusteringResult:
    """Output of :func:`train_clustering`.

    history : one row per epoch, columns :data:`HISTORY_COLUMNS` (row 0: after
        the initial k-means; row e: after clustering epoch e)
    centroids : Tensor (K, D) at the end
    labels : np.ndarray (N,) final assignments
    steps : BRBStepInfo of every BRB step, in order
    ratio_step : index into ``steps`` whose d1/d2 were recorded (or None)
    snapshot : with ``snapshot=True``, the embedding of every sample and the
        centroids just before and just after that step (float32 arrays
        ``embedding_before`` / ``embedding_after`` (N, D), ``centroids_before``
        / ``centroids_after`` (K, D)); else None
    """

    history: pd.DataFrame
    centroids: Tensor
    labels: np.ndarray
    steps: list[BRBStepInfo]
    ratio_step: int | None
    snapshot: dict[str, np.ndarray] | None = None


def _silhouette(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of (b - a) / max(a, b), 0 where undefined.

    Computed here rather than with ``metrics.silhouette`` because, when many
    embeddings coincide (an untrained network), float error can make a(i)
    slightly negative with b(i) = 0, and that division gives +inf there.
    """
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, None)
    b = np.clip(b, 0.0, None)
    den = np.maximum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(den > 0, (b - a) / den, 0.0)
    return float(s.mean())


def _evaluate(model, x, y_np, centroids, prev_labels, metric_idx, z: Tensor | None = None
              ) -> tuple[dict[str, float], np.ndarray]:
    z = embed(model, x) if z is None else z
    labels = km.assign(z, centroids.detach().to(z.dtype)).cpu().numpy()
    scores = metrics.clustering_scores(y_np, labels)
    row = {"acc": scores["acc"], "nmi": scores["nmi"], "ari": scores["ari"], **cluster_sizes(labels, len(centroids))}
    row["cl_change"] = metrics.cluster_label_change(prev_labels, labels) if prev_labels is not None else math.nan
    zs = z[metric_idx] if metric_idx is not None else z
    ys = y_np[metric_idx.cpu().numpy()] if metric_idx is not None else y_np
    a, b = metrics.silhouette_components(zs, ys, metric="cosine")
    row.update(intra_cd=float(np.nanmean(a)), inter_cd=float(np.mean(b)), silhouette=_silhouette(a, b))
    lp = labels[metric_idx.cpu().numpy()] if metric_idx is not None else labels
    row["silhouette_pred"] = (_silhouette(*metrics.silhouette_components(zs, lp, metric="cosine"))
                              if 2 <= len(np.unique(lp)) <= len(lp) - 1 else math.nan)
    return row, labels


def step_for_variant(variant: str, *, model, centroids, optimizer, x_sub, method, alpha, recluster,
                      reset_embedding, reset_momentum, counts, noise_scale, n_init, record, generator) -> BRBStepInfo:
    common = dict(method=method, counts=counts, n_init=n_init, record=record, generator=generator)
    if variant == "noise":
        return noise_step(model, centroids, optimizer, x_sub, scale=noise_scale,
                          reset_momentum=reset_momentum, **common)
    if variant == "disentangled":
        return disentangled_step(model, centroids, optimizer, x_sub, alpha=alpha, reset_embedding=reset_embedding,
                                 reset_momentum=reset_momentum, **common)
    reset_of = {"brb": "soft", "recluster": None, "reset": "soft", "perturb_only": "perturb", "gaussian": "gaussian"}
    reset = reset_of[variant]
    how = None if variant == "reset" else recluster
    # The "Recluster" and "Reset" baselines reset no momentum (authors' configs).
    momentum = reset_momentum and variant not in ("recluster", "reset")
    return brb_step(model, centroids, optimizer, x_sub, alpha=alpha, reset=reset, recluster=how,
                    reset_embedding=reset_embedding, reset_momentum=momentum, **common)


def train_clustering(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    method: str = "idec",
    variant: str = "brb",
    cluster_epochs: int = SETUP.cluster_epochs,
    reset_interval: int = SETUP.reset_interval,
    alpha: float = SETUP.alpha,
    lr: float = SETUP.lr,
    batch_size: int = SETUP.batch_size,
    recluster_subsample: int = SETUP.recluster_subsample,
    recluster: str = "kmeans",
    reset_embedding: bool = SETUP.reset_embedding,
    reset_momentum: bool = SETUP.reset_momentum,
    augment: bool | Callable[[Tensor, torch.Generator], Tensor] = SETUP.cluster_augmentation,
    noise_scale: float = 0.5,
    n_init: int = SETUP.kmeans_n_init,
    metrics_subsample: int | None = METRICS_SUBSAMPLE,
    ratio_step: int | None = None,
    dcn_loss_mean: str = "entries",
    dcn_centroids: str = "epoch_pass",
    drop_last: bool = True,
    clip: str = "autoencoder",
    interpolation: str = "nearest",
    first_clustering: str = "eval",
    view_passes: str = "authors",
    precision: str = "fp32",
    fused_adam: bool = True,
    snapshot: bool = False,
    generator: torch.Generator | None = None,
    ctx: RunContext | None = None,
) -> ClusteringResult:
    """Train DEC / IDEC / DCN (with a BRB variant) on one on-device data tensor.

    Initial k-means (k-means++, ``n_init``) on every sample's embedding, then
    ``cluster_epochs`` epochs over random mini-batches (the last partial one
    dropped when ``drop_last``): the first view is augmented (``augment``;
    ``True`` = ``random_affine`` with BRB's Table 5 parameters, 0 as the
    background and ``interpolation``), the second stays clean (Eq. 14-17);
    gradient norms are clipped at 500 (``clip``); DCN's centroids move once
    per epoch (``dcn_centroids="epoch_pass"``, :func:`~dcutils.brb.losses.dcn_centroid_pass`
    after the epoch's steps) or after every step (``"eq7"``); a BRB step
    (``variant``) runs at the start of epochs T, 2T, ... (:func:`reset_epochs`)
    on ``recluster_subsample`` clean samples drawn anew each time.

    Per epoch (on all samples): acc, nmi, ari, cl_change (percent vs the
    previous row); min_cluster_share and empty_clusters of the predicted
    clusters (:func:`cluster_sizes`, for :mod:`dcutils.health`); intra_cd / inter_cd / silhouette (ground truth) and
    silhouette_pred (predicted clusters), cosine, on a fixed random subset of
    ``metrics_subsample`` samples (all when None or N is smaller) for speed;
    mean reconstruction and cluster loss of the epoch's mini-batches; BRB
    component times; training seconds of the epoch (no metrics, no BRB).

    Parameters
    ----------
    model : autoencoder on the same device as ``x``
    x : Tensor (N, C, H, W) or (N, d), z-scored data on the device
    y : LongTensor (N,) ground truth (metrics only)
    method : {"dec", "idec", "dcn"}
    variant : one of :data:`VARIANTS` ("none" = no step every T epochs)
    ratio_step : which BRB step (0-based) records d1/d2 ratios; default the
        middle one
    dcn_loss_mean : {"entries", "samples"} DCN loss over N x K entries
        (authors' ``dcn_module.py``) or over samples
    dcn_centroids : {"epoch_pass", "eq7"} DCN's centroid update: the authors'
        per-epoch eval pass at rate 1/101, or Eq. 7's running counts per step
    drop_last : drop each epoch's last partial mini-batch (authors' training
        loader); needs N >= batch_size
    clip : {"autoencoder", "all"} parameters whose joint gradient norm is
        clipped at 500: the autoencoder's (authors' ``fit``) or also DEC/IDEC's
        centroids
    interpolation : {"nearest", "bilinear"} of the affine view when
        ``augment=True`` (a callable ``augment`` brings its own; see
        :func:`clustering_augmenter`)
    first_clustering : {"eval", "train"} the network's mode when it embeds
        every sample for the initial k-means and for epoch 0's scores.
        ``"train"`` is what the authors' code does for a network that was not
        pretrained (``src/training/ae.py`` returns it without ``.eval()``):
        BatchNorm normalises each batch of ``batch_size`` samples in data
        order by its own statistics and updates the running statistics, once
        for the k-means embedding and once for the scores
        (:func:`dcutils.models.embed` with ``train_mode``). A pretrained
        network is in eval mode there (``ae.eval()`` after pretraining).
        Without BatchNorm both give the same numbers.
    view_passes : {"authors", "joint"} how the two views pass a BatchNorm
        network (:func:`~dcutils.brb.losses.clustering_loss`)
    precision : "fp32", or "bf16": autocast of each mini-batch's forward pass
        and loss (:mod:`dcutils.precision`; parameters, gradients, Adam and
        the evaluation stay fp32).
    fused_adam : torch's fused Adam (the same update up to float rounding,
        3x faster on a CPU) or, False, torch's default single-tensor Adam
    snapshot : also keep every sample's embedding and the centroids just
        before and after the recorded step (``ratio_step``; Figures 3 and 13).
        Outside the step's timings; changes no random draw.
    generator : CPU torch.Generator driving every random draw of the loop
    ctx : RunContext for progress bars and NaN checks

    Raises
    ------
    NonFiniteLossError when a loss becomes NaN or infinite.
    """
    augmenter = check_loop_args(x, y, method=method, cluster_epochs=cluster_epochs, lr=lr, batch_size=batch_size,
                                augment=augment, dcn_loss_mean=dcn_loss_mean, drop_last=drop_last, clip=clip,
                                interpolation=interpolation, view_passes=view_passes, precision=precision)
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    device = x.device
    timer = Stopwatch(device)
    n = x.shape[0]
    run = ClusteringRun(model, x, y, method=method, variant=variant, cluster_epochs=cluster_epochs,
               reset_interval=reset_interval, alpha=alpha, batch_size=batch_size,
               recluster_subsample=recluster_subsample, recluster=recluster, reset_embedding=reset_embedding,
               reset_momentum=reset_momentum, noise_scale=noise_scale, n_init=n_init,
               metrics_subsample=metrics_subsample, ratio_step=ratio_step, dcn_centroids=dcn_centroids,
               drop_last=drop_last, first_clustering=first_clustering, snapshot=snapshot, generator=generator)
    centroids, counts = run.centroids, run.counts
    params = [*model.parameters(), *run.trained_centroids()]
    optimizer = adam(params, lr=lr, betas=SETUP.betas, weight_decay=SETUP.weight_decay,
                     fused=None if fused_adam else False)
    clipped = list(model.parameters()) if clip == "autoencoder" else params
    stop = n - n % batch_size if drop_last else n  # rows of each epoch's order that are trained on

    epochs_iter = range(cluster_epochs)
    if ctx is not None:
        epochs_iter = ctx.progress(epochs_iter)
    for epoch in epochs_iter:
        times = run.step_if_due(epoch, optimizer)
        model.train()
        t0 = timer.now()
        perm = torch.randperm(n, generator=generator).to(device)
        rec_sum = x.new_zeros(())
        cl_sum = x.new_zeros(())
        for s in range(0, stop, batch_size):
            xb = x[perm[s : s + batch_size]]
            xa = augmenter(xb, generator) if augmenter is not None else None
            with autocast(device, precision):
                total, recon, cluster, _ = clustering_loss(method, model, xb, centroids, xa,
                                                           dcn_loss_mean=dcn_loss_mean, view_passes=view_passes)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            nn.utils.clip_grad_norm_(clipped, SETUP.grad_clip)
            optimizer.step()
            if method == "dcn" and dcn_centroids == "eq7":
                with torch.no_grad():
                    zb = model.encode(xb)
                    new_c, new_n = dcn_update_centroids(centroids, counts, zb, km.assign(zb, centroids))
                    centroids.copy_(new_c)
                    counts.copy_(new_n)
            rec_sum += recon.detach() * xb.shape[0]
            cl_sum += cluster.detach() * xb.shape[0]
        run.centroid_pass()
        rec, cl = float(rec_sum) / stop, float(cl_sum) / stop
        run.record_epoch(epoch, times, rec, cl, timer.now() - t0, ctx)
    return run.result()


def check_loop_args(x: Tensor, y: Tensor, *, method: str, cluster_epochs: int, lr: float, batch_size: int,
                    augment, dcn_loss_mean: str, drop_last: bool, clip: str, interpolation: str, view_passes: str,
                    precision: str) -> Callable[[Tensor, torch.Generator], Tensor] | None:
    """Validate what the whole loop shares (every run of a stacked group too); return the augmenter or None.

    ``augment=True`` becomes :func:`affine_view` with Table 5's parameters, 0 as the background and
    ``interpolation``; a callable is returned as given; False gives None.
    """
    check_choice("method", method, METHODS)
    check_choice("dcn_loss_mean", dcn_loss_mean, DCN_LOSS_MEANS)
    check_choice("clip", clip, CLIPS)
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    check_choice("view_passes", view_passes, VIEW_PASSES)
    check_training_args(cluster_epochs, lr, batch_size)
    check_precision(precision)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")
    if drop_last and x.shape[0] < batch_size:
        raise ValueError(f"drop_last=True with {x.shape[0]} samples < batch_size {batch_size} leaves no mini-batch; "
                         "use a smaller batch_size or drop_last=False")
    if augment is not True:
        return augment if callable(augment) else None
    if x.dim() == 4:
        image_shape = tuple(x.shape[1:])
    elif x.dim() == 2 and int(math.isqrt(x.shape[1])) ** 2 == x.shape[1]:
        image_shape = (1, math.isqrt(x.shape[1]), math.isqrt(x.shape[1]))
    else:
        raise ValueError(f"augmentation needs images (N, C, H, W), got x of shape {tuple(x.shape)}; "
                         "pass augment=False")
    return affine_view(SETUP, 0.0, image_shape, interpolation)


class ClusteringRun:
    """One run's own part of the clustering loop: what :func:`train_clustering` keeps per run.

    Its network (``model``; in a stacked group a view whose tensors alias one row of the stack), centroids
    (and DCN's Eq. 7 counts), generator, the BRB steps due, the per-epoch rows and the last labels. Creating
    it runs the initial k-means and scores epoch 0; :meth:`step_if_due` runs the variant's step at the
    start of an epoch, :meth:`centroid_pass` DCN's per-epoch pass, :meth:`record_epoch` checks the
    epoch's losses and scores it; :meth:`result` gives the :class:`ClusteringResult`. Every random draw
    comes from the run's own generator, in the order the single loop draws them.
    """

    def __init__(self, model: nn.Module, x: Tensor, y: Tensor, *, method: str, variant: str, cluster_epochs: int,
                 reset_interval: int, alpha: float, batch_size: int, recluster_subsample: int, recluster: str,
                 reset_embedding: bool, reset_momentum: bool, noise_scale: float, n_init: int,
                 metrics_subsample: int | None, ratio_step: int | None, dcn_centroids: str, drop_last: bool,
                 first_clustering: str, snapshot: bool, generator: torch.Generator):
        check_choice("variant", variant, VARIANTS)
        check_choice("recluster", recluster, RECLUSTERS[:-1])
        check_choice("dcn_centroids", dcn_centroids, DCN_CENTROIDS)
        check_choice("first_clustering", first_clustering, FIRST_CLUSTERING_MODES)
        self.model, self.x, self.method, self.variant = model, x, method, variant
        self.alpha, self.batch_size, self.recluster = alpha, batch_size, recluster
        self.recluster_subsample, self.n_init, self.noise_scale = recluster_subsample, n_init, noise_scale
        self.reset_embedding, self.reset_momentum = reset_embedding, reset_momentum
        self.dcn_centroids, self.drop_last = dcn_centroids, drop_last
        self.snapshot, self.generator = snapshot, generator
        device = x.device
        n, k = x.shape[0], int(y.max().item()) + 1
        self.y_np = y.cpu().numpy()
        self.steps_at = reset_epochs(cluster_epochs, reset_interval) if variant != "none" else []
        if ratio_step is None and self.steps_at:
            ratio_step = (len(self.steps_at) - 1) // 2
        self.ratio_step = ratio_step

        # initial clustering on all samples (train mode: batches of batch_size in data order, as the authors' code)
        first_train = first_clustering == "train"
        z_all = embed(model, x, batch_size=batch_size, train_mode=True) if first_train else embed(model, x)
        init = km.kmeans(z_all, k, n_init=n_init, generator=generator)
        if method == "dcn":
            self.centroids = init.centroids.clone()
            # Eq. 7's running counts; the authors' per-epoch pass has none (its rate stays 1/101)
            self.counts = torch.ones(k, dtype=self.centroids.dtype, device=device) if dcn_centroids == "eq7" else None
        else:
            self.centroids = nn.Parameter(init.centroids.clone())
            self.counts = None
        self.metric_idx = None
        if metrics_subsample is not None and n > metrics_subsample:
            self.metric_idx = km.subsample_indices(n, metrics_subsample, torch.Generator().manual_seed(0),
                                                   device=device)
        z0 = embed(model, x, batch_size=batch_size, train_mode=True) if first_train else None
        row, self.labels = _evaluate(model, x, self.y_np, self.centroids, None, self.metric_idx, z=z0)
        self.rows = [{"epoch": 0, **row, "recon_loss": math.nan, "cluster_loss": math.nan, "brb": False,
                      **BRBStepInfo().times(), "epoch_seconds": 0.0}]
        self.steps: list[BRBStepInfo] = []
        self.shot: dict[str, np.ndarray] | None = None

    def trained_centroids(self) -> list[Tensor]:
        """The centroids when the optimizer trains them (DEC/IDEC), else nothing (DCN moves its own)."""
        return [] if self.method == "dcn" else [self.centroids]

    def step_if_due(self, epoch: int, optimizer) -> dict[str, float]:
        """Run the variant's step when ``epoch`` is one of T, 2T, ...; its component times (zeros when none)."""
        if epoch not in self.steps_at:
            return BRBStepInfo().times()
        x, model, centroids = self.x, self.model, self.centroids
        idx = km.subsample_indices(x.shape[0], self.recluster_subsample, self.generator, device=x.device)
        keep = self.snapshot and len(self.steps) == self.ratio_step
        if keep:
            self.shot = _state(model, x, centroids, "before")
        info = step_for_variant(
            self.variant, model=model, centroids=centroids, optimizer=optimizer, x_sub=x[idx], method=self.method,
            alpha=self.alpha, recluster=self.recluster, reset_embedding=self.reset_embedding,
            reset_momentum=self.reset_momentum, counts=self.counts, noise_scale=self.noise_scale,
            n_init=self.n_init, record=len(self.steps) == self.ratio_step, generator=self.generator)
        self.steps.append(info)
        if keep:
            self.shot.update(_state(model, x, centroids, "after"))
        return info.times()

    def centroid_pass(self) -> None:
        """DCN's per-epoch centroid pass after the epoch's steps (``dcn_centroids="epoch_pass"``), else nothing."""
        if self.method == "dcn" and self.dcn_centroids == "epoch_pass":
            dcn_centroid_pass(self.model, self.x, self.centroids, batch_size=self.batch_size,
                              generator=self.generator, drop_last=self.drop_last)

    def record_epoch(self, epoch: int, times: dict[str, float], rec: float, cl: float, seconds: float,
                     ctx: RunContext | None) -> None:
        """Check the epoch's mean losses (NonFiniteLossError), score every sample and keep the row."""
        check_loss(rec, "reconstruction loss", ctx, epoch + 1)
        check_loss(cl, "cluster loss", ctx, epoch + 1)
        row, self.labels = _evaluate(self.model, self.x, self.y_np, self.centroids, self.labels, self.metric_idx)
        self.rows.append({"epoch": epoch + 1, **row, "recon_loss": rec if self.method != "dec" else math.nan,
                          "cluster_loss": cl, "brb": epoch in self.steps_at, **times, "epoch_seconds": seconds})

    def result(self) -> ClusteringResult:
        history = pd.DataFrame(self.rows, columns=list(HISTORY_COLUMNS))
        ratio = self.ratio_step
        return ClusteringResult(history, self.centroids.detach().clone(), self.labels, self.steps,
                                ratio if self.steps and ratio is not None and ratio < len(self.steps) else None,
                                self.shot)


def _state(model: nn.Module, x: Tensor, centroids: Tensor, when: str) -> dict[str, np.ndarray]:
    """Every sample's embedding and the centroids now, as float32 arrays named ``*_<when>``."""
    z = embed(model, x)
    return {f"embedding_{when}": z.float().cpu().numpy(),
            f"centroids_{when}": centroids.detach().float().cpu().numpy().copy()}


