"""Several BRB clustering runs trained together as one stacked model (issue 25).

:func:`train_clustering_group` is :func:`dcutils.brb.train.train_clustering` for R runs that share the
shape of their training: one data set, method, batch size, learning rate, epochs, augmentation, loss
options and precision (:data:`SHARED`). What they do every T epochs may differ: each run keeps its own
generator, centroids, variant (plain / +BRB / +Recluster / +Reset / ablations), reset interval, alpha,
k-means restarts and first clustering (:data:`PER_RUN`), and its step runs on its own view of the stack
(:class:`dcutils.stacking.StackedNetworks`). The mini-batch steps of all runs are one batched forward and
backward pass (``torch.func.vmap``), one fused Adam step over the stacked parameters (elementwise, so
each run's rows move as alone), and gradient clipping per run.

Every random draw of run r comes from run r's generator in the order :func:`train_clustering` draws it
(its step, the epoch's order, each mini-batch's augmentation, DCN's pass), so each run's history equals
its single run's up to floating-point reordering (``tests/test_stacking.py``: final metrics within 1e-4).

Timings: a run's ``epoch_seconds`` is the group's epoch time divided by R (its share of the shared
steps); its BRB step times are its own.

DCN's Eq. 7 update after every step (``dcn_centroids="eq7"``) is not stacked: those runs train alone.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import torch
from torch import Tensor, nn

from dcutils.brb.losses import DCN_CENTROIDS, check_choice, clustering_loss
from dcutils.brb.train import ClusteringResult, ClusteringRun, check_loop_args, train_clustering
from dcutils.core import RunContext
from dcutils.hparams import BRB_GRAYSCALE as SETUP
from dcutils.precision import adam, autocast
from dcutils.stacking import StackedNetworks
from dcutils.timing import Stopwatch

__all__ = ["PER_RUN", "SHARED", "train_clustering_group", "batch_loss"]

#: Arguments of :func:`~dcutils.brb.train.train_clustering` each run of a group sets for itself.
PER_RUN = ("variant", "reset_interval", "alpha", "recluster_subsample", "recluster", "reset_embedding",
           "reset_momentum", "noise_scale", "n_init", "metrics_subsample", "ratio_step", "first_clustering",
           "snapshot", "generator")

#: Arguments every run of a group shares (the shape of the training: one loop drives them all).
SHARED = ("method", "cluster_epochs", "lr", "batch_size", "augment", "dcn_loss_mean", "dcn_centroids", "drop_last",
          "clip", "interpolation", "view_passes", "precision", "fused_adam")


def train_clustering_group(
    models: Sequence[nn.Module],
    x: Tensor,
    y: Tensor,
    runs: Sequence[Mapping],
    *,
    method: str = "idec",
    cluster_epochs: int = SETUP.cluster_epochs,
    lr: float = SETUP.lr,
    batch_size: int = SETUP.batch_size,
    augment: bool | Callable[[Tensor, torch.Generator], Tensor] = SETUP.cluster_augmentation,
    dcn_loss_mean: str = "entries",
    dcn_centroids: str = "epoch_pass",
    drop_last: bool = True,
    clip: str = "autoencoder",
    interpolation: str = "nearest",
    view_passes: str = "authors",
    precision: str = "fp32",
    fused_adam: bool = True,
    ctx: RunContext | None = None,
) -> list[ClusteringResult]:
    """Train R runs of DEC / IDEC / DCN together on one data tensor; one :class:`ClusteringResult` per run.

    Parameters
    ----------
    models : R autoencoders of one architecture on ``x``'s device (each run's start: pretrained or fresh).
        They become views of the stack and hold each run's final network afterwards.
    x : Tensor (N, C, H, W) or (N, d), z-scored data on the device
    y : LongTensor (N,) ground truth (metrics only)
    runs : R mappings of each run's own arguments (:data:`PER_RUN`; ``generator`` required, the others
        default as in :func:`~dcutils.brb.train.train_clustering`)
    method, ..., fused_adam : shared by every run, as in :func:`~dcutils.brb.train.train_clustering`
    ctx : RunContext for the progress bar and NaN checks (the group's first run)

    Raises
    ------
    ValueError for a run argument outside :data:`PER_RUN`, a missing generator, or ``dcn_centroids="eq7"``;
    NonFiniteLossError when any run's loss becomes NaN or infinite (the whole group stops).
    """
    models, runs = list(models), [dict(r) for r in runs]
    if len(models) != len(runs) or not models:
        raise ValueError(f"one run's arguments per model: {len(models)} model(s), {len(runs)} run(s)")
    check_choice("dcn_centroids", dcn_centroids, DCN_CENTROIDS)
    if dcn_centroids == "eq7":
        raise ValueError("DCN's Eq. 7 update after every step (dcn_centroids='eq7') is not stacked; train such "
                         "runs alone with train_clustering")
    for i, r in enumerate(runs):
        unknown = sorted(set(r) - set(PER_RUN))
        if unknown:
            raise ValueError(f"run {i}: {unknown} are not per-run arguments; a group's runs may differ only in "
                             f"{list(PER_RUN)}")
        if not isinstance(r.get("generator"), torch.Generator):
            raise ValueError(f"run {i} needs its own torch.Generator under 'generator'")
    augmenter = check_loop_args(x, y, method=method, cluster_epochs=cluster_epochs, lr=lr, batch_size=batch_size,
                                augment=augment, dcn_loss_mean=dcn_loss_mean, drop_last=drop_last, clip=clip,
                                interpolation=interpolation, view_passes=view_passes, precision=precision)
    stack = StackedNetworks(models)  # before the first clustering: its train-mode pass writes into the stack
    defaults = {k: p.default for k, p in inspect.signature(train_clustering).parameters.items() if k in PER_RUN}
    states = [ClusteringRun(view, x, y, method=method, cluster_epochs=cluster_epochs, batch_size=batch_size,
                   dcn_centroids=dcn_centroids, drop_last=drop_last, **{**defaults, **r})
              for view, r in zip(stack.views, runs)]
    own = [s.trained_centroids() for s in states]
    optimizer = adam([*stack.parameters(), *(c for cs in own for c in cs)], lr=lr, betas=SETUP.betas,
                     weight_decay=SETUP.weight_decay, fused=None if fused_adam else False)
    extra = own if clip == "all" else []
    loss = partial(batch_loss, method, dcn_loss_mean, view_passes)
    device, n, size = x.device, x.shape[0], len(states)
    stop = n - n % batch_size if drop_last else n
    timer = Stopwatch(device)
    epochs_iter = range(cluster_epochs)
    if ctx is not None:
        epochs_iter = ctx.progress(epochs_iter)
    for epoch in epochs_iter:
        times = [s.step_if_due(epoch, optimizer) for s in states]
        stack.train()
        t0 = timer.now()
        perms = [torch.randperm(n, generator=s.generator).to(device) for s in states]
        rec_sum = x.new_zeros(size)
        cl_sum = x.new_zeros(size)
        for b in range(0, stop, batch_size):
            xb = torch.stack([x[p[b : b + batch_size]] for p in perms])
            xa = (torch.stack([augmenter(xb[r], s.generator) for r, s in enumerate(states)])
                  if augmenter is not None else None)
            centroids = torch.stack([s.centroids for s in states])
            with autocast(device, precision):
                total, recon, cluster = stack.map(loss, xb, centroids, xa)
            optimizer.zero_grad(set_to_none=True)
            total.sum().backward()  # the runs are independent: each row's gradient is its own loss's
            stack.clip_grad_norms_(SETUP.grad_clip, extra)
            optimizer.step()
            rec_sum += recon.detach() * xb.shape[1]
            cl_sum += cluster.detach() * xb.shape[1]
        for s in states:
            s.centroid_pass()
        seconds = (timer.now() - t0) / size
        rec, cl = [float(v) / stop for v in rec_sum], [float(v) / stop for v in cl_sum]
        for r, s in enumerate(states):
            s.record_epoch(epoch, times[r], rec[r], cl[r], seconds, ctx)
    return [s.result() for s in states]


def batch_loss(method: str, dcn_loss_mean: str, view_passes: str, net: nn.Module, xb: Tensor, centroids: Tensor,
          xa: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    """One run's mini-batch loss (total, reconstruction, cluster), as :func:`clustering_loss` gives it."""
    total, recon, cluster, _ = clustering_loss(method, net, xb, centroids, xa, dcn_loss_mean=dcn_loss_mean,
                                               view_passes=view_passes)
    return total, recon, cluster
