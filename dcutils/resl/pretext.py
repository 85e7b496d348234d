"""SCAN's first two stages for ReSL, and the cache of the network every self-labeling run starts from.

ReSL (Section 5.1) self-labels from SCAN's pretrained models; offline we train our own:

1. :func:`train_simclr`: SimCLR pretext (NT-Xent, temperature 0.1) on a ResNet18 with the CIFAR
   stem and the projection MLP d-d-128; SGD (momentum 0.9, weight decay 1e-4) with lr 0.4 and a
   cosine schedule per epoch down to lr * 0.1^3 (SCAN's ``lr_decay_rate``); batch 512; views by
   :func:`dcutils.resl.augment.simclr_augment`.
2. :func:`mine_neighbours` of :mod:`dcutils.resl.mining`: the 20 cosine nearest neighbours of every
   training image in the (normalised) projection space of the un-augmented images, as SCAN does.
3. :func:`train_scan`: SCAN's loss ``-log<p(x), p(n)> - 5 H(mean p)`` with one neighbour drawn
   uniformly from the 20 per anchor and step, both views strongly augmented
   (:func:`dcutils.resl.augment.strong_augment`), the whole network trained (backbone from SimCLR,
   a fresh linear head), Adam lr 1e-4, weight decay 1e-4, batch 128. One head (SCAN trains ten and
   keeps the one of lowest loss; ReSL's Table 3 has one).

:func:`base_network` returns the SimCLR + SCAN network of a config, trained once per (data set,
its fingerprint, training subset, width and every stage-1/2 parameter, :data:`BASE_PARAMS`) and
cached under ``results/pretrained/<dataset>/resl-<key>.pt`` like rdc's autoencoders, so every
self-labeling run of every seed and strategy starts from the same network; the SimCLR stage alone is
cached too (``simclr-<key>.pt``, :func:`pretrained_simclr`), so SCAN settings can change without it.
The stages are seeded by ``base_seed`` (SimCLR) and ``base_seed + 1`` (SCAN), not by the run's seed:
the paper starts all its runs from SCAN's released models.

:func:`load_splits`: the training subset (balanced: the same number of images per class, drawn with
``data_seed``) and the evaluation subset (balanced likewise from the test split), in [0, 1], with
the per-channel mean and std used for normalisation: the training subset's (``normalization="subset"``,
computed), or SCAN's constants for the data sets SCAN has them for (``"scan"``, :data:`SCAN_NORMALIZATION`,
ReSL's Table 3: what the runs behind the paper's numbers used).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dcutils import cache, metrics, precision
from dcutils.core import NonFiniteLossError, RunConfig
from dcutils.data import load_dataset
from dcutils.device import seed_everything
from dcutils.hparams import RESL_SELF_LABELING, RESL_SELF_LABELING_DATASETS
from dcutils.resl.augment import normalize, simclr_augment, strong_augment
from dcutils.resl.losses import nt_xent, scan_loss
from dcutils.resl.mining import mine_neighbours, neighbour_accuracy
from dcutils.resl.network import ClusteringModel, ContrastiveModel, resnet18
from dcutils.timing import Stopwatch

__all__ = ["BASE_VERSION", "SIMCLR_VERSION", "SCAN_CUTOUT",
           "BASE_PARAMS", "TRAIN_SIZES", "Splits", "load_splits", "batches", "train_simclr",
           "train_scan", "embed", "predict", "pretrained_simclr", "base_network", "cutout_length", "SIMCLR_PARAMS",
           "SCAN_NORMALIZATION", "NORMALIZATIONS"]

#: Version of the cached SimCLR + SCAN networks; bump it when stage 1 or 2 changes its numbers.
#: 2: SCAN's strong augmentation exactly (no padded crop, Cutout of random side, PIL's equalize,
#: shear about the corner, posterize's int(v), solarize's threshold; :mod:`dcutils.resl.augment`).
BASE_VERSION = 2
#: Version of the cached SimCLR networks (stage 1 alone); bump it when stage 1 changes its numbers.
#: Version 2 of :data:`BASE_VERSION` changed the SCAN stage only, so SimCLR networks stay at 1.
SIMCLR_VERSION = 1

#: SCAN's Cutout ``length`` (largest side) by image side, from its configs: 16 at 32 px (CIFAR),
#: 32 at 96 px (STL10).
SCAN_CUTOUT = {32: 16, 96: 32}

#: SCAN's normalisation constants (its configs; ReSL's Table 3) per data set: (mean, std) per channel, for
#: ``normalization="scan"``. CIFAR100 shares CIFAR100-20's images and constants; SCAN has none for FMNIST.
SCAN_NORMALIZATION = {key: (RESL_SELF_LABELING[col].normalize_mean, RESL_SELF_LABELING[col].normalize_std)
                      for col, keys in RESL_SELF_LABELING_DATASETS.items() for key in keys}
#: How inputs are normalised: "subset" (the training subset's per-channel mean and std, computed) or "scan"
#: (:data:`SCAN_NORMALIZATION`, where SCAN gives them).
NORMALIZATIONS = ("subset", "scan")

#: ``resl.selflabel`` parameters that determine the SimCLR network (its cache key).
SIMCLR_PARAMS = ("split", "n_train", "n_test", "data_seed", "width", "base_seed", "simclr_epochs", "simclr_batch",
                 "simclr_lr", "simclr_temperature", "weight_decay", "precision")

#: ``resl.selflabel`` parameters that determine the base network (its cache key).
BASE_PARAMS = ("split", "n_train", "n_test", "data_seed", "width", "base_seed", "simclr_epochs", "simclr_batch",
               "simclr_lr", "simclr_temperature", "n_neighbours", "scan_epochs", "scan_batch", "scan_lr",
               "entropy_weight", "weight_decay", "n_ops", "cutout", "precision", "fused_adam")

#: Images of the training split at the start of each data set's "all" split (train then test).
TRAIN_SIZES = {"fmnist": 60_000, "mnist": 60_000, "kmnist": 60_000, "cifar10": 50_000, "cifar100": 50_000,
               "cifar100-20": 50_000, "stl10": 5_000}


@dataclass
class Splits:
    """Training and evaluation images in [0, 1], labels, normalisation and provenance."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    mean: Tensor
    std: Tensor
    n_classes: int
    info: dict[str, Any]


def _balanced(y: Tensor, n: int | None, n_classes: int, generator: torch.Generator) -> Tensor:
    if n is None or n >= y.numel():
        return torch.arange(y.numel())
    per = n // n_classes
    keep = []
    for c in range(n_classes):
        idx = (y == c).nonzero().squeeze(1)
        keep.append(idx[torch.randperm(idx.numel(), generator=generator)[:per]])
    return torch.cat(keep).sort().values


def load_splits(dataset: str, *, split: str = "all", n_train: int | None, n_test: int | None, data_seed: int = 0,
                device: torch.device | str = "cpu", normalization: str = "subset") -> Splits:
    """The training and evaluation subsets of ``dataset`` (module docstring); ``split`` must be "all".

    ``normalization``: "subset" (default) normalises with the training subset's per-channel mean and std;
    "scan" with SCAN's constants (:data:`SCAN_NORMALIZATION`), a ValueError for a data set SCAN gives none.
    """
    if split != "all":
        raise ValueError(f"resl loads the 'all' split and separates train and test itself, got split={split!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}; choose one of {NORMALIZATIONS}")
    if normalization == "scan" and dataset.lower() not in SCAN_NORMALIZATION:
        raise ValueError(f"SCAN gives normalisation constants for {sorted(SCAN_NORMALIZATION)}, not {dataset!r}: "
                         "use normalization='subset'")
    data = load_dataset(dataset, split="all", preprocess="raw")
    key = dataset.lower()
    if key not in TRAIN_SIZES:
        raise ValueError(f"resl knows where the test split starts for {sorted(TRAIN_SIZES)}, not {dataset!r}")
    n_tr = TRAIN_SIZES[key]
    x, y, k = data.x, data.y, data.n_classes
    gen = torch.Generator().manual_seed(int(data_seed))
    tr = _balanced(y[:n_tr], n_train, k, gen)
    te = _balanced(y[n_tr:], n_test, k, gen) + n_tr
    x_train, x_test = x[tr].contiguous(), x[te].contiguous()
    if normalization == "scan":
        mean, std = (torch.tensor(v, dtype=x_train.dtype) for v in SCAN_NORMALIZATION[key])
    else:
        mean, std = x_train.mean(dim=(0, 2, 3)), x_train.std(dim=(0, 2, 3))
    info = {"dataset": data.info.get("display_name", dataset), "fingerprint": data.info.get("fingerprint"),
            "n_train": int(tr.numel()), "n_test": int(te.numel()), "train_of": n_tr, "test_of": int(y.numel() - n_tr),
            "image_shape": list(x.shape[1:]), "normalization": normalization}
    return Splits(x_train.to(device), y[tr].to(device), x_test.to(device), y[te].to(device), mean.to(device),
                  std.to(device), k, info)


def cutout_length(side: int, cutout: int | None) -> int:
    """Cutout's largest side (SCAN's ``length``; the side is drawn in 1..length per image).

    ``cutout`` when given; else SCAN's value at that image side (:data:`SCAN_CUTOUT`: 16 at 32 px, 32 at
    96 px), and at any other side SCAN's CIFAR 16 of 32 scaled to it: 14 at 28 px (FMNIST; ours).
    """
    if cutout is not None:
        return int(cutout)
    return SCAN_CUTOUT.get(int(side), int(round(side * 16 / 32)))


def batches(n: int, batch_size: int, generator: torch.Generator, device, *, drop_last: bool = False) -> list[Tensor]:
    """A random permutation of range(n) cut into batches (the last shorter unless ``drop_last``)."""
    perm = torch.randperm(n, generator=generator).to(device)
    out = [perm[i:i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and len(out) > 1 and out[-1].numel() < batch_size:
        out = out[:-1]
    return out


@torch.no_grad()
def embed(model: torch.nn.Module, x: Tensor, mean: Tensor, std: Tensor, batch_size: int = 1000) -> Tensor:
    """model(normalize(x)) in eval mode, fp32, batched; returns what the model returns (N, D)."""
    was = model.training
    model.eval()
    out = torch.cat([model(normalize(x[i:i + batch_size], mean, std)).float()
                     for i in range(0, x.shape[0], batch_size)])
    model.train(was)
    return out


def predict(model: torch.nn.Module, x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Softmax probabilities (N, C) of a clustering model on un-augmented images (eval mode, fp32)."""
    return torch.softmax(embed(model, x, mean, std), dim=1)


def train_simclr(s: Splits, *, width: float, epochs: int, batch_size: int, lr: float, temperature: float,
                 weight_decay: float, generator: torch.Generator, prec: str = "fp32",
                 progress: Callable = lambda it: it) -> tuple[ContrastiveModel, list[dict[str, Any]]]:
    """Stage 1: SimCLR (module docstring). Returns the contrastive model and one row per epoch."""
    dev = s.x_train.device
    model = ContrastiveModel(resnet18(s.x_train.shape[1], width)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    eta_min = lr * 0.1 ** 3
    rows, clock, step = [], Stopwatch(dev), 0
    n = s.x_train.shape[0]
    for epoch in progress(range(epochs)):
        for g in opt.param_groups:  # SCAN's cosine schedule, set at the start of each epoch
            g["lr"] = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * epoch / epochs)) / 2
        total, count = 0.0, 0
        for idx in batches(n, batch_size, generator, dev, drop_last=True):
            xb = s.x_train[idx]
            v1 = simclr_augment(xb, s.mean, s.std, generator=generator)
            v2 = simclr_augment(xb, s.mean, s.std, generator=generator)
            with precision.autocast(dev, prec):
                z = model(torch.cat([v1, v2]))
                loss = nt_xent(z[: idx.numel()], z[idx.numel():], temperature)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"SimCLR diverged at epoch {epoch + 1}: loss {float(loss)}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
            step += 1
        rows.append({"stage": "simclr", "epoch": epoch + 1, "step": step, "loss": float(total / max(count, 1)),
                     "train_seconds": float(clock.seconds())})
    return model, rows


def train_scan(model: ClusteringModel, s: Splits, neighbours: Tensor, *, epochs: int, batch_size: int, lr: float,
               weight_decay: float, entropy_weight: float, n_ops: int, cutout: int, generator: torch.Generator,
               prec: str = "fp32", fused: bool = True,
               progress: Callable = lambda it: it) -> list[dict[str, Any]]:
    """Stage 2: SCAN's clustering loss on anchors and mined neighbours (module docstring); trains in place."""
    dev = s.x_train.device
    opt = precision.adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=None if fused else False)
    nb = neighbours.to(dev)
    n, k = nb.shape
    rows, clock, step = [], Stopwatch(dev), 0
    for epoch in progress(range(epochs)):
        model.train()
        totals = np.zeros(3)
        count = 0
        for idx in batches(n, batch_size, generator, dev):
            pick = (torch.rand(idx.numel(), generator=generator) * k).long().clamp(max=k - 1).to(dev)
            nidx = nb[idx, pick]
            xa = strong_augment(s.x_train[idx], s.mean, s.std, n_ops=n_ops, cutout_length=cutout, generator=generator)
            xn = strong_augment(s.x_train[nidx], s.mean, s.std, n_ops=n_ops, cutout_length=cutout,
                                generator=generator)
            with precision.autocast(dev, prec):
                logits = model(torch.cat([xa, xn]))
                total, consistency, ent = scan_loss(logits[: idx.numel()], logits[idx.numel():], entropy_weight)
            if not torch.isfinite(total):
                raise NonFiniteLossError(f"SCAN diverged at epoch {epoch + 1}: loss {float(total)}")
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            totals += np.array([float(total.detach()), float(consistency.detach()), float(ent.detach())]) * idx.numel()
            count += idx.numel()
            step += 1
        seconds = clock.seconds()
        with clock.paused():
            labels = predict(model, s.x_test, s.mean, s.std).argmax(1).cpu()
            acc = metrics.cluster_acc(s.y_test.cpu(), labels)
        t, c, e = (float(v) for v in totals / max(count, 1))  # plain floats: the cache loads weights_only
        rows.append({"stage": "scan", "epoch": epoch + 1, "step": step, "loss": t, "consistency": c, "entropy": e,
                     "acc": float(acc), "train_seconds": float(seconds)})
    return rows


def _net_path(dataset: str, key_obj: dict[str, Any], prefix: str = "resl") -> tuple[Path, str]:
    return cache.network_path(dataset, key_obj, prefix)


_load = cache.load_network


def _key_params(cfg: RunConfig, names: tuple[str, ...]) -> dict[str, Any]:
    """A cached network's parameters: ``names``, and ``normalization`` when it is not "subset" (the value every
    network had before the parameter existed, so their keys stay)."""
    out = {k: cfg[k] for k in names}
    if cfg.get("normalization", "subset") != "subset":
        out["normalization"] = cfg["normalization"]
    return out


def pretrained_simclr(cfg: RunConfig, s: Splits, device, progress: Callable = lambda it: it
                      ) -> tuple[ContrastiveModel, list[dict[str, Any]], dict[str, Any]]:
    """Stage 1 of ``cfg`` (SimCLR), loaded from or saved to ``results/pretrained/<dataset>/simclr-<key>.pt``.

    Keyed by the data, subset, width, ``base_seed`` and the SimCLR parameters (:data:`SIMCLR_PARAMS`), so
    a change of the SCAN stage reuses it. Seeded by ``base_seed`` before any draw.
    """
    key_obj = {"kind": "resl-simclr", "version": SIMCLR_VERSION, "dataset": cfg.dataset,
               "data_fingerprint": cfg.data_fingerprint or s.info.get("fingerprint") or "",
               "params": _key_params(cfg, SIMCLR_PARAMS)}
    path, key = _net_path(cfg.dataset, key_obj, "simclr")
    channels = s.x_train.shape[1]
    with cache.file_lock(path):
        stored = _load(path)
        if stored is not None:
            model = ContrastiveModel(resnet18(channels, cfg["width"])).to(device)
            model.load_state_dict(stored["state"])
            return model, list(stored["rows"]), {"key": key, "from_cache": True}
        generator = seed_everything(cfg["base_seed"])
        model, rows = train_simclr(
            s, width=cfg["width"], epochs=cfg["simclr_epochs"], batch_size=cfg["simclr_batch"], lr=cfg["simclr_lr"],
            temperature=cfg["simclr_temperature"], weight_decay=cfg["weight_decay"], generator=generator,
            prec=cfg["precision"], progress=progress)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        cache.save_tensors(path, {"state": state, "rows": rows, "key": key_obj})
        return model, rows, {"key": key, "from_cache": False}


def base_network(cfg: RunConfig, s: Splits, device, progress: Callable = lambda it: it
                 ) -> tuple[ClusteringModel, list[dict[str, Any]], dict[str, Any]]:
    """The SimCLR + SCAN network of ``cfg`` (loaded from the cache, or trained and cached).

    SimCLR comes from :func:`pretrained_simclr`; the SCAN stage is seeded by ``base_seed + 1`` before its
    head is drawn, so the network is the same whether SimCLR was trained now or loaded.

    Returns the clustering model (on ``device``), the stages' history rows and info: ``key``,
    ``from_cache``, ``neighbour_accuracy`` (share of mined neighbours of the same class),
    ``seconds_simclr``, ``seconds_scan``.
    """
    key_obj = {"kind": "resl-simclr-scan", "version": BASE_VERSION, "dataset": cfg.dataset,
               "data_fingerprint": cfg.data_fingerprint or s.info.get("fingerprint") or "",
               "params": _key_params(cfg, BASE_PARAMS)}
    path, key = _net_path(cfg.dataset, key_obj)
    channels = s.x_train.shape[1]
    with cache.file_lock(path):
        stored = _load(path)
        if stored is not None:
            model = ClusteringModel(resnet18(channels, cfg["width"]), s.n_classes).to(device)
            model.load_state_dict(stored["state"])
            return model, list(stored["rows"]), {**stored["info"], "key": key, "from_cache": True}
        contrastive, rows, _ = pretrained_simclr(cfg, s, device, progress)
        features = embed(contrastive, s.x_train, s.mean, s.std)
        neighbours = mine_neighbours(features, min(cfg["n_neighbours"], s.x_train.shape[0] - 1))
        nb_acc = neighbour_accuracy(neighbours, s.y_train.cpu())
        generator = seed_everything(cfg["base_seed"] + 1)  # before the head is drawn
        model = ClusteringModel(resnet18(channels, cfg["width"]), s.n_classes).to(device)  # fresh head
        model.backbone.load_state_dict(contrastive.backbone.state_dict())
        cut = cutout_length(s.x_train.shape[-1], cfg["cutout"])
        rows = list(rows) + train_scan(
            model, s, neighbours, epochs=cfg["scan_epochs"], batch_size=cfg["scan_batch"], lr=cfg["scan_lr"],
            weight_decay=cfg["weight_decay"], entropy_weight=cfg["entropy_weight"], n_ops=cfg["n_ops"], cutout=cut,
            generator=generator, prec=cfg["precision"], fused=cfg["fused_adam"], progress=progress)
        info = {"neighbour_accuracy": float(nb_acc),
                "seconds_simclr": float(max([r["train_seconds"] for r in rows if r["stage"] == "simclr"], default=0.0)),
                "seconds_scan": float(max([r["train_seconds"] for r in rows if r["stage"] == "scan"], default=0.0))}
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        cache.save_tensors(path, {"state": state, "rows": rows, "info": info, "key": key_obj})
        return model, rows, {**info, "key": key, "from_cache": False}
