"""The torch device that runs use.

CUDA when available, else CPU; ``DCUTILS_DEVICE`` (``cpu``, ``cuda``,
``cuda:1``) overrides the choice.
"""
from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """The device for data and models: ``$DCUTILS_DEVICE`` or CUDA if present."""
    name = os.environ.get("DCUTILS_DEVICE")
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"DCUTILS_DEVICE={name!r} asks for CUDA, but torch sees no GPU here. "
                "Unset DCUTILS_DEVICE or set it to 'cpu'."
            )
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch (CPU and CUDA) and return a CPU generator seeded alike."""
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)
