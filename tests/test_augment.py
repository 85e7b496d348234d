from __future__ import annotations

import colorsys

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from dcutils.augment import (
    affine,
    color_augment,
    hsv_to_rgb,
    random_affine,
    random_resized_crop,
    rdc_augment,
    rgb_to_hsv,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _shape_image(n: int = 1, h: int = 28, w: int = 28) -> torch.Tensor:
    x = torch.zeros(n, 1, h, w)
    x[:, 0, 5:20, 8:12] = 1.0
    x[:, 0, 5:8, 8:20] = 1.0
    return x


def test_zero_parameters_are_identity():
    x = torch.randn(6, 3, 20, 24, generator=_gen())
    out = random_affine(x, degrees=0, translate=0, shear=0, generator=_gen())
    torch.testing.assert_close(out, x, rtol=0, atol=1e-5)
    torch.testing.assert_close(rdc_augment(x, shift=0, rotation=0), x, rtol=0, atol=1e-5)


def test_pure_translation_moves_a_bright_pixel():
    n, h, w = 3, 16, 16
    x = torch.zeros(n, 1, h, w)
    x[:, 0, 7, 5] = 1.0
    shifts = torch.tensor([[2.0, 0.0], [-3.0, 1.0], [0.0, -4.0]])  # (tx, ty) in pixels
    out = affine(x, angle=0.0, translate=shifts, shear=0.0)
    for i, (tx, ty) in enumerate(shifts.long().tolist()):
        expected = torch.zeros(h, w)
        expected[7 + ty, 5 + tx] = 1.0
        torch.testing.assert_close(out[i, 0], expected, rtol=0, atol=1e-5)


def test_random_translation_is_whole_pixels_within_range():
    n, size = 64, 20
    x = torch.zeros(n, 1, size, size)
    x[:, 0, 10, 10] = 1.0
    out = random_affine(x, degrees=0, translate=0.1, shear=0, generator=_gen(1))
    flat = out.reshape(n, -1)
    peak, where = flat.max(1)
    torch.testing.assert_close(peak, torch.ones(n), rtol=0, atol=1e-5)  # not smeared
    assert torch.allclose(flat.sum(1), torch.ones(n), atol=1e-4)
    rows, cols = where // size - 10, where % size - 10
    assert rows.abs().max() <= 2 and cols.abs().max() <= 2  # 0.1 * 20 pixels
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 5  # per-sample shifts


def test_shape_dtype_device_preserved_and_flat_input():
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(5, 2, 12, 10, dtype=dtype)
        out = random_affine(x, generator=_gen())
        assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    flat = _shape_image(4).reshape(4, -1)
    out = random_affine(flat, generator=_gen())
    assert out.shape == (4, 784)
    out = rdc_augment(flat, generator=_gen())
    assert out.shape == (4, 784)
    with pytest.raises(ValueError, match="image_shape"):
        random_affine(torch.randn(2, 50))
    assert random_affine(torch.randn(2, 150), image_shape=(3, 5, 10)).shape == (2, 150)
    with pytest.raises(TypeError, match="floating"):
        random_affine(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_each_sample_gets_its_own_transform():
    x = _shape_image(16)
    out = random_affine(x, generator=_gen(2))
    flat = out.reshape(16, -1)
    diffs = torch.cdist(flat, flat)
    off_diag = diffs[~torch.eye(16, dtype=torch.bool)]
    assert off_diag.min() > 1e-3
    assert (out - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3


def test_generator_makes_it_reproducible():
    x = _shape_image(8)
    a = random_affine(x, generator=_gen(5))
    b = random_affine(x, generator=_gen(5))
    assert torch.equal(a, b)
    assert not torch.equal(a, random_affine(x, generator=_gen(6)))


def test_conventions_match_torchvision_affine():
    for h, w in ((28, 28), (20, 28)):
        x = _shape_image(1, h, w)
        mine = affine(x, 12.0, (2.0, -3.0), 7.0)
        ref = TF.affine(x, angle=12.0, translate=[2, -3], scale=1.0, shear=[7.0, 0.0],
                        interpolation=TF.InterpolationMode.BILINEAR)
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-4)


def test_nearest_interpolation_copies_pixels_bilinear_blends():
    """interpolation="nearest" (BRB's, torchvision RandomAffine's default): every output value is one of
    its own image's values or the fill; the default (bilinear, unchanged for other callers) makes new ones."""
    x = torch.randn(8, 1, 16, 16, generator=_gen(3))
    fill = -0.4242
    near = random_affine(x, generator=_gen(1), fill=fill, interpolation="nearest")
    for img, out in zip(x, near):
        assert torch.isin(out, torch.cat([img.flatten(), torch.tensor([fill])])).all()
    assert (near == fill).any() and not torch.equal(near, x)  # something moved, something moved in
    blended = random_affine(x, generator=_gen(1), fill=fill)
    assert torch.equal(blended, random_affine(x, generator=_gen(1), fill=fill, interpolation="bilinear"))
    assert not torch.isin(blended, torch.cat([x.flatten(), torch.tensor([fill])])).all()


def test_nearest_matches_torchvision_nearest_exactly():
    x = torch.randn(1, 1, 28, 28, generator=_gen(0))
    for angle, t, sh, fill in ((12.0, (2.0, -3.0), 7.0, -0.4242), (-15.0, (1.0, 2.0), -6.0, 0.0)):
        mine = affine(x, angle, t, sh, fill=fill, interpolation="nearest")
        ref = TF.affine(x, angle=angle, translate=list(t), scale=1.0, shear=[sh, 0.0],
                        interpolation=TF.InterpolationMode.NEAREST, fill=[fill])
        assert torch.equal(mine, ref)


def test_fill_value_per_channel():
    x = torch.ones(2, 2, 8, 8)
    fill = torch.tensor([-0.5, 2.0])
    out = affine(x, 0.0, (3.0, 0.0), 0.0, fill=fill)
    # the three leftmost columns come from outside the image
    torch.testing.assert_close(out[:, 0, :, :3], torch.full((2, 8, 3), -0.5))
    torch.testing.assert_close(out[:, 1, :, :3], torch.full((2, 8, 3), 2.0))
    torch.testing.assert_close(out[:, :, :, 3:], torch.ones(2, 2, 8, 5))
    border = affine(x, 0.0, (3.0, 0.0), 0.0, padding_mode="border")
    torch.testing.assert_close(border, x)
    with pytest.raises(ValueError, match="channels"):
        affine(x, 0.0, (1.0, 0.0), 0.0, fill=[1.0, 2.0, 3.0])


def test_rdc_augment_stays_within_its_range():
    x = torch.zeros(32, 1, 28, 28)
    x[:, 0, 13:15, 13:15] = 1.0  # centred on the rotation centre (13.5, 13.5)
    out = rdc_augment(x, generator=_gen(3), padding_mode="fill")
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = out.sum(dim=(1, 2, 3))
    cy = (out[:, 0] * ys).sum(dim=(1, 2)) / mass - 13.5
    cx = (out[:, 0] * xs).sum(dim=(1, 2)) / mass - 13.5
    assert cy.abs().max() <= 2.8 + 0.05 and cx.abs().max() <= 2.8 + 0.05  # shift <= 0.1 * 28
    assert cx.abs().max() > 1.5 and cy.abs().max() > 1.5
    frac = (cx - cx.round()).abs()
    assert (frac > 0.05).sum() > 8  # continuous (not whole-pixel) shifts, per sample


def test_hsv_conversions_match_colorsys():
    x = torch.rand(1, 3, 5, 7, generator=_gen())
    x[0, :, 0, 0] = 0.5  # a grey pixel
    hsv = rgb_to_hsv(x)
    for i in range(5):
        for j in range(7):
            ref = colorsys.rgb_to_hsv(*x[0, :, i, j].tolist())
            torch.testing.assert_close(hsv[0, :, i, j], torch.tensor(ref, dtype=torch.float32), atol=1e-5, rtol=0)
    torch.testing.assert_close(hsv_to_rgb(hsv), x, atol=1e-5, rtol=0)


def test_color_augment_range_shape_and_determinism():
    x = torch.rand(16, 3, 32, 32, generator=_gen())
    a = color_augment(x, generator=_gen(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, color_augment(x, generator=_gen(1)))
    assert (a - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    big = torch.rand(4, 3, 48, 40, generator=_gen())
    assert color_augment(big, generator=_gen()).shape == (4, 3, 32, 32)


def test_color_augment_components():
    x = torch.rand(8, 3, 32, 32, generator=_gen())
    off = dict(scale=(1.0, 1.0), jitter_p=0.0, grayscale_p=0.0, flip_p=0.0, solarize_p=0.0)
    torch.testing.assert_close(color_augment(x, **off, generator=_gen()), x, rtol=0, atol=1e-5)
    flipped = color_augment(x, **{**off, "flip_p": 1.0}, generator=_gen())
    torch.testing.assert_close(flipped, x.flip(-1), rtol=0, atol=1e-5)
    gray = color_augment(x, **{**off, "grayscale_p": 1.0}, generator=_gen())
    torch.testing.assert_close(gray[:, 0], gray[:, 1])
    torch.testing.assert_close(gray[:, :1], TF.rgb_to_grayscale(x), rtol=0, atol=1e-4)
    sol = color_augment(x, **{**off, "solarize_p": 1.0}, generator=_gen())
    torch.testing.assert_close(sol, TF.solarize(x, 0.5), rtol=0, atol=1e-5)
    jit = color_augment(x, **{**off, "jitter_p": 1.0}, generator=_gen())
    assert (jit - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3


def test_random_resized_crop_full_crop_is_identity_and_crops_zoom():
    x = torch.rand(4, 3, 32, 32, generator=_gen())
    same = random_resized_crop(x, 32, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=_gen())
    torch.testing.assert_close(same, x, rtol=0, atol=1e-5)
    # a crop of a horizontal ramp keeps a monotone ramp but a smaller value span
    ramp = torch.linspace(0, 1, 32).expand(4, 3, 32, 32).contiguous()
    out = random_resized_crop(ramp, 32, scale=(0.1, 0.3), generator=_gen())
    span = out[..., -1] - out[..., 0]
    assert (span < 0.9).all() and (span > 0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_augment_on_cuda_matches_cpu_given_a_cpu_generator():
    x = _shape_image(8)
    cpu = random_affine(x, generator=_gen(4))
    gpu = random_affine(x.cuda(), generator=_gen(4))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=1e-4)
    rgb = torch.rand(8, 3, 32, 32, generator=_gen())
    assert color_augment(rgb.cuda(), generator=_gen()).device.type == "cuda"
