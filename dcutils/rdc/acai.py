"""Adversarially constrained interpolation (ACAI), the losses and step of R-DC phase 1 (Eq. 1-2).

ACAI (Berthelot et al., 2018, "Understanding and improving interpolation in
autoencoders via an adversarial regularizer") trains an autoencoder together
with a *critic* network. For a batch ``x`` with latent codes ``z = f(x)``:

* each code is paired with a partner ``z2`` (a shuffled copy of the batch) and
  mixed, ``z_mix = alpha * z + (1 - alpha) * z2`` with ``alpha ~ U[0, 0.5]``;
* the critic ``d`` regresses ``alpha`` from the decoded mix ``g(z_mix)`` and is
  pushed to output 0 on realistic inputs, the blend
  ``gamma * x + (1 - gamma) * x_hat`` of real data and reconstruction
  (R-DC Eq. 2)::

      L_d = || d(g(z_mix)) - alpha ||^2 + || d(gamma * x + (1 - gamma) * x_hat) ||^2

* the autoencoder reconstructs its input and tries to fool the critic into
  predicting 0 (a "real-looking" output) for decoded mixes (R-DC Eq. 1)::

      L_ae = || x - g(f(x)) ||^2 + lam * || d(g(z_mix)) ||^2

The R-DC text lost the interval of the interpolation coefficient; we read it
as ACAI's ``[0, 0.5]`` (``alpha`` and ``1 - alpha`` describe the same mix, so
the critic regresses the distance to the nearer end point). The text also says
that *two* coefficients are sampled each iteration; the authors' lineage
(DynAE, same group) samples the blending coefficient ``gamma`` from
``[0, 0.5]`` too. :func:`acai_step` therefore accepts ``gamma=None`` for that
reading and defaults to ACAI's fixed ``gamma = 0.2``. Squared norms are
implemented as means (per-element MSE), as ACAI and DynAE do.

The authors' code (``Amalsalem/Rethinking-DC``, file ``DynAE``,
``DynAE.train_aci_ae``, lines 573-670) settles both draws: per batch it
draws ``alpha_interp ~ U[0, 1]`` per sample (line 644, ``np.random.uniform(0.0,
1.0, size=[batch])``) and one ``beta_interp = 0.5 - |U[0, 1] - 0.5|``, i.e.
``~ U[0, 0.5]`` (lines 645-646), the blend of the critic's "realistic" input
``beta * x + (1 - beta) * x_hat`` (line 650); the critic regresses
``alpha_interp`` itself (``disc_constructor``, lines 318-325, trained at line
653). The partner of row ``i`` is row ``n - 1 - i`` of the shuffled batch
(``encode[::-1]`` in ``i_ae_constructor``, line 286, after
``np.random.shuffle``, line 642); we keep a random permutation. In
:func:`acai_step` the authors' draws are ``alpha_max=1.0, gamma=None``; the
registered runs choose between them with ``acai_mixing`` (``"dcutils"``:
``alpha ~ U[0, 0.5]``, fixed blend 0.2; ``"authors"``), see
:mod:`dcutils.rdc.pretrain`. The autoencoder loss is the same as ours:
``mse(x, x_hat) + advweight * mean(critic(decoded mix)^2)`` (lines 341-347).

Everything runs on the device of its input tensors.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import precision as _precision
from dcutils.core import check_finite

__all__ = [
    "Critic",
    "mix_latents",
    "critic_targets",
    "critic_loss",
    "autoencoder_loss",
    "acai_step",
]


class Critic(nn.Module):
    """Fully connected ACAI critic mapping an input (image) to a scalar.

    R-DC uses a fully connected critic; like ACAI and DynAE (the authors'
    previous code base), its default mirrors the encoder,
    ``d-500-500-2000-10`` with ReLU on the hidden layers and a linear last
    layer, and the scalar output is the mean over the last layer's units.
    ``out_dim=1`` gives a plain ``d-...-1`` regression MLP.

    Parameters
    ----------
    input_dim : int
        Dimension ``d`` of the (flattened) inputs.
    hidden_dims : sequence of int, default (500, 500, 2000)
        Widths of the hidden ReLU layers.
    out_dim : int, default 10
        Width of the last linear layer, averaged into the scalar output.
    """

    def __init__(self, input_dim: int, hidden_dims: Sequence[int] = (500, 500, 2000), out_dim: int = 10):
        super().__init__()
        dims = [int(input_dim), *(int(h) for h in hidden_dims), int(out_dim)]
        if any(w < 1 for w in dims):
            raise ValueError(f"Critic layer widths must be positive integers, got {dims}")
        layers: list[nn.Module] = []
        for i, (w_in, w_out) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(w_in, w_out))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.input_dim = dims[0]

    def forward(self, x: Tensor) -> Tensor:
        """Critic score of each sample.

        Parameters
        ----------
        x : Tensor, shape (N, d) or (N, ...) with prod(...) == d

        Returns
        -------
        Tensor, shape (N,)
        """
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_dim:
            raise ValueError(f"Critic expects inputs of dimension {self.input_dim}, got {tuple(x.shape)}")
        return self.net(x).mean(dim=1)


def _uniform(n: int, high: float, like: Tensor, generator: torch.Generator | None) -> Tensor:
    """``n`` draws of U[0, high] on ``like``'s device and dtype."""
    device = generator.device if generator is not None else like.device
    u = torch.rand(n, generator=generator, device=device, dtype=like.dtype)
    return (u * high).to(like.device)


def mix_latents(z: Tensor, generator: torch.Generator | None = None, alpha_max: float = 0.5) -> tuple[Tensor, Tensor]:
    """Interpolate each latent code with a randomly chosen partner (R-DC Eq. 1-2).

    The partner of row ``i`` is row ``perm[i]`` of a random permutation of
    the batch; ``alpha ~ U[0, alpha_max]`` independently per pair and
    ``z_mix = alpha * z + (1 - alpha) * z[perm]``, so every mix lies on the
    segment between ``z[i]`` and its partner.

    Parameters
    ----------
    z : Tensor, shape (N, k)
        Latent codes (gradients flow through the mix).
    generator : torch.Generator, optional
        Source of randomness (any device); the draws are moved to ``z``'s device.
    alpha_max : float, default 0.5
        Upper end of the interval of ``alpha`` (ACAI: 0.5).

    Returns
    -------
    z_mix : Tensor, shape (N, k)
    alpha : Tensor, shape (N,)
    """
    if z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(f"mix_latents needs a batch of at least 2 latent codes, shape (N, k); got {tuple(z.shape)}")
    if not 0.0 < alpha_max <= 1.0:
        raise ValueError(f"alpha_max must lie in (0, 1], got {alpha_max}")
    n = z.shape[0]
    device = generator.device if generator is not None else z.device
    perm = torch.randperm(n, generator=generator, device=device).to(z.device)
    alpha = _uniform(n, alpha_max, z, generator)
    a = alpha.unsqueeze(1)
    return a * z + (1.0 - a) * z[perm], alpha


def critic_targets(alpha: Tensor, n_real: int) -> Tensor:
    """Regression targets of the critic (R-DC Eq. 2).

    The critic sees ``cat([decoded mixes, realistic inputs])``; its target is
    ``alpha`` for the decoded mixes and 0 for the realistic inputs.

    Parameters
    ----------
    alpha : Tensor, shape (N_mix,)
    n_real : int
        Number of realistic (non-interpolated) inputs.

    Returns
    -------
    Tensor, shape (N_mix + n_real,)
    """
    if alpha.dim() != 1:
        raise ValueError(f"alpha must have shape (N,), got {tuple(alpha.shape)}")
    if n_real < 0:
        raise ValueError(f"n_real must be >= 0, got {n_real}")
    return torch.cat([alpha, alpha.new_zeros(n_real)])


def _check_gamma(gamma: float | Tensor) -> None:
    g = torch.as_tensor(gamma)
    if torch.any((g < 0) | (g > 1)):
        raise ValueError(f"gamma (blend of real data and reconstruction) must lie in [0, 1], got {gamma}")


def critic_loss(
    critic: nn.Module,
    x: Tensor,
    x_hat: Tensor,
    x_mix_decoded: Tensor,
    alpha: Tensor,
    gamma: float | Tensor = 0.2,
) -> Tensor:
    """Critic loss ``L_d`` (R-DC Eq. 2, ACAI).

    ``mean((d(x_mix_decoded) - alpha)^2) + mean(d(gamma x + (1 - gamma) x_hat)^2)``.
    The autoencoder outputs are detached here: the critic loss never trains
    the autoencoder. One critic forward pass over the concatenated batch.

    Parameters
    ----------
    critic : nn.Module
        Maps (N, ...) to scores (N,).
    x, x_hat : Tensor, shape (N, ...)
        Inputs and their reconstructions.
    x_mix_decoded : Tensor, shape (N_mix, ...)
        Decoded latent interpolations.
    alpha : Tensor, shape (N_mix,)
        Interpolation coefficients of ``x_mix_decoded``.
    gamma : float or 0-d Tensor, default 0.2
        Weight of the real input in the "realistic" blend.

    Returns
    -------
    Tensor, scalar
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if x_mix_decoded.shape[0] != alpha.shape[0]:
        raise ValueError(
            f"one alpha per decoded mix expected: {x_mix_decoded.shape[0]} mixes, alpha of shape {tuple(alpha.shape)}"
        )
    _check_gamma(gamma)
    n_mix = x_mix_decoded.shape[0]
    real = gamma * x + (1.0 - gamma) * x_hat.detach()
    inputs = torch.cat([x_mix_decoded.detach().reshape(n_mix, -1), real.reshape(real.shape[0], -1)])
    scores = critic(inputs)
    sq = (scores - critic_targets(alpha.detach().to(scores.dtype), real.shape[0])) ** 2
    return sq[:n_mix].mean() + sq[n_mix:].mean()


def autoencoder_loss(x: Tensor, x_hat: Tensor, critic_on_mix: Tensor, lam: float = 0.5) -> Tensor:
    """Autoencoder loss ``L_ae`` (R-DC Eq. 1, ACAI).

    ``mean((x - x_hat)^2) + lam * mean(critic_on_mix^2)``: reconstruct, and
    make the critic score decoded mixes as 0 ("not interpolated").

    Parameters
    ----------
    x, x_hat : Tensor, shape (N, ...)
    critic_on_mix : Tensor, shape (N_mix,)
        Critic scores of the decoded mixes (not detached: the gradient must
        reach the autoencoder through them).
    lam : float, default 0.5
        Weight of the adversarial term (ACAI's default).

    Returns
    -------
    Tensor, scalar
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    return F.mse_loss(x_hat, x) + lam * critic_on_mix.pow(2).mean()


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Temporarily stop ``module``'s parameters from collecting gradients."""
    flags = [p.requires_grad for p in module.parameters()]
    try:
        for p in module.parameters():
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def acai_step(
    model: nn.Module,
    critic: nn.Module,
    opt_ae: torch.optim.Optimizer,
    opt_critic: torch.optim.Optimizer,
    x: Tensor,
    generator: torch.Generator | None = None,
    lam: float = 0.5,
    gamma: float | None = 0.2,
    alpha_max: float = 0.5,
    precision: str = "fp32",
) -> dict[str, float]:
    """One ACAI training step updating the autoencoder and the critic.

    Both losses come from the same forward pass (as in ACAI): the
    autoencoder is updated on ``L_ae`` with the critic frozen (its
    parameters collect no gradient), then the critic on ``L_d`` with the
    autoencoder outputs detached. Losses are checked before each update, so a
    diverged step leaves the weights untouched.

    Parameters
    ----------
    model : nn.Module
        Autoencoder with ``encode(x) -> z`` and ``decode(z) -> x_hat``.
    critic : nn.Module
        Maps (N, ...) to scores (N,), e.g. :class:`Critic`.
    opt_ae, opt_critic : torch.optim.Optimizer
        Optimizers over the autoencoder's and the critic's parameters.
    x : Tensor, shape (N, d)
        A (possibly augmented) mini-batch, N >= 2.
    generator : torch.Generator, optional
        Randomness of the pairing and of ``alpha`` (and of ``gamma`` when None).
    lam : float, default 0.5
        Weight of the adversarial term in ``L_ae``.
    gamma : float or None, default 0.2
        Blend weight of real data in the critic's regulariser; None draws it
        from U[0, 0.5] once per step (the R-DC/DynAE reading, see module doc).
    alpha_max : float, default 0.5
        Upper end of the interval of ``alpha``.
    precision : "fp32", or "bf16" autocast of the forward passes and losses
        (:mod:`dcutils.precision`; parameters, gradients and Adam stay fp32)

    Returns
    -------
    dict
        ``{"recon": reconstruction MSE, "ae": L_ae, "critic": L_d}`` as floats.

    Raises
    ------
    dcutils.core.NonFiniteLossError (a FloatingPointError)
        If a loss is NaN or infinite; the message names the loss.
    """
    if opt_ae is opt_critic:
        raise ValueError("opt_ae and opt_critic must be two optimizers (autoencoder and critic parameters)")
    if gamma is None:
        gamma_t: float | Tensor = _uniform(1, 0.5, x, generator)[0]
    else:
        _check_gamma(gamma)
        gamma_t = gamma
    model.train()
    critic.train()

    with _precision.autocast(x.device, precision):
        z = model.encode(x)
        x_hat = model.decode(z).reshape(x.shape).float()
        z_mix, alpha = mix_latents(z.float(), generator=generator, alpha_max=alpha_max)
        x_mix = model.decode(z_mix).float()

    # autoencoder update, critic frozen
    with _frozen(critic):
        with _precision.autocast(x.device, precision):
            recon = F.mse_loss(x_hat, x)
            loss_ae = autoencoder_loss(x, x_hat, critic(x_mix).float(), lam=lam)
        recon_v = check_finite(recon.detach(), "ACAI reconstruction loss", "(autoencoder step)")
        ae_v = check_finite(loss_ae.detach(), "ACAI autoencoder loss", "(autoencoder step)")
        opt_ae.zero_grad(set_to_none=True)
        loss_ae.backward()
    opt_ae.step()

    # critic update on detached autoencoder outputs (pre-update, as in ACAI)
    with _precision.autocast(x.device, precision):
        loss_d = critic_loss(critic, x, x_hat, x_mix, alpha, gamma=gamma_t)
    critic_v = check_finite(loss_d.detach(), "ACAI critic loss", "(critic step)")
    opt_critic.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_critic.step()
    return {"recon": recon_v, "ae": ae_v, "critic": critic_v}
