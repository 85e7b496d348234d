"""Shared plotting helpers: honest uncertainty for few seeds."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

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


def _finals(n_seeds: int) -> pd.DataFrame:
    return pd.DataFrame([{"seed": s, "dataset": d, "variant": v, "acc": 50 + 10 * (v == "brb") + s}
                         for s in range(n_seeds) for d in ("usps", "mnist") for v in ("plain", "brb")])


def _dots(ax) -> np.ndarray:
    return np.concatenate([c.get_offsets()[:, 1] for c in ax.collections
                           if isinstance(c, PathCollection) and len(c.get_offsets())] or [np.empty(0)])


def test_bars_of_few_seeds_show_each_seed_as_a_dot_and_no_error_bar():
    fig, ax = plt.subplots()
    plotting.bars(ax, _finals(3), "dataset", "acc", hue="variant", order=["usps", "mnist", "kmnist"],
                  hue_order=["plain", "brb"], palette={"plain": "C0", "brb": "C1"})
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_height() > 0)
    assert heights == [51.0, 51.0, 61.0, 61.0]  # the means; kmnist keeps its empty slot
    assert sorted(_dots(ax)) == sorted(_finals(3)["acc"])  # every seed's value is drawn
    assert not ax.lines  # no error bars
    assert "one run (seed)" in ax.get_legend_handles_labels()[1]
    plt.close(fig)


def test_bars_of_more_seeds_get_standard_error_bars_and_no_dots():
    fig, ax = plt.subplots()
    plotting.bars(ax, _finals(5), "dataset", "acc", hue="variant", hue_order=["plain", "brb"],
                  palette={"plain": "C0", "brb": "C1"})
    se = np.std(np.arange(5), ddof=1) / np.sqrt(5)
    spans = [np.nanmax(line.get_ydata()) - np.nanmin(line.get_ydata()) for line in ax.lines]  # bar with caps
    assert len(spans) == 4 and all(abs(span / 2 - se) < 1e-9 for span in spans)
    assert _dots(ax).size == 0
    plt.close(fig)


def test_bars_keep_each_hue_level_at_its_place_where_a_slot_has_one_level_only():
    frame = pd.DataFrame({"dataset": ["usps", "mnist"], "variant": ["plain", "brb"], "acc": [50.0, 60.0]})
    fig, ax = plt.subplots()
    plotting.bars(ax, frame, "dataset", "acc", hue="variant", order=["usps", "mnist"], hue_order=["plain", "brb"],
                  palette={"plain": "C0", "brb": "C1"})
    centres = sorted(round(p.get_x() + p.get_width() / 2, 6) for p in ax.patches if p.get_height() > 0)
    assert centres == [-0.2, 1.2]  # where callers draw the paper's ticks for (usps, plain) and (mnist, brb)
    plt.close(fig)


def test_paired_differences_draw_every_seed_and_the_mean_with_two_standard_errors():
    diffs = pd.Series([-1.0, -2.0, 0.0, -1.5], index=[0, 1, 2, 3])
    fig, ax = plt.subplots()
    plotting.paired_differences(ax, [("a − b", diffs), ("c − b", pd.Series([np.nan, 3.0]))])
    dots = ax.lines[0]
    assert sorted(dots.get_xdata()) == sorted(diffs) and set(dots.get_ydata()) == {0}
    mean_marker = next(line for line in ax.lines if line.get_marker() == "D")
    assert mean_marker.get_xdata()[0] == pytest.approx(diffs.mean())
    bar = ax.collections[0].get_segments()[0]  # the first comparison's error bar
    assert bar[1][0] - bar[0][0] == pytest.approx(4 * diffs.std(ddof=1) / 2)  # ± 2 SE, SE = sd / sqrt(4)
    # the second comparison: its NaN is dropped, one pair left, so a dot and a mean but no spread
    dots, means = ([line for line in ax.lines if line.get_marker() == m] for m in ("o", "D"))
    assert list(dots[1].get_xdata()) == [3.0] and list(means[1].get_xdata()) == [3.0]
    bar = ax.collections[1].get_segments()[0]
    assert bar[1][0] == bar[0][0] == 3.0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a − b", "c − b"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first comparison on top
    plt.close(fig)
    fig, ax = plt.subplots()  # a comparison without data keeps its line, the legend goes with the next one
    plotting.paired_differences(ax, [("a − b", pd.Series(dtype=float)), ("c − b", pd.Series([1.0, 2.0]))])
    assert ax.get_legend_handles_labels()[1] == ["one seed's difference", "mean ± 2 SE"]
    assert len(ax.get_yticks()) == 2 and set(ax.lines[0].get_ydata()) == {1}
    plt.close(fig)


def test_bars_draw_the_same_dots_twice_and_leave_numpys_generator_alone():
    """The dots' horizontal jitter is seeded: the same runs redraw the same figure (no byte drift between
    regenerations), and the caller's global NumPy state is what it was."""
    def xs():
        fig, ax = plt.subplots()
        plotting.bars(ax, _finals(3), "dataset", "acc", hue="variant", order=["usps", "mnist"],
                      hue_order=["plain", "brb"], palette={"plain": "C0", "brb": "C1"})
        out = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections
                              if isinstance(c, PathCollection) and len(c.get_offsets())])
        plt.close(fig)
        return out

    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    first = xs()
    assert np.random.random() == expected_next
    assert np.array_equal(first, xs())
