"""ReSL's reset strategies for the self-labeling loop (Algorithm 1, Section 4) and plasticity injection.

One small interface, :class:`ResetStrategy`, plugged into a self-labeling loop::

    strategy.start(model)                               # before the first step (HT copies the tortoise)
    for epoch in range(epochs):                         # epochs counted from 0
        for batch in loader:
            ...; optimizer.step()
            strategy.after_step(model)                  # HT: EMA of the hare (update="step")
        strategy.on_epoch_end(model, epoch, optimizer)  # resets and injections happen here
        evaluate(strategy.eval_model(model))            # HT: the tortoise; else the model itself

Strategies (``model`` is a :class:`~dcutils.resl.network.ClusteringModel`; "the head" is
``model.heads``, the whole ModuleList):

- :class:`NoReset`: SCAN+SL.
- :class:`ShrinkPerturb` (ReSL_SP): every R epochs ``theta <- alpha theta + (1 - alpha) theta'`` on
  the clustering head's weights and biases, theta' a fresh initialisation.
  ``schedule="linear"`` is ReSL_SP*: ``alpha_e = alpha_0 + (1 - alpha_0) (e + 1) / E`` after epoch
  e (0-based), i.e. the paper's softening factor epoch/E with epoch = completed epochs, so
  ``alpha = 1`` (no reset) after the last epoch.
- :class:`HareTortoise` (ReSL_HT), on the whole network, backbone and head: the tortoise
  ``eta_T <- mu eta_T + (1 - mu) eta_H`` (every floating tensor: parameters and BatchNorm running
  statistics; integer buffers are copied), every R epochs ``eta_H <- eta_T``; the tortoise is
  evaluated and clusters.
- :class:`PlasticityInjection` (Nikishin et al. 2024; ReSL Section 5, diagnostic): at the chosen
  epochs every head h becomes ``h(z) + (h1(z) - h2(z))`` with h frozen, h1 a fresh head that is
  trained and h2 a frozen copy of h1, so the logits are bitwise unchanged at injection.

Choices where the paper is ambiguous (each an option)
-----------------------------------------------------
- **When resets happen** (``reset_at_epoch_zero``, default False). Algorithm 1 writes
  ``if epoch % reset_freq == 0`` with epochs from 0, which resets after the very first epoch. We
  read "every R epochs" as after R, 2R, ... completed epochs: a reset after epoch e (0-based) when
  ``(e + 1) % R == 0``. ``reset_at_epoch_zero=True`` gives Algorithm 1 literally
  (``e % R == 0``). With ``epochs`` given, no reset follows the last epoch (it would only perturb
  the model that is evaluated); SP* needs ``epochs`` anyway.
- **HT's EMA per step or per epoch** (``update``, default ``"step"``: after every optimizer step,
  as in Lee et al. 2024's hare & tortoise; ``"epoch"``: once per epoch, before a reset). The
  momentum mu = 0.995 of the paper is far more plausible per step than per epoch with 200 epochs.
- **HT's EMA of BatchNorm statistics** (``ema_buffers``, default True: floating buffers are
  averaged like parameters; False copies the hare's buffers into the tortoise).
- **Optimizer state after a reset** (``reset_optimizer_state``, default False: Adam's moments are
  kept, as Algorithm 1 does not mention the optimizer). True zeroes the moments of the reset
  parameters (SP: the head; HT: the whole hare) with :func:`dcutils.resets.reset_adam_moments`.
- **theta''s initialiser** (``init``, default ``"torch"``). The paper samples theta' "from the
  original initializer"; SCAN's head is an ``nn.Linear`` with PyTorch's default initialisation:
  weight U(+-1/sqrt(fan_in)) (``kaiming_uniform_(a=sqrt(5))``), bias U(+-1/sqrt(fan_in)).
  ``init="kaiming"`` uses BRB's He-uniform draw instead
  (:func:`dcutils.resets.sample_initial_parameters`, weight U(+-sqrt(6/fan_in))).
- **Random draws** of SP and PI come from the strategy's own CPU generator (``seed``, or pass
  ``generator``), never torch's global RNG, so a reset with alpha = 1 leaves the rest of training
  bitwise unchanged.
- **Plasticity injection epochs**: ``at_epochs=(100,)`` injects after 100 completed epochs, i.e.
  before epoch index 100 trains. The new h1 joins the optimizer as a new parameter group with the
  first group's hyperparameters; the frozen h keeps its (now unused) optimizer state.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from dcutils.resets import reset_adam_moments, resettable_layers, sample_initial_parameters

__all__ = [
    "INITS", "ResetStrategy", "NoReset", "ShrinkPerturb", "HareTortoise", "PlasticityInjection", "InjectedHead",
    "reset_due", "fresh_parameters", "shrink_perturb", "head_of", "make_strategy",
]

#: Initialisers of the fresh parameters theta' (see module docstring).
INITS = ("torch", "kaiming")


# ----------------------------------------------------------------- helpers
def reset_due(epoch: int, every: int, epochs: int | None = None, reset_at_epoch_zero: bool = False) -> bool:
    """Whether a reset follows epoch ``epoch`` (0-based) with interval ``every`` = R.

    Default: after R, 2R, ... completed epochs (``(epoch + 1) % R == 0``); with
    ``reset_at_epoch_zero`` Algorithm 1's ``epoch % R == 0``. Never after the last of ``epochs``.
    """
    if epochs is not None and epoch >= epochs - 1:
        return False
    return (epoch % every == 0) if reset_at_epoch_zero else ((epoch + 1) % every == 0)


def _check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
    return init


def _check_every(every: int) -> int:
    if int(every) != every or every < 1:
        raise ValueError(f"the reset interval R (every) must be a positive integer, got {every!r}")
    return int(every)


def fresh_parameters(
    layer: nn.Module, init: str = "torch", *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor | None]:
    """theta' for one Linear/Conv layer: fresh weight and bias (None without bias).

    ``init="torch"``: PyTorch's default ``reset_parameters`` distribution
    (weight ``kaiming_uniform_(a=sqrt(5))`` = U(+-1/sqrt(fan_in)), bias U(+-1/sqrt(fan_in)));
    ``init="kaiming"``: :func:`dcutils.resets.sample_initial_parameters`. Drawn on the
    generator's device, weight first, returned on the layer's device and dtype.
    """
    if _check_init(init) == "kaiming":
        return sample_initial_parameters(layer, generator=generator)
    w = layer.weight
    dev = generator.device if generator is not None else w.device
    phi_w = torch.empty(w.shape, dtype=w.dtype, device=dev)
    nn.init.kaiming_uniform_(phi_w, a=math.sqrt(5), generator=generator)
    phi_b = None
    if getattr(layer, "bias", None) is not None:
        fan_in = w[0].numel()
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        phi_b = torch.empty(layer.bias.shape, dtype=layer.bias.dtype, device=dev)
        nn.init.uniform_(phi_b, -bound, bound, generator=generator)
        phi_b = phi_b.to(layer.bias.device)
    return phi_w.to(w.device), phi_b


@torch.no_grad()
def shrink_perturb(
    module: nn.Module, alpha: float, *, init: str = "torch", generator: torch.Generator | None = None
) -> list[nn.Module]:
    """Shrink & perturb (Ash & Adams 2020) every Linear/Conv layer of ``module`` in place.

    ``theta <- alpha * theta + (1 - alpha) * theta'`` for weight and bias, theta' from
    :func:`fresh_parameters`. ``alpha = 1`` keeps the values exactly (theta' is still drawn, so the
    generator advances alike). BatchNorm and other layers are untouched.

    Returns the layers, in definition order.
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (share of the old parameters kept), got {alpha}")
    layers = resettable_layers(module)
    for layer in layers:
        phi_w, phi_b = fresh_parameters(layer, init, generator=generator)
        layer.weight.mul_(alpha).add_(phi_w, alpha=1.0 - alpha)
        if phi_b is not None:
            layer.bias.mul_(alpha).add_(phi_b, alpha=1.0 - alpha)
    return layers


def head_of(model: nn.Module) -> nn.Module:
    """The clustering head(s) h_theta that SP and PI act on: ``model.heads`` (or ``model.head``)."""
    for name in ("heads", "head"):
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return head
    raise TypeError(f"{type(model).__name__} has no 'heads' or 'head' submodule; "
                    "use dcutils.resl.network.ClusteringModel")


def _generator(generator: torch.Generator | None, seed: int) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------- interface
class ResetStrategy:
    """Interface of a reset strategy (Algorithm 1's ``reset_strategy``); the base class does nothing.

    Methods
    -------
    start(model) : before the first optimizer step.
    after_step(model) : after every optimizer step.
    on_epoch_end(model, epoch, optimizer) -> bool : after epoch ``epoch`` (0-based); resets happen
        here; returns whether the model was changed.
    eval_model(model) -> nn.Module : the network that is evaluated and clusters.
    """

    name = "none"

    def start(self, model: nn.Module) -> None:
        pass

    def after_step(self, model: nn.Module) -> None:
        pass

    def on_epoch_end(self, model: nn.Module, epoch: int, optimizer: torch.optim.Optimizer | None = None) -> bool:
        return False

    def eval_model(self, model: nn.Module) -> nn.Module:
        return model


class NoReset(ResetStrategy):
    """SCAN+SL: self-labeling without resets."""


class ShrinkPerturb(ResetStrategy):
    """ReSL_SP / ReSL_SP*: shrink & perturb the clustering head every ``every`` epochs.

    Parameters
    ----------
    alpha : float in [0, 1]
        Retention alpha (constant) or alpha_0 (linear schedule).
    every : int, R
    schedule : {"constant", "linear"}
        "linear" is SP*: ``alpha_e = alpha_0 + (1 - alpha_0) * (e + 1) / epochs``.
    epochs : int, E, required for "linear"; optional otherwise (then no reset after the last epoch)
    init, reset_optimizer_state, reset_at_epoch_zero, generator, seed : see the module docstring
    """

    def __init__(
        self,
        alpha: float,
        every: int,
        schedule: str = "constant",
        epochs: int | None = None,
        *,
        init: str = "torch",
        reset_optimizer_state: bool = False,
        reset_at_epoch_zero: bool = False,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if schedule not in ("constant", "linear"):
            raise ValueError(f"schedule must be 'constant' (SP) or 'linear' (SP*), got {schedule!r}")
        if schedule == "linear" and not epochs:
            raise ValueError("the linear schedule (SP*) needs the number of epochs E")
        self.alpha, self.every, self.schedule, self.epochs = float(alpha), _check_every(every), schedule, epochs
        self.init = _check_init(init)
        self.reset_optimizer_state, self.reset_at_epoch_zero = bool(reset_optimizer_state), bool(reset_at_epoch_zero)
        self.generator = _generator(generator, seed)
        self.name = "sp*" if schedule == "linear" else "sp"

    def alpha_at(self, epoch: int) -> float:
        """Retention used by a reset after epoch ``epoch`` (0-based); 1.0 after the last epoch under SP*."""
        if self.schedule == "constant":
            return self.alpha
        return min(1.0, self.alpha + (1.0 - self.alpha) * (epoch + 1) / self.epochs)

    def on_epoch_end(self, model: nn.Module, epoch: int, optimizer: torch.optim.Optimizer | None = None) -> bool:
        if not reset_due(epoch, self.every, self.epochs, self.reset_at_epoch_zero):
            return False
        head = head_of(model)
        shrink_perturb(head, self.alpha_at(epoch), init=self.init, generator=self.generator)
        if self.reset_optimizer_state and optimizer is not None:
            reset_adam_moments(optimizer, list(head.parameters()))
        return True


class HareTortoise(ResetStrategy):
    """ReSL_HT: a tortoise EMA of the whole network; every R epochs hare <- tortoise.

    Parameters
    ----------
    momentum : float in [0, 1], mu (paper's best: 0.995)
    every : int, R (paper's best: 20)
    update : {"step", "epoch"}, when the EMA is taken
    epochs : int, optional (then no reset after the last epoch)
    ema_buffers, reset_optimizer_state, reset_at_epoch_zero : see the module docstring

    Attributes
    ----------
    tortoise : nn.Module, a deep copy of the model made by :meth:`start`, without gradients.
    """

    name = "ht"

    def __init__(
        self,
        momentum: float,
        every: int,
        update: str = "step",
        epochs: int | None = None,
        *,
        ema_buffers: bool = True,
        reset_optimizer_state: bool = False,
        reset_at_epoch_zero: bool = False,
    ) -> None:
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
        if update not in ("step", "epoch"):
            raise ValueError(f"update must be 'step' or 'epoch', got {update!r}")
        self.momentum, self.every, self.update, self.epochs = float(momentum), _check_every(every), update, epochs
        self.ema_buffers = bool(ema_buffers)
        self.reset_optimizer_state, self.reset_at_epoch_zero = bool(reset_optimizer_state), bool(reset_at_epoch_zero)
        self.tortoise: nn.Module | None = None

    def start(self, model: nn.Module) -> None:
        self.tortoise = copy.deepcopy(model)
        self.tortoise.requires_grad_(False)

    def _pairs(self, model: nn.Module) -> Iterable[tuple[Tensor, Tensor, bool]]:
        if self.tortoise is None:
            raise RuntimeError("HareTortoise.start(model) must be called before training (it copies the tortoise)")
        t_params, h_params = dict(self.tortoise.named_parameters()), dict(model.named_parameters())
        t_bufs, h_bufs = dict(self.tortoise.named_buffers()), dict(model.named_buffers())
        if t_params.keys() != h_params.keys() or t_bufs.keys() != h_bufs.keys():
            raise RuntimeError("the hare's structure no longer matches the tortoise's")
        for k in t_params:
            yield t_params[k], h_params[k], True
        for k in t_bufs:
            yield t_bufs[k], h_bufs[k], self.ema_buffers

    @torch.no_grad()
    def ema(self, model: nn.Module) -> None:
        """eta_T <- mu eta_T + (1 - mu) eta_H for every floating tensor (non-floating: copied)."""
        mu = self.momentum
        for t, h, average in self._pairs(model):
            if average and t.is_floating_point():
                t.mul_(mu).add_(h, alpha=1.0 - mu)
            else:
                t.copy_(h)

    @torch.no_grad()
    def reset(self, model: nn.Module) -> None:
        """eta_H <- eta_T, every parameter and buffer copied bitwise."""
        for t, h, _ in self._pairs(model):
            h.copy_(t)

    def after_step(self, model: nn.Module) -> None:
        if self.update == "step":
            self.ema(model)

    def on_epoch_end(self, model: nn.Module, epoch: int, optimizer: torch.optim.Optimizer | None = None) -> bool:
        if self.update == "epoch":
            self.ema(model)
        if not reset_due(epoch, self.every, self.epochs, self.reset_at_epoch_zero):
            return False
        self.reset(model)
        if self.reset_optimizer_state and optimizer is not None:
            reset_adam_moments(optimizer, list(model.parameters()))
        return True

    def eval_model(self, model: nn.Module) -> nn.Module:
        if self.tortoise is None:
            raise RuntimeError("HareTortoise.start(model) was not called")
        return self.tortoise


class InjectedHead(nn.Module):
    """Plasticity injection on one head: ``logits = h(z) + (h1(z) - h2(z))``.

    h (the old head) and h2 (a copy of the fresh h1) are frozen; only h1 trains. At injection
    h1(z) - h2(z) is exactly 0, so the logits equal h(z) bitwise.

    Shapes: z (N, d) -> logits (N, C).
    """

    def __init__(self, h: nn.Module, h1: nn.Module) -> None:
        super().__init__()
        self.h = h.requires_grad_(False)
        self.h1 = h1.requires_grad_(True)
        self.h2 = copy.deepcopy(h1).requires_grad_(False)

    def forward(self, z: Tensor) -> Tensor:
        return self.h(z) + (self.h1(z) - self.h2(z))


class PlasticityInjection(ResetStrategy):
    """Plasticity injection (Nikishin et al. 2024) of every clustering head at chosen epochs.

    Parameters
    ----------
    at_epochs : iterable of int
        Inject after this many completed epochs (e.g. (100, 200, 250) as in ReSL Figure 2).
    init, generator, seed : initialiser and draws of the fresh h1 (module docstring)

    Notes
    -----
    ``on_epoch_end`` replaces ``model.heads[i]`` by an :class:`InjectedHead` and adds h1's
    parameters to ``optimizer`` (required) as a new parameter group. A second injection wraps the
    first: the whole previous InjectedHead becomes the frozen h.
    """

    name = "pi"

    def __init__(
        self, at_epochs: Iterable[int], *, init: str = "torch", generator: torch.Generator | None = None, seed: int = 0
    ) -> None:
        self.at_epochs = tuple(sorted(int(e) for e in at_epochs))
        if any(e < 1 for e in self.at_epochs):
            raise ValueError(f"injection epochs count completed epochs and must be >= 1, got {self.at_epochs}")
        self.init = _check_init(init)
        self.generator = _generator(generator, seed)

    @torch.no_grad()
    def _fresh(self, template: nn.Module) -> nn.Module:
        h1 = copy.deepcopy(template)
        for layer in resettable_layers(h1):
            phi_w, phi_b = fresh_parameters(layer, self.init, generator=self.generator)
            layer.weight.copy_(phi_w)
            if phi_b is not None:
                layer.bias.copy_(phi_b)
        return h1

    def inject(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        """Wrap every head of ``model`` now; h1's parameters join ``optimizer``."""
        if optimizer is None:
            raise ValueError("plasticity injection needs the optimizer: the fresh head h1 must be trained")
        heads = head_of(model)
        modules = heads if isinstance(heads, nn.ModuleList) else None
        if modules is None:
            raise TypeError("plasticity injection expects model.heads to be an nn.ModuleList (ClusteringModel)")
        group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        for i, h in enumerate(modules):
            template = h.h1 if isinstance(h, InjectedHead) else h
            injected = InjectedHead(h, self._fresh(template))
            modules[i] = injected
            optimizer.add_param_group({**group, "params": list(injected.h1.parameters())})

    def on_epoch_end(self, model: nn.Module, epoch: int, optimizer: torch.optim.Optimizer | None = None) -> bool:
        if epoch + 1 not in self.at_epochs:
            return False
        self.inject(model, optimizer)
        return True


def make_strategy(name: str, **options) -> ResetStrategy:
    """A strategy by name: "none", "sp", "sp*" (SP with ``schedule="linear"``), "ht" or "pi"."""
    if name == "none":
        return NoReset(**options)
    if name == "sp":
        return ShrinkPerturb(**options)
    if name == "sp*":
        return ShrinkPerturb(schedule="linear", **options)
    if name == "ht":
        return HareTortoise(**options)
    if name == "pi":
        return PlasticityInjection(**options)
    raise ValueError(f"unknown reset strategy {name!r}; choose one of ['none', 'sp', 'sp*', 'ht', 'pi']")
