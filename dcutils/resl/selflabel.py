"""ReSL's self-labeling loop (Algorithm 1) with a pluggable reset strategy, and its per-epoch history.

:func:`self_label` trains a :class:`~dcutils.resl.network.ClusteringModel` in place::

    strategy.start(model)
    for epoch in range(epochs):
        for batch in shuffled batches of the training images:
            strong_x = strong_augment(x)          # drawn first (the generator's order)
            weak   = model(normalize(x))          # no gradient: the targets; BatchNorm per pseudo_label_bn
            strong = model(strong_x)              # train mode: the loss is taken on the strong view
            loss   = self_label_loss(weak, strong, threshold, balance)   # None: no confident sample
            if loss is None: skip the batch (counted)
            else: step Adam, strategy.after_step(model)
        strategy.on_epoch_end(model, epoch, optimizer)   # resets, injections
        evaluate strategy.eval_model(model)             # HT: the tortoise

SCAN's self-labeling (Table 3): threshold 0.99 (strict, ``>``), class balancing over the confident
targets of the batch, Adam lr 1e-4 with weight decay 1e-4 on the whole network, batch 1000.
Targets come from the network being trained (for HT: the hare).

**BatchNorm in the pseudo-label pass** (``pseudo_label_bn``, :func:`pseudo_label_logits`). SCAN's
``selflabel_train`` (``utils/train_utils.py``) calls ``model.train()`` once, then per batch
``model(images)`` under ``no_grad`` (the clean images: the targets), then
``model(images_augmented)``, the loss and the step: the targets are normalised by the clean batch's
own statistics, and both passes update the running statistics (clean first, then strong).
``"train"`` does exactly that. ``"eval"`` computes the targets with the running statistics (eval
mode, which neither uses nor updates the batch's statistics) and the strong pass in train mode as
before. The two differ when the running statistics do not describe a clean batch: our SCAN stage
trains on strong views only, so its running statistics fit those, and a clean batch normalised by
its own statistics gives flatter logits and fewer targets above the threshold (measured on the
quick base network: README, ReSL).

History (one row per epoch, and an epoch-0 row before training):

- ``acc``, ``nmi``, ``ari``: the evaluated model's clusters on the evaluation split;
- ``confident_fraction``, ``nmi_match``: share of training images with max p > threshold, and the
  NMI between their pseudo-labels and true classes (ReSL Appendix D), on the training set;
- ``cl_change``: 100 (1 - NMI) between this and the previous epoch's clusters on the evaluation split;
- ``reset``: whether the strategy changed the model after this epoch; ``alpha`` (SP / SP*) of it;
- ``skipped_batches``: batches of the epoch without a confident sample; ``steps``: optimizer steps so far;
- ``loss``: mean loss over the epoch's trained batches; ``train_seconds``: training time so far,
  evaluation excluded;
- ``min_cluster_share``, ``empty_clusters``: the evaluated model's smallest cluster on the evaluation
  split (share of its images) and how many of the K clusters are empty there (:mod:`dcutils.health`);
- ``confident_per_cluster``: a list of K counts, the training images above the threshold by their
  cluster, as ``confident_fraction`` counts them (the evaluated model in eval mode, clean images);
  ``unconfident_clusters``: how many of the K have none. Under the threshold a cluster without a
  confident image gets no target, so it can only lose images;
- ``pseudo_confident_per_cluster``: a list of K counts, the targets above the threshold by cluster
  that the pseudo-label passes of the epoch produced (the trained model, BatchNorm per
  ``pseudo_label_bn``, summed over the epoch's batches; the loss trains on these);
  ``pseudo_confident_fraction``: their total over the training images. Row 0: one pass over the
  training set in batches of ``batch_size`` (in index order) on a copy of the model, so nothing
  is updated.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dcutils import metrics, precision
from dcutils.core import NonFiniteLossError
from dcutils.resl.augment import normalize, strong_augment
from dcutils.resl.losses import self_label_loss
from dcutils.resl.pretext import Splits, batches, predict
from dcutils.resl.strategies import ResetStrategy, ShrinkPerturb
from dcutils.timing import Stopwatch

__all__ = ["HISTORY_COLUMNS", "PSEUDO_LABEL_BN", "check_pseudo_label_bn", "evaluate", "pseudo_label_logits",
           "confident_counts",
           "self_label"]

HISTORY_COLUMNS = ("epoch", "acc", "nmi", "ari", "confident_fraction", "nmi_match", "cl_change", "reset", "alpha",
                   "skipped_batches", "steps", "loss", "train_seconds", "min_cluster_share", "empty_clusters",
                   "confident_per_cluster", "unconfident_clusters", "pseudo_confident_per_cluster",
                   "pseudo_confident_fraction")

#: BatchNorm modes of the pseudo-label pass: "train" (SCAN's code), "eval" (running statistics).
PSEUDO_LABEL_BN = ("train", "eval")


def check_pseudo_label_bn(bn: str) -> str:
    """``bn`` when it is one of :data:`PSEUDO_LABEL_BN`, else ValueError."""
    if bn not in PSEUDO_LABEL_BN:
        raise ValueError(f"pseudo_label_bn must be one of {list(PSEUDO_LABEL_BN)}, got {bn!r}")
    return bn


@torch.no_grad()
def pseudo_label_logits(model: nn.Module, x: Tensor, bn: str = "train") -> Tensor:
    """The targets' logits of a normalised clean batch ``x``, without gradient (module docstring).

    ``bn="train"``: the model in train mode (the batch's own statistics, running statistics updated;
    SCAN's code); ``"eval"``: in eval mode (running statistics, nothing updated). The model is in
    train mode afterwards either way.
    """
    if check_pseudo_label_bn(bn) == "eval":
        model.eval()
    try:
        return model(x)
    finally:
        model.train()


def confident_counts(probs: Tensor, threshold: float, k: int) -> np.ndarray:
    """Per cluster (K,), how many rows of ``probs`` (N, K) have max probability > ``threshold`` (int64)."""
    probs = probs.detach().float()
    conf, pred = probs.max(dim=1)
    return torch.bincount(pred[conf > threshold].cpu(), minlength=k).numpy().astype(np.int64)


def _cluster_sizes(labels: np.ndarray, k: int) -> dict[str, float]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k)
    return {"min_cluster_share": float(counts.min() / max(int(counts.sum()), 1)),
            "empty_clusters": int((counts == 0).sum())}


def evaluate(model: nn.Module, s: Splits, threshold: float, previous: np.ndarray | None) -> tuple[dict[str, float],
                                                                                                    np.ndarray]:
    """Scores of ``model``: clusters on the evaluation split, confident set on the training set."""
    test_labels = predict(model, s.x_test, s.mean, s.std).argmax(1).cpu().numpy()
    y_test = s.y_test.cpu().numpy()
    probs = predict(model, s.x_train, s.mean, s.std).cpu()
    mask = metrics.is_confident(probs, threshold)
    pseudo = probs.argmax(1).numpy()
    per_cluster = confident_counts(probs, threshold, s.n_classes)
    row = {"acc": metrics.cluster_acc(y_test, test_labels), "nmi": metrics.nmi(y_test, test_labels),
           "ari": metrics.ari(y_test, test_labels), "confident_fraction": float(mask.mean()),
           "nmi_match": metrics.nmi_match(s.y_train.cpu().numpy(), pseudo, mask),
           "cl_change": math.nan if previous is None else metrics.cluster_label_change(previous, test_labels),
           **_cluster_sizes(test_labels, s.n_classes),
           "confident_per_cluster": [int(c) for c in per_cluster],
           "unconfident_clusters": int((per_cluster == 0).sum())}
    return row, test_labels


def _pseudo_counts_at_start(model: nn.Module, s: Splits, bn: str, batch_size: int, threshold: float,
                            prec: str) -> np.ndarray:
    """Row 0's ``pseudo_confident_per_cluster``: one pass in index order on a copy (nothing updated)."""
    probe = copy.deepcopy(model)
    dev = s.x_train.device
    total = np.zeros(s.n_classes, dtype=np.int64)
    for i in range(0, s.x_train.shape[0], batch_size):
        with precision.autocast(dev, prec):
            logits = pseudo_label_logits(probe, normalize(s.x_train[i:i + batch_size], s.mean, s.std), bn)
        total += confident_counts(torch.softmax(logits.float(), dim=1), threshold, s.n_classes)
    return total


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
    pseudo_label_bn: str = "train",
    cutout_random: bool = True,
    progress: Callable = lambda it: it,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Self-label ``model`` in place under ``strategy`` (module docstring).

    ``pseudo_label_bn``: BatchNorm mode of the pseudo-label pass, "train" (SCAN's code) or "eval".
    ``cutout``: Cutout's largest side (:func:`dcutils.resl.augment.cutout`, random side per image
    unless ``cutout_random`` is False).

    Returns the history rows and the evaluated model's final cluster labels on the evaluation split.
    """
    check_pseudo_label_bn(pseudo_label_bn)
    dev = s.x_train.device
    k = s.n_classes
    opt = precision.adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=None if fused else False)
    strategy.start(model)
    clock = Stopwatch(dev)
    first, labels = evaluate(strategy.eval_model(model), s, threshold, None)
    start = _pseudo_counts_at_start(model, s, pseudo_label_bn, batch_size, threshold, prec)
    n = s.x_train.shape[0]
    rows = [{"epoch": 0, **first, "reset": False, "alpha": math.nan, "skipped_batches": 0, "steps": 0,
             "loss": math.nan, "train_seconds": 0.0, "pseudo_confident_per_cluster": [int(c) for c in start],
             "pseudo_confident_fraction": float(start.sum() / n)}]
    steps = 0
    clock.reset()
    for epoch in progress(range(epochs)):
        model.train()
        skipped, total, count = 0, 0.0, 0
        pseudo = torch.zeros(k, dtype=torch.long, device=dev)
        for idx in batches(n, batch_size, generator, dev):
            xb = s.x_train[idx]
            strong = strong_augment(xb, s.mean, s.std, n_ops=n_ops, cutout_length=cutout, cutout_random=cutout_random,
                                    generator=generator)
            with precision.autocast(dev, prec):
                weak = pseudo_label_logits(model, normalize(xb, s.mean, s.std), pseudo_label_bn)
                loss, _ = self_label_loss(weak, model(strong), threshold, balance)
            with torch.no_grad():
                conf, pred = torch.softmax(weak.float(), dim=1).max(dim=1)
                pseudo += torch.bincount(pred[conf > threshold], minlength=k)
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
        counts = pseudo.cpu().numpy()
        rows.append({"epoch": epoch + 1, **scores, "reset": bool(changed), "alpha": alpha if changed else math.nan,
                     "skipped_batches": skipped, "steps": steps, "loss": total / count if count else math.nan,
                     "train_seconds": seconds, "pseudo_confident_per_cluster": [int(c) for c in counts],
                     "pseudo_confident_fraction": float(counts.sum() / n)})
    return rows, labels
