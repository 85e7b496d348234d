"""Several networks of one architecture trained as one: their tensors stacked along a leading run dimension.

A GPU runs one small autoencoder's mini-batch step in tens of microseconds of arithmetic and hundreds of
kernel launches; R runs that differ only in seed (or in what they do every T epochs) can share the
launches. :class:`StackedNetworks` takes R modules with the same parameter and buffer names and shapes,
stacks each into one tensor (R, ...) and turns every given module into a *view*: its parameters and
buffers alias row r of the stack. Then

* per-run code keeps working on the views and writes into the stack: soft resets in place, embedding all
  samples, BatchNorm statistics of a train-mode pass, a deep copy for an ablation;
* :meth:`StackedNetworks.map` calls a function of the module for all R runs at once
  (``torch.func.vmap`` over ``torch.func.functional_call`` on the stacked tensors), so every layer is
  one batched matmul and BatchNorm normalises each run's batch by that run's statistics, updating that
  run's running statistics;
* one optimizer over :meth:`~StackedNetworks.parameters` updates each row as R optimizers would update
  R networks, because Adam, weight decay and their fused kernels act elementwise (one shared step count:
  the runs step together);
* :meth:`~StackedNetworks.clip_grad_norms_` clips each run's gradient norm on its own, as
  ``torch.nn.utils.clip_grad_norm_`` would for that run alone.

Each run's numbers equal the single run's up to floating-point reordering (batched instead of single
matmuls, norms summed in another order): close, not bitwise. ``tests/test_stacking.py`` checks it.
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

__all__ = ["StackedNetworks"]


def _owner(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The submodule holding tensor ``name`` (dotted) and the tensor's own name there."""
    path, _, leaf = name.rpartition(".")
    return (module.get_submodule(path) if path else module), leaf


class _Apply(nn.Module):
    """``fn(net, *args)`` as a module's forward, so ``functional_call`` can swap ``net``'s tensors for one row."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self.net, *args)


class StackedNetworks:
    """R networks of one architecture with parameters and buffers stacked as (R, ...) tensors.

    Parameters
    ----------
    modules : R >= 1 modules with identical parameter and buffer names, shapes and dtypes, on one device.
        They become views of the stack (their tensors alias row r) and stay usable one by one.

    Attributes
    ----------
    size : R
    params : dict name -> nn.Parameter (R, ...), what an optimizer steps
    buffers : dict name -> Tensor (R, ...) (BatchNorm running statistics, counters)
    views : the given modules, now views of the stack

    Raises
    ------
    ValueError when no module is given or their tensors differ in name, shape or dtype.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        modules = list(modules)
        if not modules:
            raise ValueError("StackedNetworks needs at least one module")
        first_p = dict(modules[0].named_parameters())
        first_b = dict(modules[0].named_buffers())
        for i, m in enumerate(modules[1:], start=1):
            for kind, first, mine in (("parameters", first_p, dict(m.named_parameters())),
                                      ("buffers", first_b, dict(m.named_buffers()))):
                shapes = {k: (tuple(v.shape), v.dtype) for k, v in mine.items()}
                expected = {k: (tuple(v.shape), v.dtype) for k, v in first.items()}
                if shapes != expected:
                    differ = sorted(k for k in set(shapes) | set(expected) if shapes.get(k) != expected.get(k))
                    raise ValueError(f"module {i} differs from module 0 in its {kind} {differ[:5]}: only "
                                     "networks of one architecture stack")
        self.size = len(modules)
        self._apply = _Apply(copy.deepcopy(modules[0]))  # its own tensors are swapped out in every call
        with torch.no_grad():
            self.params = {name: nn.Parameter(torch.stack([dict(m.named_parameters())[name].detach()
                                                           for m in modules]), requires_grad=p.requires_grad)
                           for name, p in first_p.items()}
            self.buffers = {name: torch.stack([dict(m.named_buffers())[name] for m in modules]) for name in first_b}
        for r, m in enumerate(modules):
            for name, p in list(m.named_parameters()):
                owner, leaf = _owner(m, name)
                owner._parameters[leaf] = nn.Parameter(self.params[name].data[r], requires_grad=p.requires_grad)
            for name in list(first_b):
                owner, leaf = _owner(m, name)
                owner._buffers[leaf] = self.buffers[name][r]
        self.views = modules

    def parameters(self) -> list[nn.Parameter]:
        """The stacked parameters (R, ...), in the modules' order."""
        return list(self.params.values())

    def train(self, mode: bool = True) -> StackedNetworks:
        """Train (or eval) mode of the batched calls (:meth:`map`); the views keep their own mode."""
        self._apply.train(mode)
        return self

    def map(self, fn: Callable[..., Any], *args: Tensor | None) -> Any:
        """``fn(network, *args_r)`` for every run r at once; outputs stacked along a leading run dimension.

        Parameters
        ----------
        fn : a function of one network and tensors, e.g. a mini-batch loss; it sees the network with run r's
            tensors (gradients flow to :attr:`params`; BatchNorm in train mode updates run r's statistics)
        *args : tensors with a leading run dimension (R, ...), sliced per run; None passes None to every run

        Returns
        -------
        fn's outputs (tensors or tuples of tensors), each with a leading run dimension R
        """
        for a in args:
            if a is not None and (a.dim() == 0 or a.shape[0] != self.size):
                raise ValueError(f"every argument needs a leading run dimension of {self.size}, got shape "
                                 f"{tuple(a.shape)}")
        tensors = {**{f"net.{k}": v for k, v in self.params.items()},
                   **{f"net.{k}": v for k, v in self.buffers.items()}}
        present = [a for a in args if a is not None]

        def one(state: dict[str, Tensor], *given: Tensor) -> Any:
            it = iter(given)
            full = [None if a is None else next(it) for a in args]
            return functional_call(self._apply, state, (fn, *full))

        with warnings.catch_warnings():
            # torch notes once per process that an op (e.g. kl_div) has no batching rule and loops over the runs;
            # the result is the same, its cost is what `make bench` (section 5) measures
            warnings.filterwarnings("ignore", message=".*batching rule.*")
            return vmap(one, in_dims=(0, *[0] * len(present)), randomness="error")(tensors, *present)

    @torch.no_grad()
    def clip_grad_norms_(self, max_norm: float, extra: Sequence[Sequence[Tensor]] = ()) -> Tensor:
        """Clip each run's gradient norm at ``max_norm``, in place; return the R norms before clipping.

        Run r's norm covers its row of every stacked parameter and ``extra[r]`` (its own tensors outside
        the stack, e.g. DEC's centroids), as ``torch.nn.utils.clip_grad_norm_`` would compute it for that
        run alone; every gradient of the run is scaled by ``min(1, max_norm / (norm + 1e-6))``.
        """
        if extra and len(extra) != self.size:
            raise ValueError(f"extra needs one list of tensors per run ({self.size}), got {len(extra)}")
        parts = [torch.linalg.vector_norm(p.grad.reshape(self.size, -1), dim=1)
                 for p in self.params.values() if p.grad is not None]
        if extra:
            own = []
            for tensors in extra:
                norms_r = [torch.linalg.vector_norm(t.grad) for t in tensors if t.grad is not None]
                own.append(torch.linalg.vector_norm(torch.stack(norms_r)) if norms_r else
                           torch.zeros((), device=next(iter(self.params.values())).device))
            parts.append(torch.stack(own))
        if not parts:
            return torch.zeros(self.size)
        norms = torch.linalg.vector_norm(torch.stack(parts), dim=0)
        coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for p in self.params.values():
            if p.grad is not None:
                p.grad.mul_(coef.view(-1, *[1] * (p.dim() - 1)).to(p.grad.dtype))
        for r, tensors in enumerate(extra):
            for t in tensors:
                if t.grad is not None:
                    t.grad.mul_(coef[r].to(t.grad.dtype))
        return norms
