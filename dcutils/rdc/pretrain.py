"""R-DC phase 1: ACAI pretraining of the d-500-500-2000-10 autoencoder, and the cache of trained networks.

:func:`pretrain_acai`
    Phase 1 itself (Section 3.1, Eq. 1-2; :func:`dcutils.rdc.acai.acai_step`
    on augmented mini-batches with Adam), logged with k-means ACC and ID/LID.
:func:`pretrained_acai`
    The phase-1 network of a run, loaded from or saved to
    ``results/pretrained/<dataset>/<key>.pt``, so every method of
    ``rdc.method`` on the same (data set, seed, pretraining parameters) starts
    from the **same** network. The key holds :data:`PRETRAIN_VERSION`, the
    pretraining parameters (:data:`PRETRAIN_PARAMS`, and those of
    :data:`PRETRAIN_OPTIONS` that differ from their defaults, so networks
    cached before the options existed keep their keys), the data set, the
    seed and the data fingerprint.
Network cache
    :func:`net_path`, :func:`load_net`, :func:`rows_to_columns` and
    :func:`rows_from_columns`, also used by phase 2's cache
    (:mod:`dcutils.rdc.phase2`).

Options following the authors' code (defaults: dcutils' earlier behaviour)
--------------------------------------------------------------------------
- ``acai_mixing`` (``"dcutils"`` | ``"authors"``): the interpolation and the
  critic's blend of :func:`dcutils.rdc.acai.acai_step` (facts in
  :mod:`dcutils.rdc.acai`): ``"dcutils"`` draws ``alpha ~ U[0, 0.5]`` and uses
  the fixed blend ``acai_blend`` (0.2); ``"authors"`` draws
  ``alpha ~ U[0, 1]`` per pair and the blend ``~ U[0, 0.5]`` once per batch
  (``acai_blend`` unused).
- ``lid_estimator``: the ID / LID logged (:func:`dcutils.rdc.evaluation.geometry`).
- The authors' ACAI loop (``DynAE.train_aci_ae``, lines 573-670) also keeps
  the weights of the best "acc" seen, chosen with the labels (and that "acc"
  is in fact NMI: ``acc = np.round(metrics.nmi(y, y_pred), 5)``, line 606);
  dcutils keeps the last network.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dcutils import cache, models
from dcutils.core import NonFiniteLossError, RunConfig, RunContext
from dcutils.device import seed_everything
from dcutils.rdc import acai, inputs
from dcutils.rdc.evaluation import PHASE_PRETRAIN, geometry, kmeans_fit, scores
from dcutils.timing import Stopwatch

__all__ = [
    "PRETRAIN_VERSION", "PRETRAIN_PARAMS", "PRETRAIN_OPTIONS", "ACAI_MIXINGS", "pretrain_acai", "pretrained_acai",
    "net_path", "load_net", "rows_to_columns", "rows_from_columns",
]

#: Version of the pretrained networks in the cache. Bump it whenever a change
#: alters the numbers phase 1 produces (ACAI, the autoencoder, augmentation,
#: batching, the logged k-means / ID / LID): cached networks of the old
#: version are then no longer found and are trained again.
PRETRAIN_VERSION = 1

#: The ``rdc.method`` parameters that determine a pretrained network (part of its cache key).
PRETRAIN_PARAMS = ("subsample", "preprocess", "pretrain_epochs", "batch_size", "pretrain_lr", "acai_lam",
                   "acai_blend", "augment", "latent_dim", "geometry_sample", "pretrain_log_every", "noise_std")

#: ``rdc.method`` parameters that determine a pretrained network and joined
#: later, with their defaults: in the key only when they differ from these.
PRETRAIN_OPTIONS = {"acai_mixing": "dcutils", "lid_estimator": "global90", "precision": "fp32", "fused_adam": False}

#: ACAI's interpolation / blend draws: dcutils' (alpha ~ U[0, 0.5], fixed
#: blend) or the authors' (alpha ~ U[0, 1], blend ~ U[0, 0.5] per batch).
ACAI_MIXINGS = ("dcutils", "authors")


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
    mixing: str = "dcutils",
    lid_estimator: str = "global90",
    training: inputs.Training = inputs.FP32,
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
    mixing : {"dcutils", "authors"}, default "dcutils"
        ACAI's draws (module doc); ``"authors"`` ignores ``blend``.
    lid_estimator : str, default "global90"
        Estimator of the logged ID / LID (:func:`dcutils.rdc.evaluation.geometry`).
    training : :class:`dcutils.rdc.inputs.Training`, default fp32 with torch's default Adam

    Returns
    -------
    model, history rows (``phase="P1"``; ``iteration`` counts mini-batches;
    ``train_seconds`` the training time so far, evaluation excluded).

    Raises
    ------
    NonFiniteLossError
        A loss of ACAI became NaN or infinite (the message names it and the epoch).
    """
    if mixing not in ACAI_MIXINGS:
        raise ValueError(f"acai_mixing must be one of {ACAI_MIXINGS}, got {mixing!r}")
    draws: dict[str, Any] = {"gamma": blend} if mixing == "dcutils" else {"gamma": None, "alpha_max": 1.0}
    dev = x.device
    d = int(np.prod(x.shape[1:]))
    model = models.rdc_autoencoder(d, latent_dim).to(dev)
    critic = acai.Critic(d).to(dev)
    opt_ae = training.adam(model.parameters(), lr)
    opt_c = training.adam(critic.parameters(), lr)
    rows: list[dict[str, Any]] = []
    step = 0
    clock = Stopwatch(dev)

    def log(epoch: int, loss: float) -> None:
        seconds = clock.seconds()
        with clock.paused():
            z = models.embed(model, x)
            labels = kmeans_fit(z, n_clusters, kmeans_n_init, 0).labels
            rows.append({"phase": PHASE_PRETRAIN, "epoch": epoch, "iteration": step, "global_iteration": step,
                         "loss": loss, **scores(y, labels),
                         **geometry(z, geometry_index, lid_estimator, None if lid_estimator == "global90" else labels),
                         "train_seconds": seconds})

    clock.reset()
    log(0, math.nan)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, dev):
            xb = inputs.augment(x[idx], use_augment, generator)
            try:
                parts = acai.acai_step(model, critic, opt_ae, opt_c, xb, generator=generator, lam=lam,
                                       precision=training.precision, **draws)
            except FloatingPointError as err:  # NonFiniteLossError included: add where it broke
                done = "" if isinstance(err, NonFiniteLossError) else ". Nothing was cached."
                raise NonFiniteLossError(f"ACAI pretraining diverged at epoch {epoch}: {err}{done}") from err
            total += parts["recon"] * idx.numel()
            count += idx.numel()
            step += 1
        if epoch % log_every == 0 or epoch == epochs:
            log(epoch, total / max(count, 1))
    return model, rows


# ----------------------------------------------------------------------------
# the network cache


def net_path(dataset: str, key_obj: dict[str, Any]) -> tuple[Path, str]:
    """Where the network identified by ``key_obj`` is cached, and its 16-digit key (:func:`cache.network_path`)."""
    return cache.network_path(dataset, key_obj)


#: The stored network at a path, or None (a corrupt file is moved aside): :func:`dcutils.cache.load_network`.
load_net = cache.load_network


def rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, list]:
    """History rows as plain column lists (what the network cache stores)."""
    frame = pd.DataFrame(rows)
    return {c: [v if not isinstance(v, (np.floating, np.integer)) else v.item() for v in frame[c].tolist()]
            for c in frame.columns}


def rows_from_columns(cols: dict[str, list]) -> list[dict[str, Any]]:
    """The inverse of :func:`rows_to_columns`."""
    return pd.DataFrame(cols).to_dict(orient="records")


def pretrained_acai(cfg: RunConfig, x: Tensor, y: Tensor, n_clusters: int, geometry_index: Tensor,
                    ctx: RunContext | None = None, data_fingerprint: str | None = None):
    """The phase-1 autoencoder of (data set, seed, pretraining params): loaded or trained and cached.

    Parameters
    ----------
    cfg : an ``rdc.method`` config (its :data:`PRETRAIN_PARAMS` are used)
    x, y : the (noisy) inputs and true classes the network trains / logs on
    data_fingerprint : the fingerprint of the loaded data
        (``Dataset.info["fingerprint"]``); None uses ``cfg.data_fingerprint``

    Returns
    -------
    model, history rows, info dict (``key``, ``from_cache``).
    """
    params = {k: cfg[k] for k in PRETRAIN_PARAMS}
    params.update({k: cfg.get(k, d) for k, d in PRETRAIN_OPTIONS.items() if cfg.get(k, d) != d})
    fingerprint = cfg.data_fingerprint if data_fingerprint is None else data_fingerprint
    key_obj = {"kind": "rdc-acai", "version": PRETRAIN_VERSION, "dataset": cfg.dataset, "seed": cfg.seed,
               "data_fingerprint": fingerprint or "", "params": params}
    path, key = net_path(cfg.dataset, key_obj)
    with cache.file_lock(path):  # parallel workers train each network once
        return _load_or_pretrain(cfg, path, key, key_obj, x, y, n_clusters, geometry_index, ctx)


def _load_or_pretrain(cfg, path, key, key_obj, x, y, n_clusters, geometry_index, ctx):
    d = int(np.prod(x.shape[1:]))
    stored = load_net(path)
    if stored is not None:
        model = models.rdc_autoencoder(d, cfg["latent_dim"]).to(x.device)
        model.load_state_dict(stored["state"])
        return model, rows_from_columns(stored["history"]), {"key": key, "from_cache": True}
    generator = seed_everything(cfg.seed)
    model, rows = pretrain_acai(
        x, y, epochs=cfg["pretrain_epochs"], batch_size=cfg["batch_size"], lr=cfg["pretrain_lr"],
        lam=cfg["acai_lam"], blend=cfg["acai_blend"], use_augment=cfg["augment"], latent_dim=cfg["latent_dim"],
        n_clusters=n_clusters, geometry_index=geometry_index, log_every=cfg["pretrain_log_every"],
        generator=generator, progress=(ctx.progress if ctx is not None else (lambda it: it)),
        mixing=cfg.get("acai_mixing", "dcutils"), lid_estimator=cfg.get("lid_estimator", "global90"),
        training=inputs.Training(cfg.get("precision", "fp32"), bool(cfg.get("fused_adam", False))),
    )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save_tensors(path, {"state": state, "history": rows_to_columns(rows), "key": key_obj})
    return model, rows, {"key": key, "from_cache": False}
