"""Tests of dcutils.rdc.acai (R-DC phase 1, ACAI, Eq. 1-2)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcutils.core import NonFiniteLossError
from dcutils.rdc.acai import Critic, acai_step, autoencoder_loss, critic_loss, critic_targets, mix_latents


class TinyAE(nn.Module):
    def __init__(self, d=12, k=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, k))
        self.decoder = nn.Sequential(nn.Linear(k, 32), nn.ReLU(), nn.Linear(32, d))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)


class FirstFeature(nn.Module):
    """A critic that reads its answer from feature 0 of its input."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.reshape(x.shape[0], -1)[:, 0] + 0.0 * self.dummy


def _toy_data(n=256, d=12, seed=0):
    """Points near a 2-D plane in R^d, standardised."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(2, d, generator=g)
    x = torch.randn(n, 2, generator=g) @ basis + 0.05 * torch.randn(n, d, generator=g)
    return (x - x.mean(0)) / x.std(0)


# ------------------------------------------------------------------- critic


def test_critic_shapes_and_default_architecture():
    c = Critic(784)
    widths = [(m.in_features, m.out_features) for m in c.modules() if isinstance(m, nn.Linear)]
    assert widths == [(784, 500), (500, 500), (500, 2000), (2000, 10)]
    out = Critic(12, hidden_dims=(8,), out_dim=1)(torch.randn(5, 3, 4))  # image-shaped input is flattened
    assert out.shape == (5,)
    with pytest.raises(ValueError, match="dimension 12"):
        Critic(12, hidden_dims=(8,))(torch.randn(5, 10))


# ---------------------------------------------------------------- mixing


def test_mix_latents_alpha_range_and_segment():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(300, 4, generator=g, dtype=torch.float64)
    z_mix, alpha = mix_latents(z, generator=g)
    assert z_mix.shape == z.shape and alpha.shape == (300,)
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 0.5
    assert float(alpha.max()) > 0.4 and float(alpha.min()) < 0.1  # really spread over [0, 0.5]
    # z_mix_i = a_i z_i + (1 - a_i) z_j for some row j: the partner is a data row
    a = alpha.unsqueeze(1)
    partner = (z_mix - a * z) / (1 - a)
    d = torch.cdist(partner, z, compute_mode="donot_use_mm_for_euclid_dist")
    assert float(d.min(dim=1).values.max()) < 1e-9
    # partners form a permutation of the batch
    j = d.argmin(dim=1)
    assert sorted(j.tolist()) == list(range(300))


def test_mix_latents_alpha_max_reproducible_and_differentiable():
    z = torch.randn(20, 3, requires_grad=True)
    m1, a1 = mix_latents(z, generator=torch.Generator().manual_seed(5), alpha_max=0.2)
    m2, a2 = mix_latents(z, generator=torch.Generator().manual_seed(5), alpha_max=0.2)
    assert torch.equal(m1, m2) and torch.equal(a1, a2)
    assert float(a1.max()) <= 0.2
    m1.sum().backward()
    assert z.grad is not None
    with pytest.raises(ValueError, match="alpha_max"):
        mix_latents(z, alpha_max=0.0)
    with pytest.raises(ValueError, match="at least 2"):
        mix_latents(torch.randn(1, 3))


# ------------------------------------------------------------------ losses


def test_critic_targets_are_alpha_for_mixes_and_zero_for_real():
    alpha = torch.tensor([0.1, 0.45])
    t = critic_targets(alpha, 3)
    assert t.tolist() == pytest.approx([0.1, 0.45, 0.0, 0.0, 0.0])


def test_critic_loss_is_zero_for_a_critic_that_outputs_its_targets():
    n, d = 6, 5
    alpha = torch.rand(n) * 0.5
    x = torch.randn(n, d)
    x_hat = torch.randn(n, d)
    x[:, 0] = 0.0
    x_hat[:, 0] = 0.0  # realistic blends have feature 0 == 0 -> oracle says 0
    x_mix = torch.randn(n, d)
    x_mix[:, 0] = alpha  # decoded mixes carry their alpha -> oracle says alpha
    oracle = FirstFeature()
    assert float(critic_loss(oracle, x, x_hat, x_mix, alpha, gamma=0.3).detach()) == pytest.approx(0.0, abs=1e-12)

    # a constant critic: mean((1 - alpha)^2) + mean(1^2)
    class One(nn.Module):
        def forward(self, inp):
            return torch.ones(inp.shape[0])

    expected = float(((1 - alpha) ** 2).mean() + 1.0)
    assert float(critic_loss(One(), x, x_hat, x_mix, alpha)) == pytest.approx(expected, rel=1e-6)


def test_critic_loss_uses_the_gamma_blend_and_does_not_train_the_autoencoder():
    alpha = torch.zeros(4)
    x = torch.zeros(4, 3)
    x[:, 0] = 1.0
    x_hat = torch.zeros(4, 3, requires_grad=True)
    x_mix = torch.zeros(4, 3, requires_grad=True)
    # blend feature 0 = gamma * 1 + (1 - gamma) * 0 = gamma -> loss gamma^2
    loss = critic_loss(FirstFeature(), x, x_hat, x_mix, alpha, gamma=0.2)
    assert float(loss.detach()) == pytest.approx(0.04)
    loss.backward()
    assert x_hat.grad is None and x_mix.grad is None
    with pytest.raises(ValueError, match="gamma"):
        critic_loss(FirstFeature(), x, x_hat, x_mix, alpha, gamma=1.5)


def test_autoencoder_loss_value():
    x = torch.zeros(2, 2)
    x_hat = torch.tensor([[1.0, 1.0], [0.0, 2.0]])  # mse = (1 + 1 + 0 + 4) / 4 = 1.5
    scores = torch.tensor([0.5, -1.0])  # mean square = 0.625
    assert float(autoencoder_loss(x, x_hat, scores, lam=0.4)) == pytest.approx(1.5 + 0.4 * 0.625)


# -------------------------------------------------------------------- step


def _setup(seed=0, lr=3e-3):
    torch.manual_seed(seed)
    model = TinyAE()
    critic = Critic(12, hidden_dims=(32,), out_dim=1)
    opt_ae = torch.optim.Adam(model.parameters(), lr=lr)
    opt_c = torch.optim.Adam(critic.parameters(), lr=lr)
    return model, critic, opt_ae, opt_c


def test_acai_step_decreases_reconstruction_on_toy_data():
    x = _toy_data()
    model, critic, opt_ae, opt_c = _setup()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        before = float(F.mse_loss(model.decode(model.encode(x)), x))
    critic_before = [p.detach().clone() for p in critic.parameters()]
    logs = [acai_step(model, critic, opt_ae, opt_c, x[(i % 4) * 64 : (i % 4 + 1) * 64], generator=g) for i in range(50)]
    with torch.no_grad():
        after = float(F.mse_loss(model.decode(model.encode(x)), x))
    assert after < 0.5 * before, (before, after)
    assert set(logs[0]) == {"recon", "ae", "critic"}
    assert all(isinstance(v, float) and math.isfinite(v) for log in logs for v in log.values())
    assert all(log["ae"] >= log["recon"] for log in logs)  # the adversarial term is >= 0
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, critic.parameters()))  # critic trained
    assert all(p.requires_grad for p in critic.parameters())  # un-frozen afterwards


def test_acai_step_with_sampled_gamma_runs():
    x = _toy_data(n=32)
    model, critic, opt_ae, opt_c = _setup()
    out = acai_step(model, critic, opt_ae, opt_c, x, generator=torch.Generator().manual_seed(0), gamma=None)
    assert all(math.isfinite(v) for v in out.values())


def test_acai_step_raises_on_nan_and_leaves_weights_untouched():
    x = _toy_data(n=32)
    x[0, 0] = float("nan")
    model, critic, opt_ae, opt_c = _setup()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(NonFiniteLossError, match="ACAI reconstruction loss became nan.*learning rate"):
        acai_step(model, critic, opt_ae, opt_c, x)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(ValueError, match="two optimizers"):
        acai_step(model, critic, opt_ae, opt_ae, _toy_data(n=8))


def test_acai_step_with_dcutils_models_when_available():
    models = pytest.importorskip("dcutils.models", reason="dcutils.models not written yet")
    torch.manual_seed(0)
    model = models.FeedForwardAutoencoder([12, 16, 3])
    critic = Critic(12, hidden_dims=(16,), out_dim=4)
    opt_ae = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3)
    out = acai_step(model, critic, opt_ae, opt_c, _toy_data(n=32).reshape(32, 3, 4))  # image-shaped batch
    assert all(math.isfinite(v) for v in out.values())


# ------------------------------------------------- the authors' draws (acai_mixing)


def test_acai_mixing_authors_draws_alpha_over_0_1_and_a_random_blend(monkeypatch):
    """pretrain_acai passes the authors' draws (alpha ~ U[0, 1], blend ~ U[0, 0.5]) only with mixing="authors"."""
    from dcutils.rdc import pretrain

    calls = []
    real = pretrain.acai.acai_step

    def spy(*a, **k):
        calls.append(k)
        return real(*a, **k)

    monkeypatch.setattr(pretrain.acai, "acai_step", spy)
    x = _toy_data(n=64, d=12).reshape(64, 1, 3, 4)
    y = torch.zeros(64, dtype=torch.long)
    y[32:] = 1
    kw = dict(epochs=1, batch_size=32, lr=1e-3, lam=0.5, blend=0.2, use_augment=False, latent_dim=2, n_clusters=2,
              geometry_index=torch.arange(20), log_every=1, kmeans_n_init=1)
    pretrain.pretrain_acai(x, y, generator=torch.Generator().manual_seed(0), **kw)
    assert calls and all(c["gamma"] == 0.2 and "alpha_max" not in c for c in calls)  # dcutils: fixed blend
    calls.clear()
    pretrain.pretrain_acai(x, y, generator=torch.Generator().manual_seed(0), mixing="authors", **kw)
    assert calls and all(c["gamma"] is None and c["alpha_max"] == 1.0 for c in calls)
    with pytest.raises(ValueError, match="acai_mixing"):
        pretrain.pretrain_acai(x, y, generator=torch.Generator().manual_seed(0), mixing="acai", **kw)
    # those draws: alpha over [0, 1] (not only [0, 0.5])
    _, alpha = mix_latents(torch.randn(400, 3), generator=torch.Generator().manual_seed(1), alpha_max=1.0)
    assert float(alpha.max()) > 0.9 and float(alpha.min()) >= 0.0
