"""Tables, figures and verdicts of the resl notebooks (the layer above the runs and settings).

Every function takes the runs (:class:`dcutils.runs.RunSet` or its tidy frames) and the settings;
nothing here trains. Runs are labelled by :func:`label_runs`: ``variant`` (``SCAN+SL``, ``SP``,
``SP*``, ``HT``, ``PI``) and the reset parameters in the paper's units (``every_paper`` in paper
epochs of 200, ``momentum_paper`` with mu ** 10,000 steps kept, see :mod:`dcutils.resl.settings`).

Verdicts compare a variant with SCAN+SL paired over seeds (every run of a seed starts from the same
SCAN network and the same data order): mean ± SE of the per-seed difference, "ahead" / "behind"
beyond 2 SE, else inconclusive (:func:`dcutils.outputs.paired`).
"""
from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dcutils import findings, outputs, paper_data, plotting
from dcutils.profiles import Settings
from dcutils.resl import settings as rs

__all__ = ["VARIANTS", "PAPER_LABELS", "label_runs", "finals", "history", "grid_table", "best_cell",
           "results_table", "wide_table", "paired_vs_scan", "precondition", "protocol_note", "missing_text",
           "curve_figure", "heatmap_figure", "nmi_match_table", "verdict_of"]

#: Variant labels in table order.
VARIANTS = ["SP", "SP*", "HT", "SCAN+SL"]
_LABEL = {"none": "SCAN+SL", "sp": "SP", "sp*": "SP*", "ht": "HT", "pi": "PI"}
PAPER_LABELS = {"stl10": "STL10", "cifar10": "CIFAR10", "cifar100-20": "CIFAR20", "cifar100": "CIFAR100",
                "fmnist": "FMNIST"}
_PAPER_STRATEGY = {"SP": "sp", "SP*": "sp*", "HT": "ht", "SCAN+SL": "none"}


def _paper_every(every: float, sl_epochs: float) -> float:
    return float(every) if sl_epochs == rs.PAPER_EPOCHS else float(round(every / sl_epochs * rs.PAPER_EPOCHS))


def _paper_momentum(mu: float, steps: float) -> float:
    return float(mu) if steps >= rs.PAPER_STEPS else float(round(mu ** (steps / rs.PAPER_STEPS), 4))


def label_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (finals or history) with ``variant``, ``every_paper``, ``momentum_paper`` and ``cell``."""
    out = frame.copy()
    out["variant"] = out["strategy"].map(_LABEL)
    steps = out["sl_epochs"] * np.ceil(out["n_train"].fillna(50_000) / out["sl_batch"])
    out["every_paper"] = [_paper_every(e, s) for e, s in zip(out["every"], out["sl_epochs"])]
    out["momentum_paper"] = [_paper_momentum(m, s) for m, s in zip(out["momentum"], steps)]
    cells = []
    for v, a, r, m in zip(out["variant"], out["alpha"], out["every_paper"], out["momentum_paper"]):
        if v in ("SP", "SP*"):
            cells.append(f"alpha={a:g}, R={r:g}")
        elif v == "HT":
            cells.append(f"mu={m:g}, R={r:g}")
        else:
            cells.append("")
    out["cell"] = cells
    return out


def finals(runset) -> pd.DataFrame:
    """Labelled final metrics, one row per run."""
    return label_runs(runset.finals())


def history(runset) -> pd.DataFrame:
    """Labelled per-epoch history, one row per (run, epoch)."""
    return label_runs(runset.history())


def grid_table(fin: pd.DataFrame, variant: str, row: str, col: str, metric: str = "acc") -> pd.DataFrame:
    """Mean ``metric`` (percent) over seeds per grid cell: rows ``row``, columns ``col``."""
    sub = fin[fin["variant"] == variant]
    return (sub.groupby([row, col])[metric].mean() * 100).unstack(col)


def best_cell(fin: pd.DataFrame, variant: str, metric: str = "acc") -> str:
    """The cell of ``variant`` with the best mean ``metric`` over seeds (ties: the first in sorted order)."""
    sub = fin[fin["variant"] == variant]
    if sub.empty:
        return ""
    means = sub.groupby("cell")[metric].mean()
    return str(means.idxmax())


def _by_seed(fin: pd.DataFrame, variant: str, cell: str | None, metric: str, dataset: str) -> pd.Series:
    sub = fin[(fin["variant"] == variant) & (fin["dataset"] == dataset)]
    if cell:
        sub = sub[sub["cell"] == cell]
    return sub.set_index("seed")[metric]


def paired_vs_scan(fin: pd.DataFrame, variant: str, cell: str | None, metric: str, dataset: str) -> dict[str, Any]:
    """Paired difference (points) of ``variant`` (at ``cell``) minus SCAN+SL over seeds."""
    return outputs.paired(_by_seed(fin, variant, cell, metric, dataset), _by_seed(fin, "SCAN+SL", None, metric,
                                                                                   dataset))


def chosen_cells(fin: pd.DataFrame) -> dict[str, str]:
    """Each variant's cell in the results tables: the best by mean ACC (SP, HT), SP*'s only cell, SCAN+SL's none."""
    out = {"SP": best_cell(fin, "SP"), "HT": best_cell(fin, "HT"), "SCAN+SL": ""}
    sp_star = fin.loc[fin["variant"] == "SP*", "cell"]
    out["SP*"] = str(sp_star.iloc[0]) if len(sp_star) else ""
    return out


def results_table(fin: pd.DataFrame, settings: Settings, metric: str) -> pd.DataFrame:
    """Paper avg / max next to ours (mean ± SE, max over seeds) and the paired difference to SCAN+SL.

    One row per (variant, data set): the paper's data sets (ours absent where the profile does not run
    them, with the reason) and the data sets the profile runs (no paper value for a substitute).
    """
    paper = paper_data.resl_tables()
    paper = paper[paper["metric"] == metric]
    cells = chosen_cells(fin) if len(fin) else {}
    rows = []
    datasets = list(rs.PAPER_DATASETS) + [d for d in rs.run_datasets(settings) if d not in rs.PAPER_DATASETS]
    for d in datasets:
        for v in VARIANTS:
            p = paper[(paper["dataset"] == d) & (paper["strategy"] == _PAPER_STRATEGY[v])].set_index("stat")["value"]
            row = {"dataset": d, "variant": v, "paper_avg": float(p.get("avg", math.nan)),
                   "paper_max": float(p.get("max", math.nan)), "cell": cells.get(v, ""), "ours_avg": math.nan,
                   "ours_se": math.nan, "ours_max": math.nan, "seeds": 0, "vs_scan": math.nan, "vs_scan_se": math.nan,
                   "verdict": "", "note": ""}
            if not rs.available(d, settings.profile):
                row["note"] = f"not run at {settings.profile} (paper profile)"
            else:
                vals = _by_seed(fin, v, cells.get(v) or None, metric, d) * 100 if len(fin) else pd.Series(dtype=float)
                if len(vals):
                    m, se, n = outputs.mean_se(vals)
                    row.update(ours_avg=m, ours_se=se, ours_max=float(vals.max()), seeds=n)
                if v != "SCAN+SL" and len(vals):
                    pr = paired_vs_scan(fin, v, cells.get(v) or None, metric, d)
                    row.update(vs_scan=pr["mean"], vs_scan_se=pr["se"], verdict=pr["verdict"])
                if d not in rs.PAPER_DATASETS:
                    row["note"] = "substitute data set: no paper value"
            rows.append(row)
    return pd.DataFrame(rows)


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout: variants x data sets, each cell "ours avg / max (paper avg / max)"."""
    def cell(r) -> str:
        ours = "—" if not np.isfinite(r["ours_avg"]) else f"{r['ours_avg']:.2f} / {r['ours_max']:.2f}"
        paper = "—" if not np.isfinite(r["paper_avg"]) else f"{r['paper_avg']:.2f} / {r['paper_max']:.2f}"
        return f"{ours} (paper {paper})"

    t = table.assign(shown=table.apply(cell, axis=1))
    wide = t.pivot(index="variant", columns="dataset", values="shown")
    cols = [d for d in [*rs.PAPER_DATASETS, *table["dataset"].unique()] if d in wide.columns]
    wide = wide[list(dict.fromkeys(cols))].reindex(VARIANTS)
    wide.columns = [PAPER_LABELS.get(c, c) for c in wide.columns]
    return wide


def nmi_match_table(hist: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Table 2: NMI match of HT (the paper's best cell) and SCAN+SL at half and all of the run (e=100 / 200)."""
    paper = paper_data.resl_tables()
    paper = paper[paper["metric"] == "nmi_match"]
    run = settings["run"]
    half, end = run["sl_epochs"] // 2, run["sl_epochs"]
    best = rs.strategy_params(settings, "ht_best")
    rows = []
    for d in list(rs.PAPER_DATASETS) + [x for x in rs.run_datasets(settings) if x not in rs.PAPER_DATASETS]:
        for v in ("HT", "SCAN+SL"):
            p = paper[(paper["dataset"] == d) & (paper["strategy"] == _PAPER_STRATEGY[v])].set_index("stat")["value"]
            row = {"dataset": d, "variant": v, "paper_e100": float(p.get("e100", math.nan)),
                   "paper_e200": float(p.get("e200", math.nan)), "ours_half": math.nan, "ours_half_se": math.nan,
                   "ours_end": math.nan, "ours_end_se": math.nan, "epochs_half": half, "epochs_end": end, "seeds": 0,
                   "note": ""}
            if not rs.available(d, settings.profile):
                row["note"] = f"not run at {settings.profile} (paper profile)"
            elif len(hist):
                sub = hist[(hist["dataset"] == d) & (hist["variant"] == v)]
                if v == "HT":
                    sub = sub[np.isclose(sub["momentum"], best["momentum"]) & (sub["every"] == best["every"])]
                for name, e in (("half", half), ("end", end)):
                    m, se, n = outputs.mean_se(sub.loc[sub["epoch"] == e, "nmi_match"] * 100)
                    row[f"ours_{name}"], row[f"ours_{name}_se"], row["seeds"] = m, se, n
                if d not in rs.PAPER_DATASETS:
                    row["note"] = "substitute data set: no paper value"
            rows.append(row)
    return pd.DataFrame(rows)


def precondition(hist: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """The premises of the paper's story under SCAN+SL, per seed: the confident fraction rises and NMI match falls.

    Confident fraction: last epoch minus epoch 0. NMI match: last epoch minus the first epoch at which it is
    defined (a confident sample exists). Both paired over seeds (points), with verdicts (ahead = rises).
    """
    sub = hist[(hist["dataset"] == dataset) & (hist["variant"] == "SCAN+SL")]
    last = sub["epoch"].max()
    conf_start = sub[sub["epoch"] == 0].set_index("seed")["confident_fraction"]
    conf_end = sub[sub["epoch"] == last].set_index("seed")["confident_fraction"]
    defined = sub.dropna(subset=["nmi_match"]).sort_values("epoch")
    nm_start = defined.groupby("seed")["nmi_match"].first()
    nm_end = sub[sub["epoch"] == last].set_index("seed")["nmi_match"]
    return {"confident": outputs.paired(conf_end, conf_start), "nmi_match": outputs.paired(nm_end, nm_start),
            "confident_start": float(conf_start.mean() * 100) if len(conf_start) else math.nan,
            "confident_end": float(conf_end.mean() * 100) if len(conf_end) else math.nan,
            "nmi_match_start": float(nm_start.mean() * 100) if len(nm_start) else math.nan,
            "nmi_match_end": float(nm_end.mean() * 100) if len(nm_end) else math.nan}


def protocol_note(settings: Settings) -> str:
    """One paragraph: what this profile ran (data, width, stages, schedule scaling, seeds)."""
    run = settings["run"]
    steps = rs.steps_per_run(run)
    mu = rs.scaled_momentum(0.995, run)
    n_train = "all" if run["n_train"] is None else f"{run['n_train']:,}"
    n_test = "all" if run["n_test"] is None else f"{run['n_test']:,}"
    return (f"**Protocol ({settings.profile}).** Data: {', '.join(rs.run_datasets(settings)) or 'none run'} "
            f"({n_train} balanced training images, {n_test} balanced test images for evaluation). ResNet18 with the "
            f"CIFAR stem at width {run['width']:g}; SimCLR {run['simclr_epochs']} epochs (batch "
            f"{run['simclr_batch']}), SCAN {run['scan_epochs']} epochs (batch {run['scan_batch']}), one cached "
            f"SimCLR + SCAN network shared by every run; self-labeling {run['sl_epochs']} epochs at batch "
            f"{run['sl_batch']} = {steps:,} optimizer steps (the paper: 200 epochs = {rs.PAPER_STEPS:,} steps on "
            f"CIFAR10), {run['precision']}. Resets scaled to the run: R = 20 paper epochs -> every "
            f"{rs.scaled_every(20, run)} epochs, mu = 0.995 -> {mu:.4f} per step (mu ** steps as in the paper). "
            f"Seeds {settings.seeds}; plasticity injection seeds {settings['pi_seeds']}.")


def missing_text(settings: Settings) -> str:
    """The paper's data sets this profile does not run, and why."""
    missing = [PAPER_LABELS.get(d, d) for d in rs.PAPER_DATASETS if not rs.available(d, settings.profile)]
    if not missing:
        return ""
    return (f"{', '.join(missing)} are not run at {settings.profile}: no natural-image data set is available "
            "offline and a ResNet18 on them needs a GPU (paper profile); their cells show the paper's values.")


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
    axes[0][0].legend()
    fig.suptitle(title)
    plotting.mark_profile(fig, settings.profile, f"{len(hist['seed'].unique()) if len(hist) else 0} seed(s)")
    data = ", ".join(rs.run_datasets(settings))
    plotting.mark_substitute(fig, f"data: {data}, not the paper's" if data and data != "cifar10" else None)
    fig.tight_layout()
    return fig


def heatmap_figure(grid: pd.DataFrame, scan: float, *, settings: Settings, title: str, xlabel: str, ylabel: str):
    """A grid of mean ACC (percent) with each cell's number and its difference to SCAN+SL's mean."""
    plotting.style()
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    data = grid.to_numpy(dtype=float)
    im = ax.imshow(data, cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [f"{c:g}" for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{r:g}" for r in grid.index])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = data[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}\n({v - scan:+.1f})", ha="center", va="center", fontsize=7, color="w")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="ACC (%)")
    ax.set_title(title + f"\n(SCAN+SL {scan:.1f}; in brackets: cell minus SCAN+SL)")
    plotting.mark_profile(fig, settings.profile)
    data_names = ", ".join(rs.run_datasets(settings))
    plotting.mark_substitute(fig, f"data: {data_names}, not the paper's" if data_names else None)
    fig.tight_layout()
    return fig


def verdict_of(pr: dict[str, Any], paper_sign: int) -> str:
    """A findings verdict from a paired comparison and the sign the paper claims (+1 ahead, -1 behind)."""
    if pr["n"] < 2:
        return findings.INCONCLUSIVE
    wanted = outputs.AHEAD if paper_sign > 0 else outputs.BEHIND
    if pr["verdict"] == wanted:
        return findings.REPRODUCES
    if pr["verdict"] == outputs.INCONCLUSIVE:
        return findings.INCONCLUSIVE
    return findings.DOES_NOT_REPRODUCE


def pm(cite: findings.Cite, name: str, pr: dict[str, Any], digits: int = 2) -> str:
    """"+1.23 ± 0.45 points over n seeds", every number cited."""
    return (f"{cite(name + '/mean', pr['mean'], f'+.{digits}f')} ± {cite(name + '/se', pr['se'], f'.{digits}f')} "
            f"points over {cite(name + '/n', pr['n'])} seeds")
