"""Tables, figures and verdicts of the resl notebooks (the layer above the runs and settings).

Every function takes the runs (:class:`dcutils.runs.RunSet` or its tidy frames) and the settings;
nothing here trains. Runs are labelled by :func:`label_runs`: ``variant`` (``SCAN+SL``, ``SP``,
``SP*``, ``HT``, ``PI``) and the reset parameters in the paper's units (``every_paper`` in paper
epochs of 200, ``momentum_paper`` with mu ** 10,000 steps kept, see :mod:`dcutils.resl.settings`).

Verdicts compare a variant with SCAN+SL paired over seeds (every run of a seed starts from the same
SCAN network and the same data order): mean ± SE of the per-seed difference, "ahead" / "behind"
beyond 2 SE, else inconclusive (:func:`dcutils.outputs.paired`).

**The baseline must not degrade** (:func:`baseline_change`, :func:`gate`). A reset strategy is judged
against SCAN+SL; when self-labeling itself lowers ACC below the SCAN network it starts from (SCAN+SL
minus SCAN behind beyond 2 SE), a strategy that merely slows self-labeling looks better for the wrong
reason, so every reset verdict is then "inconclusive: the baseline degrades", and the texts state SCAN+SL
minus SCAN first. Runs flagged by their health check (:mod:`dcutils.health`: a cluster without
confident samples at the start or end, collapsed clusters) are counted in the tables and named in the
texts.
"""
from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from dcutils import findings, health, items, outputs, paper_data, plotting
from dcutils.profiles import Settings
from dcutils.resl import settings as rs

__all__ = ["VARIANTS", "PAPER_LABELS", "label_runs", "finals", "history", "grid_table", "best_cell",
           "results_table", "wide_table", "paired_vs_scan", "precondition", "protocol_note", "missing_text",
           "dataset_labels", "curve_figure", "heatmap_figure", "nmi_match_table", "verdict_of", "num", "pm",
           "baseline_change", "gate"]

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


def _paper_units(settings: Settings) -> dict[tuple, tuple[float, float]]:
    """(strategy, every, rounded momentum) of the runs -> (R, mu) in the paper's units, from the settings."""
    out: dict[tuple, tuple[float, float]] = {}
    for c in grid_cells(settings, "sp"):
        out[("sp", c["params"]["every"], None)] = (c["every_paper"], math.nan)
    for c in grid_cells(settings, "ht"):
        out[("ht", c["params"]["every"], round(c["params"]["momentum"], 10))] = (c["every_paper"], c["momentum_paper"])
    star = rs.strategy_params(settings, "sp*")
    out[("sp*", star["every"], None)] = (float(settings["spstar_every"]), math.nan)
    return out


def grid_cells(settings: Settings, strategy: str) -> list[dict]:
    """:func:`dcutils.resl.settings.grid_cells` (the grid in paper units and the run parameters)."""
    return rs.grid_cells(settings, strategy)


def label_runs(frame: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """``frame`` (finals or history) with ``variant``, ``every_paper``, ``momentum_paper`` and ``cell``.

    With ``settings`` the paper units come from the settings' grids (exact); without, they are computed back
    from the run's scaled values (R rounded to whole paper epochs, mu to 4 digits).
    """
    out = frame.copy()
    out["variant"] = out["strategy"].map(_LABEL)
    steps = out["sl_epochs"] * np.ceil(out["n_train"].fillna(50_000) / out["sl_batch"])
    every = [_paper_every(e, s) for e, s in zip(out["every"], out["sl_epochs"])]
    mom = [_paper_momentum(m, s) for m, s in zip(out["momentum"], steps)]
    if settings is not None:
        units = _paper_units(settings)
        for i, (st, e, m) in enumerate(zip(out["strategy"], out["every"], out["momentum"])):
            key = (st, int(e), round(float(m), 10) if st == "ht" else None)
            if key in units:
                every[i] = units[key][0]
                if st == "ht":
                    mom[i] = units[key][1]
    out["every_paper"], out["momentum_paper"] = every, mom
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


def finals(runset, settings: Settings | None = None) -> pd.DataFrame:
    """Labelled final metrics, one row per run."""
    return label_runs(runset.finals(), settings)


def history(runset, settings: Settings | None = None) -> pd.DataFrame:
    """Labelled per-epoch history, one row per (run, epoch)."""
    return label_runs(runset.history(), settings)


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
                   "verdict": "", "flagged": 0, "note": ""}
            if not rs.available(d, settings.profile):
                row["note"] = f"not run at {settings.profile} (paper profile)"
            else:
                vals = _by_seed(fin, v, cells.get(v) or None, metric, d) * 100 if len(fin) else pd.Series(dtype=float)
                if len(vals):
                    m, se, n = outputs.mean_se(vals)
                    row.update(ours_avg=m, ours_se=se, ours_max=float(vals.max()), seeds=n,
                               flagged=int(_by_seed(fin, v, cells.get(v) or None, "flagged", d).astype(bool).sum())
                               if "flagged" in fin else 0)
                if v != "SCAN+SL" and len(vals):
                    pr = paired_vs_scan(fin, v, cells.get(v) or None, metric, d)
                    row.update(vs_scan=pr["mean"], vs_scan_se=pr["se"], verdict=pr["verdict"])
                if d not in rs.PAPER_DATASETS:
                    row["note"] = "substitute data set: no paper value"
                if row["flagged"]:
                    row["note"] = "; ".join(filter(None, [row["note"], f"{row['flagged']} of {row['seeds']} runs "
                                                                       "flagged unhealthy"]))
            rows.append(row)
    return pd.DataFrame(rows)


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout: variants x data sets, each cell "ours avg / max (paper avg / max)"."""
    def cell(r) -> str:
        ours = ("—" if not np.isfinite(r["ours_avg"]) else
                f"{r['ours_avg']:.2f} / {r['ours_max']:.2f}{health.flag_mark(bool(r.get('flagged', 0)))}")
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
    threshold = float(run.get("threshold", 0.99))
    return (f"**Protocol ({settings.profile}).** Data: {', '.join(rs.run_datasets(settings)) or 'none run'} "
            f"({n_train} balanced training images, {n_test} balanced test images for evaluation). ResNet18 with the "
            f"CIFAR stem at width {run['width']:g}; SimCLR {run['simclr_epochs']} epochs (batch "
            f"{run['simclr_batch']}), SCAN {run['scan_epochs']} epochs (batch {run['scan_batch']}), one cached "
            f"SimCLR + SCAN network shared by every run; self-labeling {run['sl_epochs']} epochs at batch "
            f"{run['sl_batch']} = {steps:,} optimizer steps (the paper: 200 epochs = {rs.PAPER_STEPS:,} steps on "
            f"CIFAR10), confidence threshold {threshold:g}{' (the paper: 0.99)' if threshold != 0.99 else ''}, "
            f"{run['precision']}. Resets scaled to the run: R = 20 paper epochs -> every "
            f"{rs.scaled_every(20, run)} epochs, mu = 0.995 -> {mu:.4f} per step (mu ** steps as in the paper). "
            f"Seeds {settings.seeds}; plasticity injection seeds {settings['pi_seeds']}.")


def dataset_labels(settings: Settings) -> list[str]:
    """How outputs name the data the profile ran, e.g. "FMNIST (3,000 / 2,000 balanced train / test images)"."""
    run = settings["run"]
    out = []
    for d in rs.run_datasets(settings):
        spec = items.data_spec(settings.profile, d)
        if run["n_train"] is None:
            out.append(f"{spec.display} (train / test splits)")
        else:
            out.append(f"{spec.display} ({run['n_train']:,} / {run['n_test']:,} balanced train / test images)")
    return out


def missing_text(settings: Settings) -> str:
    """The paper's data sets this profile does not run, and why."""
    missing = [PAPER_LABELS.get(d, d) for d in rs.PAPER_DATASETS if not rs.available(d, settings.profile)]
    if not missing:
        return ""
    return (f"{', '.join(missing)} are not run at {settings.profile}: no natural-image data set is available "
            "offline and a ResNet18 on them needs a GPU (paper profile); their cells show the paper's values.")


def _substitute_note(settings: Settings) -> str | None:
    pairs = zip(rs.run_datasets(settings), dataset_labels(settings))
    subs = [label for d, label in pairs if d not in rs.PAPER_DATASETS]
    return f"data: {', '.join(subs)}, substituting for the paper's data sets" if subs else None


def injection_provenance(settings: Settings) -> outputs.Provenance:
    """Provenance of the plasticity-injection outputs (fig02, fig07): the seeds their curves show are
    ``pi_seeds``; SCAN+SL's seed-to-seed spread, their yardstick, comes from all the profile's seeds."""
    note = f"SCAN+SL's seed-to-seed spread (the yardstick) over seeds {outputs.compact_seeds(settings.seeds)}"
    return outputs.provenance(settings, datasets=dataset_labels(settings), seeds=settings["pi_seeds"],
                              notes=[note])


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


def baseline_change(frame: pd.DataFrame, metric: str = "acc", dataset: str | None = None) -> dict[str, Any]:
    """SCAN+SL minus the SCAN network it starts from, in points, paired over seeds (:func:`dcutils.outputs.paired`).

    ``frame``: finals (:func:`finals`: ``metric`` minus ``<metric>_scan``) or, without that column, a history
    (:func:`history`: the last epoch minus epoch 0, the network before self-labeling); ``dataset`` None takes
    every row's.
    ``degrades`` is True when the change is behind beyond 2 SE.
    """
    sub = frame[frame["variant"] == "SCAN+SL"] if "variant" in frame else frame.iloc[0:0]
    if dataset is not None and len(sub):
        sub = sub[sub["dataset"] == dataset]
    if sub.empty:
        end = start = pd.Series(dtype=float)
    elif f"{metric}_scan" in sub:
        end, start = sub.set_index("seed")[metric], sub.set_index("seed")[f"{metric}_scan"]
    elif "epoch" in sub:
        end, start = _last(sub).set_index("seed")[metric], sub[sub["epoch"] == 0].set_index("seed")[metric]
    else:
        end = start = pd.Series(dtype=float)
    pr = outputs.paired(end, start)
    return {**pr, "degrades": pr["verdict"] == outputs.BEHIND}


def baseline_text(base: dict[str, Any], cite: findings.Cite) -> str:
    """"Self-labeling itself, SCAN+SL minus SCAN: ..." with every number cited, and what follows if it degrades."""
    text = (f"Self-labeling itself, SCAN+SL minus the SCAN network it starts from: "
            f"{pm(cite, 'sl_minus_scan', base)} ({base['verdict']}; in the paper self-labeling adds to SCAN).")
    if base["degrades"]:
        text += (" The baseline degrades, so a reset that slows self-labeling would look better for the wrong "
                 "reason: the reset verdicts below are inconclusive whatever their sign.")
    return text


def gate(verdict: str, reason: str | None, base: dict[str, Any]) -> tuple[str, str | None]:
    """A reset strategy's (verdict, reason), made inconclusive when the SCAN+SL baseline degrades (module
    docstring); unchanged otherwise, and for a verdict that is already not testable."""
    if not base["degrades"] or verdict == findings.NOT_TESTABLE:
        return verdict, reason
    return (findings.INCONCLUSIVE, "the baseline degrades: SCAN+SL minus the SCAN network is behind beyond 2 SE "
            "(the text gives it), so the reset comparison is not judged")


def _health_note(frame: pd.DataFrame, cite: findings.Cite) -> str:
    """" k of n runs are flagged unhealthy (...)" for a finals frame with ``flagged``; "" when none is."""
    if "flagged" not in frame or not frame["flagged"].astype(bool).any():
        return ""
    k = int(frame["flagged"].astype(bool).sum())
    return (f" {cite('flagged_runs', k)} of {cite('runs', len(frame))} runs are flagged unhealthy by their health "
            "check (a cluster without confident samples at the start or end of self-labeling, or collapsed "
            "clusters); the tables mark them.")


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


def verdict_and_reason(pr: dict[str, Any], paper_sign: int, within: str) -> tuple[str, str | None]:
    """:func:`verdict_of` and the reason a findings record needs when it is inconclusive: ``within`` names
    what stays within 2 SE of zero."""
    verdict = verdict_of(pr, paper_sign)
    return verdict, (within if verdict in findings.NEED_REASON else None)


def num(cite: findings.Cite, name: str, value: Any, spec: str = ".1f") -> str:
    """``cite(name, value, spec)``, or "undefined" for a missing or non-finite value (nothing cited)."""
    if value is None or not np.isfinite(value):
        return "undefined"
    return cite(name, value, spec)


def pm(cite: findings.Cite, name: str, pr: dict[str, Any], digits: int = 2) -> str:
    """"+1.23 ± 0.45 points over n seeds", every number cited ("not defined" without a finite pair)."""
    if not pr["n"] or not np.isfinite(pr["mean"]) or not np.isfinite(pr["se"]):
        return "not defined (no seed where both are defined)"
    return (f"{cite(name + '/mean', pr['mean'], f'+.{digits}f')} ± {cite(name + '/se', pr['se'], f'.{digits}f')} "
            f"points over {cite(name + '/n', pr['n'])} seeds")


# ---------------------------------------------------------------- findings: verdict, reason, values, text
Finding = tuple[str, "str | None", dict, str]


def _data_name(settings: Settings) -> str:
    names = rs.run_datasets(settings)
    return PAPER_LABELS.get(names[0], names[0]) if names else ""


def _cite() -> findings.Cite:
    """A Cite that already holds the 2 of the "2 SE" / "2 SD" rule the texts name."""
    cite = findings.Cite()
    cite("rule/k", 2)
    return cite


def _no_runs(settings: Settings) -> Finding:
    return (findings.NOT_TESTABLE, f"the {settings.profile} profile runs none of this item's data sets", {},
            "No runs at this profile.")


def precondition_text(pre: dict[str, Any], cite: findings.Cite) -> str:
    """The two premises under SCAN+SL in words, every number cited."""
    return (f"Under SCAN+SL the confident fraction of the training set goes from "
            f"{num(cite, 'pre/confident_start', pre['confident_start'])} % to "
            f"{num(cite, 'pre/confident_end', pre['confident_end'])} % (paired: "
            f"{pm(cite, 'pre/confident_change', pre['confident'], 1)}), and the NMI match of the confident set "
            + ("is never defined (no confident sample)." if not np.isfinite(pre["nmi_match_start"]) else
               f"from {num(cite, 'pre/nmi_match_start', pre['nmi_match_start'])} % at its first defined epoch "
               f"to {num(cite, 'pre/nmi_match_end', pre['nmi_match_end'])} % at the end (paired: "
               f"{pm(cite, 'pre/nmi_match_change', pre['nmi_match'], 1)})."))


def _last(hist: pd.DataFrame) -> pd.DataFrame:
    return hist[hist["epoch"] == hist["epoch"].max()]


def _series(hist: pd.DataFrame, variant: str, col: str, cell: str | None = None, how: str = "last") -> pd.Series:
    sub = hist[hist["variant"] == variant]
    if cell:
        sub = sub[sub["cell"] == cell]
    if how == "last":
        return _last(sub).set_index("seed")[col]
    return sub[sub["epoch"] > 0].groupby("seed")[col].mean()


def smoke_coincidence(settings: Settings) -> str | None:
    """``save_figure``'s ``identical_ok`` for a figure of HT against SCAN+SL: at the smoke profile (a few dozen
    optimizer steps on 200 images, 100 test images) the two can end on the same test predictions, which is no
    plotting slip; at every other profile None, so identical curves still fail."""
    if settings.profile != "smoke":
        return None
    return "smoke profile: a few dozen steps on 200 images, HT and SCAN+SL may predict the 100 test images alike"


def ht_best_cell(settings: Settings) -> str:
    """The cell label of the paper's best HT setting (mu = 0.995, R = 20) in paper units."""
    mu, r = settings["ht_best"]
    return f"mu={mu:g}, R={r:g}"


def fig01_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 1): under SCAN+SL the confident fraction rises over training."""
    names = rs.run_datasets(settings)
    if not names or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    pre = precondition(hist, names[0])
    verdict, reason = verdict_and_reason(pre["confident"], +1, "the paired change over seeds is within 2 SE of zero")
    text = (f"{precondition_text(pre, cite)} The paper's Figure 1 shows the fraction rising on every data set; "
            f"here on {_data_name(settings)} it "
            + {outputs.AHEAD: "rises beyond 2 SE.", outputs.BEHIND: "falls beyond 2 SE."}.get(
                pre["confident"]["verdict"], "changes by less than 2 SE."))
    return verdict, reason, cite.values, text


def fig03_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 3): HT slows the fall of NMI match; premise: NMI match falls under SCAN+SL."""
    names = rs.run_datasets(settings)
    if not names or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    pre = precondition(hist, names[0])
    cell = ht_best_cell(settings)
    pr = outputs.paired(_series(hist, "HT", "nmi_match", cell), _series(hist, "SCAN+SL", "nmi_match"))
    text = precondition_text(pre, cite) + (
        f" At the end of self-labeling HT's NMI match minus SCAN+SL's is {pm(cite, 'ht_minus_scan/nmi_match', pr)}"
        f" ({pr['verdict']}; the paper has HT ahead).")
    if pre["nmi_match"]["verdict"] != outputs.BEHIND:
        return (findings.NOT_TESTABLE, f"the premise fails at {settings.profile}: under SCAN+SL the NMI match of the "
                "confident set does not fall beyond 2 SE, so there is no decay for HT to slow", cite.values,
                text + f" {settings.profile.capitalize()} cannot test the claim: the decay it is about does not "
                "happen here.")
    base = baseline_change(hist, dataset=names[0])
    verdict, reason = gate(*verdict_and_reason(pr, +1, "HT minus SCAN+SL is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text


def fig04_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 4, Section 5.3): HT changes cluster labels less (lower CL change) than SCAN+SL."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    cell = ht_best_cell(settings)
    cl = outputs.paired(_series(hist, "HT", "cl_change", cell, "mean"), _series(hist, "SCAN+SL", "cl_change",
                                                                                  how="mean"), scale=1.0)
    acc = outputs.paired(_series(hist, "HT", "acc", cell), _series(hist, "SCAN+SL", "acc"))
    nm = outputs.paired(_series(hist, "HT", "nmi_match", cell), _series(hist, "SCAN+SL", "nmi_match"))
    text = (f"HT minus SCAN+SL, paired over seeds: mean CL change over the epochs "
            f"{pm(cite, 'ht_minus_scan/cl_change', cl)} ("
            + {outputs.AHEAD: "HT higher", outputs.BEHIND: "HT lower"}.get(cl["verdict"], "no clear difference")
            + f"; the paper: HT lower); final ACC "
            f"{pm(cite, 'ht_minus_scan/acc', acc)} ({acc['verdict']}); final NMI match "
            f"{pm(cite, 'ht_minus_scan/nmi_match', nm)} ({nm['verdict']}).")
    base = baseline_change(hist)
    verdict, reason = gate(*verdict_and_reason(cl, -1, "HT's CL change minus SCAN+SL's is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text


def injection_findings(hist: pd.DataFrame, fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figures 2, 7): plasticity injection leaves ACC about where SCAN+SL ends.

    With one injection seed there is no paired SE; the yardstick of "similar" is SCAN+SL's own spread:
    |PI - SCAN+SL| of the same seed within 2 standard deviations of SCAN+SL's final ACC over seeds.
    """
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    pi = fin[fin["variant"] == "PI"].set_index("seed")["acc"] * 100
    scan = fin[fin["variant"] == "SCAN+SL"].set_index("seed")["acc"] * 100
    both = pd.concat([pi.rename("pi"), scan.rename("scan")], axis=1, join="inner")
    diff = float((both["pi"] - both["scan"]).mean()) if len(both) else math.nan
    sd = float(scan.std(ddof=1)) if len(scan) > 1 else math.nan
    if not (np.isfinite(diff) and np.isfinite(sd)):
        return (findings.INCONCLUSIVE, "one seed of SCAN+SL gives no spread to judge 'similar' against", cite.values,
                "Too few seeds to judge.")
    text = (f"Final ACC with injection minus without, same seed(s): {cite('pi_minus_scan/acc', diff, '+.2f')} "
            f"points over {cite('pi/seeds', len(both))} seed(s); SCAN+SL's final ACC varies by a standard deviation "
            f"of {cite('scan/acc_sd', sd, '.2f')} points over {cite('scan/seeds', len(scan))} seeds. The paper: all "
            "runs end at similar accuracy (no loss of trainability).")
    similar = abs(diff) <= 2 * sd
    base = baseline_change(fin)
    verdict, reason = gate(findings.REPRODUCES if similar else findings.DOES_NOT_REPRODUCE, None, base)
    return verdict, reason, cite.values, (baseline_text(base, cite) + " " + text
                                          + (" Within 2 SD: similar." if similar else " Beyond 2 SD: different.")
                                          + _health_note(fin, cite))


def sp_grid_findings(fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Appendix G.1): SP's accuracy improves as alpha increases (paired per seed and R)."""
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    sp = fin[fin["variant"] == "SP"]
    lo, hi = sp["alpha"].min(), sp["alpha"].max()
    a = sp[sp["alpha"] == hi].set_index(["seed", "every_paper"])["acc"]
    b = sp[sp["alpha"] == lo].set_index(["seed", "every_paper"])["acc"]
    pr = outputs.paired(a, b)
    best = best_cell(fin, "SP")
    best_pr = paired_vs_scan(fin, "SP", best, "acc", rs.run_datasets(settings)[0])
    text = (f"ACC at alpha {cite('alpha_high', hi, 'g')} minus alpha {cite('alpha_low', lo, 'g')}, paired over "
            f"(seed, R): {pm(cite, 'sp/high_minus_low', pr)} ({pr['verdict']}; the paper: higher alpha better). "
            f"The best cell by mean ACC ({cite('sp/best_cell', best)}) minus SCAN+SL: "
            f"{pm(cite, 'sp_best_minus_scan', best_pr)} "
            f"({best_pr['verdict']}). Grid values are ours.")
    base = baseline_change(fin)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "the paired difference is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text + _health_note(fin, cite)


def ht_grid_findings(fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Appendix G.2): HT at mu = 0.995, R = 20 beats SCAN+SL."""
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    d = rs.run_datasets(settings)[0]
    cell = ht_best_cell(settings)
    pr = paired_vs_scan(fin, "HT", cell, "acc", d)
    best = best_cell(fin, "HT")
    best_pr = paired_vs_scan(fin, "HT", best, "acc", d)
    mu, r = settings["ht_best"]
    text = (f"The paper's setting (mu {cite('paper/mu', mu, 'g')}, R {cite('paper/R', r, 'g')} in paper units) "
            f"minus SCAN+SL: {pm(cite, 'ht_paper_cell_minus_scan', pr)} ({pr['verdict']}). Our best cell "
            f"({cite('ht/best_cell', best)}) minus SCAN+SL: {pm(cite, 'ht_best_minus_scan', best_pr)} "
            f"({best_pr['verdict']}). Grid values "
            "are ours.")
    base = baseline_change(fin)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "the paired difference is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text + _health_note(fin, cite)


def _context(fin: pd.DataFrame, cite: findings.Cite) -> str:
    """How many batches each variant skipped for want of a confident sample."""
    scan = fin[fin["variant"] == "SCAN+SL"]
    if scan.empty:
        return ""
    cells = chosen_cells(fin)
    skipped = []
    for v in VARIANTS:
        sub = fin[fin["variant"] == v]
        if cells.get(v):
            sub = sub[sub["cell"] == cells[v]]
        if len(sub):
            skipped.append(f"{v} {num(cite, f'skipped/{v}', float(sub['skipped_batches'].mean()), '.0f')}")
    steps = int(scan["steps"].max() + scan["skipped_batches"].max())
    return (f" Batches skipped for want of a confident sample, of {cite('batches_per_run', steps)} per run (mean "
            "over seeds): " + ", ".join(skipped) + ".")


def results_findings(table: pd.DataFrame, metric: str, settings: Settings, fin: pd.DataFrame) -> Finding:
    """Claim (Tables 1, 4-6): HT beats SCAN+SL (its best cell, paired over seeds); SP and SP* reported alongside.

    The text states first what self-labeling does to the SCAN network (``fin``, :func:`baseline_change`; the
    verdict is gated by it, :func:`gate`), then the comparisons, how many batches each variant skipped and
    how many runs are flagged unhealthy.
    """
    ours = table[np.isfinite(table["vs_scan"])]
    if ours.empty:
        return _no_runs(settings)
    cite = _cite()
    parts = []
    for _, r in ours.iterrows():
        pr = {"mean": r["vs_scan"], "se": r["vs_scan_se"], "n": int(r["seeds"])}
        cell = f" at {cite(f'{r.dataset}/{r.variant}/cell', r['cell'])}" if r["cell"] else ""
        parts.append(f"{r['variant']}{cell} minus SCAN+SL: {pm(cite, f'{r.dataset}/{r.variant}_minus_scan', pr)} "
                     f"({r['verdict']})")
    ht = ours[ours["variant"] == "HT"].iloc[0]
    pr = {"mean": ht["vs_scan"], "se": ht["vs_scan_se"], "n": int(ht["seeds"]), "verdict": ht["verdict"]}
    label = {"acc": "ACC", "ari": "ARI", "nmi": "NMI"}[metric]
    base = baseline_change(fin, metric)
    text = (baseline_text(base, cite) + f" {label}, paired over seeds: " + "; ".join(parts) + ". The SP and HT "
            "cells are each strategy's best by mean ACC over the same seeds, as the paper chooses them, which "
            "favours the resets a little. The paper has HT ahead of SCAN+SL on every data set.")
    text += _context(fin, cite) + _health_note(fin, cite)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "HT minus SCAN+SL is within 2 SE of zero"), base)
    return verdict, reason, cite.values, text


def nmi_match_findings(table: pd.DataFrame, hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Table 2): HT's confident set has a higher NMI match than SCAN+SL's at mid-run and at the end."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    cell = ht_best_cell(settings)
    run = settings["run"]
    out = {}
    for name, e in (("half", run["sl_epochs"] // 2), ("end", run["sl_epochs"])):
        sub = hist[hist["epoch"] == e]
        out[name] = outputs.paired(sub[(sub["variant"] == "HT") & (sub["cell"] == cell)].set_index("seed")["nmi_match"],
                                   sub[sub["variant"] == "SCAN+SL"].set_index("seed")["nmi_match"])
    text = (f"HT minus SCAN+SL in NMI match after {cite('epochs_half', run['sl_epochs'] // 2)} epochs (the paper's "
            f"e=100): {pm(cite, 'half', out['half'])} ({out['half']['verdict']}); after "
            f"{cite('epochs_end', run['sl_epochs'])} epochs (e=200): {pm(cite, 'end', out['end'])} "
            f"({out['end']['verdict']}). The paper has HT ahead at both on every data set.")
    cite("paper/e100", 100)
    cite("paper/e200", 200)
    base = baseline_change(hist)
    text = baseline_text(base, cite) + " " + text
    verdicts = {verdict_of(out[k], +1) for k in out}
    if verdicts == {findings.REPRODUCES}:
        verdict, reason = findings.REPRODUCES, None
    elif findings.DOES_NOT_REPRODUCE in verdicts:
        verdict, reason = findings.DOES_NOT_REPRODUCE, None
    else:
        verdict, reason = findings.INCONCLUSIVE, "at least one of the two differences is within 2 SE of zero"
    return (*gate(verdict, reason, base), cite.values, text)


def algo1_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Algorithm 1's mechanics: HT resets exactly every R epochs (never after the last) and is evaluated per epoch."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    ht = hist[(hist["variant"] == "HT") & (hist["cell"] == ht_best_cell(settings))]
    every = int(ht["every"].iloc[0])
    epochs = int(ht["epoch"].max())
    expected = [e for e in range(every, epochs) if e % every == 0]
    ok = all(sorted(g.loc[g["reset"].astype(bool), "epoch"].astype(int)) == expected for _, g in ht.groupby("seed"))
    rows_ok = all(len(g) == epochs + 1 for _, g in ht.groupby("seed"))
    text = (f"In every HT run the hare was reset to the tortoise after each {cite('R', every)} epochs "
            f"({cite('resets', len(expected))} resets in {cite('epochs', epochs)} epochs, none after the last), and "
            "the tortoise was evaluated after every epoch: " + ("as Algorithm 1 describes." if ok and rows_ok else
                                                             "NOT as scheduled."))
    # a procedure, not a claim of the paper (as brb's Algorithm 1); the text says whether the runs followed it
    return (findings.NOT_TESTABLE, "Algorithm 1 is a procedure, not a claim; the text checks that the runs followed it",
            cite.values, text)
