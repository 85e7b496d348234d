from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dcutils.models import FeedForwardAutoencoder, brb_autoencoder
from dcutils.resets import (
    brb_reset_layers,
    embedding_noise,
    perturb_only,
    reset_adam_moments,
    resettable_layers,
    scaled_gaussian_noise,
    soft_reset,
)


def _phi(layer: nn.Module, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """BRB's initial distribution, drawn with the public nn.init calls."""
    g = torch.Generator().manual_seed(seed)
    w = torch.empty_like(layer.weight)
    nn.init.kaiming_uniform_(w, generator=g)  # defaults: a=0 -> U(+-sqrt(6/fan_in))
    fan_in = layer.weight[0].numel()
    b = torch.empty_like(layer.bias)
    nn.init.uniform_(b, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g)
    return w, b


def test_full_reset_draws_from_kaiming_uniform():
    torch.manual_seed(0)
    layer = nn.Linear(500, 2000)
    soft_reset([layer], alpha=0.0, generator=torch.Generator().manual_seed(1))
    w, b = layer.weight.detach(), layer.bias.detach()
    bound = math.sqrt(6 / 500)
    assert w.max() <= bound and w.min() >= -bound
    assert w.max() > 0.999 * bound and w.min() < -0.999 * bound
    assert abs(w.std().item() - bound / math.sqrt(3)) < 0.005 * bound
    assert abs(w.mean().item()) < 0.005 * bound
    b_bound = 1 / math.sqrt(500)
    assert b.max() <= b_bound and b.min() >= -b_bound
    assert abs(b.std().item() - b_bound / math.sqrt(3)) < 0.05 * b_bound
    # this is wider than PyTorch's nn.Linear default (bound 1/sqrt(fan_in))
    assert w.max() > 1.5 / math.sqrt(500)


def test_soft_reset_is_exact_convex_combination():
    torch.manual_seed(0)
    layers = [nn.Linear(30, 20), nn.Linear(20, 7)]
    old = [(layer.weight.detach().clone(), layer.bias.detach().clone()) for layer in layers]
    returned = soft_reset(layers, alpha=0.8, generator=torch.Generator().manual_seed(3))
    assert returned == layers
    # reproduce phi: same generator, layer by layer, weight before bias
    g = torch.Generator().manual_seed(3)
    for layer, (w0, b0) in zip(layers, old):
        w = torch.empty_like(w0)
        nn.init.kaiming_uniform_(w, generator=g)
        fan_in = w0.shape[1]
        b = torch.empty_like(b0)
        nn.init.uniform_(b, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g)
        torch.testing.assert_close(layer.weight.detach(), 0.8 * w0 + 0.2 * w, rtol=0, atol=1e-6)
        torch.testing.assert_close(layer.bias.detach(), 0.8 * b0 + 0.2 * b, rtol=0, atol=1e-6)
        assert not torch.allclose(layer.weight, w0)


def test_soft_reset_conv_layer_uses_conv_fan_in():
    conv = nn.Conv2d(16, 64, kernel_size=3)
    old = conv.weight.detach().clone()
    soft_reset(conv, alpha=0.0, generator=torch.Generator().manual_seed(0))
    bound = math.sqrt(6 / (16 * 9))
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.99 * bound
    assert not torch.equal(conv.weight, old)


def test_alpha_one_keeps_and_alpha_is_validated():
    layer = nn.Linear(5, 4)
    old = layer.weight.detach().clone()
    soft_reset(layer, alpha=1.0)
    torch.testing.assert_close(layer.weight.detach(), old, rtol=0, atol=0)
    for bad in (-0.1, 1.2, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            soft_reset(layer, alpha=bad)


def test_brb_reset_touches_only_encoder_hidden_layers():
    torch.manual_seed(0)
    model = brb_autoencoder(64, 5, batch_norm=True)
    model.train()
    model(torch.randn(32, 64))  # give BatchNorm non-trivial running stats
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers = brb_reset_layers(model)
    assert layers == model.encoder_linears[:-1]
    soft_reset(layers, alpha=0.8, generator=torch.Generator().manual_seed(0))
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    reset_names = set()
    for i, m in enumerate(model.encoder):
        if m in layers:
            reset_names |= {f"encoder.{i}.weight", f"encoder.{i}.bias"}
    assert changed == reset_names  # embedding layer, decoder and BatchNorm untouched
    emb_index = len(model.encoder) - 1
    assert f"encoder.{emb_index}.weight" not in changed
    assert any(k.startswith("encoder.") and "running_mean" in k for k in before)
    # with reset_embedding the embedding layer is included, decoder never
    with_emb = brb_reset_layers(model, reset_embedding=True)
    assert with_emb[-1] is model.embedding_layer
    assert not any(layer in model.decoder_linears for layer in with_emb)


def test_resettable_layers_rejects_non_linear_items():
    model = brb_autoencoder(64, 5, batch_norm=True)
    assert resettable_layers(model.encoder) == model.encoder_linears
    with pytest.raises(TypeError, match="BatchNorm1d"):
        soft_reset([model.encoder[1]], alpha=0.5)


def _adam_with_centroids():
    torch.manual_seed(0)
    model = FeedForwardAutoencoder([8, 6, 3])
    centroids = nn.Parameter(torch.randn(4, 3))
    opt = torch.optim.Adam(list(model.parameters()) + [centroids], lr=1e-2)
    x = torch.randn(16, 8)
    for _ in range(3):
        opt.zero_grad()
        z, x_hat = model(x)
        loss = ((x - x_hat) ** 2).mean() + torch.cdist(z, centroids).min(1).values.mean()
        loss.backward()
        opt.step()
    return model, centroids, opt


def test_momentum_reset_zeroes_only_given_parameters():
    model, centroids, opt = _adam_with_centroids()
    snapshot = {
        id(p): {k: (v.clone() if torch.is_tensor(v) else v) for k, v in opt.state[p].items()}
        for p in model.parameters()
    }
    step_before = opt.state[centroids]["step"].clone()
    assert opt.state[centroids]["exp_avg"].abs().sum() > 0
    assert reset_adam_moments(opt, [centroids]) == 1
    st = opt.state[centroids]
    assert torch.count_nonzero(st["exp_avg"]) == 0 and torch.count_nonzero(st["exp_avg_sq"]) == 0
    assert torch.equal(st["step"], step_before)  # step counter kept by default
    for p in model.parameters():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], snapshot[id(p)][key])
        assert opt.state[p]["exp_avg_sq"].abs().sum() > 0
    reset_adam_moments(opt, centroids, reset_step=True)
    assert opt.state[centroids]["step"].item() == 0


def test_momentum_reset_skips_stateless_and_rejects_foreign_params():
    model, centroids, opt = _adam_with_centroids()
    fresh = nn.Parameter(torch.zeros(2))
    opt.add_param_group({"params": [fresh]})
    assert reset_adam_moments(opt, [fresh]) == 0
    with pytest.raises(ValueError, match="not optimized"):
        reset_adam_moments(opt, [nn.Parameter(torch.zeros(3))])


def test_perturb_only_has_no_contraction():
    torch.manual_seed(0)
    layer = nn.Linear(10, 6)
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    perturb_only(layer, alpha=0.7, generator=torch.Generator().manual_seed(5))
    w, b = _phi(layer, 5)
    torch.testing.assert_close(layer.weight.detach(), w0 + 0.3 * w, rtol=0, atol=1e-6)
    torch.testing.assert_close(layer.bias.detach(), b0 + 0.3 * b, rtol=0, atol=1e-6)


def test_scaled_gaussian_noise_matches_init_std():
    layer = nn.Linear(400, 3000)
    scaled_gaussian_noise(layer, alpha=0.0, generator=torch.Generator().manual_seed(0))
    w = layer.weight.detach()
    std = math.sqrt(2 / 400)
    assert abs(w.std().item() - std) < 0.01 * std
    assert abs(w.mean().item()) < 0.01 * std
    assert w.abs().max() > math.sqrt(6 / 400)  # Gaussian tails exceed the uniform bound
    # "weights" reference: mean and std of the current tensor
    with torch.no_grad():
        layer.weight.normal_(0.3, 0.05, generator=torch.Generator().manual_seed(1))
    scaled_gaussian_noise(layer, alpha=0.0, generator=torch.Generator().manual_seed(2), reference="weights")
    assert abs(layer.weight.mean().item() - 0.3) < 1e-3
    assert abs(layer.weight.std().item() - 0.05) < 1e-3
    with pytest.raises(ValueError, match="reference"):
        scaled_gaussian_noise(layer, 0.5, reference="other")


def test_embedding_noise_norm_ratio():
    z = torch.randn(200, 10) * torch.rand(200, 1) * 5
    z0 = z.clone()
    out = embedding_noise(z, 0.3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, z0)  # input untouched
    ratio = (out - z).norm(dim=1) / z.norm(dim=1)
    torch.testing.assert_close(ratio, torch.full_like(ratio, 0.3), rtol=1e-5, atol=1e-6)
    # directions are random, not along z
    cos = torch.nn.functional.cosine_similarity(out - z, z, dim=1)
    assert cos.abs().mean() < 0.5
    torch.testing.assert_close(embedding_noise(z, 0.0), z)
    with pytest.raises(ValueError):
        embedding_noise(z, -1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_soft_reset_on_cuda_draws_like_cpu():
    torch.manual_seed(0)
    cpu = nn.Linear(20, 10)
    gpu = nn.Linear(20, 10).cuda()
    gpu.load_state_dict(cpu.state_dict())
    soft_reset(cpu, 0.8, generator=torch.Generator().manual_seed(0))
    soft_reset(gpu, 0.8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(gpu.weight.cpu(), cpu.weight, rtol=0, atol=1e-6)


def test_documented_brb_step_recipe_runs():
    from dcutils.kmeans import kmeans, subsample_indices
    from dcutils.models import embed

    model, centroids, optimizer = _adam_with_centroids()
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    emb_before = model.embedding_layer.weight.detach().clone()
    first_before = model.encoder_linears[0].weight.detach().clone()
    c_before = centroids.detach().clone()

    soft_reset(brb_reset_layers(model), alpha=0.8, generator=g)
    idx = subsample_indices(len(x), 100, g)
    new = kmeans(embed(model, x[idx]), 4, generator=g)
    with torch.no_grad():
        centroids.copy_(new.centroids)
    reset_adam_moments(optimizer, [centroids])

    assert not torch.equal(model.encoder_linears[0].weight, first_before)
    assert torch.equal(model.embedding_layer.weight, emb_before)
    assert not torch.equal(centroids.detach(), c_before)
    assert torch.count_nonzero(optimizer.state[centroids]["exp_avg"]) == 0
