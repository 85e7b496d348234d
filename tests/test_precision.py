"""dcutils.precision: fp32 / bf16 autocast, and fused Adam giving the same updates as the other implementations.

Tolerances, and why they hold with margin:

- Adam implementations: parameters after 5 steps agree to 1e-6 absolute (+1e-5 relative). The three
  implementations compute the same float32 formula in a different operation order; the measured
  difference is ~3e-8 (one or two float32 ulps of parameters of size ~0.3), while the 5 steps move
  the parameters by ~5e-2. A wrong bias correction, epsilon placement or weight decay moves them by
  more than 1e-4.
- fp32 vs bf16: the final reconstruction loss of a 30-step run agrees within 5 % relative. bf16
  rounds the matmul operands to 8 mantissa bits; measured over seeds 0-4 the final losses differ by
  0.001-0.5 % (the loss falls from 0.33 to 0.084), so 5 % is a 10x margin. It checks that bf16
  training follows the fp32 trajectory (a run that does not train, or an autocast that changes
  nothing, fails); single steps on the way are compared loosely only (they differ by up to ~12 %
  on the plateau where both runs turn). Which ops run in which dtype is checked by one forward
  pass of the IDEC loss, to 1e-3 relative (measured 2e-6 to 1e-5): a loss computed in bfloat16
  itself misses that.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcutils import brb, precision
from dcutils.models import brb_autoencoder

ADAM_ATOL, ADAM_RTOL = 1e-6, 1e-5
BF16_FINAL_LOSS_RTOL = 0.05


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))


def _flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _five_adam_steps(make_opt) -> tuple[torch.Tensor, torch.optim.Optimizer]:
    model = _mlp()
    opt = make_opt(model.parameters())
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        x, y = torch.randn(64, 20, generator=g), torch.randn(64, 5, generator=g)
        opt.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        opt.step()
    return _flat(model), opt


KW = {"lr": 1e-2, "betas": (0.9, 0.999), "weight_decay": 1e-4}


def test_fused_adam_gives_the_same_parameters_as_foreach_and_the_default():
    fused, opt_f = _five_adam_steps(lambda p: precision.adam(p, fused=True, **KW))
    foreach, opt_e = _five_adam_steps(lambda p: torch.optim.Adam(p, foreach=True, **KW))
    default, opt_d = _five_adam_steps(lambda p: precision.adam(p, fused=False, **KW))
    assert precision.adam_implementation(opt_f) == "fused"
    assert precision.adam_implementation(opt_e) == "foreach"
    assert precision.adam_implementation(opt_d) in ("foreach", "single-tensor")
    start = _flat(_mlp())
    assert (fused - start).abs().max() > 1e-2  # the steps moved the parameters: the comparison means something
    torch.testing.assert_close(fused, foreach, atol=ADAM_ATOL, rtol=ADAM_RTOL)
    torch.testing.assert_close(fused, default, atol=ADAM_ATOL, rtol=ADAM_RTOL)


def test_the_adam_comparison_sees_a_different_setting():
    """The tolerance is tight enough to catch a changed hyper-parameter (here beta2 0.999 -> 0.99)."""
    fused, _ = _five_adam_steps(lambda p: precision.adam(p, fused=True, **KW))
    other, _ = _five_adam_steps(lambda p: precision.adam(p, fused=True, **{**KW, "betas": (0.9, 0.99)}))
    assert not torch.allclose(fused, other, atol=ADAM_ATOL, rtol=ADAM_RTOL)


def test_adam_is_fused_by_default_on_cpu_and_says_why_not_elsewhere():
    opt = precision.adam(_mlp().parameters(), lr=1e-3)
    assert precision.adam_implementation(opt) == "fused"
    assert opt.fused_fallback_reason is None
    meta = [nn.Parameter(torch.empty(3, device="meta"))]  # a device type without fused kernels
    reason = precision.fused_adam_unsupported(meta)
    assert reason is not None and "'meta'" in reason
    fallback = precision.adam(meta, lr=1e-3)
    assert precision.adam_implementation(fallback) != "fused" and fallback.fused_fallback_reason == reason
    with pytest.raises(ValueError, match="fused=True is not possible here.*'meta'"):
        precision.adam(meta, lr=1e-3, fused=True)


def test_bf16_autocast_makes_linear_outputs_bfloat16_and_fp32_leaves_them_float32():
    layer, x = nn.Linear(8, 4), torch.randn(2, 8)
    with precision.autocast("cpu", "bf16"):
        y16 = layer(x)
        loss16 = F.mse_loss(y16, torch.zeros_like(y16))
    with precision.autocast(torch.device("cpu"), "fp32"):
        y32 = layer(x)
    assert y16.dtype == torch.bfloat16
    assert loss16.dtype == torch.float32  # losses stay fp32 under torch's autocast policy
    assert y32.dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # autocast never changes the model


def test_check_precision_names_the_valid_ones():
    assert precision.check_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match=r"\['fp32', 'bf16'\].*'fp16'"):
        precision.check_precision("fp16")
    with pytest.raises(ValueError, match="fp32"):
        precision.autocast("cpu", "float32")
    with pytest.raises(ValueError, match="'cpu' and 'cuda'"):
        precision.autocast("meta", "bf16")


def _short_training(prec: str, seed: int, steps: int = 30) -> list[float]:
    """Reconstruction pretraining of BRB's autoencoder on 256 random samples, fused Adam."""
    torch.manual_seed(seed)
    model = brb_autoencoder(784, 10)
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(seed))
    opt = precision.adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        with precision.autocast("cpu", prec):
            loss = F.mse_loss(model(x)[1], x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("seed", [0, 1])
def test_fp32_and_bf16_reach_the_same_loss_on_a_short_run(seed):
    fp32, bf16 = _short_training("fp32", seed), _short_training("bf16", seed)
    assert fp32[-1] < 0.5 * fp32[0] and bf16[-1] < 0.5 * bf16[0]  # both runs train
    assert fp32 != bf16  # bf16 really changed the arithmetic (a null autocast would give identical losses)
    assert abs(bf16[-1] - fp32[-1]) <= BF16_FINAL_LOSS_RTOL * fp32[-1]
    assert max(abs(a - b) / a for a, b in zip(fp32, bf16)) < 0.5  # no step far off on the way


def test_idec_loss_under_bf16_autocast_is_float32_and_close_to_fp32():
    torch.manual_seed(0)
    model = brb_autoencoder(784, 10)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 784, generator=g)
    xa = (x + 0.05 * torch.randn(256, 784, generator=g)).clamp(0, 1)
    centroids = nn.Parameter(torch.randn(10, 10, generator=g))
    total32 = brb.clustering_loss("idec", model, x, centroids, xa)[0]
    with precision.autocast("cpu", "bf16"):
        total16, recon16, cluster16, _ = brb.clustering_loss("idec", model, x, centroids, xa)
    assert total16.dtype == recon16.dtype == cluster16.dtype == torch.float32
    assert total16.item() != total32.item()
    # one forward pass: measured 2e-6 to 1e-5 relative over seeds 0-3; 1e-3 is a 100x margin
    assert abs(total16.item() - total32.item()) <= 1e-3 * total32.item()
