"""Shared plotting helpers: honest uncertainty for few seeds."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from dcutils import plotting  # noqa: E402


def _curves(n_seeds: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"seed": s, "epoch": e, "acc": e + rng.normal()} for s in range(n_seeds) for e in range(5)])


def test_few_seeds_are_drawn_one_by_one_under_their_mean_without_a_band():
    fig, ax = plt.subplots()
    frame = _curves(3)
    plotting.line_band(ax, frame, "epoch", "acc", label="mean")
    assert len(ax.lines) == 3 + 1 and not any(isinstance(c, PolyCollection) for c in ax.collections)
    mean = ax.lines[-1]
    assert mean.get_label() == "mean"
    np.testing.assert_allclose(mean.get_ydata(), frame.groupby("epoch")["acc"].mean().to_numpy())
    plt.close(fig)


def test_more_seeds_get_the_mean_and_a_standard_error_band():
    fig, ax = plt.subplots()
    plotting.line_band(ax, _curves(plotting.MAX_SEEDS_DRAWN + 2), "epoch", "acc")
    assert len(ax.lines) == 1 and sum(isinstance(c, PolyCollection) for c in ax.collections) == 1
    plt.close(fig)
