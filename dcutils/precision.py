"""Numeric precision of a training loop (fp32 or bf16 autocast) and the fastest exact Adam.

A run's precision is part of its config: :data:`PRECISIONS` lists the choices and
:func:`check_precision` validates one.

What bf16 autocast changes
--------------------------
Under ``precision="bf16"``, :func:`autocast` wraps the region in ``torch.autocast(device_type,
dtype=torch.bfloat16)``. Torch's autocast policy then decides op by op:

- matrix products (``nn.Linear``, ``matmul``, ``addmm``, convolutions) cast their inputs to
  bfloat16 and return bfloat16; on CPUs with AVX-512 BF16 or AMX, and on GPUs, they run on the
  bf16 units (bf16 inputs, fp32 accumulation inside the kernel);
- losses on torch's fp32 list (``mse_loss``, ``kl_div``, ``cross_entropy``, ``nll_loss``,
  ``cdist``, ...) cast their inputs to float32 and return float32;
- every other op (ReLU, ``sum``, ``pow``; on CPU also ``softmax`` and ``norm``) runs in its inputs'
  dtype, and an op mixing a bf16 activation with an fp32 tensor (e.g. the embedding minus the fp32
  centroids in DEC's soft assignment) promotes to float32 by the usual type promotion.

In BRB's losses this means: all Linear layers in bf16, the reconstruction MSE and the KL in fp32,
DEC's Student-t assignment in fp32 (the centroids are fp32). k-means' nearest-centroid labels
inside the loss are computed in the embedding's dtype (bf16).

Parameters, their gradients and the optimizer state stay float32: autocast casts copies of the
weights for each matmul, it never changes the model. So the update (Adam) is exactly the fp32 one,
only the gradients carry bf16 rounding (8 mantissa bits, ~3 significant digits) from the matmuls.

Why losses stay fp32: a loss is a sum over the batch (and over 784 pixels for the reconstruction);
in bfloat16 a running sum stops growing once its terms are below ~2^-9 of it, and the loss value
itself is resolved to only ~0.4 % (a reconstruction MSE near 0.01 in steps of 6e-5), too coarse to
follow late training or to compare runs. Loss, its gradient seed and the parameters' gradients in
fp32 confine the bf16 rounding to the matmul operands. No gradient scaler is needed: bf16 has
fp32's exponent range (unlike fp16).

In your own loop (three changes: the optimizer, the autocast block, nothing else)::

    opt = precision.adam(model.parameters(), lr=1e-3)           # fused Adam where torch has it
    with precision.autocast(x.device, "bf16"):                    # forward and loss only
        loss = loss_fn(model, xb)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()  # backward/step outside autocast

Evaluation (embedding all data for k-means and metrics) can stay fp32: it is a forward pass only
and the labels must not depend on rounding.

Adam implementations
--------------------
``torch.optim.Adam`` has three implementations of the same update: the single-tensor loop (one
Python-level sequence of ops per parameter; torch's default on CPU), ``foreach`` (multi-tensor
ops; torch's default on CUDA) and ``fused`` (one kernel for all parameters; CPU since torch 2.4).
:func:`adam` picks ``fused`` wherever torch supports it for the parameters' device and dtype; the
three agree to float rounding (``tests/test_precision.py``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

try:  # private helpers of torch.optim; without them "fused" is decided by torch at the first step
    from torch.utils._foreach_utils import _get_foreach_kernels_supported_devices, _get_fused_kernels_supported_devices
except ImportError:  # pragma: no cover - present in every torch this project locks
    _get_fused_kernels_supported_devices = _get_foreach_kernels_supported_devices = None

__all__ = ["PRECISIONS", "check_precision", "autocast", "fused_adam_unsupported", "adam", "adam_implementation"]

#: The precisions a run can use: plain float32, or bfloat16 autocast (CPU and CUDA).
PRECISIONS = ("fp32", "bf16")


def check_precision(name: object) -> str:
    """Return ``name`` if it is one of :data:`PRECISIONS`, else raise ValueError naming the valid ones."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {name!r} "
                         "(bf16 = bfloat16 autocast; fp16 is not offered: it needs a gradient scaler)")
    return name  # type: ignore[return-value]


def _device_type(device: torch.device | str) -> str:
    return torch.device(device).type


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """A context manager for the forward pass and loss under ``precision``.

    ``"fp32"`` gives a null context (nothing changes); ``"bf16"`` gives
    ``torch.autocast(device_type, dtype=torch.bfloat16)`` on ``"cpu"`` or ``"cuda"``.

    Parameters
    ----------
    device : torch.device or str
        Where the model runs (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a tensor's ``.device``).
    precision : {"fp32", "bf16"}
    """
    check_precision(precision)
    kind = _device_type(device)
    if precision == "fp32":
        return contextlib.nullcontext()
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"bf16 autocast is offered on 'cpu' and 'cuda', got device {str(device)!r}; "
                         "use precision='fp32' there")
    return torch.autocast(kind, dtype=torch.bfloat16)


def _params(params: Iterable[Any]) -> list[Any]:
    params = list(params)
    if not params:
        raise ValueError("adam() got an empty parameter list")
    return params


def _tensors(params: list[Any]) -> list[Tensor]:
    """The tensors of a parameter list or of a list of parameter groups (dicts with "params")."""
    out: list[Tensor] = []
    for p in params:
        if isinstance(p, dict):
            group = p["params"]
            out.extend([group] if isinstance(group, Tensor) else list(group))
        else:
            out.append(p)
    return out


def _fused_devices() -> list[str] | None:
    if _get_fused_kernels_supported_devices is None:  # pragma: no cover
        return None
    return list(_get_fused_kernels_supported_devices())


def fused_adam_unsupported(tensors: Iterable[Tensor]) -> str | None:
    """Why torch's fused Adam cannot update these tensors, or None when it can.

    Fused Adam needs floating-point tensors on a device type with fused kernels (CPU, CUDA, MPS, XPU
    in recent torch) and all on one device type.
    """
    tensors = list(tensors)
    devices = _fused_devices()
    if devices is None:
        return f"torch {torch.__version__} does not say which devices have fused optimizer kernels"
    kinds = sorted({t.device.type for t in tensors})
    bad = [k for k in kinds if k not in devices]
    if bad:
        return (f"torch {torch.__version__} has no fused Adam kernel for device type {bad[0]!r} "
                f"(fused kernels exist for {devices})")
    if len(kinds) > 1:
        return f"the parameters live on several device types {kinds}; fused Adam needs one"
    dtypes = sorted({str(t.dtype) for t in tensors if not torch.is_floating_point(t)})
    if dtypes:
        return f"fused Adam needs floating-point parameters, got {dtypes}"
    return None


def adam(params: Iterable[Any], *, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, fused: bool | None = None) -> torch.optim.Adam:
    """``torch.optim.Adam`` with the fused kernel where torch has one for the parameters' device.

    Parameters
    ----------
    params : iterable of Tensor or of parameter-group dicts
    lr, betas, eps, weight_decay : as ``torch.optim.Adam`` (L2 weight decay, not AdamW's)
    fused : bool or None, default None
        ``None``: fused when :func:`fused_adam_unsupported` finds no reason against it, else torch's
        default implementation (for-each on CUDA, the single-tensor loop on CPU).
        ``True``: fused, or ValueError with the reason it is not possible here.
        ``False``: torch's default implementation (what ``torch.optim.Adam(...)`` gives).

    All three give the same update up to float rounding; see :func:`adam_implementation` for which
    one an optimizer uses.
    """
    params = _params(params)
    reason = fused_adam_unsupported(_tensors(params)) if fused is not False else None
    if fused is True and reason is not None:
        raise ValueError(f"fused=True is not possible here: {reason}; pass fused=None to fall back")
    use_fused = fused is not False and reason is None
    kwargs: dict[str, Any] = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
    if use_fused:
        kwargs["fused"] = True
    opt = torch.optim.Adam(params, **kwargs)
    opt.fused_fallback_reason = reason  # type: ignore[attr-defined]  # why not fused (None when fused or asked not)
    return opt


def adam_implementation(optimizer: torch.optim.Optimizer) -> str:
    """``"fused"``, ``"foreach"`` or ``"single-tensor"``: what ``optimizer.step()`` runs for its first group."""
    group = optimizer.param_groups[0]
    if group.get("fused"):
        return "fused"
    foreach = group.get("foreach")
    if foreach is None:  # torch's own default: for-each where it has multi-tensor kernels (CUDA), else the loop
        kinds = {p.device.type for p in group["params"]}
        foreach = _get_foreach_kernels_supported_devices is not None and all(
            k in _get_foreach_kernels_supported_devices() for k in kinds)
    return "foreach" if foreach else "single-tensor"
