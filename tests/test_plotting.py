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


def test_one_seed_is_drawn_once():
    fig, ax = plt.subplots()
    plotting.line_band(ax, _curves(1), "epoch", "acc", label="mean")
    assert len(ax.lines) == 1 and ax.lines[0].get_label() == "mean"
    assert plotting.identical_series(fig) == []
    plt.close(fig)


def test_two_identical_lines_are_found_and_a_different_one_is_not():
    fig, (ax, other) = plt.subplots(1, 2)
    a, = ax.plot([0, 1, 2], [1.0, 2.0, 3.0], label="DEC")
    b, = ax.plot([0, 1, 2], [1.0, 2.0, 3.0], label="DEC+BRB")
    ax.plot([0, 1, 2], [1.0, 2.0, 3.5], label="IDEC")
    other.plot([0, 1, 2], [1.0, 2.0, 3.0])  # the same data in other axes hides nothing
    assert plotting.identical_series(fig) == [(a, b)]
    assert "'DEC' and line 'DEC+BRB'" in plotting.describe_identical(fig)[0]
    plt.close(fig)


def test_identical_scatters_are_found_and_empty_or_single_point_lines_are_not():
    fig, ax = plt.subplots()
    s1 = ax.scatter([0, 1], [2, 3])
    s2 = ax.scatter([0, 1], [2, 3])
    ax.scatter([0, 1], [2, 4])
    ax.plot([0], [1])
    ax.plot([0], [1])  # one point: a marker, not a series
    ax.plot([0, 1], [np.nan, np.nan])
    ax.plot([0, 1], [np.nan, np.nan])  # nothing drawn
    ax.axvline(3)
    ax.axvline(3)  # the same event marked twice (e.g. once per seed) hides no data
    assert plotting.identical_series(fig) == [(s1, s2)]
    plt.close(fig)
