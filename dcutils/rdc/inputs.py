"""What R-DC's training loops feed the network: mini-batch indices, augmentation and input noise.

:func:`batches`
    One epoch's index mini-batches (a permutation drawn on a CPU generator;
    a last batch of a single sample is dropped), and :func:`batches_per_epoch`,
    their number, and :func:`sample_count`, the samples a run trains on (for
    step estimates).
:func:`augment`
    R-DC's shifts (<= 0.1) and rotations (<= 10 degrees) for 2-D image
    batches, Section 4.1.3 (:data:`dcutils.hparams.RDC`).
:func:`noisy`
    Gaussian noise on the z-scored inputs (R-DC Eq. 17, Figure 20).
:class:`Training`
    How every loop trains: bf16 autocast or fp32, fused or torch's default
    Adam (:mod:`dcutils.precision`); :data:`FP32` is fp32 with torch's
    default Adam (the behaviour before these options).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from dcutils import augment as _augment
from dcutils import precision as _precision
from dcutils.core import check_finite
from dcutils.data import DATASETS, canonical_name
from dcutils.hparams import RDC

__all__ = ["batches", "batches_per_epoch", "sample_count", "UNKNOWN_SIZE", "augment", "noisy", "Training", "FP32",
           "optimizer_step", "probe"]

#: Samples assumed for a data set of unknown size run without a subsample (in step estimates only):
#: 70,000, the size of FMNIST and MNIST, R-DC's largest image sets.
UNKNOWN_SIZE = 70_000


def batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> list[Tensor]:
    """Index mini-batches of one epoch (a permutation drawn on the CPU generator)."""
    perm = torch.randperm(n, generator=generator).to(device)
    return [perm[i : i + batch_size] for i in range(0, n, batch_size) if perm[i : i + batch_size].numel() > 1]


def batches_per_epoch(n: int, batch_size: int) -> int:
    """How many mini-batches :func:`batches` gives for ``n`` samples (a last batch of 1 is dropped)."""
    n, batch_size = int(n), int(batch_size)
    return n // batch_size + (1 if n % batch_size > 1 else 0)


def sample_count(dataset: str, subsample: int | None) -> int:
    """Samples a run on ``dataset`` trains on, for step estimates.

    ``subsample`` capped at the data set's size (the papers' sample count in
    :data:`dcutils.data.DATASETS`; :data:`UNKNOWN_SIZE` for a name the catalog
    does not know); the whole data set when ``subsample`` is None. A run on one
    split (MNIST's test split) has fewer samples: the estimate is then an upper
    bound.
    """
    try:
        full = DATASETS[canonical_name(dataset)].paper_samples
    except ValueError:
        full = None
    if subsample is None:
        return int(full or UNKNOWN_SIZE)
    return int(min(subsample, full)) if full else int(subsample)


def augment(x: Tensor, on: bool, generator: torch.Generator) -> Tensor:
    """R-DC's shifts and rotations for image batches (N, C, H, W); other shapes pass unchanged.

    Flat or 2-D data (curved4) has nothing to shift or rotate, and 3-D volumes
    (VesselMNIST3D, (N, 1, D, H, W)) get no augmentation: the paper names only
    2-D height/width shifts and an in-plane rotation.
    """
    if not on or x.dim() != 4:
        return x
    return _augment.rdc_augment(x, shift=RDC.shift, rotation=RDC.rotation, generator=generator)


def noisy(x: Tensor, std: float, seed: int) -> Tensor:
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


def optimizer_step(opt: torch.optim.Optimizer, loss: Tensor, what: str, epoch: int) -> float:
    """One update of every R-DC loop: check ``loss`` is finite (naming ``what`` and ``epoch``), then
    zero the gradients, back-propagate and step. Returns the loss as a float."""
    value = check_finite(loss.detach(), what, epoch=epoch)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return value


@dataclass(frozen=True)
class Training:
    """How an R-DC loop trains: ``precision`` ("fp32" or "bf16" autocast of each mini-batch's forward pass and
    loss; parameters, gradients, Adam and every evaluation stay fp32) and ``fused_adam`` (torch's fused Adam,
    the same update up to float rounding, or torch's default single-tensor Adam)."""

    precision: str = "fp32"
    fused_adam: bool = False

    def __post_init__(self) -> None:
        _precision.check_precision(self.precision)

    def adam(self, params: Iterable[Any], lr: float) -> torch.optim.Adam:
        return _precision.adam(params, lr=lr, fused=None if self.fused_adam else False)

    def autocast(self, device: torch.device | str) -> contextlib.AbstractContextManager:
        return _precision.autocast(device, self.precision)

    @classmethod
    def of(cls, cfg: Any) -> Training:
        """The training options a run config names (``precision``, ``fused_adam``)."""
        return cls(cfg["precision"], bool(cfg["fused_adam"]))


#: fp32 with torch's default Adam: what every loop did before :class:`Training` existed.
FP32 = Training()


def logged(log: Any, epoch: int, last: bool) -> bool:
    """Whether the logger keeps the row of ``epoch`` (:meth:`dcutils.rdc.evaluation.EpochLogger.keeps`; a plain
    callable keeps every row), so a loop computes a row's labels only for the rows kept."""
    fn = getattr(log, "keeps", None)
    return True if fn is None else bool(fn(epoch, last))


def probe(log: Any, model: torch.nn.Module, step: int, labels: Any = None) -> None:
    """The logger's extra ACC evaluation after the phase's ``step``-th optimizer step
    (:meth:`dcutils.rdc.evaluation.EpochLogger.probe`), when the logger has one; ``labels``: a callable
    giving the method's own clusters (None: the run's k-means)."""
    fn = getattr(log, "probe", None)
    if fn is not None:
        fn(model, step, labels)
