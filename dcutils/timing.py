"""Wall-clock timing of training phases, with GPU work counted where it happens.

One clock serves every training loop: :class:`Stopwatch` synchronises CUDA
before reading the time (so asynchronous kernels are charged to the phase that
launched them) and can pause, so evaluation inside a training phase is not
counted as training time::

    clock = Stopwatch(device)
    for epoch in range(epochs):
        train_one_epoch()
        with clock.paused():
            evaluate()
    clock.seconds()          # training seconds, evaluation excluded
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["Stopwatch"]


class Stopwatch:
    """Seconds since :meth:`reset`, minus the time spent inside :meth:`paused`.

    Parameters
    ----------
    device : the torch device whose work is timed (``"cuda..."`` synchronises
        before every reading; anything else reads the clock directly)
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.cuda = torch.device(device).type == "cuda"
        self.reset()

    def now(self) -> float:
        """``time.perf_counter()`` after the device finished its queued work."""
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def reset(self) -> None:
        """Start counting from now, with nothing paused."""
        self.t0, self.off = self.now(), 0.0

    def seconds(self) -> float:
        """Seconds since the last :meth:`reset`, paused time excluded."""
        return self.now() - self.t0 - self.off

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The ``with`` body is not counted."""
        t = self.now()
        try:
            yield
        finally:
            self.off += self.now() - t
