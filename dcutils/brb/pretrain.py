"""BRB's reconstruction pretraining, cached so every variant of a data set and seed starts from one network.

:func:`pretrain_autoencoder` trains an autoencoder in place (MSE, Adam, no
augmentation; Table 5). :func:`pretrained_autoencoder` returns the network
for (data set, seed, pretraining parameters), trained once and cached under
``results/pretrained/<dataset>/<key>.pt``; parallel workers wait for each
other (a file lock) rather than train it twice. The key holds
:data:`PRETRAIN_VERSION`: bump it when pretraining's numbers change.

Pretraining keeps the last partial mini-batch, as the authors' code does
(``src/datasets/dataset_init.py``, ``_get_train_eval_loader``: the
pretraining loader is ``get_dataloader(..., shuffle=True)`` with
``drop_last`` left at False); only the clustering loader drops it
(:mod:`dcutils.brb.train`). ``batch_norm=True`` (the authors' grid runner's
default, ``config/runner_config.py``, which ``brb.dc`` uses since version 2)
builds the network with BatchNorm and enters the cache key; off (Table 5's
text, this function's default) keeps the key it always had. The authors
also clip pretraining gradients at norm 500 (``_abstract_autoencoder.py``,
``fit``); we do not: on OPTDIGITS and USPS the norm stays below 10 in the
first epochs (checked), so the clip would not act.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import cache, paths
from dcutils.core import RunContext, check_finite
from dcutils.data import Dataset
from dcutils.hparams import BRB_GRAYSCALE as SETUP
from dcutils.models import FeedForwardAutoencoder, brb_autoencoder
from dcutils.precision import adam, autocast, check_precision

__all__ = ["PRETRAIN_VERSION", "pretrain_autoencoder", "pretrained_autoencoder", "pretrained_path", "new_model",
           "check_training_args", "check_loss"]

#: Version of the pretraining computation; part of every cached network's key.
#: 2: the key's parameters name the precision and the Adam implementation.
PRETRAIN_VERSION = 2


def check_training_args(epochs: int, lr: float, batch_size: int) -> None:
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if not (lr > 0):
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def check_loss(value: float, what: str, ctx: RunContext | None, epoch: int | None) -> float:
    """``value``, or :class:`~dcutils.core.NonFiniteLossError` naming the run (when ``ctx`` is given) and epoch."""
    return check_finite(value, what, ctx.cfg if ctx is not None else None, epoch)


def pretrain_autoencoder(
    model: nn.Module,
    x: Tensor,
    *,
    epochs: int = SETUP.pretrain_epochs,
    lr: float = SETUP.lr,
    batch_size: int = SETUP.batch_size,
    generator: torch.Generator | None = None,
    ctx: RunContext | None = None,
    precision: str = "fp32",
    fused_adam: bool = True,
) -> list[float]:
    """Reconstruction pretraining (MSE, Adam, no augmentation; Table 5).

    Parameters
    ----------
    model : autoencoder, trained in place on ``x``'s device
    x : Tensor (N, ...) on the model's device
    epochs, lr, batch_size : Table 5 defaults 250, 1e-3, 256
    generator : CPU generator for the mini-batch order
    ctx : RunContext for progress and NaN checks (optional)
    precision : "fp32", or "bf16" autocast of the forward pass and loss
        (:mod:`dcutils.precision`)
    fused_adam : torch's fused Adam (the same update up to float rounding, 3x
        faster on a CPU) or, False, torch's default single-tensor Adam

    Returns
    -------
    list of float: mean reconstruction MSE per epoch

    Raises
    ------
    NonFiniteLossError when the loss becomes NaN or infinite.
    """
    check_training_args(epochs, lr, batch_size)
    check_precision(precision)
    opt = adam(model.parameters(), lr=lr, betas=SETUP.betas, weight_decay=SETUP.weight_decay,
               fused=None if fused_adam else False)
    n = x.shape[0]
    losses: list[float] = []
    epochs_iter = range(epochs)
    if ctx is not None:
        epochs_iter = ctx.progress(epochs_iter, desc=f"pretraining {ctx.cfg.label()}")
    model.train()
    for epoch in epochs_iter:
        perm = torch.randperm(n, generator=generator).to(x.device)
        total = x.new_zeros(())
        for s in range(0, n, batch_size):
            xb = x[perm[s : s + batch_size]]
            with autocast(x.device, precision):
                loss = F.mse_loss(model(xb)[1], xb.reshape(xb.shape[0], -1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
        losses.append(check_loss(float(total) / n, "pretraining reconstruction loss", ctx, epoch))
    return losses


def pretrained_path(dataset_name: str, data: Dataset, seed: int, params: dict[str, Any]) -> Any:
    """Where :func:`pretrained_autoencoder` caches the network for these inputs.

    ``results/pretrained/<dataset>/<key>.pt`` with key = sha256 of the data set,
    split, subsample, data fingerprint, seed, pretraining parameters (defaults
    filled in; ``batch_norm`` only when on) and :data:`PRETRAIN_VERSION`,
    first 16 hex digits.
    """
    ident = {
        "dataset": str(dataset_name).lower(),
        "split": data.info.get("split"),
        "subsample": data.info.get("subsample"),
        "n": len(data),
        "seed": int(seed),
        "params": dict(sorted(_pretrain_params(params).items())),
        "fingerprint": data.info.get("fingerprint"),
        "version": PRETRAIN_VERSION,
    }
    key = cache.sha256_text(cache.canonical_json(ident))[:16]
    return paths.results_root() / "pretrained" / str(dataset_name).lower() / f"{key}.pt"


def new_model(data: Dataset, seed: int, device: Any, batch_norm: bool = SETUP.batch_norm,
              embedding_dim: int | None = None) -> FeedForwardAutoencoder:
    """BRB's autoencoder with PyTorch's default init, seeded by ``seed`` (same init for all variants).

    ``batch_norm``: True (``brb.dc``'s, the authors' runs) inserts BatchNorm1d after every hidden layer;
    False is Table 5's text.
    ``embedding_dim``: None = K (the paper's); 2 gives Figure 13's drawable embedding.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = brb_autoencoder(data.flat().shape[1], data.n_classes, batch_norm=bool(batch_norm),
                                embedding_dim=embedding_dim)
    return model.to(device)


def _pretrain_params(params: dict[str, Any]) -> dict[str, Any]:
    """The pretraining parameters with defaults filled in; ``batch_norm`` only when on, ``embedding_dim`` and
    ``classes`` only when set (keeps old keys)."""
    unknown = set(params) - {"epochs", "lr", "batch_size", "batch_norm", "precision", "fused_adam", "embedding_dim",
                             "classes"}
    if unknown:
        raise ValueError(f"unknown pretraining parameter(s) {sorted(unknown)}; "
                         "use epochs, lr, batch_size, batch_norm, precision, fused_adam, embedding_dim, classes")
    out = {"epochs": int(params.get("epochs", SETUP.pretrain_epochs)), "lr": float(params.get("lr", SETUP.lr)),
           "batch_size": int(params.get("batch_size", SETUP.batch_size)),
           "precision": check_precision(params.get("precision", "fp32")),
           "fused_adam": bool(params.get("fused_adam", True))}
    if bool(params.get("batch_norm", SETUP.batch_norm)):
        out["batch_norm"] = True
    if params.get("embedding_dim") is not None:
        out["embedding_dim"] = int(params["embedding_dim"])
    if params.get("classes") is not None:
        out["classes"] = [int(c) for c in params["classes"]]
    return out


def pretrained_autoencoder(dataset_name: str, data: Dataset, seed: int, params: dict[str, Any],
                           device: Any, ctx: RunContext | None = None) -> FeedForwardAutoencoder:
    """The pretrained autoencoder for (data set, seed, params), trained once and cached.

    Parameters
    ----------
    dataset_name : name used in the cache path (e.g. ``"usps"``)
    data : the Dataset to pretrain on (its split / subsample enter the key)
    seed : seeds the initial weights and the mini-batch order
    params : ``{"epochs": int, "lr": float, "batch_size": int}``, optionally
        ``"batch_norm": bool`` (default False = Table 5's text; ``brb.dc`` passes True)
    device : where the returned model lives
    ctx : RunContext for progress and NaN checks (optional)

    Returns
    -------
    FeedForwardAutoencoder on ``device``, with ``model.pretrain_info`` =
    ``{"from_cache": bool, "path": str, "losses": list[float]}``.

    A cache file that fails its checksum or cannot be loaded is quarantined
    (``cache.quarantine``) and the network is retrained.
    """
    params = _pretrain_params(params)
    path = pretrained_path(dataset_name, data, seed, params)
    with cache.file_lock(path):  # parallel workers train each network once
        return _load_or_pretrain(path, data, seed, params, device, ctx)


def _load_or_pretrain(path, data: Dataset, seed: int, params: dict[str, Any], device: Any,
                      ctx: RunContext | None) -> FeedForwardAutoencoder:
    model = new_model(data, seed, device, batch_norm=params.get("batch_norm", False),
                      embedding_dim=params.get("embedding_dim"))
    if path.exists():
        try:
            state = cache.load_tensors(path, map_location=device)
            model.load_state_dict(state["model"])
            model.pretrain_info = {"from_cache": True, "path": str(path), "losses": state["losses"].tolist()}
            return model
        except (cache.CorruptCacheError, KeyError, RuntimeError) as err:
            cache.quarantine(path, f"pretrained network could not be loaded: {err}")
    x = data.flat().to(device)
    gen = torch.Generator().manual_seed(int(seed))
    losses = pretrain_autoencoder(model, x, epochs=params["epochs"], lr=params["lr"],
                                  batch_size=params["batch_size"], generator=gen, ctx=ctx,
                                  precision=params["precision"], fused_adam=params["fused_adam"])
    state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "losses": torch.tensor(losses, dtype=torch.float64)}
    cache.save_tensors(path, state)
    model.pretrain_info = {"from_cache": False, "path": str(path), "losses": losses}
    return model


