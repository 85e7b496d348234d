"""SCAN's augmentations for ReSL, batched on the device (no per-sample Python loop).

Images are float tensors (N, C, H, W) in [0, 1]; the caller normalises afterwards
(:func:`normalize`). Random draws come from ``generator`` (its device) when given.

- :func:`simclr_augment`: SimCLR's views as SCAN uses them for CIFAR: RandomResizedCrop
  (scale 0.2-1), horizontal flip (p 0.5), ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8,
  RandomGrayscale p 0.2 (a no-op on one channel; saturation and hue likewise).
- :func:`strong_augment`: SCAN's strong augmentation (``augmentation_strategy: ours`` of SCAN's
  configs, ``get_train_transformations`` of its ``utils/common_config.py``), step by step:

  1. ``RandomHorizontalFlip()`` (p 0.5). Ours: the same.
  2. ``RandomCrop(crop_size)`` with ``crop_size`` the image side (32 for CIFAR, 96 for STL10) and no
     padding: it crops nothing. Ours: ``padding=0`` (default) likewise crops nothing; ``padding > 0``
     pads with zeros and crops back to the side (not SCAN's; kept for experiments only).
  3. ``Augment(num_strong_augs=4)``: ``random.choices`` of 4 operations from SCAN's 14 (with
     replacement), each at a magnitude uniform in its range (:data:`OPS`, :data:`RANGES`); rotate,
     shear and translate flip the sign of the magnitude with p 0.5 (their ranges are symmetric, so
     drawing from the range is the same distribution). Ours: the same draws, per image, one batched
     call per operation and slot.
  4. ``ToTensor()``, ``Normalize(mean, std)``. Ours: :func:`normalize` with the training subset's
     per-channel mean and std.
  5. ``Cutout(n_holes=1, length=L_max, random=True)`` after normalisation: a side
     ``L = random.randint(1, L_max)`` per image (both ends included), a centre (y, x) uniform over the
     pixels, and the rows ``clip(y - L // 2, 0, H) : clip(y + L // 2, 0, H)`` (columns alike) set to 0,
     the normalised mean: the hole's side is ``2 * (L // 2)`` (0 for L = 1, 16 for L = 16) before
     clipping at the border. SCAN's ``L_max`` is 16 at 32 px (CIFAR) and 32 at 96 px (STL10). The
     expected hole is ~8.4 % of a 32-px image before clipping (~7 % after). Ours: :func:`cutout`,
     exactly this; at 28 px (FMNIST, MNIST) ``L_max`` = 14 = 16 x 28 / 32, SCAN's CIFAR side scaled
     to the image (:func:`dcutils.resl.pretext.cutout_length`; ours, SCAN has no 28-px setting), the
     same ~8.4 % of the image before clipping.

The 14 operations follow PIL's ImageOps / ImageEnhance on [0, 1] floats: identity, autocontrast
(per-channel min-max stretch), equalize (PIL's histogram equalisation: ``lut[i] = (step // 2 +
#pixels below i) // step`` with ``step = (#pixels - #pixels at the top level) // 255``, per
channel), rotate (degrees, about the centre), solarize (invert pixels at or above the threshold;
SCAN's threshold is uniform in [0, 256) on 8 bits, ours in [0, 256 / 255) on [0, 1], the same
inversion probability p / 256 for a pixel of value p), color (blend with the grayscale image;
identity on one channel), contrast (blend with the mean gray), brightness (blend with black),
sharpness (blend with PIL's 3x3 SMOOTH-filtered image, border kept), shear x / y (PIL's affine
transform about the top-left corner: ``x_in = x + v y``), translate x / y (fraction of the side),
posterize (keep ``int(v)`` bits, v uniform in [4, 8): 4-7 bits, as SCAN's ``int(v)``). Geometric
ops sample the nearest pixel and fill with 0 (black) as PIL does. Not SCAN's: PIL works on 8-bit
images and rounds after every operation, ours stays in floats; PIL's contrast rounds the mean gray
to an integer level.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dcutils import augment as base_augment

__all__ = ["OPS", "RANGES", "normalize", "simclr_augment", "strong_augment", "apply_op", "cutout"]

#: The strong augmentation's operations (SCAN's list).
OPS = ("identity", "autocontrast", "equalize", "rotate", "solarize", "color", "contrast", "brightness",
       "sharpness", "shear_x", "shear_y", "translate_x", "translate_y", "posterize")

#: Magnitude range of each operation (uniform per image; SCAN's ``augment_list``); None = no magnitude.
#: Solarize's threshold is SCAN's [0, 256) on 8 bits expressed on [0, 1] (module docstring).
RANGES: dict[str, tuple[float, float] | None] = {
    "identity": None, "autocontrast": None, "equalize": None,
    "rotate": (-30.0, 30.0), "solarize": (0.0, 256.0 / 255.0), "color": (0.05, 0.95), "contrast": (0.05, 0.95),
    "brightness": (0.05, 0.95), "sharpness": (0.05, 0.95), "shear_x": (-0.1, 0.1), "shear_y": (-0.1, 0.1),
    "translate_x": (-0.1, 0.1), "translate_y": (-0.1, 0.1), "posterize": (4.0, 8.0),
}


def _rand(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    dev = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=dev, dtype=torch.float32).to(like.device)


def normalize(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """(x - mean) / std per channel; mean and std of shape (C,)."""
    c = x.shape[1]
    return (x - mean.to(x).view(1, c, 1, 1)) / std.to(x).view(1, c, 1, 1)


def _gray(x: Tensor) -> Tensor:
    return base_augment.rgb_to_grayscale(x) if x.shape[1] == 3 else x


def _blend(img: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    return (other + factor.view(-1, 1, 1, 1) * (img - other)).clamp(0.0, 1.0)


def _warp(x: Tensor, theta: Tensor) -> Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _affine_theta(n: int, like: Tensor) -> Tensor:
    theta = torch.zeros(n, 2, 3, dtype=like.dtype, device=like.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    return theta


def _equalize(x: Tensor) -> Tensor:
    """PIL's ``ImageOps.equalize`` per channel on the 8-bit levels ``round(255 x)`` (module docstring)."""
    n, c, h, w = x.shape
    levels = (x * 255).round().clamp(0, 255).long().reshape(n * c, h * w)
    sorted_levels, _ = levels.sort(dim=1)
    below = torch.searchsorted(sorted_levels, levels, right=False)  # pixels strictly below each level
    top = sorted_levels[:, -1:]
    at_top = h * w - torch.searchsorted(sorted_levels, top.contiguous(), right=False)  # (N*C, 1)
    step = (h * w - at_top) // 255
    safe = step.clamp_min(1)
    out = ((step // 2 + below) // safe).clamp(max=255).to(x.dtype) / 255
    # one level only, or too few pixels below the top level: PIL's identity table
    return torch.where(step > 0, out, x.reshape(n * c, h * w)).reshape(n, c, h, w)


def apply_op(op: str, x: Tensor, m: Tensor) -> Tensor:
    """Apply operation ``op`` to every image of ``x`` (N, C, H, W) in [0, 1] with magnitudes ``m`` (N,)."""
    n = x.shape[0]
    if op == "identity":
        return x
    if op == "autocontrast":
        lo = x.amin(dim=(2, 3), keepdim=True)
        hi = x.amax(dim=(2, 3), keepdim=True)
        return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-8), x)
    if op == "equalize":
        return _equalize(x)
    if op == "rotate":
        a = torch.deg2rad(m)
        theta = _affine_theta(n, x)
        theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), -torch.sin(a)
        theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a), torch.cos(a)
        return _warp(x, theta)
    if op == "solarize":
        return torch.where(x >= m.view(-1, 1, 1, 1), 1.0 - x, x)
    if op == "color":
        return _blend(x, _gray(x).expand_as(x), m)
    if op == "contrast":
        mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
        return _blend(x, mean.expand_as(x), m)
    if op == "brightness":
        return _blend(x, torch.zeros_like(x), m)
    if op == "sharpness":
        c = x.shape[1]
        kernel = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=x.dtype, device=x.device) / 13
        smooth = F.conv2d(x, kernel.expand(c, 1, 3, 3), padding=1, groups=c)
        smooth[:, :, 0, :], smooth[:, :, -1, :] = x[:, :, 0, :], x[:, :, -1, :]
        smooth[:, :, :, 0], smooth[:, :, :, -1] = x[:, :, :, 0], x[:, :, :, -1]
        return _blend(x, smooth, m)
    if op in ("shear_x", "shear_y"):
        # PIL's affine (1, v, 0, 0, 1, 0) maps x_out to x_in = x_out + v y_out about the top-left corner;
        # in normalised coordinates (align_corners=False) that is X_in = X + v (Y + 1) H / W
        h, w = x.shape[-2:]
        theta = _affine_theta(n, x)
        row, col, scale = (0, 1, h / w) if op == "shear_x" else (1, 0, w / h)
        theta[:, row, col] = m * scale
        theta[:, row, 2] = m * scale
        return _warp(x, theta)
    if op in ("translate_x", "translate_y"):
        theta = _affine_theta(n, x)
        theta[:, 0 if op == "translate_x" else 1, 2] = 2.0 * m  # normalised coordinates span 2
        return _warp(x, theta)
    if op == "posterize":
        bits = m.floor().clamp(1, 8)  # SCAN's int(v)
        levels = (2.0 ** bits).view(-1, 1, 1, 1)
        return torch.floor(x * 255 / (256 / levels)) * (256 / levels) / 255
    raise ValueError(f"unknown operation {op!r}; choose one of {OPS}")


def cutout(x: Tensor, length: int, generator: torch.Generator | None = None, *, random_length: bool = True
           ) -> Tensor:
    """SCAN's Cutout (module docstring, step 5) on a normalised batch: one hole per image, filled with 0.

    ``random_length`` (SCAN's): side ``L`` uniform in 1..``length`` per image; else ``L = length``.
    The hole covers rows ``[y - L // 2, y + L // 2)`` and columns alike, centre (y, x) uniform over the
    pixels, clipped at the border (side ``2 * (L // 2)``, as SCAN's code).
    """
    if length <= 0:
        return x
    n, _, h, w = x.shape
    u = _rand((n, 3), generator, x)
    cy = (u[:, 0] * h).floor().clamp(max=h - 1).view(-1, 1, 1)
    cx = (u[:, 1] * w).floor().clamp(max=w - 1).view(-1, 1, 1)
    side = (u[:, 2] * length).floor().clamp(max=length - 1) + 1 if random_length else torch.full_like(u[:, 2], length)
    half = torch.div(side, 2, rounding_mode="floor").view(-1, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (ys >= cy - half) & (ys < cy + half) & (xs >= cx - half) & (xs < cx + half)
    return x * (~hole).unsqueeze(1).to(x.dtype)


def _flip_crop(x: Tensor, padding: int, generator: torch.Generator | None) -> Tensor:
    n, _, h, w = x.shape
    u = _rand((n, 3), generator, x)
    x = torch.where((u[:, 0] < 0.5).view(-1, 1, 1, 1), x.flip(-1), x)
    if padding <= 0:
        return x
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = (u[:, 1] * (2 * padding + 1)).floor().long().clamp(max=2 * padding)
    dx = (u[:, 2] * (2 * padding + 1)).floor().long().clamp(max=2 * padding)
    rows = (dy.view(-1, 1) + torch.arange(h, device=x.device).view(1, h))  # (N, H)
    cols = (dx.view(-1, 1) + torch.arange(w, device=x.device).view(1, w))  # (N, W)
    idx_r = rows.view(n, 1, h, 1).expand(n, x.shape[1], h, padded.shape[3])
    out = padded.gather(2, idx_r)
    idx_c = cols.view(n, 1, 1, w).expand(n, x.shape[1], h, w)
    return out.gather(3, idx_c)


def strong_augment(
    x: Tensor, mean: Tensor, std: Tensor, *, n_ops: int = 4, cutout_length: int = 14, cutout_random: bool = True,
    padding: int = 0, generator: torch.Generator | None = None,
) -> Tensor:
    """SCAN's strong augmentation of a batch in [0, 1], returned normalised (module docstring).

    ``cutout_length`` is SCAN's Cutout ``length`` (the largest side when ``cutout_random``, SCAN's);
    ``padding`` 0 is SCAN's crop (none). Each of the ``n_ops`` slots draws one of :data:`OPS` per
    image; an operation is applied to the images that drew it, all at once (one call per operation
    and slot, never per image).
    """
    n = x.shape[0]
    out = _flip_crop(x, padding, generator)
    for _ in range(n_ops):
        u = _rand((n, 2), generator, x)
        choice = (u[:, 0] * len(OPS)).floor().long().clamp(max=len(OPS) - 1)
        for j, op in enumerate(OPS):
            rng = RANGES[op]
            if rng is None and op == "identity":
                continue
            sel = (choice == j).nonzero().squeeze(1)
            if sel.numel() == 0:
                continue
            m = u[sel, 1]
            if rng is not None:
                m = rng[0] + (rng[1] - rng[0]) * m
            out = out.index_copy(0, sel, apply_op(op, out[sel], m.to(out.dtype)))
    return cutout(normalize(out, mean, std), cutout_length, generator, random_length=cutout_random)


def simclr_augment(x: Tensor, mean: Tensor, std: Tensor, *, scale: tuple[float, float] = (0.2, 1.0),
                   generator: torch.Generator | None = None) -> Tensor:
    """SimCLR's view of a batch in [0, 1], returned normalised (module docstring)."""
    n, c, h, w = x.shape
    out = base_augment.random_resized_crop(x, size=(h, w), scale=scale, generator=generator)
    u = _rand((n, 3), generator, x)
    out = torch.where((u[:, 0] < 0.5).view(-1, 1, 1, 1), out.flip(-1), out)
    chosen = (u[:, 1] < 0.8).nonzero().squeeze(1)
    if chosen.numel():
        sat, hue = (0.4, 0.1) if c == 3 else (0.0, 0.0)
        jittered = base_augment.color_jitter(out[chosen].expand(-1, 3, -1, -1) if c == 1 else out[chosen],
                                             0.4, 0.4, sat, hue, generator=generator)
        out = out.index_copy(0, chosen, jittered[:, :c] if c == 1 else jittered)
    if c == 3:
        out = torch.where((u[:, 2] < 0.2).view(-1, 1, 1, 1), _gray(out).expand_as(out), out)
    return normalize(out, mean, std)
