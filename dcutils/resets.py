"""Soft resets, momentum resets and perturbation variants of BRB.

BRB (Breaking the Reclustering Barrier, Section 5 and Appendix A) perturbs the
encoder every T epochs with a *soft reset* (shrink & perturb, Eq. 1)::

    theta <- alpha * theta + (1 - alpha) * phi,    phi ~ initial distribution

then reclusters the embedded data (:mod:`dcutils.kmeans`) and, for DEC/IDEC,
zeroes the Adam moments of the centroid parameter. A BRB step at the start of
every T-th epoch of a centroid-based training loop (Algorithm 1)::

    from dcutils.kmeans import kmeans, subsample_indices
    from dcutils.models import embed

    soft_reset(brb_reset_layers(autoencoder), alpha=0.8, generator=g)   # Eq. 1
    idx = subsample_indices(len(x), 10_000, g)                          # clean data
    new = kmeans(embed(autoencoder, x[idx]), n_clusters, generator=g)   # Eq. 2
    with torch.no_grad():
        centroids.copy_(new.centroids)        # DEC/IDEC parameter, DCN buffer
    reset_adam_moments(optimizer, [centroids])                          # DEC / IDEC only

The initial distribution (from the authors' code, see the catalog): weights
from ``nn.init.kaiming_uniform_`` with its *own* defaults (``a=0``,
``nonlinearity="leaky_relu"``), i.e. U(-sqrt(6 / fan_in), +sqrt(6 / fan_in));
biases from U(-1/sqrt(fan_in), +1/sqrt(fan_in)). Note that this weight bound
is sqrt(3) times wider than PyTorch's default ``nn.Linear`` init (which uses
``a=sqrt(5)``, bound 1/sqrt(fan_in)); we follow the authors. BatchNorm and
other layers without Linear/Conv weights are never touched.

Random draws
------------
With a ``generator``, the fresh parameters are drawn on the generator's device
(usually a CPU generator) in a fixed order -- layer by layer, weight before
bias -- with the same calls as ``nn.init`` uses, then moved to the layer's
device. The draws therefore do not depend on where the model lives. Without a
generator, torch's global RNG on the layer's device is used.

Ablation variants (Appendix H.13, F.2): :func:`perturb_only`,
:func:`scaled_gaussian_noise`, :func:`embedding_noise`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

__all__ = [
    "soft_reset",
    "brb_reset_layers",
    "reset_adam_moments",
    "perturb_only",
    "scaled_gaussian_noise",
    "embedding_noise",
    "sample_initial_parameters",
    "resettable_layers",
]

#: Layer types a reset acts on (Linear, Conv1d/2d/3d and their transposes).
RESETTABLE = (nn.Linear, nn.modules.conv._ConvNd)

LayersLike = nn.Module | Iterable[nn.Module]

#: Optimizer state entries that hold moment / momentum estimates.
_MOMENT_KEYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer")


# --------------------------------------------------------------------- helpers
def resettable_layers(module_or_layers: LayersLike) -> list[nn.Module]:
    """The Linear/Conv layers a reset acts on.

    Parameters
    ----------
    module_or_layers : nn.Module or iterable of nn.Module
        A single module is searched recursively (``module.modules()``) and all
        Linear/Conv layers inside it are returned in definition order; BatchNorm
        and activations are skipped. An iterable must hold Linear/Conv layers
        only (anything else is an error, so that a typo cannot silently reset
        nothing).
    """
    if isinstance(module_or_layers, nn.Module):
        return [m for m in module_or_layers.modules() if isinstance(m, RESETTABLE)]
    layers = list(module_or_layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, RESETTABLE):
            raise TypeError(
                f"item {i} is a {type(layer).__name__}; soft resets act on nn.Linear / nn.Conv*d "
                "layers only. Pass the layers themselves, or a parent module to reset every "
                "Linear/Conv layer inside it."
            )
    return layers


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0 or math.isnan(alpha):
        raise ValueError(
            f"alpha must lie in [0, 1] (share of the old parameters that is kept), got {alpha}; "
            "BRB uses 0.8"
        )
    return alpha


def _fan_in(weight: Tensor) -> int:
    """Fan-in as ``nn.init`` computes it: ``weight[0].numel()`` (in_features for Linear,
    in_channels/groups * kernel size for Conv, same rule for transposed convs)."""
    return weight[0].numel()


def _draw_device(generator: torch.Generator | None, param: Tensor) -> torch.device:
    return generator.device if generator is not None else param.device


def sample_initial_parameters(
    layer: nn.Module, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor | None]:
    """Fresh parameters phi for one layer from BRB's initial distribution.

    Weights: ``nn.init.kaiming_uniform_`` with default arguments, i.e.
    U(+-sqrt(6 / fan_in)); bias: U(+-1 / sqrt(fan_in)). The weight is drawn
    first, then the bias, on the generator's device (see module docstring).

    Returns
    -------
    weight : Tensor, same shape, dtype and device as ``layer.weight``
    bias : Tensor or None
    """
    w = layer.weight
    phi_w = torch.empty(w.shape, dtype=w.dtype, device=_draw_device(generator, w))
    nn.init.kaiming_uniform_(phi_w, generator=generator)
    phi_b = None
    if getattr(layer, "bias", None) is not None:
        b = layer.bias
        bound = 1.0 / math.sqrt(_fan_in(w)) if _fan_in(w) > 0 else 0.0
        phi_b = torch.empty(b.shape, dtype=b.dtype, device=_draw_device(generator, b))
        nn.init.uniform_(phi_b, -bound, bound, generator=generator)
        phi_b = phi_b.to(b.device)
    return phi_w.to(w.device), phi_b


def _init_std(layer: nn.Module) -> tuple[float, float]:
    """Standard deviations of BRB's initial distribution for weight and bias."""
    fan_in = _fan_in(layer.weight)
    w_bound = math.sqrt(6.0 / fan_in)
    b_bound = 1.0 / math.sqrt(fan_in)
    return w_bound / math.sqrt(3.0), b_bound / math.sqrt(3.0)


def _params(layer: nn.Module) -> list[Tensor]:
    out = [layer.weight]
    if getattr(layer, "bias", None) is not None:
        out.append(layer.bias)
    return out


# ----------------------------------------------------------------- soft reset
@torch.no_grad()
def soft_reset(
    module_or_layers: LayersLike,
    alpha: float,
    *,
    generator: torch.Generator | None = None,
) -> list[nn.Module]:
    """Shrink & perturb the given layers in place (BRB Eq. 1).

    ``theta <- alpha * theta + (1 - alpha) * phi`` for weight and bias of every
    Linear/Conv layer, with phi from :func:`sample_initial_parameters`.
    ``alpha = 1`` keeps the layers, ``alpha = 0`` is a full re-initialisation.

    Parameters
    ----------
    module_or_layers : nn.Module or iterable of layers
        See :func:`resettable_layers`. For BRB pass ``brb_reset_layers(model)``.
    alpha : float in [0, 1]
        Share of the old parameters kept (BRB: 0.8).
    generator : torch.Generator, optional
        Makes the draws reproducible and independent of the model's device.

    Returns
    -------
    list of nn.Module
        The layers that were reset, in order.

    Notes
    -----
    Optimizer state is not changed; gradients are not touched. Parameters are
    modified in place, so optimizers keep referencing them.
    """
    alpha = _check_alpha(alpha)
    layers = resettable_layers(module_or_layers)
    for layer in layers:
        phi_w, phi_b = sample_initial_parameters(layer, generator=generator)
        layer.weight.mul_(alpha).add_(phi_w, alpha=1.0 - alpha)
        if phi_b is not None:
            layer.bias.mul_(alpha).add_(phi_b, alpha=1.0 - alpha)
    return layers


def brb_reset_layers(autoencoder: nn.Module, reset_embedding: bool = False) -> list[nn.Module]:
    """The layers BRB soft-resets: every encoder Linear/Conv layer except the last.

    Parameters
    ----------
    autoencoder : nn.Module
        A :class:`~dcutils.models.FeedForwardAutoencoder`, or any module with
        an ``encoder`` submodule (its last Linear/Conv layer is taken as the
        embedding layer). The decoder is never included.
    reset_embedding : bool, default False
        Also include the embedding layer (ablation of Appendix H.1, fig11).

    Returns
    -------
    list of nn.Module, input side first
    """
    if hasattr(autoencoder, "encoder_linears"):
        layers = list(autoencoder.encoder_linears)
    elif hasattr(autoencoder, "encoder"):
        layers = resettable_layers(autoencoder.encoder)
    else:
        raise TypeError(
            f"{type(autoencoder).__name__} has no 'encoder'; pass an autoencoder with an "
            "encoder submodule, or choose the layers yourself and call soft_reset(layers, alpha)"
        )
    if not layers:
        raise ValueError("the encoder has no Linear/Conv layer to reset")
    return layers if reset_embedding else layers[:-1]


# ------------------------------------------------------------- momentum reset
@torch.no_grad()
def reset_adam_moments(
    optimizer: torch.optim.Optimizer,
    params: Tensor | Iterable[Tensor],
    *,
    reset_step: bool = False,
) -> int:
    """Zero the optimizer's moment estimates of the given parameters only.

    BRB resets the Adam moments (``exp_avg``, ``exp_avg_sq``) of the DEC/IDEC
    centroid parameter after reclustering (Section 5, "Momentum resets").
    ``max_exp_avg_sq`` (AMSGrad) and SGD's ``momentum_buffer`` are zeroed too
    when present. All other parameters' state is untouched.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Adam, AdamW, SGD with momentum, ...
    params : Tensor or iterable of Tensor
        Parameters managed by ``optimizer``; those without state yet (no step
        taken) are skipped.
    reset_step : bool, default False
        The step counter is kept by default, as in the authors' code, which
        zeroes the moments only. Note that with the step kept, Adam's bias
        correction is ~1 later in training, so the first update after the reset
        is ``(1-beta1) g / sqrt((1-beta2) g^2) ~ 3.2 lr`` per coordinate
        (instead of ``lr`` after a full state reset). ``True`` also sets
        ``step`` to 0.

    Returns
    -------
    int
        Number of parameters whose state was reset.
    """
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    managed = {id(p) for group in optimizer.param_groups for p in group["params"]}
    n_reset = 0
    for i, p in enumerate(params):
        if id(p) not in managed:
            raise ValueError(
                f"parameter {i} (shape {tuple(p.shape)}) is not optimized by this optimizer; "
                "pass the same tensor objects that were given to the optimizer"
            )
        state = optimizer.state.get(p)
        if not state:
            continue
        for key in _MOMENT_KEYS:
            value = state.get(key)
            if isinstance(value, Tensor):
                value.zero_()
        if reset_step and "step" in state:
            step = state["step"]
            if isinstance(step, Tensor):
                step.zero_()
            else:
                state["step"] = 0
        n_reset += 1
    return n_reset


# ------------------------------------------------------------------ variants
@torch.no_grad()
def perturb_only(
    module_or_layers: LayersLike,
    alpha: float,
    *,
    generator: torch.Generator | None = None,
) -> list[nn.Module]:
    """"Perturbation only" ablation (Appendix H.13, fig19): no contraction.

    ``theta <- theta + (1 - alpha) * phi`` with phi drawn exactly as in
    :func:`soft_reset` (same distribution, same draw order), so the two differ
    only by the missing ``alpha`` factor on the old parameters.
    """
    alpha = _check_alpha(alpha)
    layers = resettable_layers(module_or_layers)
    for layer in layers:
        phi_w, phi_b = sample_initial_parameters(layer, generator=generator)
        layer.weight.add_(phi_w, alpha=1.0 - alpha)
        if phi_b is not None:
            layer.bias.add_(phi_b, alpha=1.0 - alpha)
    return layers


@torch.no_grad()
def scaled_gaussian_noise(
    module_or_layers: LayersLike,
    alpha: float,
    *,
    generator: torch.Generator | None = None,
    reference: str = "init",
) -> list[nn.Module]:
    """"Scaled Gaussian noise" ablation (Appendix H.13, fig19).

    ``theta <- alpha * theta + (1 - alpha) * eps`` with Gaussian
    ``eps ~ N(mu, sigma^2)`` instead of uniform phi.

    Parameters
    ----------
    reference : {"init", "weights"}, default "init"
        Where mu and sigma come from.

        * ``"init"``: mu = 0 and sigma = the standard deviation of BRB's initial
          distribution, ``sqrt(2 / fan_in)`` for weights and
          ``1 / sqrt(3 fan_in)`` for biases -- Eq. 1 with the uniform draw
          replaced by a Gaussian of the same mean and variance.
        * ``"weights"``: mu and sigma are the mean and standard deviation of
          each current parameter tensor (the paper's wording: "Gaussian noise
          with mean and standard deviation according to the current weights").
          A tensor with a single element falls back to ``"init"``.

    Notes
    -----
    The paper text does not settle which reading was used; ``"init"`` is the
    one that isolates "uniform vs Gaussian" from Eq. 1.
    """
    alpha = _check_alpha(alpha)
    if reference not in ("init", "weights"):
        raise ValueError(f"reference must be 'init' or 'weights', got {reference!r}")
    layers = resettable_layers(module_or_layers)
    for layer in layers:
        stds = _init_std(layer)
        for param, init_std in zip(_params(layer), stds):
            mu, sigma = 0.0, init_std
            if reference == "weights" and param.numel() > 1:
                mu, sigma = param.mean().item(), param.std().item()
            eps = torch.randn(
                param.shape, dtype=param.dtype, device=_draw_device(generator, param), generator=generator
            )
            eps = (eps * sigma + mu).to(param.device)
            param.mul_(alpha).add_(eps, alpha=1.0 - alpha)
    return layers


def embedding_noise(
    z: Tensor,
    scale: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Noise ablation (BRB Eq. 18, Appendix F.2, fig10).

    ``z_i + scale * ||z_i|| * eps_i / ||eps_i||`` with ``eps_i ~ N(0, I)`` per
    sample, so the added vector has norm exactly ``scale * ||z_i||``.

    Parameters
    ----------
    z : Tensor, shape (N, D)
    scale : float >= 0
    generator : torch.Generator, optional
        Noise is drawn on the generator's device, then moved to ``z.device``.

    Returns
    -------
    Tensor, shape (N, D), new tensor (``z`` is not modified)
    """
    if scale < 0:
        raise ValueError(f"scale must be non-negative, got {scale}")
    if z.dim() != 2:
        raise ValueError(f"expected embeddings of shape (N, D), got {tuple(z.shape)}")
    device = generator.device if generator is not None else z.device
    eps = torch.randn(z.shape, dtype=z.dtype, device=device, generator=generator).to(z.device)
    eps = eps / eps.norm(dim=1, keepdim=True).clamp_min(torch.finfo(z.dtype).tiny)
    return z + scale * z.norm(dim=1, keepdim=True) * eps
