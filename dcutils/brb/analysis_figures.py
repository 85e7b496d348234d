"""The figures of BRB's analysis items (issue 13), from cached runs (every ``plot_*`` function).

Per cell the final values and the item's comparisons as paired differences (:func:`plot_cells`), per-epoch
curves (:func:`plot_cell_curves`), Figures 8 / 9's sensitivity bars (:func:`plot_sensitivity`) and Figures
3 / 13's embedding before and after a BRB step (:func:`plot_embedding`). The frames they draw are in
:mod:`dcutils.brb.analysis_frames`, the comparisons in :mod:`dcutils.brb.analysis_verdicts`.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from dcutils import plotting
from dcutils.brb.analysis_frames import (
    _color,
    _key,
    _labels,
    _row_name,
    _rows,
    _scale,
    _series,
    cell_finals,
    cell_history,
    embedding_snapshots,
)
from dcutils.brb.analysis_settings import FIG13_CLASSES, PAPER_LRS
from dcutils.brb.analysis_verdicts import ITEM_COMPARISONS, NAMES
from dcutils.brb.plots import METRIC_NAME, PERCENT_METRICS, _display, _mark_steps
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# the cells: final values and comparisons, per-epoch curves, sensitivity (Figures 8 and 9)


def left_out_figure(settings):
    """The figure of an item that runs no cell at this profile: a panel that says so and what the paper profile
    runs (the item's ``left_out``), so the notebook still saves a stamped output."""
    plotting.style()
    fig, ax = plt.subplots(figsize=(6.0, 1.8))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{settings.item}: no cell runs at profile {settings.profile}.\nLeft to the paper profile "
            f"(make figures PROFILE=paper):\n{settings.get('left_out') or 'every cell'}", ha="center", va="center",
            wrap=True, fontsize=8, transform=ax.transAxes)
    return fig


def plot_cells(runset: RunSet, settings, metrics: Sequence[str] = ("acc",)):
    """Per row (columns: metrics): each cell's final mean (bar) with every seed a dot up to three seeds, ± SE
    beyond (:func:`dcutils.plotting.bars`); a last column draws the item's comparisons in that row as paired
    differences over seeds, mean ± 2 SE (:func:`dcutils.plotting.paired_differences`), where a one-point
    difference that bars from zero hide is visible, and the 2-SE bar crossing zero reads "inconclusive"."""
    runs = cell_finals(runset, settings)
    rows = _rows(settings)
    if not rows:
        return left_out_figure(settings)
    claims = ITEM_COMPARISONS.get(settings.item, [])
    plotting.style()
    labels = _labels(settings)
    extra = 1 if claims else 0
    fig, axes = plt.subplots(len(rows), len(metrics) + extra,
                             figsize=(0.9 * len(labels) + 2.4 * len(metrics) + 3.4 * extra, 2.6 * len(rows) + 0.4),
                             squeeze=False, width_ratios=[1] * len(metrics) + [1.3] * extra)
    for i, key in enumerate(rows):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            here = [c["label"] for c in settings["cells"] if _key(c) == key]
            tidy = pd.DataFrame([{"label": label, "value": v} for label in here
                                 for v in ((_series(runs, key, label, metric) * _scale(metric)).dropna()
                                           if len(runs) else [])], columns=["label", "value"])
            plotting.bars(ax, tidy, "label", "value", hue="label", order=here, hue_order=here,
                          palette={label: _color(settings, label) for label in here})
            ax.set_xticks(range(len(here)), [lb.replace(", ", ",\n") for lb in here], fontsize=7, rotation=20,
                          ha="right")
            unit = " (%)" if metric in PERCENT_METRICS else ""
            ax.set_ylabel(NAMES.get(metric, metric) + unit)
            ax.set_title(_row_name(*key), fontsize=8)
        if extra:
            ax = axes[i, -1]
            pairs = [(c.label().replace(", ", "\n"), (_series(runs, key, c.a, c.metric)
                                                      - _series(runs, key, c.b, c.metric)) * _scale(c.metric)
                      if len(runs) else pd.Series(dtype=float))
                     # one line per difference: two claims about the same a − b (other rows) share it
                     for c in {(c.a, c.b, c.metric): c for c in claims if c.applies(key[0], key[1])}.values()]
            unit = " (points)" if all(c.metric in PERCENT_METRICS for c in claims) else ""
            plotting.paired_differences(ax, pairs, xlabel="paired difference" + unit)
            ax.set_title(f"{_row_name(*key)}: a − b per seed", fontsize=8)
    fig.tight_layout()
    if extra:
        plotting.legend_outside(fig)
    return fig


def plot_cell_curves(runset: RunSet, settings, metrics: Sequence[str]):
    """Per-epoch curves of ``metrics`` (columns) per row (rows), one line per cell (per seed when few seeds)."""
    h = cell_history(runset, settings)
    rows = _rows(settings)
    if not rows:
        return left_out_figure(settings)
    plotting.style()
    fig, axes = plt.subplots(len(rows), len(metrics), figsize=(3.2 * len(metrics), 2.5 * len(rows) + 0.4),
                             squeeze=False)
    for i, key in enumerate(rows):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            for label in [c["label"] for c in settings["cells"] if _key(c) == key]:
                sub = h[(h["dataset"] == key[0]) & (h["method"] == key[1]) & (h["pretrain"] == key[2])
                        & (h["label"] == label)] if len(h) else h
                if len(sub):
                    plotting.line_band(ax, sub.assign(value=sub[metric] * _scale(metric)), "epoch", "value",
                                       label=label, line_color=_color(settings, label))
            if len(h):
                first = h[(h["dataset"] == key[0]) & h["brb"].astype(bool)]
                _mark_steps(ax, sorted({int(e) - 1 for e in first["epoch"]}))
            ax.set_title(f"{_display(key[0])}: {METRIC_NAME.get(metric, metric)}", fontsize=8)
            ax.set_xlabel("clustering epoch")
            ax.set_ylabel(METRIC_NAME.get(metric, metric) + (" (%)" if metric in PERCENT_METRICS else ""))
    fig.tight_layout()
    plotting.legend_outside(fig)  # right of the panels, off the data
    return fig


def plot_sensitivity(runset: RunSet, settings, metric: str = "acc"):
    """Figures 8 / 9 as the paper draws them: per data set (rows) and reset interval T (columns), the final
    ``metric`` per reset strength α (x) with one bar per learning rate, mean over seeds and methods (the paper
    averages 5 seeds × DEC, IDEC, DCN), ± SE over those runs; only the (lr, T, α) cells that ran are drawn."""
    runs = cell_finals(runset, settings)
    plotting.style()
    datasets = sorted(runs["dataset"].unique()) if len(runs) else []
    intervals = sorted(runs["T"].unique()) if len(runs) else []
    fig, axes = plt.subplots(max(1, len(datasets)), max(1, len(intervals)),
                             figsize=(3.4 * max(1, len(intervals)), 2.7 * max(1, len(datasets)) + 0.4), squeeze=False)
    lrs = sorted(runs["lr"].unique(), reverse=True) if len(runs) else []
    # one colour per learning rate in every panel and figure
    palette = {f"lr {lr:g}": f"C{PAPER_LRS.index(lr)}" if lr in PAPER_LRS else f"C{4 + k}" for k, lr in enumerate(lrs)}
    for i, d in enumerate(datasets):
        for j, t in enumerate(intervals):
            ax = axes[i, j]
            here = runs[(runs["dataset"] == d) & (runs["T"] == t)]
            alphas = sorted(here["alpha"].unique())
            tidy = here.assign(a=[f"α {a:g}" for a in here["alpha"]], rate=[f"lr {lr:g}" for lr in here["lr"]],
                               value=here[metric] * _scale(metric))
            plotting.bars(ax, tidy, "a", "value", hue="rate", order=[f"α {a:g}" for a in alphas],
                          hue_order=[f"lr {lr:g}" for lr in lrs], palette=palette)
            ax.set_xlabel("")
            ax.set_title(f"{_display(d)}, T = {t} epochs", fontsize=8)
            ax.set_ylabel(METRIC_NAME.get(metric, metric) + (" (%)" if metric in PERCENT_METRICS else ""))
    fig.tight_layout()
    plotting.legend_outside(fig)
    return fig


# ----------------------------------------------------------------------------
# Figures 3 and 13: a 2-D embedding before and after a BRB step


def _voronoi(ax, centroids: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([xs.ravel(), ys.ravel()], 1)
    cell = ((grid[:, None] - centroids[None]) ** 2).sum(-1).argmin(1).reshape(xs.shape)
    ax.contourf(xs, ys, cell, levels=np.arange(len(centroids) + 1) - 0.5, cmap="Pastel2", alpha=0.55, zorder=0)
    ax.contour(xs, ys, cell, levels=np.arange(len(centroids)) + 0.5, colors="0.35", linewidths=0.6, zorder=1)


def embedding_figure(runset: RunSet, settings):
    """Figures 3 / 13: :func:`plot_embedding` of the first run that recorded its embedding around a BRB step, or
    :func:`left_out_figure` when no run here did."""
    snaps = embedding_snapshots(runset)
    return plot_embedding(snaps[0]) if snaps else left_out_figure(settings)


def plot_embedding(run, *, max_points: int = 2_000):
    """Before / after the recorded BRB step: the embedding (points coloured by true class), the centroids
    (black crosses) and their Voronoi cells (nearest-centroid regions, what DEC's hard assignment follows);
    the new centroids are matched to the old ones, so a cell has the same colour in both panels."""
    a = run.arrays
    plotting.style()
    fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.6))
    rng = np.random.default_rng(0)
    y = a["labels_true"]
    idx = rng.choice(len(y), size=min(max_points, len(y)), replace=False)
    # k-means renumbers the centroids at the step: match each new one to an old one (least total distance), so
    # a cell keeps its colour across the two panels
    gaps = np.linalg.norm(a["centroids_before"][:, None] - a["centroids_after"][None], axis=-1)
    _, match = linear_sum_assignment(gaps)
    for ax, when in zip(axes, ("before", "after")):
        z, c = a[f"embedding_{when}"], a[f"centroids_{when}"]
        c = c[match] if when == "after" else c
        pts = np.concatenate([z[idx], c])
        pad = 0.05 * (pts.max(0) - pts.min(0) + 1e-9)
        lo, hi = pts.min(0) - pad, pts.max(0) + pad
        _voronoi(ax, c, lo, hi)
        classes = run.meta.get("classes", FIG13_CLASSES)
        for k in np.unique(y):
            sel = idx[y[idx] == k]
            ax.scatter(z[sel, 0], z[sel, 1], s=3, alpha=0.6, color=f"C{int(k)}", label=f"digit {classes[int(k)]}",
                       zorder=2)
        ax.scatter(c[:, 0], c[:, 1], marker="X", s=70, color="k", edgecolor="w", zorder=3, label="centroid")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_title(f"{when} the BRB step at epoch {run.meta.get('ratio_epoch', '?')} (seed {run.config.seed})",
                     fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False,
               markerscale=2)
    return fig
