"""R-DC phase 2: the proximity-level self-supervision loop (Eq. 3-15) and its network cache.

:func:`train_proximity`
    Phase 2 on a pretrained autoencoder: targets of
    :func:`dcutils.rdc.proximity.compute_targets` refreshed every
    ``refresh_every`` mini-batches, :func:`dcutils.rdc.proximity.proximity_loss`
    with Adam, stopped by :func:`dcutils.rdc.proximity.core_ratio_stopped`.
:func:`run_phase2`
    Phase 2 of an ``rdc.method`` run, loaded from or saved to the network
    cache (``results/pretrained/<dataset>/<key>.pt``) so that the methods
    ``"rdc"`` and ``"p1p2p3"`` share one phase 2. The key holds
    :data:`PHASE2_VERSION`, the pretrained network's key (which holds
    :data:`dcutils.rdc.pretrain.PRETRAIN_VERSION` and the data fingerprint),
    the phase-2 parameters (:data:`PHASE2_PARAMS`), beta / gamma, the data
    set, the seed and the data fingerprint.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from dcutils import cache, models
from dcutils.core import RunConfig, RunContext, check_finite
from dcutils.rdc import inputs, proximity
from dcutils.rdc.evaluation import PHASE_PROXIMITY, EpochLogger
from dcutils.rdc.pretrain import load_net, net_path, rows_from_columns, rows_to_columns

__all__ = ["PHASE2_VERSION", "PHASE2_PARAMS", "train_proximity", "run_phase2"]

#: Version of the phase-2 networks in the cache. Bump it whenever a change
#: alters the numbers phase 2 produces (the proximity targets and loss, the
#: loop, its logging); cached phase-2 networks of the old version are then no
#: longer found and are trained again. (A change of phase 1 changes the
#: pretrained key and so reaches this cache without a bump here.)
PHASE2_VERSION = 1

#: The ``rdc.method`` parameters that determine phase 2 (part of its cache key).
PHASE2_PARAMS = ("cluster_epochs", "batch_size", "cluster_lr", "beta", "gamma", "n_neighbours", "pull_weight",
                 "refresh_every", "patience", "augment", "kmeans_n_init", "cluster_log_every")


def train_proximity(model: nn.Module, x: Tensor, *, epochs: int, batch_size: int, lr: float, beta: float,
                    gamma: float, m: int, lam: float, refresh_every: int, patience: int, use_augment: bool,
                    generator: torch.Generator, log: EpochLogger | Callable,
                    progress: Callable = lambda it: it) -> dict[str, Any]:
    """R-DC phase 2 (Eq. 3-15): proximity-level self-supervision with refreshed targets.

    Targets (:func:`dcutils.rdc.proximity.compute_targets` on the whole embedding)
    are recomputed every ``refresh_every`` mini-batches; training stops when
    :func:`dcutils.rdc.proximity.core_ratio_stopped` says the core ratio stopped
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
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                targets = proximity.compute_targets(models.embed(model, x), m, beta, gamma)
                ratios.append(targets.core_ratio)
                if proximity.core_ratio_stopped(ratios, patience=patience):
                    stopped = "core ratio"
                    break
            xb = x[idx]
            model.train()
            loss, _ = proximity.proximity_loss(model, xb, targets.subset(idx), lam,
                                               x_input=inputs.augment(xb, use_augment, generator))
            value = check_finite(loss.detach(), "R-DC phase-2 loss", epoch=epoch)
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


def run_phase2(cfg: RunConfig, ctx: RunContext, model: nn.Module, x: Tensor, log: EpochLogger, beta: float,
               gamma: float, pre_key: str, generator: torch.Generator,
               data_fingerprint: str | None = None) -> tuple[list[dict], dict[str, Any]]:
    """R-DC phase 2 from the pretrained ``model`` (in place); cached so ``rdc`` and ``p1p2p3`` share it.

    Parameters
    ----------
    pre_key : the key of the pretrained network (:func:`dcutils.rdc.pretrain.pretrained_acai`)
    data_fingerprint : the loaded data's fingerprint; None uses ``cfg.data_fingerprint``

    Returns
    -------
    history rows of phase 2 (taken out of ``log.rows``), info dict (``iterations``,
    ``stopped``, ``core_ratios``, ``phase2_from_cache``).
    """
    fingerprint = cfg.data_fingerprint if data_fingerprint is None else data_fingerprint
    key_obj = {"kind": "rdc-phase2", "version": PHASE2_VERSION, "dataset": cfg.dataset, "seed": cfg.seed,
               "data_fingerprint": fingerprint or "", "pretrained": pre_key,
               "params": {k: cfg[k] for k in PHASE2_PARAMS}, "beta_gamma": [beta, gamma]}
    path, _ = net_path(cfg.dataset, key_obj)
    with cache.file_lock(path):  # "rdc" and "p1p2p3" workers share one phase 2
        return _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path)


def _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path):
    stored = load_net(path)
    if stored is not None:
        model.load_state_dict(stored["state"])
        info = {"iterations": int(stored["iterations"]), "stopped": str(stored["stopped"]),
                "core_ratios": [float(v) for v in stored["core_ratios"]], "phase2_from_cache": True}
        return rows_from_columns(stored["history"]), info
    start = len(log.rows)
    info = train_proximity(model, x, epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"],
                           lr=cfg["cluster_lr"], beta=beta, gamma=gamma, m=cfg["n_neighbours"],
                           lam=cfg["pull_weight"], refresh_every=cfg["refresh_every"], patience=cfg["patience"],
                           use_augment=cfg["augment"], generator=generator, log=log, progress=ctx.progress)
    rows = log.rows[start:]
    del log.rows[start:]
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save_tensors(path, {"state": state, "history": rows_to_columns(rows), "iterations": info["iterations"],
                              "stopped": info["stopped"], "core_ratios": info["core_ratios"]})
    return rows, {**info, "phase2_from_cache": False}
