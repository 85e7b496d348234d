"""BRB's figures from cached runs: every ``plot_*`` function and the frames it draws.

Curves per epoch (Algorithm 1, Figures 1, 2, 6, 16 and 18), the two silhouettes (Figure 17), bars of final
values against the paper's (Figures 4 and 14), relative gains (Figures 5 and 15), the d1/d2 histogram
(Figure 7) and the deviations' paired differences; each draws in the companion's matplotlib style
(:func:`dcutils.plotting.style`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from dcutils import plotting
from dcutils.brb.grid_frames import METRIC_NAME, _display, algorithm_label, brb_epochs, finals, history, paper_cells
from dcutils.brb.grid_tables import _deviation_pair, deviations_table
from dcutils.brb.settings import DEVIATIONS, PAPER_DATASETS
from dcutils.runs import RunSet


def _new_figure(n_rows: int, n_cols: int, width: float = 3.2, height: float = 2.5):
    plotting.style()
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows + 0.4), squeeze=False)
    return fig, axes


def _mark_steps(ax, steps: Sequence[int]) -> None:
    for e in steps:
        ax.axvline(e, color="0.6", lw=0.6, ls=":", zorder=0)


def plot_curves(runset: RunSet, metrics: Sequence[str], *, method: str, pretrain: bool,
                variants: Sequence[str], datasets: Sequence[str] | None = None, scale: dict | None = None):
    """Per-epoch curves (per seed, or mean ± SE over seeds) of ``metrics`` (columns) per data set (rows), one line
    per variant.

    Dotted verticals mark the BRB steps. Epoch 0 is after the initial k-means. Where the paper's Tables 13-15
    give the cell's final value (ACC, NMI, ARI), a triangle in the variant's colour at the right edge marks it,
    so the end of each curve reads against the paper's end value. The legend sits right of the panels, off the data.
    """
    h = history(runset)
    h = h[(h["method"] == method) & (h["pretrain"] == pretrain) & h["variant"].isin(variants)]
    datasets = list(datasets or sorted(h["dataset"].unique()))
    scale = scale or {"acc": 100, "nmi": 100, "ari": 100}
    fig, axes = _new_figure(len(datasets), len(metrics))
    steps = brb_epochs(runset)
    marked = False
    for i, d in enumerate(datasets):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            for v in variants:
                sub = h[(h["dataset"] == d) & (h["variant"] == v)]
                sub = sub.assign(value=sub[metric] * scale.get(metric, 1))
                if len(sub):
                    plotting.line_band(ax, sub, "epoch", "value", label=algorithm_label(method, v, pretrain),
                                       color_name=v)
            here = h[h["dataset"] == d]
            if metric in ("acc", "nmi", "ari") and len(here):
                drawn = [v for v in variants if (here["variant"] == v).any()]
                marked |= _paper_end_marks(ax, metric, method, pretrain, d, drawn, float(here["epoch"].max()),
                                           labelled=not marked)
            _mark_steps(ax, steps)
            ax.set_title(f"{_display(d)}: {METRIC_NAME.get(metric, metric)}")
            ax.set_xlabel("clustering epoch")
    fig.tight_layout()
    plotting.legend_outside(fig)  # right of the panels, off the data
    return fig


def plot_silhouette_gap(runset: RunSet, *, method: str = "dcn", pretrain: bool = True,
                        variants: Sequence[str] = ("none", "brb"), datasets: Sequence[str] | None = None):
    """Figure 17 in one panel per data set: silhouette with the predicted clusters (solid) and with the true
    classes (dashed) per variant, so their gap reads directly; dotted verticals mark the BRB steps."""
    h = history(runset)
    h = h[(h["method"] == method) & (h["pretrain"] == pretrain) & h["variant"].isin(variants)]
    datasets = list(datasets or sorted(h["dataset"].unique()))
    fig, axes = _new_figure(len(datasets), 1, width=4.4)
    steps = brb_epochs(runset)
    for i, d in enumerate(datasets):
        ax = axes[i, 0]
        for v in variants:
            sub = h[(h["dataset"] == d) & (h["variant"] == v)]
            if not len(sub):
                continue
            name = algorithm_label(method, v, pretrain)
            plotting.line_band(ax, sub, "epoch", "silhouette_pred", label=f"{name}: predicted clusters",
                               color_name=v)
            plotting.line_band(ax, sub, "epoch", "silhouette", label=f"{name}: true classes", color_name=v,
                               ls="--")
        _mark_steps(ax, steps)
        ax.set_title(f"{_display(d)}: silhouette, predicted clusters vs true classes")
        ax.set_xlabel("clustering epoch")
        ax.set_ylabel("silhouette")
    fig.tight_layout()
    plotting.legend_outside(fig)  # right of the panels, off the data
    return fig


def _paper_end_marks(ax, metric: str, method: str, pretrain: bool, dataset: str, variants: Sequence[str],
                     x_end: float, *, labelled: bool) -> bool:
    """The paper's final values of (``method``, ``pretrain``, ``dataset``, variant) as left-pointing triangles just
    right of ``x_end``, in each variant's colour; True when any was drawn."""
    paper = paper_cells(metric)
    paper = paper[(paper["method"] == method) & (paper["pretrain"] == pretrain) & (paper["dataset"] == dataset)]
    drawn = False
    for v in variants:
        pv = paper[paper["variant"] == v]["paper"]
        if len(pv) and np.isfinite(float(pv.iloc[0])):
            ax.scatter([x_end * 1.03 + 1], [float(pv.iloc[0])], marker="<", s=36, color=plotting.color(v),
                       edgecolors="k", linewidths=0.6, zorder=4,
                       label="paper's final value (Tables 13-15)" if labelled and not drawn else None)
            drawn = True
    return drawn


def plot_variant_bars(runset: RunSet, metrics: Sequence[str], *, method: str, pretrain: bool,
                      datasets: Sequence[str]):
    """Bars of final ``metrics`` per data set for plain / +Recluster / +Reset / +BRB, the paper's value as a tick.

    Drawn with :func:`dcutils.plotting.bars` from the tidy finals (the mean; each seed a dot up to three seeds,
    beyond that ± SE error bars); every (data set,
    variant) keeps its slot, so the paper's tick sits over its bar whether or not the profile ran it.
    """
    runs = finals(runset)
    runs = runs[(runs["method"] == method) & (runs["pretrain"] == pretrain)]
    variants = ["none", "recluster", "reset", "brb"]
    ran = set(runs["variant"])
    labels = {v: algorithm_label(method, v) + ("" if v in ran else " (not run at this profile: paper's value only)")
              for v in variants}
    palette = {labels[v]: plotting.color(v) for v in variants}
    fig, axes = _new_figure(1, len(metrics), width=max(3.2, 1.3 * len(datasets)), height=2.8)
    for j, metric in enumerate(metrics):
        ax = axes[0, j]
        tidy = runs[runs["dataset"].isin(datasets)].assign(value=100 * runs[metric],
                                                           label=runs["variant"].map(labels))
        plotting.bars(ax, tidy, "dataset", "value", hue="label", order=list(datasets),
                      hue_order=[labels[v] for v in variants], palette=palette)
        paper = paper_cells(metric)
        paper = paper[(paper["method"] == method) & (paper["pretrain"] == pretrain)]
        width = 0.8 / len(variants)
        for k, v in enumerate(variants):
            xs = [i + (k - (len(variants) - 1) / 2) * width for i in range(len(datasets))]
            ps = [paper[(paper["dataset"] == d) & (paper["variant"] == v)]["paper"] for d in datasets]
            _paper_marks(ax, xs, [float(pv.iloc[0]) if len(pv) else math.nan for pv in ps], labelled=k == 0)
        _dataset_ticks(ax, datasets, set(runs["dataset"]))
        ax.set_xlabel("")
        ax.set_ylabel(f"{METRIC_NAME[metric]} (%)")
        ax.set_title(f"{METRIC_NAME[metric]}, {method.upper()} {'with' if pretrain else 'without'} pretraining")
    fig.tight_layout()
    plotting.legend_outside(fig)
    return fig


def _paper_marks(ax, xs, values, *, labelled: bool) -> None:
    """The paper's values as black ticks over bars at ``xs`` (NaN: no tick); one legend entry if ``labelled``."""
    ax.scatter(xs, values, marker="_", color="k", s=60, zorder=3, label="paper" if labelled else None)


def _dataset_ticks(ax, datasets: Sequence[str], ran: Iterable[str] | None = None) -> None:
    """One x tick per data set, at 0, 1, ..., labelled with its display name; a data set not in ``ran`` keeps
    its slot, labelled "paper's value only" (its bars are empty, the paper's tick is drawn)."""
    ran = set(datasets if ran is None else ran)
    ax.set_xticks(range(len(datasets)),
                  [_display(d) if d in ran else f"{_display(d)}\n(not run here:\npaper's value only)"
                   for d in datasets], fontsize=7)


def slots(used: Sequence[str]) -> list[str]:
    """The paper's six data sets in its order, then any other data set ``used`` (a bar figure keeps every
    slot of the paper, run or not)."""
    return [*PAPER_DATASETS, *(d for d in used if d not in PAPER_DATASETS)]


def relative_gain(runset: RunSet, metric: str, methods: Sequence[str], pretrain: bool) -> pd.DataFrame:
    """Relative improvement of +BRB over the plain algorithm, 100 × (BRB − plain) / plain, ours and the paper's.

    One row per (method, data set) that we ran or the paper prints; the absolute values (percent) beside the
    gains: ``plain`` / ``brb`` ours (NaN where not run) and ``paper_plain`` / ``paper_brb``. A relative gain
    depends on the plain value as much as on BRB (a weak baseline inflates it), so figures show both.
    """
    runs = finals(runset)
    runs = runs[(runs["pretrain"] == pretrain) & runs["method"].isin(methods)]
    mean = runs.groupby(["method", "dataset", "variant"])[metric].mean().unstack("variant")
    paper = paper_cells(metric)
    paper = paper[(paper["pretrain"] == pretrain) & paper["method"].isin(methods)].pivot_table(
        index=["method", "dataset"], columns="variant", values="paper")
    keys = list(mean.index) + [k for k in paper.index if k not in mean.index]
    rows = []
    for m, d in keys:
        r = mean.loc[(m, d)] if (m, d) in mean.index else pd.Series(dtype=float)
        plain, brb = 100 * r.get("none", math.nan), 100 * r.get("brb", math.nan)
        p = paper.loc[(m, d)] if (m, d) in paper.index else pd.Series(dtype=float)
        p_plain, p_brb = p.get("none", math.nan), p.get("brb", math.nan)
        ours = 100 * (brb - plain) / plain
        theirs = 100 * (p_brb - p_plain) / p_plain
        rows.append({"method": m.upper(), "dataset": _display(d), "reproduced": ours, "paper": theirs,
                     "difference": ours - theirs, "plain": plain, "brb": brb, "paper_plain": p_plain,
                     "paper_brb": p_brb,
                     "seeds": int(runs[(runs["method"] == m) & (runs["dataset"] == d)
                                       & (runs["variant"] == "brb")]["seed"].nunique())})
    return pd.DataFrame(rows)


def plot_relative_gain(runset: RunSet, metrics: Sequence[str], *, methods: Sequence[str], pretrain: bool,
                       datasets: Sequence[str]):
    """Bars of the relative gain of BRB (Figure 5 / 15), one panel per metric, the paper's gain as black ticks.

    Over each bar of ours the absolute values it is made of, "plain → +BRB" (percent), since a relative gain
    over a weak baseline is large; every slot of ``datasets`` keeps its place, with the paper's tick.
    """
    fig, axes = _new_figure(1, len(metrics), width=max(3.2, 1.3 * len(datasets)), height=3.0)
    for j, metric in enumerate(metrics):
        ax = axes[0, j]
        gains = relative_gain(runset, metric, methods, pretrain)
        names = {m.upper(): f"{m.upper()}+BRB vs {m.upper()}" for m in methods}
        # one value per bar: the gain of the seed means (a ratio of means, not a mean over seeds; no error bar)
        plotting.bars(ax, gains.assign(label=gains["method"].map(names)), "dataset", "reproduced", hue="label",
                      order=[_display(d) for d in datasets], hue_order=list(names.values()),
                      palette={names[m.upper()]: plotting.color(m) for m in methods})
        width = 0.8 / len(methods)
        for k, m in enumerate(methods):
            g = gains[gains["method"] == m.upper()].set_index("dataset").reindex([_display(d) for d in datasets])
            xs = np.arange(len(datasets)) + (k - (len(methods) - 1) / 2) * width
            _paper_marks(ax, xs, g["paper"], labelled=k == 0)
            for x, r in zip(xs, g.itertuples()):
                if np.isfinite(r.reproduced):
                    ax.annotate(f"{r.plain:.0f}→{r.brb:.0f}", (x, max(r.reproduced, 0)), xytext=(0, 2),
                                textcoords="offset points", ha="center", va="bottom", fontsize=6, color="0.25")
        ax.axhline(0, color="0.3", lw=0.8)
        ran = set(gains[np.isfinite(gains["reproduced"])]["dataset"])
        _dataset_ticks(ax, datasets, {d for d in datasets if _display(d) in ran})
        ax.set_xlabel("")
        ax.set_ylabel(f"relative {METRIC_NAME[metric]} gain (%)")
        ax.set_title(f"{METRIC_NAME[metric]}, {'with' if pretrain else 'without'} pretraining "
                     "(numbers: plain → +BRB, %)")
    fig.tight_layout()
    plotting.legend_outside(fig)
    return fig


def ratio_samples(runset: RunSet, dataset: str, method: str = "dcn") -> tuple[np.ndarray, np.ndarray, list]:
    """d1/d2 of the recorded BRB step before and after, pooled over seeds; and the epochs of the recorded steps."""
    before, after, epochs = [], [], []
    for r in runset:
        c = r.config
        if c.dataset == dataset and c["method"] == method and c["variant"] == "brb" and "ratio_before" in r.arrays:
            before.append(r.arrays["ratio_before"])
            after.append(r.arrays["ratio_after"])
            epochs.append(r.meta.get("ratio_epoch"))
    if not before:
        return np.array([]), np.array([]), []
    return np.concatenate(before), np.concatenate(after), epochs


def plot_ratio_histogram(runset: RunSet, dataset: str, method: str = "dcn"):
    """Figure 7: histogram of d1/d2 (closest over second-closest centroid distance) before and after a BRB step."""
    before, after, epochs = ratio_samples(runset, dataset, method)
    fig, axes = _new_figure(1, 1, width=4.5, height=3.0)
    ax = axes[0, 0]
    bins = np.linspace(0, 1, 41)
    for values, name, label in ((before, "none", "before BRB step"), (after, "brb", "after BRB step")):
        sns.histplot(x=values, bins=bins, element="step", alpha=0.4, color=plotting.color(name), label=label, ax=ax)
    ax.set_xlabel("d1 / d2")
    ax.set_ylabel("samples")
    ax.set_title(f"{method.upper()}+BRB on {_display(dataset)}, step at epoch(s) {sorted(set(epochs))}")
    ax.legend()
    fig.tight_layout()
    return fig


def ratio_summary(runset: RunSet, dataset: str, method: str = "dcn") -> pd.DataFrame:
    """Share of samples with d1/d2 in [0.9, 1] and the median, before and after the step."""
    before, after, _ = ratio_samples(runset, dataset, method)
    rows = []
    for what, v in (("before", before), ("after", after)):
        share = 100 * float(np.mean(v >= 0.9)) if len(v) else math.nan
        rows.append({"when": what, "samples": len(v), "share in [0.9, 1] (%)": share,
                     "median d1/d2": float(np.median(v)) if len(v) else math.nan})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# brb/deviations


def plot_deviations(runset: RunSet, metric: str = "acc"):
    """Per choice: each seed's paired difference (other value − code's, points) and their mean ± SE."""
    table = deviations_table(runset, metric)
    runs = finals(runset)
    fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(table) + 1.2))
    rows = []
    for d, r in zip(DEVIATIONS, table.itertuples()):
        base, other = _deviation_pair(runs, d, metric)
        rows.append((f"{r.choice} ({r.method})\n{r.other}", (other - base) * 100))
    plotting.paired_differences(ax, rows, xlabel=f"{METRIC_NAME.get(metric, metric)}: other value − authors' code "
                                                 "(points)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
