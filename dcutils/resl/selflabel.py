"""ReSL's self-labeling loop (Algorithm 1) with a pluggable reset strategy, and its per-epoch history.

:func:`self_label` trains a :class:`~dcutils.resl.network.ClusteringModel` in place::

    strategy.start(model)
    for epoch in range(epochs):
        for batch in shuffled batches of the training images:
            weak   = model(normalize(x))          # train mode, no gradient: the targets (SCAN's code)
            strong = model(strong_augment(x))     # the loss is taken on the strong view
            loss   = self_label_loss(weak, strong, threshold, balance)   # None: no confident sample
            if loss is None: skip the batch (counted)
            else: step Adam, strategy.after_step(model)
        strategy.on_epoch_end(model, epoch, optimizer)   # resets, injections
        evaluate strategy.eval_model(model)             # HT: the tortoise

SCAN's self-labeling (Table 3): threshold 0.99 (strict, ``>``), class balancing over the confident
targets of the batch, Adam lr 1e-4 with weight decay 1e-4 on the whole network, batch 1000.
Targets come from the network being trained (for HT: the hare), in train mode as SCAN's code does.

History (one row per epoch, and an epoch-0 row before training):

- ``acc``, ``nmi``, ``ari``: the evaluated model's clusters on the evaluation split;
- ``confident_fraction``, ``nmi_match``: share of training images with max p > threshold, and the
  NMI between their pseudo-labels and true classes (ReSL Appendix D), on the training set;
- ``cl_change``: 100 (1 - NMI) between this and the previous epoch's clusters on the evaluation split;
- ``reset``: whether the strategy changed the model after this epoch; ``alpha`` (SP / SP*) of it;
- ``skipped_batches``: batches of the epoch without a confident sample; ``steps``: optimizer steps so far;
- ``loss``: mean loss over the epoch's trained batches; ``train_seconds``: training time so far,
  evaluation excluded.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from dcutils import metrics, precision
from dcutils.core import NonFiniteLossError
from dcutils.resl.augment import normalize, strong_augment
from dcutils.resl.losses import self_label_loss
from dcutils.resl.pretext import Splits, batches, predict
from dcutils.resl.strategies import ResetStrategy, ShrinkPerturb
from dcutils.timing import Stopwatch

__all__ = ["HISTORY_COLUMNS", "evaluate", "self_label"]

HISTORY_COLUMNS = ("epoch", "acc", "nmi", "ari", "confident_fraction", "nmi_match", "cl_change", "reset", "alpha",
                   "skipped_batches", "steps", "loss", "train_seconds")


def evaluate(model: nn.Module, s: Splits, threshold: float, previous: np.ndarray | None) -> tuple[dict[str, float],
                                                                                                    np.ndarray]:
    """Scores of ``model``: clusters on the evaluation split, confident set on the training set."""
    test_labels = predict(model, s.x_test, s.mean, s.std).argmax(1).cpu().numpy()
    y_test = s.y_test.cpu().numpy()
    probs = predict(model, s.x_train, s.mean, s.std).cpu()
    mask = metrics.is_confident(probs, threshold)
    pseudo = probs.argmax(1).numpy()
    row = {"acc": metrics.cluster_acc(y_test, test_labels), "nmi": metrics.nmi(y_test, test_labels),
           "ari": metrics.ari(y_test, test_labels), "confident_fraction": float(mask.mean()),
           "nmi_match": metrics.nmi_match(s.y_train.cpu().numpy(), pseudo, mask),
           "cl_change": math.nan if previous is None else metrics.cluster_label_change(previous, test_labels)}
    return row, test_labels


def self_label(
    model: nn.Module,
    strategy: ResetStrategy,
    s: Splits,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    threshold: float,
    balance: bool,
    n_ops: int,
    cutout: int,
    generator: torch.Generator,
    prec: str = "fp32",
    fused: bool = True,
    progress: Callable = lambda it: it,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Self-label ``model`` in place under ``strategy`` (module docstring).

    Returns the history rows and the evaluated model's final cluster labels on the evaluation split.
    """
    dev = s.x_train.device
    opt = precision.adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=None if fused else False)
    strategy.start(model)
    clock = Stopwatch(dev)
    first, labels = evaluate(strategy.eval_model(model), s, threshold, None)
    rows = [{"epoch": 0, **first, "reset": False, "alpha": math.nan, "skipped_batches": 0, "steps": 0,
             "loss": math.nan, "train_seconds": 0.0}]
    steps = 0
    clock.reset()
    n = s.x_train.shape[0]
    for epoch in progress(range(epochs)):
        model.train()
        skipped, total, count = 0, 0.0, 0
        for idx in batches(n, batch_size, generator, dev):
            xb = s.x_train[idx]
            strong = strong_augment(xb, s.mean, s.std, n_ops=n_ops, cutout_length=cutout, generator=generator)
            with precision.autocast(dev, prec):
                with torch.no_grad():
                    weak = model(normalize(xb, s.mean, s.std))
                loss, _ = self_label_loss(weak, model(strong), threshold, balance)
            if loss is None:
                skipped += 1
                continue
            if not torch.isfinite(loss):
                raise NonFiniteLossError(f"self-labeling diverged at epoch {epoch + 1}: loss {float(loss)}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            strategy.after_step(model)
            steps += 1
            total += float(loss.detach())
            count += 1
        alpha = strategy.alpha_at(epoch) if isinstance(strategy, ShrinkPerturb) else math.nan
        changed = strategy.on_epoch_end(model, epoch, opt)
        seconds = clock.seconds()
        with clock.paused():
            scores, labels = evaluate(strategy.eval_model(model), s, threshold, labels)
        rows.append({"epoch": epoch + 1, **scores, "reset": bool(changed), "alpha": alpha if changed else math.nan,
                     "skipped_batches": skipped, "steps": steps, "loss": total / count if count else math.nan,
                     "train_seconds": seconds})
    return rows, labels
