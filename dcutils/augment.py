"""Batched image augmentation on the device: one call per batch, per-sample parameters.

* :func:`random_affine` -- BRB's grayscale augmentation (Table 5:
  RandomAffine, degrees +-16, translate 0.1, shear +-8), like torchvision's
  ``RandomAffine`` but for a whole batch at once with ``F.affine_grid`` /
  ``F.grid_sample``.
* :func:`color_augment` -- BRB's GTSRB augmentation (Table 6): RandomResizedCrop,
  ColorJitter (p=0.8), RandomGrayscale, RandomHorizontalFlip, RandomSolarize.
* :func:`rdc_augment` -- R-DC's shifts <= 0.1 and rotations <= 10 degrees
  (Section 4.1.3).
* :func:`affine` -- the deterministic batched warp the random ones call.

Random draws use ``generator`` when given (on the generator's device, then
moved to the data's device), else torch's global RNG on the data's device.
No function loops over samples in Python.

Flat inputs
-----------
Training loops of the autoencoder experiments hold flattened images ``(N, d)``.
:func:`random_affine`, :func:`affine` and :func:`rdc_augment` accept them with
``image_shape=(C, H, W)`` (or infer ``(1, s, s)`` when ``d = s*s``) and return
the same flat shape.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "affine",
    "random_affine",
    "rdc_augment",
    "color_augment",
    "random_resized_crop",
    "color_jitter",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "hsv_to_rgb",
]

FillLike = float | Sequence[float] | Tensor
_PADDING = {"fill": "zeros", "border": "border", "reflection": "reflection"}


# --------------------------------------------------------------------- helpers
def _rand(shape: tuple[int, ...], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Uniform [0, 1) numbers in ``like``'s dtype, drawn on the generator's device."""
    dtype = like.dtype if like.is_floating_point() else torch.float32
    device = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=device, dtype=dtype).to(like.device)


def _to_images(x: Tensor, image_shape: Sequence[int] | None) -> Tensor:
    """View ``x`` as (N, C, H, W)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"x must be a floating-point tensor, got {x.dtype}; convert with x.float() "
            "(and scale uint8 images to [0, 1])"
        )
    if x.dim() == 4:
        if image_shape is not None and tuple(image_shape) != tuple(x.shape[1:]):
            raise ValueError(f"image_shape {tuple(image_shape)} does not match x of shape {tuple(x.shape)}")
        return x
    if x.dim() == 2:
        d = x.shape[1]
        if image_shape is None:
            side = math.isqrt(d)
            if side * side != d:
                raise ValueError(
                    f"cannot infer the image shape of {d} features; pass image_shape=(C, H, W)"
                )
            image_shape = (1, side, side)
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3 or math.prod(image_shape) != d:
            raise ValueError(f"image_shape {image_shape} does not hold {d} features per sample")
        return x.reshape(x.shape[0], *image_shape)
    raise ValueError(
        f"expected images (N, C, H, W) or flat images (N, d), got shape {tuple(x.shape)}; "
        "add a channel dimension with x.unsqueeze(1)"
    )


def _fill_tensor(fill: FillLike, x: Tensor) -> Tensor:
    """Fill value as a (1, C, 1, 1) tensor (scalar broadcast to all channels)."""
    f = torch.as_tensor(fill, dtype=x.dtype, device=x.device)
    c = x.shape[1]
    if f.dim() == 0:
        return f.reshape(1, 1, 1, 1)
    f = f.reshape(-1)
    if f.numel() != c:
        raise ValueError(f"fill has {f.numel()} values but the images have {c} channels")
    return f.reshape(1, c, 1, 1)


def _per_sample(v, n: int, like: Tensor, name: str, width: int = 1) -> Tensor:
    t = torch.as_tensor(v, dtype=like.dtype, device=like.device)
    shape = (n,) if width == 1 else (n, width)
    if t.dim() == 0 or (width > 1 and t.dim() == 1 and t.numel() == width):
        return t.expand(shape)
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape}, got {tuple(t.shape)}")
    return t


# ---------------------------------------------------------------- affine warp
def affine(
    x: Tensor,
    angle,
    translate,
    shear=0.0,
    *,
    fill: FillLike = 0.0,
    padding_mode: str = "fill",
    interpolation: str = "bilinear",
    image_shape: Sequence[int] | None = None,
) -> Tensor:
    """Warp every image of a batch with its own rotation, translation and x-shear.

    About the image centre, in pixel units: ``p_out = R(angle) Sh(shear) p_in + t``
    with ``R = [[cos, -sin], [sin, cos]]``, ``Sh = [[1, -tan(shear)], [0, 1]]``
    (x-shear), x to the right and y down; so ``translate = (1, 0)`` moves the
    content one pixel to the right. Angle, shear and translation mean the same
    as in ``torchvision.transforms.functional.affine(img, angle, translate,
    scale=1, shear=[shear, 0])`` (the tests check this).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W) or flat (N, C*H*W)
    angle : float or Tensor (N,)
        Rotation in degrees.
    translate : (float, float) or Tensor (N, 2)
        ``(tx, ty)`` in pixels.
    shear : float or Tensor (N,)
        x-shear angle in degrees.
    fill : float, sequence or Tensor (C,), default 0
        Value of pixels that come from outside the image, per channel
        (``padding_mode="fill"``). On z-scored data pass the z-scored
        background value, e.g. ``-mean / std``, not 0.
    padding_mode : {"fill", "border", "reflection"}
        "border" repeats the edge pixels (Keras' ``fill_mode="nearest"``).
    interpolation : {"bilinear", "nearest", "bicubic"}
        "nearest" (torchvision ``RandomAffine``'s default) copies input pixels:
        every output value is an input value of its image or the fill.
    image_shape : (C, H, W), optional
        Needed for flat input unless d is a perfect square (then (1, s, s)).

    Returns
    -------
    Tensor, same shape, dtype and device as ``x``
    """
    if padding_mode not in _PADDING:
        raise ValueError(f"padding_mode must be one of {sorted(_PADDING)}, got {padding_mode!r}")
    if interpolation not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"interpolation must be 'bilinear', 'nearest' or 'bicubic', got {interpolation!r}")
    img = _to_images(x, image_shape)
    n, c, h, w = img.shape
    ang = torch.deg2rad(_per_sample(angle, n, img, "angle"))
    sh = torch.deg2rad(_per_sample(shear, n, img, "shear"))
    t = _per_sample(translate, n, img, "translate", width=2)

    cos, sin, tan = torch.cos(ang), torch.sin(ang), torch.tan(sh)
    # inverse of R @ Sh: Sh^-1 @ R^-1 = [[1, tan], [0, 1]] @ [[cos, sin], [-sin, cos]]
    inv = torch.stack(
        [
            torch.stack([cos - tan * sin, sin + tan * cos], 1),
            torch.stack([-sin, cos], 1),
        ],
        1,
    )  # (N, 2, 2)
    # pixel <-> normalised coordinates (align_corners=False): p = S n, S = diag(W/2, H/2)
    s = torch.tensor([w / 2.0, h / 2.0], dtype=img.dtype, device=img.device)
    lin = inv * s.view(1, 1, 2) / s.view(1, 2, 1)
    bias = -(inv @ t.unsqueeze(2)).squeeze(2) / s
    theta = torch.cat([lin, bias.unsqueeze(2)], 2)

    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
    if padding_mode == "fill" and interpolation == "nearest":
        # Every output pixel is an input pixel or the fill, exactly (``(x - f) + f`` below would round):
        # sample a ones-mask with the same grid to tell the moved-in pixels apart, like torchvision.
        f = _fill_tensor(fill, img)
        out = F.grid_sample(img, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        inside = F.grid_sample(img.new_ones(n, 1, h, w), grid, mode="nearest", padding_mode="zeros",
                               align_corners=False)
        out = torch.where(inside > 0.5, out, f.expand_as(out))
    elif padding_mode == "fill":
        f = _fill_tensor(fill, img)
        out = F.grid_sample(img - f, grid, mode=interpolation, padding_mode="zeros", align_corners=False) + f
    else:
        out = F.grid_sample(img, grid, mode=interpolation, padding_mode=_PADDING[padding_mode], align_corners=False)
    return out.reshape(x.shape)


def random_affine(
    x: Tensor,
    degrees: float = 16.0,
    translate: float = 0.1,
    shear: float = 8.0,
    generator: torch.Generator | None = None,
    *,
    fill: FillLike = 0.0,
    padding_mode: str = "fill",
    integer_translation: bool = True,
    interpolation: str = "bilinear",
    image_shape: Sequence[int] | None = None,
) -> Tensor:
    """Random affine transform with per-sample parameters (BRB Table 5 defaults).

    Per sample: rotation ~ U(-degrees, degrees), translation
    ``tx ~ U(-translate*W, translate*W)``, ``ty ~ U(-translate*H, translate*H)``
    pixels (rounded to whole pixels like torchvision's ``RandomAffine`` when
    ``integer_translation``), x-shear ~ U(-shear, shear) degrees (torchvision's
    ``RandomAffine(shear=s)`` with a single value shears along x only).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W) or flat (N, d)
    degrees, translate, shear : float
        BRB: 16, 0.1, 8.
    generator : torch.Generator, optional
    fill : float, sequence or Tensor (C,), default 0
        Value for pixels moved in from outside the image. The BRB data are
        z-scored, so callers pass the z-scored background (``-mean / std`` per
        channel for a black background); 0 is right only for unnormalised
        images with black background.
    interpolation : {"bilinear", "nearest", "bicubic"}, default "bilinear"
        "nearest" is torchvision ``RandomAffine``'s default and what BRB's
        authors' code uses (``dcutils.brb`` passes it); "bilinear" blends
        neighbouring pixels.
    padding_mode, image_shape
        See :func:`affine`.

    Returns
    -------
    Tensor, same shape, dtype and device as ``x``
    """
    for name, v in (("degrees", degrees), ("translate", translate), ("shear", shear)):
        if v < 0:
            raise ValueError(f"{name} must be non-negative (it is a symmetric range), got {v}")
    if translate > 1:
        raise ValueError(f"translate is a fraction of the image size in [0, 1], got {translate}")
    img = _to_images(x, image_shape)
    n, _, h, w = img.shape
    u = _rand((n, 4), generator, img) * 2.0 - 1.0
    angle = u[:, 0] * degrees
    t = u[:, 1:3] * torch.tensor([translate * w, translate * h], dtype=img.dtype, device=img.device)
    if integer_translation:
        t = torch.round(t)
    sh = u[:, 3] * shear
    out = affine(img, angle, t, sh, fill=fill, padding_mode=padding_mode, interpolation=interpolation)
    return out.reshape(x.shape)


def rdc_augment(
    x: Tensor,
    shift: float = 0.1,
    rotation: float = 10.0,
    generator: torch.Generator | None = None,
    *,
    fill: FillLike = 0.0,
    padding_mode: str = "border",
    image_shape: Sequence[int] | None = None,
) -> Tensor:
    """R-DC's augmentation (Section 4.1.3): random shifts and rotations.

    Per sample: horizontal and vertical shifts ~ U(-shift, shift) times the
    image width / height (continuous, not rounded) and rotation ~
    U(-rotation, rotation) degrees; no shear.

    ``padding_mode="border"`` (repeat edge pixels) by default: it matches the
    default ``fill_mode="nearest"`` of Keras' ``ImageDataGenerator``, whose
    ``width_shift_range`` / ``height_shift_range`` / ``rotation_range`` wording
    the paper uses; pass ``padding_mode="fill"`` and ``fill`` for a constant.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W) or flat (N, d)
    shift : float in [0, 1], default 0.1
    rotation : float, default 10
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, same shape, dtype and device as ``x``
    """
    return random_affine(
        x,
        degrees=rotation,
        translate=shift,
        shear=0.0,
        generator=generator,
        fill=fill,
        padding_mode=padding_mode,
        integer_translation=False,
        image_shape=image_shape,
    )


# --------------------------------------------------------------- colour ops
def rgb_to_grayscale(x: Tensor) -> Tensor:
    """ITU-R 601 luma ``0.2989 R + 0.587 G + 0.114 B`` (torchvision's weights).

    x : (N, 3, H, W) -> (N, 1, H, W); a 1-channel input is returned as is.
    """
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB in [0, 1] -> HSV in [0, 1], shape (N, 3, H, W) both."""
    r, g, b = x.unbind(1)
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    has_chroma = delta > 0
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    safe = torch.where(has_chroma, delta, torch.ones_like(delta))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(has_chroma, torch.remainder(h / 6.0, 1.0), torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """HSV in [0, 1] -> RGB in [0, 1], shape (N, 3, H, W) both."""
    h, s, v = x.unbind(1)
    h6 = torch.remainder(h, 1.0) * 6.0
    i = torch.floor(h6)
    f = h6 - i
    i = i.long() % 6
    p = v * (1.0 - s)
    q = v * (1.0 - s * f)
    t = v * (1.0 - s * (1.0 - f))
    # rows: sector 0..5; columns: r, g, b
    table = torch.stack(
        [
            torch.stack([v, t, p]),
            torch.stack([q, v, p]),
            torch.stack([p, v, t]),
            torch.stack([p, q, v]),
            torch.stack([t, p, v]),
            torch.stack([v, p, q]),
        ]
    )  # (6, 3, N, H, W)
    idx = i.unsqueeze(0).unsqueeze(0).expand(1, 3, *i.shape)
    return torch.gather(table, 0, idx).squeeze(0).permute(1, 0, 2, 3)


def _blend(img: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    return (factor * img + (1.0 - factor) * other).clamp_(0.0, 1.0)


def _adjust(op: int, img: Tensor, f: Tensor) -> Tensor:
    """One ColorJitter operation with per-sample factors ``f`` of shape (n, 1, 1, 1)."""
    if op == 0:  # brightness
        return (img * f).clamp(0.0, 1.0)
    if op == 1:  # contrast: blend with the mean grey level of each image
        mean = rgb_to_grayscale(img).mean(dim=(1, 2, 3), keepdim=True)
        return _blend(img, mean, f)
    if img.shape[1] == 1:  # saturation and hue do nothing on grayscale images
        return img
    if op == 2:  # saturation
        return _blend(img, rgb_to_grayscale(img), f)
    hsv = rgb_to_hsv(img)  # hue: rotate the hue channel
    h = torch.remainder(hsv[:, :1] + f, 1.0)
    return hsv_to_rgb(torch.cat([h, hsv[:, 1:]], 1))


def color_jitter(
    x: Tensor,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """torchvision ``ColorJitter`` for a batch, each image with its own factors and order.

    Factors per image: brightness, contrast, saturation ~ U(max(0, 1-v), 1+v),
    hue ~ U(-hue, hue) (hue <= 0.5). As in torchvision, the four operations are
    applied in a random order, drawn per image. Hue is shifted exactly through
    an RGB -> HSV -> RGB round trip (no approximation). Input and output in [0, 1].
    """
    if not 0 <= hue <= 0.5:
        raise ValueError(f"hue must lie in [0, 0.5], got {hue}")
    for name, v in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
        if v < 0:
            raise ValueError(f"{name} must be non-negative, got {v}")
    n = x.shape[0]
    ranges = [
        (max(0.0, 1 - brightness), 1 + brightness),
        (max(0.0, 1 - contrast), 1 + contrast),
        (max(0.0, 1 - saturation), 1 + saturation),
        (-hue, hue),
    ]
    u = _rand((n, 8), generator, x)
    lows = torch.tensor([r[0] for r in ranges], dtype=x.dtype, device=x.device)
    highs = torch.tensor([r[1] for r in ranges], dtype=x.dtype, device=x.device)
    factors = lows + (highs - lows) * u[:, :4]  # (N, 4)
    order = u[:, 4:].argsort(1)  # (N, 4): a random permutation per image
    out = x.clone()
    for step in range(4):
        for op in range(4):
            mask = order[:, step] == op
            if not bool(mask.any()):
                continue
            idx = mask.nonzero().squeeze(1)
            f = factors[idx, op].view(-1, 1, 1, 1)
            out[idx] = _adjust(op, out[idx], f)
    return out


def random_resized_crop(
    x: Tensor,
    size: int | tuple[int, int] = 32,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
) -> Tensor:
    """torchvision ``RandomResizedCrop`` for a batch, one crop per image.

    Crop boxes follow torchvision's sampler: up to 10 tries of area fraction
    ~ U(scale) and log aspect ratio ~ U(log ratio), rounded to whole pixels,
    the first that fits wins; otherwise a central crop clamped to ``ratio``.
    The crop is resized with bilinear interpolation (no antialiasing, which
    only matters when shrinking, i.e. crops larger than ``size``).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    size : int or (h, w)

    Returns
    -------
    Tensor, shape (N, C, size_h, size_w)
    """
    if x.dim() != 4:
        raise ValueError(f"random_resized_crop needs images (N, C, H, W), got {tuple(x.shape)}")
    img = _to_images(x, None)
    n, c, h, w = img.shape
    out_h, out_w = (size, size) if isinstance(size, int) else tuple(size)
    if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"need 0 < scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1], got {scale}, {ratio}")
    tries = 10
    u = _rand((n, 2 * tries + 2), generator, img).double()
    area = h * w * (scale[0] + (scale[1] - scale[0]) * u[:, :tries])
    log_r = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[:, tries : 2 * tries]
    aspect = torch.exp(log_r)
    cw = torch.round(torch.sqrt(area * aspect))
    ch = torch.round(torch.sqrt(area / aspect))
    ok = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
    first = ok.to(torch.int8).argmax(1, keepdim=True)
    cw = cw.gather(1, first).squeeze(1)
    ch = ch.gather(1, first).squeeze(1)
    # fallback: central crop with the aspect ratio clamped into `ratio`
    in_ratio = w / h
    if in_ratio < ratio[0]:
        fw, fh = w, round(w / ratio[0])
    elif in_ratio > ratio[1]:
        fh, fw = h, round(h * ratio[1])
    else:
        fw, fh = w, h
    any_ok = ok.any(1)
    cw = torch.where(any_ok, cw, torch.full_like(cw, fw))
    ch = torch.where(any_ok, ch, torch.full_like(ch, fh))
    top = torch.where(any_ok, torch.floor(u[:, -2] * (h - ch + 1)), torch.full_like(ch, (h - fh) // 2))
    left = torch.where(any_ok, torch.floor(u[:, -1] * (w - cw + 1)), torch.full_like(cw, (w - fw) // 2))

    dt = img.dtype
    zeros = torch.zeros(n, dtype=torch.float64, device=img.device)
    theta = torch.stack(
        [
            torch.stack([cw / w, zeros, (2 * left + cw) / w - 1], 1),
            torch.stack([zeros, ch / h, (2 * top + ch) / h - 1], 1),
        ],
        1,
    ).to(dt)
    grid = F.affine_grid(theta, [n, c, out_h, out_w], align_corners=False)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)


def color_augment(
    x: Tensor,
    *,
    size: int = 32,
    scale: tuple[float, float] = (0.08, 1.0),
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    jitter_p: float = 0.8,
    grayscale_p: float = 0.2,
    flip_p: float = 0.5,
    solarize_p: float = 0.2,
    solarize_threshold: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """BRB's colour augmentation for GTSRB (Table 6), batched.

    In the table's order, each image independently:
    RandomResizedCrop(size, scale) -> ColorJitter(brightness, contrast,
    saturation, hue) with probability ``jitter_p`` -> RandomGrayscale(
    ``grayscale_p``, keeps 3 channels) -> RandomHorizontalFlip(``flip_p``) ->
    RandomSolarize(``solarize_threshold``, ``solarize_p``).

    Works on images in [0, 1] (before normalisation): the caller z-scores the
    result afterwards with the data set's per-channel mean and std. The paper
    gives no solarize threshold; 0.5 (half the range) is our choice.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W), C in {1, 3}, values in [0, 1]
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, shape (N, C, size, size), values in [0, 1]
    """
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"color_augment needs images (N, 1 or 3, H, W) in [0, 1], got {tuple(x.shape)}")
    probabilities = (("jitter_p", jitter_p), ("grayscale_p", grayscale_p), ("flip_p", flip_p),
                     ("solarize_p", solarize_p))
    for name, p in probabilities:
        if not 0 <= p <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    img = _to_images(x, None)
    n = img.shape[0]
    out = random_resized_crop(img, size=size, scale=scale, generator=generator)
    u = _rand((n, 4), generator, img).view(n, 4, 1, 1, 1)

    chosen = (u[:, 0, 0, 0, 0] < jitter_p).nonzero().squeeze(1)
    if chosen.numel():
        out = out.clone()
        out[chosen] = color_jitter(out[chosen], brightness, contrast, saturation, hue, generator=generator)
    if out.shape[1] == 3:
        out = torch.where(u[:, 1] < grayscale_p, rgb_to_grayscale(out).expand_as(out), out)
    out = torch.where(u[:, 2] < flip_p, out.flip(-1), out)
    solarized = torch.where(out >= solarize_threshold, 1.0 - out, out)
    return torch.where(u[:, 3] < solarize_p, solarized, out)
