"""BRB's clustering-phase augmentation per data set (Tables 5 and 6), batched on the device.

:func:`make_augmenter` returns ``augment(x_batch, generator)`` for a data set:
the random affine view for grayscale sets, the colour pipeline for GTSRB.
:func:`setup_for` picks the hyperparameter table of a data set.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from dcutils.augment import color_augment, random_affine
from dcutils.data import Dataset
from dcutils.hparams import BRB_GRAYSCALE, BRB_GTSRB, BRBAutoencoderSetup

__all__ = ["setup_for", "affine_augmenter", "make_augmenter"]


def setup_for(dataset: str) -> BRBAutoencoderSetup:
    """BRB's hyperparameters for a data set: Table 6 for GTSRB, Table 5 for the grayscale ones."""
    return BRB_GTSRB if str(dataset).strip().lower().startswith("gtsrb") else BRB_GRAYSCALE


def _channel_stats(data: Dataset) -> tuple[Tensor, Tensor]:
    """Per-channel z-score mean and std of the data set, shape (1, C, 1, 1) each (0 and 1 when not z-scored)."""
    c = data.x.shape[1] if data.x.dim() == 4 else 1
    mean = data.info.get("channel_mean") or [0.0] * c
    std = data.info.get("channel_std") or [1.0] * c
    as_t = lambda v: torch.tensor(v, dtype=data.x.dtype, device=data.x.device).view(1, -1, 1, 1)  # noqa: E731
    return as_t(mean), as_t([s if s > 0 else 1.0 for s in std])


def affine_augmenter(setup: BRBAutoencoderSetup, fill: Tensor | float, image_shape) -> Callable:
    """Random affine views with ``setup``'s Table 5 parameters, ``fill`` moved in at the borders."""
    a = setup.affine

    def augment(xb: Tensor, generator: torch.Generator) -> Tensor:
        return random_affine(xb, a.degrees, a.translate, a.shear, generator, fill=fill, image_shape=image_shape)

    return augment


def make_augmenter(data: Dataset,
                   setup: BRBAutoencoderSetup | None = None) -> Callable[[Tensor, torch.Generator], Tensor]:
    """The batched augmentation of BRB's clustering phase for ``data`` (z-scored images on the device).

    Grayscale (Table 5): random affine (rotation ±16°, translation 0.1, shear
    ±8°) with the z-scored black background (``-mean / std``) moved in.
    GTSRB (Table 6): undo the z-score, apply :func:`dcutils.augment.color_augment`
    (RandomResizedCrop, ColorJitter, RandomGrayscale, flip, RandomSolarize) on
    [0, 1] images, z-score again.

    Returns
    -------
    callable ``(x_batch (B, C, H, W), generator) -> (B, C, H, W)``, one fresh
    transform per sample, no Python loop over samples.
    """
    setup = setup or setup_for(data.name)
    if data.x.dim() != 4:
        raise ValueError(f"augmentation needs images (N, C, H, W), got {tuple(data.x.shape)}")
    mean, std = _channel_stats(data)
    if setup.color is not None:
        col = setup.color

        def augment(xb: Tensor, generator: torch.Generator) -> Tensor:
            unit = (xb * std + mean).clamp(0.0, 1.0)
            out = color_augment(unit, size=col.crop_size, scale=col.crop_scale, brightness=col.jitter[0],
                                contrast=col.jitter[1], saturation=col.jitter[2], hue=col.jitter[3],
                                jitter_p=col.jitter_p, grayscale_p=col.grayscale_p, flip_p=col.hflip_p,
                                solarize_p=col.solarize_p, generator=generator)
            return (out - mean) / std

        return augment
    return affine_augmenter(setup, (-mean / std).flatten(), tuple(data.x.shape[1:]))
