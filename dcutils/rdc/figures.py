"""R-DC's figures from cached runs, and the frames and summaries they draw (the layer above training).

Each ``*_figure`` function takes a :class:`dcutils.runs.RunSet` and returns a matplotlib figure; the
frames beside it (``*_frame``, ``*_summary``, ``*_per_seed``, ...) are what the figure, its text
(:mod:`dcutils.rdc.texts`) and its verdict (:mod:`dcutils.rdc.verdicts`) read. The companion's style
(:func:`dcutils.plotting.style`) is set once, when this module is imported.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from dcutils import health, metrics, paper_data, plotting
from dcutils.rdc.frames import METHOD_NAME, METRICS, PHASE2, display_name, finals, history, mean_se_pct, with_variant
from dcutils.runs import RunSet

plotting.style()


# ----------------------------------------------------------------------------
# Figures 2 and 16: the Feature Twist toy


def twist_figure(runset: RunSet, methods: Sequence[str] = ("dec",), seed: int | None = None):
    """Latent snapshots of ``rdc.twist`` runs (one row per method) and their metrics.

    Columns: one per snapshot (before pretraining, after pretraining, then
    through the clustering phase), points coloured by true cluster; the last
    column plots k-NN purity (5-NN with the same true cluster), flatness
    (smaller / larger singular value of the codes) and k-means ACC per epoch
    of the clustering phase.
    """
    runs = {r.config["method"]: r for r in runset if seed is None or r.config.seed == seed}
    methods = [m for m in methods if m in runs]
    n_snap = max(len(runs[m].arrays["snapshot_epoch"]) for m in methods)
    fig, axes = plt.subplots(len(methods), n_snap + 1, figsize=(2.1 * (n_snap + 1), 2.3 * len(methods)),
                             squeeze=False)
    for row, m in enumerate(methods):
        r = runs[m]
        lat, ep, y = r.arrays["latent"], r.arrays["snapshot_epoch"], r.arrays["y"]
        n_pre = int(r.config["pretrain_epochs"])
        name = {"dec": "DEC", "rdc": "R-DC phase 2"}[m]
        for j in range(n_snap):
            ax = axes[row, j]
            if j >= len(ep):
                ax.axis("off")
                continue
            ax.scatter(lat[j, :, 0], lat[j, :, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=3, linewidths=0)
            stage = ("initial" if ep[j] == 0 else "after pretraining" if ep[j] == n_pre
                     else f"{name}, epoch {ep[j] - n_pre}")
            ax.set_title(stage)
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[row, n_snap]
        h = r.history
        ax.plot(h["epoch"] - n_pre, h["knn_purity"], label="5-NN purity")
        ax.plot(h["epoch"] - n_pre, h["flatness"], label="flatness")
        ax.plot(h["epoch"] - n_pre, h["acc"], label="k-means ACC")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel(f"{name} epoch")
        ax.set_title(name)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    plotting.legend_outside(fig)
    return fig


def twist_summary(runset: RunSet) -> pd.DataFrame:
    """Per method: 5-NN purity, flatness and ACC after pretraining and at the end (mean over seeds)."""
    rows = []
    for r in runset:
        f = r.final
        rows.append({"method": r.config["method"], "seed": r.config.seed,
                     "5-NN purity (pretrained)": f["knn_purity_pretrained"], "5-NN purity (end)": f["knn_purity"],
                     "flatness (pretrained)": f["flatness_pretrained"], "flatness (end)": f["flatness"],
                     "ACC (pretrained)": f["acc_pretrained"], "ACC (end)": f["acc"]})
    frame = pd.DataFrame(rows)
    return frame.groupby("method", sort=False).mean(numeric_only=True).drop(columns="seed").reset_index()


# ----------------------------------------------------------------------------
# Figure 1: ID / LID through pretraining and DEC


def lid_label(runset: RunSet) -> str:
    """The legend label of LID for the estimator the runs used (``lid_estimator``)."""
    names = {"authors": "LID (PCA 0.9999, per cluster)", "authors_index": "LID (PCA 0.9999, per class)",
             "global90": "LID (PCA 90 %)"}
    used = {r.config.get("lid_estimator", "global90") for r in runset}
    return " / ".join(names.get(u, f"LID ({u})") for u in sorted(used)) or "LID"


def paradigm_figure(runset: RunSet):
    """ID and LID per iteration for each (data set, pretext), pretraining then DEC (R-DC Figure 1)."""
    h = runset.history()
    keys = sorted({(r.config.dataset, r.config["pretext"]) for r in runset},
                  key=lambda k: (k[0], k[1] != "reconstruction"))
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, (d, pretext) in zip(axes[0], keys):
        sub = h[(h["dataset"] == d) & (h["pretext"] == pretext)]
        plotting.line_band(ax, sub, "global_iteration", "id", label="ID (TwoNN)", color_name="dynae")
        plotting.line_band(ax, sub, "global_iteration", "lid", label=lid_label(runset), color_name="rdc")
        start = sub[sub["phase"] == "DEC"]["global_iteration"].min()
        if np.isfinite(start):
            ax.axvline(start, color="0.4", ls="--", lw=0.8)
            ax.text(start, 0.01, " DEC →", transform=ax.get_xaxis_transform(), va="bottom", fontsize=7,
                    color="0.3")  # at the panel's foot, off the curves
        ax.set_title(f"{display_name(d)}: {pretext} + DEC")
        ax.set_xlabel("iteration")
    axes[0, 0].set_ylabel("dimension")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


def paradigm_summary(runset: RunSet) -> pd.DataFrame:
    """Per (data set, pretext): ID and LID at the start, after pretraining and after DEC; ACC before/after DEC."""
    rows = []
    for r in runset:
        h = r.history
        pre = h[h["phase"] == "pretrain"]
        rows.append({"dataset": display_name(r.config.dataset), "pretext": r.config["pretext"], "seed": r.config.seed,
                     "ID start": pre["id"].iloc[0], "LID start": pre["lid"].iloc[0],
                     "ID pretrained": r.final["id_pretrained"], "LID pretrained": r.final["lid_pretrained"],
                     "ID after DEC": r.final["id"], "LID after DEC": r.final["lid"],
                     "ACC pretrained": 100 * r.final["acc_pretrained"], "ACC after DEC": 100 * r.final["acc"]})
    frame = pd.DataFrame(rows)
    return frame.groupby(["dataset", "pretext"], sort=False).mean(numeric_only=True).drop(columns="seed").reset_index()


def paradigm_per_seed(runset: RunSet) -> pd.DataFrame:
    """Per run of ``rdc.paradigm``: dataset (display name), pretext, seed, LID drop under DEC (LID after
    pretraining − LID after DEC) and the LID − ID gap after pretraining."""
    rows = [{"dataset": display_name(r.config.dataset), "pretext": r.config["pretext"], "seed": r.config.seed,
             "drop": r.final["lid_pretrained"] - r.final["lid"],
             "gap": r.final["lid_pretrained"] - r.final["id_pretrained"]}
            for r in runset]
    return pd.DataFrame(rows, columns=["dataset", "pretext", "seed", "drop", "gap"])


# ----------------------------------------------------------------------------
# Figure 3: gain of the clustering phase


def gain_frame(runset: RunSet) -> pd.DataFrame:
    """Per run: ACC after pretraining (k-means), ACC after the method, and the gain (points)."""
    f = finals(runset)
    f["gain"] = 100 * (f["acc"] - f["acc_pretrained"])
    return f


def gain_figure(runset: RunSet):
    """R-DC Figure 3: ACC after pretraining and after the clustering phase, per method and data set."""
    f = gain_frame(runset)
    datasets = sorted(f["dataset"].unique())
    methods = [m for m in METHOD_NAME if m in set(f["variant"])]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.0), squeeze=False)
    stages = {"acc_pretrained": "after pretraining (k-means)", "acc": "after the clustering phase"}
    for ax, d in zip(axes[0], datasets):
        sub = f[(f["dataset"] == d) & f["variant"].isin(methods)]
        tidy = sub.melt(id_vars=["variant", "seed"], value_vars=list(stages), var_name="stage", value_name="ACC")
        tidy = tidy.assign(method=tidy["variant"].map(METHOD_NAME), stage=tidy["stage"].map(stages),
                           ACC=100 * tidy["ACC"])
        plotting.bars(ax, tidy, "method", "ACC", hue="stage", order=[METHOD_NAME[m] for m in methods],
                      hue_order=list(stages.values()), palette={stages["acc_pretrained"]: "0.75",
                                                                stages["acc"]: plotting.color("rdc")})
        for x, m in enumerate(methods):
            p, q = (mean_se_pct(sub[sub["variant"] == m][c])[0] for c in stages)
            top = 100 * float(sub[sub["variant"] == m]["acc"].max())  # above the highest seed's dot
            ax.text(x + 0.2, top + 2, f"{q - p:+.1f}", ha="center", va="bottom", fontsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("ACC (%)")
        ax.set_title(display_name(d))
        ax.set_ylim(0, max(100, float(tidy["ACC"].max()) + 8 if len(tidy) else 100))
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


# ----------------------------------------------------------------------------
# Figures 12-15: learning dynamics on FMNIST


def phase_history(runset: RunSet) -> pd.DataFrame:
    """Rows of each run's method phase (phase 2 / clustering; P3 of p1p2p3 left out)."""
    h = history(runset)
    keep = h["phase"] == h["variant"].map(PHASE2)
    return h[keep].copy()


def accuracy_figure(runset: RunSet, variants: Sequence[str] = ("dynae", "rdc"),
                    paper_start: float | None = None, with_core_ratio: bool = False):
    """ACC per iteration of the clustering phase (R-DC Figures 12 and 13), mean ± SE over seeds.

    One panel per data set; with ``with_core_ratio`` a second row shows R-DC's
    core-point ratio at each logged epoch (its stopping signal).
    """
    h = phase_history(runset)
    h = h[h["variant"].isin(variants)]
    datasets = sorted(h["dataset"].unique())
    rows = 2 if with_core_ratio else 1
    fig, axes = plt.subplots(rows, len(datasets), figsize=(4.4 * len(datasets), 2.8 * rows), squeeze=False)
    for j, d in enumerate(datasets):
        ax = axes[0, j]
        sub = h[h["dataset"] == d].assign(acc_pct=lambda t: 100 * t["acc"])
        for v in variants:
            part = sub[sub["variant"] == v]
            if len(part):
                plotting.line_band(ax, part, "phase_iteration", "acc_pct", label=METHOD_NAME[v],
                                   color_name="rdc" if v.startswith("rdc") else v, marker="o", ms=3)
        if paper_start is not None:
            ax.axhline(paper_start, color="0.5", ls=":", lw=0.8,
                       label=f"paper's start ({paper_start:.1f} %)")  # in the legend, off the curves
        _paper_end_marks(ax, d, [v for v in variants if (sub["variant"] == v).any()],
                         float(sub["phase_iteration"].max()) if len(sub) else 0.0)
        ax.set_xlabel("iteration of the clustering phase")
        ax.set_ylabel("ACC (%)")
        ax.set_title(display_name(d))
        if with_core_ratio:
            ax = axes[1, j]
            for v in variants:
                part = sub[(sub["variant"] == v) & sub["core_ratio"].notna()]
                if len(part):
                    plotting.line_band(ax, part, "phase_iteration", "core_ratio", label=METHOD_NAME[v],
                                       color_name="rdc")
            ax.set_xlabel("iteration of the clustering phase")
            ax.set_ylabel("core-point ratio")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


def _paper_end_marks(ax, dataset: str, variants: Sequence[str], x_end: float) -> None:
    """The paper's final ACC of each drawn method on ``dataset`` (Tables 3-5) as a left-pointing triangle in the
    method's colour just right of ``x_end``; one legend entry for all."""
    printed = paper_data.rdc_clustering()
    printed = printed[printed["dataset"] == dataset].set_index("method")["acc"]
    labelled = False
    for v in variants:
        value = printed.get(METHOD_NAME.get(v, v), math.nan)
        if np.isfinite(value):
            ax.scatter([x_end * 1.03 + 1], [value], marker="<", s=36, color=plotting.color(v), edgecolors="k",
                       linewidths=0.6, zorder=4, label=None if labelled else "paper's final ACC (Tables 3-5)")
            labelled = True


def start_and_end(runset: RunSet) -> pd.DataFrame:
    """Per variant: ACC at the start of the clustering phase and at its end, iterations, stop reason."""
    rows = []
    for r in runset:
        v = with_variant(pd.DataFrame([{"method": r.config["method"], "patience": r.config["patience"]}]))["variant"][0]
        h = r.history[r.history["phase"] == PHASE2.get(v, "")]
        rows.append({"dataset": r.config.dataset, "variant": v, "seed": r.config.seed,
                     "acc_start": 100 * h["acc"].iloc[0] if len(h) else math.nan, "acc_end": 100 * r.final["acc"],
                     "iterations": r.final["iterations"], "stopped": r.meta.get("stopped")})
    return pd.DataFrame(rows)


def purity_figure(runset: RunSet, variants: Sequence[str] = ("rdc",)):
    """R-DC Figure 14: % true (a) and false (b) neighbours of core points, all M vs reliable only, per iteration.

    A third panel (ours) shows the share of the core points' neighbours the reliable-neighbour filter removes
    (``gamma_removed``), so a reader sees that the filter acts before reading its effect on purity.
    """
    h = phase_history(runset)
    h = h[h["variant"].isin(variants)].copy()
    h["true_initial"], h["true_filtered"] = 100 * h["purity_initial"], 100 * h["purity_filtered"]
    h["false_initial"], h["false_filtered"] = 100 - h["true_initial"], 100 - h["true_filtered"]
    removed = "gamma_removed" in h and h["gamma_removed"].notna().any()
    datasets = sorted(h["dataset"].unique())
    n_cols = 3 if removed else 2
    fig, axes = plt.subplots(len(datasets), n_cols, figsize=(4.2 * n_cols, 2.8 * len(datasets)), squeeze=False)
    for i, d in enumerate(datasets):
        if removed:
            ax = axes[i, 2]
            for v in variants:
                part = h[(h["dataset"] == d) & (h["variant"] == v)]
                part = part.assign(removed_pct=100 * part["gamma_removed"])
                if len(part):
                    plotting.line_band(ax, part, "phase_iteration", "removed_pct",
                                       label=f"removed by the filter ({METHOD_NAME[v]})", color_name="dec")
            ax.set(title=f"{display_name(d)}: neighbours the filter removes", xlabel="iteration of phase 2",
                   ylabel="%", ylim=(0, 100))
        for j, kind in enumerate(("true", "false")):
            ax = axes[i, j]
            for v in variants:
                part = h[(h["dataset"] == d) & (h["variant"] == v)]
                if not len(part):
                    continue
                plotting.line_band(ax, part, "phase_iteration", f"{kind}_initial", label=f"initial ({METHOD_NAME[v]})",
                                   color_name="dynae")
                plotting.line_band(ax, part, "phase_iteration", f"{kind}_filtered",
                                   label=f"after filtering ({METHOD_NAME[v]})", color_name="rdc")
            ax.set_title(f"{display_name(d)}: {kind} neighbours of core points")
            ax.set_xlabel("iteration of phase 2")
            ax.set_ylabel("%")
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    plotting.legend_outside(fig)
    return fig


def geometry_figure(runset: RunSet, variants: Sequence[str] = ("dynae", "rdc")):
    """R-DC Figure 15: ID and LID through both phases, one panel per method (mean ± SE over seeds)."""
    h = history(runset)
    h = h[h["variant"].isin(variants)]
    h = h[(h["phase"] == "P1") | (h["phase"] == h["variant"].map(PHASE2))]
    variants = [v for v in variants if v in set(h["variant"])]
    fig, axes = plt.subplots(1, len(variants), figsize=(3.6 * len(variants), 2.9), squeeze=False, sharey=True)
    for ax, v in zip(axes[0], variants):
        part = h[h["variant"] == v]
        plotting.line_band(ax, part, "global_iteration", "id", label="ID (TwoNN)", color_name="dynae", marker="o", ms=2)
        plotting.line_band(ax, part, "global_iteration", "lid", label=lid_label(runset), color_name="rdc",
                           marker="o", ms=2)
        start = part[part["phase"] != "P1"]["global_iteration"].min()
        if np.isfinite(start):
            ax.axvline(start, color="0.4", ls="--", lw=0.8)
            ax.text(start, 0.01, " phase 2 →", transform=ax.get_xaxis_transform(), va="bottom", fontsize=7,
                    color="0.3")  # at the panel's foot, off the curves
        ax.set_title(f"{METHOD_NAME[v]} ({', '.join(display_name(d) for d in sorted(part['dataset'].unique()))})")
        ax.set_xlabel("iteration (phase 1 + phase 2)")
    axes[0, 0].set_ylabel("dimension")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


def geometry_gaps(runset: RunSet) -> pd.DataFrame:
    """Per (variant, seed): LID − ID at the last logged point of phase 1 (``gap_p1``) and at the end of the
    method's phase (``gap_end``)."""
    h = history(runset)
    rows = []
    for (v, seed), g in h.groupby(["variant", "seed"]):
        if v not in PHASE2:
            continue
        p1, ph = g[g["phase"] == "P1"], g[g["phase"] == PHASE2[v]]
        if p1.empty or ph.empty:
            continue
        a = p1.loc[p1["global_iteration"].idxmax()]
        b = ph.loc[ph["phase_iteration"].idxmax()]
        rows.append({"variant": v, "seed": seed, "gap_p1": a["lid"] - a["id"], "gap_end": b["lid"] - b["id"]})
    return pd.DataFrame(rows, columns=["variant", "seed", "gap_p1", "gap_end"])


# ----------------------------------------------------------------------------
# Algorithm 1: the trace of one R-DC run


def algorithm_figure(runset: RunSet):
    """Algorithm 1 traced on real runs: (a) phase 1 loss and ACC, (b) core ratio per refresh with the stop,
    (c) ACC and ID/LID across both phases."""
    runs = [r for r in runset if r.config["method"] == "rdc"]
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.0))
    for r in runs:
        h = r.history
        p1, p2 = h[h["phase"] == "P1"], h[h["phase"] == "P2"]
        lbl = f"seed {r.config.seed}"
        axes[0].plot(p1["global_iteration"], p1["loss"], marker="o", ms=3, label=f"reconstruction MSE, {lbl}")
        ratios = r.meta.get("core_ratios", [])
        every = int(r.config["refresh_every"])
        axes[1].plot(np.arange(len(ratios)) * every, ratios, marker=".", label=lbl)
        if r.meta.get("phase2_stopped") == "core ratio":
            axes[1].plot([(len(ratios) - 1) * every], [ratios[-1]], "kx", ms=7)
        axes[2].plot(h["global_iteration"], 100 * h["acc"], marker="o", ms=3, label=f"ACC, {lbl}")
        if len(p2):
            axes[2].axvline(p2["global_iteration"].min(), color="0.5", ls="--", lw=0.8)
    axes[0].set(title="(a) phase 1 (ACAI)", xlabel="iteration", ylabel="reconstruction MSE")
    axes[1].set(title="(b) phase 2: core-point ratio at each refresh\n(x = stop)", xlabel="iteration of phase 2",
                ylabel="core-point ratio")
    axes[2].set(title="(c) k-means ACC through both phases", xlabel="iteration", ylabel="ACC (%)")
    for ax in axes:
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


# ----------------------------------------------------------------------------
# Figures 17-20


def sensitivity_frame(runset: RunSet) -> pd.DataFrame:
    """Mean over seeds of ACC / F1 (percent) per (beta, gamma)."""
    f = finals(runset)
    g = f.groupby(["dataset", "beta", "gamma"]).agg(
        **{m: (m, "mean") for m in METRICS}, flagged=("flagged", lambda x: int(x.astype(bool).sum()))).reset_index()
    for m in METRICS:
        g[m] = 100 * g[m]
    return g


def sensitivity_figure(runset: RunSet):
    """R-DC Figure 17: ACC and F1 macro over the β × γ grid, seaborn heat maps with the values written in.

    The paper also maps F1 micro, which equals ACC after the Hungarian matching (one label and one cluster per
    sample): the ACC panel says so instead of repeating it. Both panels share one colour scale.
    """
    g = sensitivity_frame(runset)
    sick = g.pivot_table(index="beta", columns="gamma", values="flagged").sort_index(ascending=False)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.2))
    lo, hi = float(g[["acc", "f1_macro"]].min().min()), float(g[["acc", "f1_macro"]].max().max())
    for ax, (m, name) in zip(axes, (("acc", "ACC (= F1 micro)"), ("f1_macro", "F1 macro"))):
        piv = g.pivot_table(index="beta", columns="gamma", values=m).sort_index(ascending=False)
        sns.heatmap(piv, annot=True, fmt=".1f", cmap="viridis", vmin=lo, vmax=hi, ax=ax,
                    annot_kws={"fontsize": 7}, cbar_kws={"shrink": 0.8, "label": "%"})
        ax.set_xticklabels([f"{v:g}" for v in piv.columns])
        ax.set_yticklabels([f"{v:g}" for v in piv.index], rotation=0)
        ax.set(xlabel="γ", ylabel="β", title=f"{name} (%)")
        ax.grid(False)
        for i, j in zip(*np.nonzero(sick.reindex(index=piv.index, columns=piv.columns).fillna(0).to_numpy())):
            ax.text(j + 0.95, i + 0.08, health.flag_mark(True), ha="right", va="top", fontsize=8, color="red")
    notes = []
    if g["flagged"].any():
        notes.append((f"{health.flag_mark(True)} a run of the cell is flagged unhealthy (collapsed clusters "
                      "or a growing loss)", "red"))
    if sick.isna().to_numpy().any():
        notes.append(("blank: a cell not run at this profile (the paper profile runs the whole grid)", "0.3"))
    for i, (text, colour) in enumerate(notes):
        fig.text(0.01 + 0.5 * i, 0.01, text, fontsize=7, color=colour)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def pca_figure(runset: RunSet, variants: Sequence[str], seed: int | None = None, pretrained: bool = True):
    """R-DC Figures 18/19: 2-D PCA of the latent codes (fixed rows), coloured by true class.

    One column per variant (and a first column with the pretrained codes when
    ``pretrained``); one row per data set.
    """
    runs = [r for r in runset if seed is None or r.config.seed == seed]
    datasets = sorted({r.config.dataset for r in runs})
    cols = (["pretrained"] if pretrained else []) + list(variants)
    fig, axes = plt.subplots(len(datasets), len(cols), figsize=(2.9 * len(cols), 2.8 * len(datasets)), squeeze=False)
    for i, d in enumerate(datasets):
        by_variant = {}
        for r in runs:
            if r.config.dataset != d:
                continue
            by_variant.setdefault(r.config["method"], r)
        for j, c in enumerate(cols):
            ax = axes[i, j]
            src = by_variant.get(variants[0] if c == "pretrained" else c)
            if src is None:
                ax.axis("off")
                continue
            pts = src.arrays["pca_pretrained" if c == "pretrained" else "pca_final"]
            ax.scatter(pts[:, 0], pts[:, 1], c=src.arrays["pca_y"], cmap="tab10", vmin=0, vmax=9, s=2, linewidths=0)
            ax.set_title(f"{display_name(d)}: {'after phase 1 (ACAI)' if c == 'pretrained' else METHOD_NAME[c]}")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def pca_separation(runset: RunSet) -> pd.DataFrame:
    """Per (data set, variant): silhouette of the true classes in the 2-D PCA picture (after phase 1 and after)."""
    rows = []
    for r in runset:
        v = r.config["method"]
        y = r.arrays["pca_y"]
        rows.append({"dataset": display_name(r.config.dataset), "variant": METHOD_NAME[v], "seed": r.config.seed,
                     "silhouette 2-D (after phase 1)": metrics.silhouette(r.arrays["pca_pretrained"], y,
                                                                          metric="euclidean"),
                     "silhouette 2-D (final)": metrics.silhouette(r.arrays["pca_final"], y, metric="euclidean")})
    frame = pd.DataFrame(rows)
    return frame.groupby(["dataset", "variant"], sort=False).mean(numeric_only=True).drop(columns="seed").reset_index()


def pca_per_seed(runset: RunSet) -> pd.DataFrame:
    """Per run: dataset, variant (rdc.method name), seed and the silhouette of the true classes in the 2-D PCA
    picture after phase 1 (``before``) and at the end (``after``)."""
    rows = []
    for r in runset:
        y = r.arrays["pca_y"]
        rows.append({"dataset": r.config.dataset, "variant": r.config["method"], "seed": r.config.seed,
                     "before": metrics.silhouette(r.arrays["pca_pretrained"], y, metric="euclidean"),
                     "after": metrics.silhouette(r.arrays["pca_final"], y, metric="euclidean")})
    return pd.DataFrame(rows, columns=["dataset", "variant", "seed", "before", "after"])


def noise_frame(runset: RunSet) -> pd.DataFrame:
    """Per run: noise level and ACC / F1 (percent)."""
    f = finals(runset)
    for m in [*METRICS, "acc_pretrained"]:
        f[m] = 100 * f[m]
    return f


def noise_figure(runset: RunSet):
    """R-DC Figure 20: ACC and F1 macro against the input noise level (per seed, or mean ± SE).

    The paper also draws F1 micro; after the Hungarian matching every sample has one label and one
    cluster, so F1 micro equals ACC exactly and would hide under it: the legend says so instead.
    The y axis starts at 0, so a wobble is not drawn as a dip.
    """
    f = noise_frame(runset)
    datasets = sorted(f["dataset"].unique())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.4 * len(datasets), 3.0), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        sub = f[f["dataset"] == d]
        for m, marker in (("acc", "o"), ("f1_macro", "s")):
            label = "ACC (= F1 micro)" if m == "acc" else METRICS[m]
            plotting.line_band(ax, sub, "noise_std", m, label=label, marker=marker, ms=3)
        bad = sub[sub["flagged"].astype(bool)]
        if len(bad):
            ax.scatter(bad["noise_std"], bad["acc"], marker="x", color="red", zorder=5,
                       label="flagged run (collapsed clusters or a growing loss)")
        ax.set(xlabel="noise standard deviation (share of the data's, after z-scoring)", ylabel="%",
               title=display_name(d), ylim=(0, 100))
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig
