"""SimCLR pretraining of the contrastive BRB network, and its cache (BRB Appendix E, Table 7).

:func:`pretrain_simclr` trains a :class:`~dcutils.brb.contrastive.ContrastiveNet` in place: two augmented
views per image (Table 7's colour pipeline, :func:`~dcutils.brb.contrastive.contrastive_view`), the authors'
``SimclrLoss`` on the projections (:func:`~dcutils.brb.contrastive.simclr_loss`, temperature 0.5), AdamW
(the authors' ``determine_optimizer`` turns Adam with weight decay > 0 into AdamW; Table 7 says Adam) at
lr 3e-3 with weight decay 1e-4 on weight matrices only (biases, BatchNorm and the projector without:
``src/deep/_optimizer_utils.py``, ``setup_optimizer``), no schedule (``schedule_lr=False``), the gradient
norm clipped at 500 (``_abstract_autoencoder.py``, ``fit``), the last partial batch dropped (the augmented
loader, ``drop_last=True``). :func:`pretrained_network` returns it for a data set, its parameters and a
seed, trained once and cached under ``results/pretrained/<dataset>/brbclr-<key>.pt``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from dcutils import cache, precision
from dcutils.brb.contrastive import AUTHORS, ContrastiveNet, check_loss, simclr_loss, views
from dcutils.device import seed_everything
from dcutils.hparams import BRB_CONTRASTIVE as SETUP
from dcutils.resl.pretext import Splits, batches
from dcutils.timing import Stopwatch

__all__ = ["PRETRAIN_VERSION", "PRETRAIN_PARAMS", "pretrain_simclr", "pretrained_network"]

#: Version of the cached SimCLR networks; bump it when pretraining changes its numbers.
PRETRAIN_VERSION = 1


def pretrain_simclr(net: ContrastiveNet, s: Splits, *, epochs: int, batch_size: int, lr: float, weight_decay: float,
                    temperature: float, generator: torch.Generator, both_views: bool = True, prec: str = "fp32",
                    fused: bool = True, grad_clip: float = AUTHORS["grad_clip"],
                    progress: Callable = lambda it: it) -> list[dict[str, Any]]:
    """SimCLR pretraining in place (module docstring). Returns one row per epoch (loss, seconds)."""
    dev = s.x_train.device
    decay = [p for n, p in net.named_parameters() if not n.startswith("projector.") and p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if n.startswith("projector.") or p.ndim <= 1]
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": float(weight_decay)}]
    kwargs = {"fused": True} if fused and precision.fused_adam_unsupported(list(net.parameters())) is None else {}
    opt = torch.optim.AdamW(groups, lr=lr, betas=SETUP.betas, **kwargs)
    n, rows, clock, step = s.x_train.shape[0], [], Stopwatch(dev), 0
    for epoch in progress(range(epochs)):
        net.train()
        total, count = 0.0, 0
        for idx in batches(n, batch_size, generator, dev, drop_last=True):
            v1, v2 = views(s.x_train[idx], s, generator, both_views)
            with precision.autocast(dev, prec):
                h = net.project(net.encode(torch.cat([v1, v2])))
                loss = simclr_loss(h[: idx.numel()], h[idx.numel():], temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            opt.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
            step += 1
        loss_mean = check_loss(total / max(count, 1), "SimCLR loss", epoch + 1)
        rows.append({"epoch": epoch + 1, "step": step, "loss": loss_mean, "train_seconds": float(clock.seconds())})
    net.eval()
    return rows


#: Run parameters that determine the pretrained network (its cache key), besides the data and the seed.
PRETRAIN_PARAMS = ("split", "n_train", "n_test", "data_seed", "width", "mlp", "projector_width", "projector_depth",
                   "temperature", "batch_size", "pretrain_epochs", "pretrain_lr", "pretrain_weight_decay",
                   "augment_both_views", "grad_clip", "precision", "fused_adam")


def pretrained_network(dataset: str, fingerprint: str, params: dict[str, Any], seed: int, s: Splits, device,
                       progress: Callable = lambda it: it) -> tuple[ContrastiveNet, dict[str, Any]]:
    """The SimCLR-pretrained network, from ``results/pretrained/<dataset>/brbclr-<key>.pt`` or trained and saved.

    Keyed by the data (name, fingerprint), ``params`` (:data:`PRETRAIN_PARAMS`), the pretraining ``seed`` and
    :data:`PRETRAIN_VERSION`, with :mod:`dcutils.cache`'s lock, as ReSL's networks. Not ReSL's SimCLR network
    (``resl-simclr``): temperature 0.1 there, 0.5 here; SGD 0.4 with a cosine schedule there, AdamW 3e-3 here;
    projection head d-d-128 there, MLP d-512-256-128 plus projector 128-2048-128 here; SCAN's SimCLR views
    (crop scale 0.2-1, no solarize) there, Table 7's here. Seeded by ``seed`` before the network is drawn.
    Returns the network (eval mode, on ``device``) and info: key, from_cache, rows, seconds.
    """
    missing = sorted(set(PRETRAIN_PARAMS) - set(params))
    if missing:
        raise ValueError(f"pretraining needs the parameters {missing}")
    key_obj = {"kind": "brb-contrastive-simclr", "version": PRETRAIN_VERSION, "dataset": dataset,
               "data_fingerprint": fingerprint or "", "seed": int(seed),
               "params": {k: params[k] for k in PRETRAIN_PARAMS}}
    path, key = cache.network_path(dataset, key_obj, "brbclr")
    channels = s.x_train.shape[1]

    def build() -> ContrastiveNet:
        return ContrastiveNet(channels, params["width"], tuple(params["mlp"]), params["projector_width"],
                              params["projector_depth"]).to(device)

    with cache.file_lock(path):
        stored = cache.load_network(path)
        if stored is not None:
            net = build()
            net.load_state_dict(stored["state"])
            net.eval()
            rows = list(stored["rows"])
            return net, {"key": key, "from_cache": True, "rows": rows,
                         "seconds": float(rows[-1]["train_seconds"]) if rows else 0.0}
        generator = seed_everything(seed)
        net = build()
        rows = pretrain_simclr(net, s, epochs=params["pretrain_epochs"], batch_size=params["batch_size"],
                               lr=params["pretrain_lr"], weight_decay=params["pretrain_weight_decay"],
                               temperature=params["temperature"], generator=generator,
                               both_views=params["augment_both_views"], prec=params["precision"],
                               fused=params["fused_adam"], grad_clip=params["grad_clip"], progress=progress)
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        cache.save_tensors(path, {"state": state, "rows": rows, "key": key_obj})
        return net, {"key": key, "from_cache": False, "rows": rows,
                     "seconds": float(rows[-1]["train_seconds"]) if rows else 0.0}
