"""ReSL's tables from cached runs, paper vs reproduced (the layer above the runs and settings).

Tables 1 and 4-6 (:func:`results_table`: paper avg / max beside ours and the paired difference to
SCAN+SL; :func:`wide_table`: the paper's layout), Table 2 (:func:`nmi_match_table`) and Table 3, SCAN's
self-labeling setup beside the values the runs use (:func:`selflabel_hyperparameters`). The paper's
numbers come from :mod:`dcutils.paper_data` (``resl_tables``); ours only from runs, labelled by
:mod:`dcutils.resl.frames`; the paired comparison is :func:`dcutils.resl.verdicts.paired_vs_scan`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dcutils import claims, data, health, hparams, paper_data
from dcutils.core import get_algorithm
from dcutils.profiles import Settings
from dcutils.resl import settings as rs
from dcutils.resl.frames import _PAPER_STRATEGY, PAPER_LABELS, VARIANTS, _by_seed, chosen_cells
from dcutils.resl.pretext import SCAN_NORMALIZATION, cutout_length
from dcutils.resl.verdicts import paired_vs_scan


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
                    m, se, n = claims.mean_se(vals)
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
                    m, se, n = claims.mean_se(sub.loc[sub["epoch"] == e, "nmi_match"] * 100)
                    row[f"ours_{name}"], row[f"ours_{name}_se"], row["seeds"] = m, se, n
                if d not in rs.PAPER_DATASETS:
                    row["note"] = "substitute data set: no paper value"
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# Table 3: SCAN's self-labeling setup beside what resl.selflabel runs

#: The paper's Table 3 columns (:data:`dcutils.hparams.RESL_SELF_LABELING`) and the data set each is shown on.
TABLE3_DATASETS = {col: keys[0] for col, keys in hparams.RESL_SELF_LABELING_DATASETS.items()}


def _by_side(values: dict[str, str]) -> str:
    """One value per data set, written once when all agree: ``{"CIFAR10": "16", "STL10": "32"}`` ->
    ``"16 (CIFAR10), 32 (STL10)"``."""
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return ", ".join(f"{v} ({k})" for k, v in values.items())


def _selflabel_values(run: dict, dataset: str) -> dict[tuple[str, str], str]:
    """Table 3's (section, parameter) -> the value ``resl.selflabel`` runs with on ``dataset`` (a canonical key),
    from its parameters ``run`` (the algorithm's defaults updated by a profile's ``run``)."""
    side = int(data.DATASETS[dataset].shape[-1])
    width = float(run["width"])
    if run["normalization"] == "scan":  # SCAN's constants, written as the table writes them
        mean, std = (str(list(v)) for v in SCAN_NORMALIZATION[dataset])
    else:
        mean = std = "the training subset's, per channel"
    # criterion, heads, Cutout's holes and random side, and the optimizer are fixed by the implementation
    # (dcutils.resl.selflabel, network.ClusteringModel, augment.cutout), not run parameters
    return {
        ("General training", "Confidence threshold"): f"{run['threshold']:g}",
        ("General training", "Criterion"): "Confidence cross entropy",
        ("General training", "Apply class balancing"): str(bool(run["balance"])),
        ("General training", "Epochs"): str(run["sl_epochs"]),
        ("General training", "Batch size"): str(run["sl_batch"]),
        ("Model", "Backbone"): "resnet18" + ("" if width == 1 else f" (width {width:g})"),
        ("Model", "Number of heads"): "1",
        ("Augmentations (train)", "Augmentation strategy"): "SCAN" + ("" if run["n_ops"] == 4 else
                                                                      f" ({run['n_ops']} operations, SCAN's 4)"),
        ("Augmentations (train)", "Crop size"): str(side),
        ("Augmentations (train)", "Normalize mean"): mean,
        ("Augmentations (train)", "Normalize std"): std,
        ("Cutout", "Num of holes"): "1",
        ("Cutout", "Length"): str(cutout_length(side, run["cutout"])),
        ("Cutout", "Random"): "True",
        ("Transformations (validation)", "Crop size"): str(side),
        ("Optimizer", "Type"): "Adam",
        ("Optimizer", "Learning rate"): f"{run['sl_lr']:g}",
        ("Optimizer", "Weight decay"): f"{run['weight_decay']:g}",
    }


def selflabel_hyperparameters(profile: str) -> pd.DataFrame:
    """Table 3 (SCAN's self-labeling setup per data set) beside what ``resl.selflabel`` runs with.

    Returns
    -------
    DataFrame, one row per row of the paper's table: ``section``, ``parameter``, the paper's columns
    (:data:`TABLE3_DATASETS`, from :data:`dcutils.hparams.RESL_SELF_LABELING`); ``ours, paper profile``:
    the run's defaults with the paper profile's ``run``, on the data set of each paper column (one value
    when they agree); ``ours, <profile> profile (<its data sets>)`` when ``profile`` is not "paper"; and
    ``as the paper``: whether the paper profile's value equals the paper's in every column.
    """
    if profile not in rs.RUNS:
        raise ValueError(f"unknown profile {profile!r}; the resl profiles are {', '.join(map(repr, rs.RUNS))}")
    defaults = get_algorithm("resl.selflabel").defaults
    table = hparams.compare_setups({name: setup.rows() for name, setup in hparams.RESL_SELF_LABELING.items()})
    keys = list(zip(table["section"], table["parameter"]))
    paper_run = {**defaults, **rs.RUNS["paper"]["run"]}
    per_column = {col: _selflabel_values(paper_run, d) for col, d in TABLE3_DATASETS.items()}
    table["ours, paper profile"] = [_by_side({col: v[k] for col, v in per_column.items()}) for k in keys]
    if profile != "paper":
        run = {**defaults, **rs.RUNS[profile]["run"]}
        per_data = {data.DATASETS[d].display: _selflabel_values(run, d) for d in rs.RUNS[profile]["datasets"]}
        table[f"ours, {profile} profile ({', '.join(per_data)})"] = [_by_side({d: v[k] for d, v in per_data.items()})
                                                                      for k in keys]
    table["as the paper"] = [all(per_column[col][k] == str(table.at[i, col]) for col in TABLE3_DATASETS)
                             for i, k in enumerate(keys)]
    return table
