"""ReSL's figures from the runs' tidy frames (the layer above the runs and settings).

:func:`curve_figure` draws per-epoch curves (one panel per column, one line per variant), and
:func:`heatmap_figure` a reset grid of mean ACC with each cell's difference to SCAN+SL. The frames they
draw come from :mod:`dcutils.resl.frames`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from dcutils import plotting
from dcutils.profiles import Settings
from dcutils.resl.frames import _substitute_note


def curve_figure(hist: pd.DataFrame, panels: list[tuple[str, str]], variants: list[str], *, settings: Settings,
                 title: str, vlines: list[int] | None = None, cells: dict[str, str] | None = None):
    """Per-epoch curves: one panel per (column, label), one line per variant (seeds drawn thin under the mean)."""
    plotting.style()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.8), squeeze=False)
    for ax, (col, label) in zip(axes[0], panels):
        for v in variants:
            sub = hist[hist["variant"] == v]
            if cells and cells.get(v):
                sub = sub[sub["cell"] == cells[v]]
            if sub.empty:
                continue
            frame = sub[["epoch", "seed", col]].assign(**{col: sub[col] * (1 if col == "cl_change" else 100)})
            shown = f"{v} ({cells[v]})" if cells and cells.get(v) else v
            plotting.line_band(ax, frame, "epoch", col, label=shown, color_name=v.lower())
        for e in vlines or []:
            ax.axvline(e, color="0.5", lw=0.6, ls=":")
        ax.set_xlabel("self-labeling epoch")
        ax.set_ylabel(label)
    fig.suptitle(title)
    plotting.mark_profile(fig, settings.profile, f"{len(hist['seed'].unique()) if len(hist) else 0} seed(s)")
    plotting.mark_substitute(fig, _substitute_note(settings))
    fig.tight_layout()
    plotting.legend_outside(fig)  # right of the panels, off the curves
    return fig


def heatmap_figure(grid: pd.DataFrame, scan: float, *, settings: Settings, title: str, xlabel: str, ylabel: str):
    """A grid of mean ACC (percent), drawn with ``sns.heatmap``, with each cell's number and its difference to
    SCAN+SL's mean; a cell that did not run stays blank."""
    plotting.style()
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    data = grid.to_numpy(dtype=float)
    notes = np.array([[f"{v:.1f}\n({v - scan:+.1f})" if np.isfinite(v) else "" for v in row] for row in data])
    sns.heatmap(pd.DataFrame(data, index=[f"{r:g}" for r in grid.index], columns=[f"{c:g}" for c in grid.columns]),
                annot=notes, fmt="", annot_kws={"fontsize": 7}, cmap="viridis", cbar_kws={"label": "ACC (%)"},
                linewidths=0.5, linecolor="w", ax=ax)
    ax.tick_params(axis="y", rotation=0)
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title + f"\n(SCAN+SL {scan:.1f}; in brackets: cell minus SCAN+SL)")
    plotting.mark_profile(fig, settings.profile)
    plotting.mark_substitute(fig, _substitute_note(settings))
    fig.tight_layout()
    return fig
