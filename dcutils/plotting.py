"""Shared plotting helpers: one style, mean ± SE bands, substitute-data notes, hidden-series check.

Paper-specific figures live in :mod:`dcutils.brb.plots` and
:mod:`dcutils.rdc.plots`; they build on these helpers so every figure of the
companion looks alike and marks substituted data the same way.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D

from dcutils import claims

#: Colours of the BRB variants and R-DC methods, fixed so figures agree.
COLORS = {
    "plain": "#4c72b0", "none": "#4c72b0", "brb": "#c44e52", "recluster": "#55a868", "reset": "#8172b2",
    "perturb_only": "#dd8452", "gaussian": "#937860", "noise": "#da8bc3", "disentangled": "#8c8c8c",
    "rdc": "#c44e52", "dynae": "#4c72b0", "dec": "#55a868", "idec": "#8172b2", "ae_kmeans": "#8c8c8c",
    "p1p2p3": "#dd8452",
    "scan+sl": "#4c72b0", "sp": "#55a868", "sp*": "#8172b2", "ht": "#c44e52", "pi": "#dd8452",
}


def style() -> None:
    """The companion's matplotlib style (small, print-friendly)."""
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
        "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
    })


def color(name: str) -> str:
    """The fixed colour of a variant or method (grey for anything unknown)."""
    return COLORS.get(name, "#8c8c8c")


def mean_se_frame(frame: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Mean, standard error and count of ``value`` per group of ``by`` (NaNs dropped).

    Returns a DataFrame with the ``by`` columns, ``mean``, ``se`` (sample std
    / sqrt(n); 0 for a single value) and ``n``.
    """
    g = frame.dropna(subset=[value]).groupby(list(by), sort=True)[value]
    out = g.agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "n"})
    out["se"] = np.where(out["n"] > 1, out["std"] / np.sqrt(out["n"].clip(lower=1)), 0.0)
    return out.drop(columns="std")


#: Up to this many seeds a curve figure draws every seed (thin) under the mean instead of a ± SE band: an SE
#: from two or three values is too unreliable to draw as a band.
MAX_SEEDS_DRAWN = 3


def line_band(ax, frame: pd.DataFrame, x: str, y: str, *, label: str | None = None, color_name: str | None = None,
              units: str = "seed", line_color: str | None = None, **kwargs) -> None:
    """Mean over seeds of ``y`` against ``x``, drawn with seaborn from the tidy ``frame``.

    With 2 to :data:`MAX_SEEDS_DRAWN` seeds (column ``units``) each seed is a thin line under the mean
    (``sns.lineplot(units=..., estimator=None)``), with more the mean gets a ± SE band
    (``errorbar="se"``); one seed is its own mean (one line). Axis labels stay the caller's. ``line_color``: a
    matplotlib colour instead of a named one (``color_name``).
    """
    c = line_color or (color(color_name) if color_name else None)
    cols = [x, y] + ([units] if units in frame else [])
    data = frame[cols].dropna(subset=[y])
    n_seeds = data[units].nunique() if units in data else 0
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    if 1 < n_seeds <= MAX_SEEDS_DRAWN:
        sns.lineplot(data=data, x=x, y=y, units=units, estimator=None, color=c, lw=0.6, alpha=0.45, zorder=1,
                     legend=False, ax=ax)
    band = "se" if n_seeds > MAX_SEEDS_DRAWN else None
    kwargs.setdefault("zorder", 2)
    sns.lineplot(data=data, x=x, y=y, estimator="mean", errorbar=band, color=c, label=label, legend=False,
                 err_kws={"alpha": 0.2, "lw": 0}, ax=ax, **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def bars(ax, data: pd.DataFrame, x: str, y: str, *, hue: str | None = None, order: Sequence | None = None,
         hue_order: Sequence | None = None, palette=None, color: str | None = None) -> None:
    """Bars of the mean of ``y`` per ``x`` (and ``hue``), drawn with ``sns.barplot`` from the tidy ``data``.

    Each bar averages the rows of its group (seeds, or seeds × methods). With 2 to :data:`MAX_SEEDS_DRAWN`
    rows in the largest group every value is a dot on its bar (``sns.stripplot``) and there is no error
    bar -- an SE from two or three values is too unreliable to draw -- and the axes get one legend entry,
    "one run"; with more the bars carry ± SE error bars. Groups of ``order`` / ``hue_order`` without data keep
    their empty slot. Axis labels stay the caller's; no legend is drawn (use :func:`legend_outside`).
    """
    data = data.dropna(subset=[y])
    keys = [c for c in (x, hue) if c is not None]
    n = int(data.groupby(keys).size().max()) if len(data) else 0
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    ax.set_axisbelow(True)  # grid lines behind the bars
    common = {"data": data, "x": x, "y": y, "hue": hue, "order": order, "hue_order": hue_order, "ax": ax}
    # dodge explicitly: seaborn's "auto" stops dodging where a slot has one hue level only, which moves bars
    # off the positions the callers' paper ticks use
    dodge = hue not in (None, x)
    sns.barplot(**common, palette=palette, color=color, dodge=dodge, errorbar="se" if n > MAX_SEEDS_DRAWN else None,
                capsize=0.1, err_kws={"linewidth": 1}, legend=hue is not None, zorder=1)
    if ax.get_legend() is not None:  # the caller collects labels with legend_outside
        ax.get_legend().remove()
    if 1 < n <= MAX_SEEDS_DRAWN:
        levels = list(hue_order) if hue_order is not None else (list(data[hue].unique()) if hue else [])
        dots = {"palette": {h: "0.2" for h in levels}} if hue else {"color": "0.2"}
        state = np.random.get_state()  # seaborn jitters with NumPy's global generator: seed it, so a figure
        np.random.seed(0)  # redrawn from the same runs is the same picture, and leave the caller's state alone
        try:
            sns.stripplot(**common, dodge=dodge, jitter=0.08, size=3, legend=False, zorder=4, **dots)
        finally:
            np.random.set_state(state)
        ax.scatter([], [], color="0.2", s=9, label="one run (seed)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def paired_differences(ax, rows: Sequence[tuple[str, pd.Series]], *, xlabel: str = "paired difference") -> None:
    """One line per comparison: each seed's paired difference (grey dots) and their mean ± 2 SE (red diamond).

    ``rows``: ``(label, diffs)`` with ``diffs`` the per-seed differences ``a − b`` (NaNs dropped), in the unit
    the axis should show. The 2-SE bar is the verdict rule of :func:`dcutils.claims.direction`: a bar clear of
    the zero line is "ahead" or "behind", one that crosses it "inconclusive"; with one pair there is no bar.
    Small differences stay visible where bars from zero would hide them. Labels read top to bottom in order.
    """
    labelled = False  # the legend entries go with the first comparison that has data
    for i, (_, diffs) in enumerate(rows):
        d = pd.Series(diffs, dtype=float).dropna().to_numpy()
        if not len(d):
            continue
        mean, se, _ = claims.mean_se(d)
        ax.plot(d, np.full(len(d), i), "o", ms=4, color="0.6", zorder=2,
                label=None if labelled else "one seed's difference")
        ax.errorbar(mean, i, xerr=claims.THRESHOLD_SE * se, fmt="D", color="C3", ms=6, capsize=3, zorder=3,
                    label=None if labelled else "mean ± 2 SE")
        labelled = True
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
    ax.set_xlabel(xlabel)


def legend_outside(fig, fontsize: float = 7) -> None:
    """One legend for the whole figure, right of its panels, off the data: every labelled artist of every axes,
    each label once, in drawing order. Call after ``tight_layout`` (the figure is saved with
    ``bbox_inches="tight"``, which takes the legend in)."""
    handles, labels = [], []
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=fontsize,
                   frameon=False)


def mark_substitute(fig, text: str | None) -> None:
    """State a substituted or reduced data set on the figure itself (top left, red)."""
    if text:
        # about 17 characters of 7-pt text per inch; the right quarter stays free for mark_profile
        width_chars = max(40, int(fig.get_figwidth() * 17 * 0.72))
        fig.text(0.005, 1.0, textwrap.fill(text, width_chars), fontsize=7, color="#b22222", ha="left",
                 va="bottom")


def mark_profile(fig, profile: str, detail: str = "") -> None:
    """State the profile (and e.g. epochs / seeds) above the figure's top right corner, clear of the title
    (:func:`mark_substitute` leaves that corner free)."""
    fig.text(0.995, 1.0, f"profile {profile}" + (f" · {detail}" if detail else ""), fontsize=7, color="0.35",
             ha="right", va="bottom")


def _series(artist) -> np.ndarray | None:
    """The (x, y) points an artist draws in data coordinates, finite points only: a Line2D with at least 2 of
    them or a scatter (PathCollection) with at least 1; None for anything else, including reference lines
    across the axes (``axvline``, ``axhline``: not in data coordinates, they mark a value, not a series)."""
    data = artist.axes.transData if artist.axes is not None else None
    if isinstance(artist, Line2D) and artist.get_transform() is data:
        xy, least = np.asarray(artist.get_xydata(), dtype=float), 2
    elif isinstance(artist, PathCollection) and artist.get_offset_transform() is data:
        xy, least = np.asarray(artist.get_offsets(), dtype=float), 1
    else:
        return None
    xy = xy.reshape(-1, 2) if xy.size else np.empty((0, 2))
    xy = xy[np.isfinite(xy).all(axis=1)]
    return xy if len(xy) >= least else None


def _name(artist, ax) -> str:
    label = artist.get_label()
    what = "scatter" if isinstance(artist, PathCollection) else "line"
    named = f"{what} {label!r}" if label and not label.startswith("_") else f"an unlabelled {what}"
    title = ax.get_title()
    return named + (f" in axes {title!r}" if title else "")


def identical_series(fig) -> list[tuple]:
    """Pairs of plotted series of ``fig`` that draw the same data in the same axes, so one hides the other.

    A series is a Line2D with at least two finite points or a scatter (PathCollection) with at least one, in
    data coordinates (a repeated ``axvline`` marking the same epoch is not a series); two are identical when
    they are of the same kind and their finite (x, y) points are equal, in order. Returns
    ``[(artist_a, artist_b), ...]``; empty when every series is distinct.
    """
    pairs = []
    for ax in fig.get_axes():
        drawn = [(a, xy) for a in [*ax.lines, *ax.collections] if (xy := _series(a)) is not None]
        for i, (a, xa) in enumerate(drawn):
            for b, xb in drawn[i + 1:]:
                if type(a) is type(b) and xa.shape == xb.shape and np.array_equal(xa, xb):
                    pairs.append((a, b))
    return pairs


def describe_identical(fig) -> list[str]:
    """One line per pair of :func:`identical_series`, naming both series and their axes."""
    out = []
    for a, b in identical_series(fig):
        ax = a.axes
        out.append(f"{_name(a, ax)} and {_name(b, ax).split(' in axes ')[0]} draw the same "
                   f"{len(_series(a))} points")
    return out
