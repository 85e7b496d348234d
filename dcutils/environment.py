"""The machine environment of a run: library versions, hardware, threads, precision, commit.

:func:`describe` returns a JSON-serialisable dict that run records store
next to their results (it is not part of a run's key): two runs of one
config that disagree can then be traced to a different torch, a GPU instead
of a CPU, another thread count or uncommitted code.

The parts that do not change while a process runs (versions, platform, CPU
model, GPU name) are computed once and cached; the torch intra-op thread
count is read on every call, because ``torch.set_num_threads`` may change it
at any time. The git commit and whether the work tree is dirty are read once,
on the first call (a process runs the code it imported, not what is
committed later), each with a 2 s timeout, and are None where git or the
repository is unavailable.

This module imports nothing from ``dcutils`` except :mod:`dcutils.paths`, so
any module may use it.
"""
from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from typing import Any

import torch

from dcutils import paths

__all__ = ["describe", "FIELDS"]

#: Keys of :func:`describe`'s dict, in order.
FIELDS = (
    "python", "torch", "numpy", "scikit-learn", "pandas",
    "os", "machine", "cpu", "cpu_count", "threads",
    "device", "gpu", "cuda", "cudnn", "precision",
    "git_commit", "dirty",
)

_GIT_TIMEOUT_S = 2.0


def _version(distribution: str) -> str | None:
    """Installed version of a distribution (``"scikit-learn"``), None when absent."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    """``model name`` of /proc/cpuinfo when present, else ``platform.processor()`` (None if empty)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _git(*args: str) -> str | None:
    """Output of ``git <args>`` in the repository root, None on any failure or after 2 s."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args], cwd=paths.ROOT, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False,
            env=env,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    """Everything read once per process: versions, platform, CPU, CUDA build, git state."""
    commit = _git("rev-parse", "HEAD")
    # --no-optional-locks: never take .git/index.lock, which would make a concurrent commit fail
    status = _git("--no-optional-locks", "status", "--porcelain") if commit is not None else None
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": _version("numpy"),
        "scikit-learn": _version("scikit-learn"),
        "pandas": _version("pandas"),
        "os": f"{platform.system()} {platform.release()}".strip(),
        "machine": platform.machine() or None,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cuda": torch.version.cuda,
        "cudnn": int(cudnn) if cudnn is not None else None,
        "git_commit": (commit.strip() or None) if commit is not None else None,
        "dirty": bool(status.strip()) if status is not None else None,
    }


@lru_cache(maxsize=16)
def _gpu_name(index: int) -> str:
    return torch.cuda.get_device_name(index)


def device_label(device: str | torch.device = "cpu") -> str:
    """``"<type> (<model>)"``: the kind of device, e.g. ``"cuda (NVIDIA H200)"`` or ``"cpu (AMD EPYC 9R14)"``.

    What ``make bench`` files its measurements under and ``make status`` looks them up by.
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"cuda ({_gpu_name(dev.index or 0)})"
    return f"{dev.type} ({_cpu_model() or 'unknown model'})"


def describe(device: str | torch.device = "cpu", precision: str = "float32") -> dict[str, Any]:
    """The environment a run on ``device`` with ``precision`` ran in.

    Parameters
    ----------
    device : str or torch.device
        The run's device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).
    precision : str
        The dtype policy of the run, e.g. ``"float32"`` or
        ``"float32, TF32 matmul"``; stored as given.

    Returns
    -------
    dict
        JSON-serialisable, keys :data:`FIELDS`: ``python``, ``torch``,
        ``numpy``, ``scikit-learn``, ``pandas`` (version strings, None when
        a package is absent), ``os`` (system and release), ``machine``
        (e.g. ``"x86_64"``), ``cpu`` (model name), ``cpu_count``,
        ``threads`` (``torch.get_num_threads()`` now), ``device`` (str),
        ``gpu`` (name of the CUDA device, None for any other device),
        ``cuda`` / ``cudnn`` (the versions torch was built with, None when
        absent), ``precision``, ``git_commit`` (HEAD of the repository, None
        when git is unavailable) and ``dirty`` (whether ``git status
        --porcelain`` lists anything; None when unknown).

    Raises
    ------
    TypeError
        ``precision`` is not a string.
    ValueError
        ``device`` is not a valid torch device string.
    RuntimeError
        ``device`` is a CUDA device that this machine does not have.
    """
    if not isinstance(precision, str) or not precision:
        raise TypeError(f"precision must be a non-empty string such as 'float32', got {precision!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be a torch device or a string such as 'cpu' or 'cuda:0', "
                         f"got {device!r} ({err})") from err
    gpu = None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {str(dev)!r} was given, but torch sees no CUDA device here; "
                               "describe the device the run actually used")
        gpu = _gpu_name(dev.index if dev.index is not None else torch.cuda.current_device())
    static = _static()
    info = {
        **static,
        "threads": torch.get_num_threads(),
        "device": str(dev),
        "gpu": gpu,
        "precision": precision,
    }
    return {key: info[key] for key in FIELDS}
