"""Shared plotting helpers: one style, mean ± SE bands, substitute-data notes.

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

#: Colours of the BRB variants and R-DC methods, fixed so figures agree.
COLORS = {
    "plain": "#4c72b0", "none": "#4c72b0", "brb": "#c44e52", "recluster": "#55a868", "reset": "#8172b2",
    "perturb_only": "#dd8452", "gaussian": "#937860", "noise": "#da8bc3", "disentangled": "#8c8c8c",
    "rdc": "#c44e52", "dynae": "#4c72b0", "dec": "#55a868", "idec": "#8172b2", "ae_kmeans": "#8c8c8c",
    "p1p2p3": "#dd8452",
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
              units: str = "seed", **kwargs) -> None:
    """Mean over seeds of ``y`` against ``x``: with at most :data:`MAX_SEEDS_DRAWN` seeds (column ``units``)
    each seed as a thin line under the mean, with more a ± SE band."""
    stats = mean_se_frame(frame, [x], y)
    c = color(color_name) if color_name else None
    seeds = frame[units].dropna().unique() if units in frame else []
    if 0 < len(seeds) <= MAX_SEEDS_DRAWN:
        for seed in seeds:
            one = frame[frame[units] == seed].sort_values(x)
            ax.plot(one[x], one[y], color=c, lw=0.6, alpha=0.45, zorder=1)
        ax.plot(stats[x], stats["mean"], label=label, color=c, zorder=2, **kwargs)
        return
    ax.plot(stats[x], stats["mean"], label=label, color=c, **kwargs)
    ax.fill_between(stats[x], stats["mean"] - stats["se"], stats["mean"] + stats["se"], color=c, alpha=0.2, lw=0)


def mark_substitute(fig, text: str | None) -> None:
    """State a substituted or reduced data set on the figure itself (top left, red)."""
    if text:
        width_chars = max(50, int(fig.get_figwidth() * 17))  # about 17 characters of 7-pt text per inch
        fig.text(0.005, 1.0, textwrap.fill(text, width_chars), fontsize=7, color="#b22222", ha="left",
                 va="bottom")


def mark_profile(fig, profile: str, detail: str = "") -> None:
    """State the profile (and e.g. epochs / seeds) in the figure's top right corner."""
    fig.text(0.995, 0.995, f"profile {profile}" + (f" · {detail}" if detail else ""), fontsize=7, color="0.35",
             ha="right", va="top")
