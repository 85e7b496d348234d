"""Tables, figures and verdicts of R-DC, from cached runs (the layer above training).

Every function takes a :class:`dcutils.runs.RunSet` (or the settings of a
notebook) and returns a DataFrame, a matplotlib figure or a Markdown string;
nothing here trains or loads data. The paper's numbers come from
:mod:`dcutils.paper_data` (its ``rdc_*`` tables); reproduced numbers only from runs
(``rdc.method``, ``rdc.twist``, ``rdc.paradigm`` of :mod:`dcutils.rdc`).
Data labels come from the run records (each run's ``meta``: the data set's
display name, split, samples and subsample) and from the profile's pinned
data (:func:`dcutils.items.data_spec`); display names of data sets without
runs from the catalog's table (:data:`dcutils.data.DATASETS`).

Conventions: metrics are stored as fractions and shown in percent; a cell is
(data set, method), its seeds averaged (mean ± SE); ``variant`` is the
method name of ``rdc.method`` (every method runs the same fixed budget, its
stopping rule only logged, so no "stopping rule off" variant is needed).
Data sets a profile does not
pin are "paper profile only": their cells keep the paper's values with the
reason "not run at <profile>".
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dcutils import items, metrics, outputs, paper_data, plotting
from dcutils.data import DATASETS, canonical_name
from dcutils.profiles import Settings
from dcutils.rdc import inputs
from dcutils.rdc import settings as exp
from dcutils.rdc.method import METHOD_HYPERPARAMETERS
from dcutils.runs import RunSet

plotting.style()

#: Row names as the paper prints them.
METHOD_NAME = {
    "ae_kmeans": "AE + k-means", "dec": "DEC", "idec": "IDEC", "dynae": "DynAE", "vade": "VaDE", "rdc": "R-DC",
    "p1p2p3": "P1+P2+P3",
}
#: The ten methods of Tables 3-5, in the paper's order.
PAPER_METHODS = ["FINCH", "VaDE", "AE + k-means", "DEC", "IDEC", "PSSC", "CC", "DDC-UCO", "DynAE", "R-DC"]
#: Why a method of the tables is not rerun here.
NOT_RERUN = {
    "FINCH": "paper, not rerun (FINCH is on PyPI as finch-clust but is not a dependency of this environment)",
    "PSSC": "paper, not rerun (not implemented here)",
    "CC": "paper, not rerun (not implemented here)",
    "DDC-UCO": "paper, not rerun (not implemented here)",
}
METRICS = {"acc": "ACC", "f1_macro": "F1 macro", "f1_micro": "F1 micro"}
#: Ablation columns of Table 8 and the rdc.method behind each.
ABLATION = {"P1": "ae_kmeans", "P1+P2": "rdc", "P1+P3": "dec", "P1+P2+P3": "p1p2p3"}
PHASE2 = {"rdc": "P2", "dynae": "DynAE", "dec": "P3", "idec": "IDEC", "vade": "VaDE"}


# ----------------------------------------------------------------------------
# tidy frames and labels


def with_variant(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (finals or history of ``rdc.method`` runs) with a ``variant`` column."""
    frame = frame.copy()
    if not len(frame):
        frame["variant"] = []
        return frame
    frame["variant"] = frame["method"]
    return frame


def finals(runset: RunSet) -> pd.DataFrame:
    """One row per run: config columns, final metrics and ``variant``."""
    return with_variant(runset.finals())


def history(runset: RunSet) -> pd.DataFrame:
    """One row per logged epoch, with config columns, ``variant`` and ``phase_iteration``.

    ``phase_iteration`` counts mini-batches from the start of the run's phase
    (0 at the start of phase 2 / the clustering phase).
    """
    frame = with_variant(runset.history())
    if len(frame):
        frame["phase_iteration"] = frame["iteration"]
    return frame


def display_name(dataset: str) -> str:
    """The data set's display name (``"FMNIST"``) from the catalog's table (nothing is loaded)."""
    try:
        return DATASETS[canonical_name(dataset)].display
    except ValueError:
        return dataset


def dataset_label(meta: Mapping[str, Any], spec: items.DataSpec | None = None) -> str:
    """How a run's data is named on figures, from its record: ``"FMNIST (subsample 5,000 of 70,000)"``.

    Parameters
    ----------
    meta : a run's ``meta``: ``dataset`` (display name), ``split``, ``n_samples``
        and ``subsample`` (the loader's record ``{"n", "of", ...}`` or None)
    spec : the profile's pinned data (:func:`dcutils.items.data_spec`), whose
        ``note`` says how it differs from the paper's data (e.g. ``"test split
        only, 10,000 of 70,000"``); without it a split other than ``"all"`` is
        named from the record
    """
    name = meta.get("dataset") or (spec.display if spec is not None else "?")
    parts = []
    if spec is not None and spec.note:
        parts.append(spec.note)
    elif meta.get("split") not in (None, "all"):
        parts.append(f"{meta['split']} split only")
    sub = meta.get("subsample")
    if isinstance(sub, Mapping) and sub.get("n") is not None and sub.get("of") and sub["n"] < sub["of"]:
        parts.append(f"subsample {sub['n']:,} of {sub['of']:,}")
    return name + (f" ({'; '.join(parts)})" if parts else "")


def run_datasets(runset: RunSet, settings: Settings) -> list[str]:
    """Labels of the data sets the runs used (from their records), naming subsamples and split stand-ins."""
    labels = []
    for d in runset.datasets():
        records = [r for r in runset if r.config.dataset == d]
        labels.append(dataset_label(records[0].meta, items.data_spec(settings.profile, d)))
    return labels


def not_run_reason(dataset: str, profile: str) -> str:
    """Why a data set of the paper has no reproduced values at ``profile``."""
    if items.data_spec(profile, dataset) is None:
        return f"not run at {profile} (paper profile only)"
    return f"no runs recorded for {display_name(dataset)} at {profile}"


def missing_text(settings: Settings) -> str:
    """A sentence naming the settings' data sets that its profile does not run (or "")."""
    missing = exp.missing_datasets(settings) if "datasets" in settings else []
    if not missing:
        return ""
    names = ", ".join(display_name(d) for d in missing)
    return (f"Not run at profile `{settings.profile}` (paper profile only): {names}. Their cells keep the paper's "
            "values with reproduced '—'; the paper profile runs them.")


def _save_figure(fig, settings: Settings, datasets: Sequence[str], seeds: Iterable[int] | None = None,
                 substitute: str | None = None, notes: Sequence[str] = ()) -> None:
    plotting.mark_substitute(fig, substitute)
    shown = settings.seeds if seeds is None else seeds
    plotting.mark_profile(fig, settings.profile, f"seeds {','.join(map(str, shown))}")
    outputs.save_figure(fig, outputs.provenance(settings, datasets=datasets, seeds=seeds, notes=notes))


def save_figure(fig, settings: Settings, datasets: Sequence[str], *, seeds: Iterable[int] | None = None,
                substitute: str | None = None, notes: Sequence[str] = ()) -> None:
    """Mark substitute and profile on ``fig`` and save it with provenance (figures/rdc/...)."""
    _save_figure(fig, settings, datasets, seeds, substitute, notes)


def _pct(v: float) -> float:
    return 100.0 * v if v is not None and np.isfinite(v) else math.nan


def mean_se_pct(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, SE and n of fractions, in percent."""
    m, se, n = outputs.mean_se([v * 100.0 for v in values if v is not None and np.isfinite(v)])
    return m, se, n


# ----------------------------------------------------------------------------
# Tables 3-5 and 8: paper vs reproduced


def _paper_frame(pairs: Iterable[tuple[str, str]], source: pd.DataFrame, key: str) -> pd.DataFrame:
    """The paper's metrics of ``pairs`` (dataset, value of ``source[key]``) in long form, NaN where not printed."""
    values = source.set_index(["dataset", key])[list(METRICS)]
    rows = []
    for dataset, method in pairs:
        printed = (dataset, method) in values.index
        for metric, name in METRICS.items():
            rows.append({"dataset": dataset, "method": method, "metric": name,
                         "paper": float(values.loc[(dataset, method), metric]) if printed else math.nan})
    return pd.DataFrame(rows)


def _comparison(runs: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    long = []
    for _, r in runs.iterrows():
        for metric, name in METRICS.items():
            long.append({"dataset": r["dataset"], "method": r["method_paper"], "metric": name, "value": r[metric]})
    long_frame = pd.DataFrame(long, columns=["dataset", "method", "metric", "value"])
    table = outputs.comparison(long_frame, paper, ["dataset", "method", "metric"], "value")
    # the paper's row order (the merge may sort the keys)
    order = {key: i for i, key in enumerate(zip(paper["dataset"], paper["method"], paper["metric"]))}
    rank = [order.get(k, len(order) + i) for i, k in enumerate(zip(table["dataset"], table["method"], table["metric"]))]
    return table.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)


def _format(table: pd.DataFrame, notes: dict[tuple[str, str], str], missing: set[str], profile: str) -> pd.DataFrame:
    out = []
    for r in table.itertuples(index=False):
        if r.dataset in missing:
            note = not_run_reason(r.dataset, profile)
        elif r.seeds == 0:
            note = notes.get((r.dataset, r.method), NOT_RERUN.get(r.method, "not rerun at this profile"))
        else:
            note = ""
        out.append({
            "Dataset": display_name(r.dataset), "Method": r.method, "Metric": r.metric,
            "Paper": r.paper, "Reproduced": r.reproduced, "± SE": r.reproduced_se, "Difference": r.difference,
            "Seeds": r.seeds, "Note": note,
        })
    return pd.DataFrame(out)


def clustering_table(runset: RunSet, settings: Settings) -> pd.DataFrame:
    """R-DC Tables 3-5: ACC / F1 macro / F1 micro per (data set, method), paper vs reproduced.

    The data sets are the settings' (in the paper's order); all ten methods of
    the paper appear, those not rerun with the paper's values and the reason.
    """
    frame = finals(runset)
    if len(frame):
        frame = frame.copy()
        frame["method_paper"] = frame["variant"].map(METHOD_NAME)
    else:
        frame = pd.DataFrame(columns=["dataset", "method_paper", *METRICS])
    printed = paper_data.rdc_clustering()
    datasets = list(settings["datasets"]) or sorted(set(printed["dataset"]))
    paper = _paper_frame([(d, m) for d in datasets for m in PAPER_METHODS], printed, "method")
    table = _comparison(frame, paper)
    return _format(table, {}, set(datasets) - set(frame["dataset"]) if len(frame) else set(datasets),
                   settings.profile)


def ablation_table(runset: RunSet, settings: Settings) -> pd.DataFrame:
    """R-DC Table 8: P1, P1+P2, P1+P3, P1+P2+P3 per data set, paper vs reproduced."""
    frame = finals(runset)
    inverse = {v: k for k, v in ABLATION.items()}
    if len(frame):
        frame = frame[frame["variant"].isin(inverse)].copy()
        frame["method_paper"] = frame["variant"].map(inverse)
    else:
        frame = pd.DataFrame(columns=["dataset", "method_paper", *METRICS])
    datasets = list(settings["datasets"])
    paper = _paper_frame([(d, p) for d in datasets for p in ABLATION], paper_data.rdc_ablation(), "phases")
    table = _comparison(frame, paper)
    return _format(table, {}, set(datasets) - set(frame["dataset"]) if len(frame) else set(datasets),
                   settings.profile)


def wide(table: pd.DataFrame, metric: str = "ACC") -> pd.DataFrame:
    """One metric of a comparison table as Method x Dataset with "paper / reproduced ± SE" cells."""
    sub = table[table["Metric"] == metric]
    cells = {}
    for r in sub.itertuples(index=False):
        rep = outputs.plus_minus(r.Reproduced, r._5, 1)
        paper = "—" if not np.isfinite(r.Paper) else f"{r.Paper:.1f}"
        cells.setdefault(r.Method, {})[r.Dataset] = f"{paper} / {rep}"
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("Method (paper / ours)").reset_index()


def cell(table: pd.DataFrame, dataset: str, method: str, metric: str = "ACC") -> tuple[float, float, int]:
    """Reproduced mean, SE and seeds of one cell of a comparison table (NaN, NaN, 0 when absent)."""
    r = table[(table["Dataset"] == display_name(dataset)) & (table["Method"] == method) & (table["Metric"] == metric)]
    if not len(r):
        return math.nan, math.nan, 0
    r = r.iloc[0]
    return float(r["Reproduced"]), float(r["± SE"]), int(r["Seeds"])


def _beats(a: tuple[float, float, int], b: tuple[float, float, int]) -> str:
    if not (np.isfinite(a[0]) and np.isfinite(b[0])):
        return "cannot be compared (a value is missing)"
    gap = a[0] - b[0]
    noise = math.hypot(a[1] if np.isfinite(a[1]) else 0.0, b[1] if np.isfinite(b[1]) else 0.0)
    if abs(gap) <= noise or abs(gap) < 0.5:
        return f"ties with it ({gap:+.1f} points, within the seeds' spread)"
    return f"is {abs(gap):.1f} points {'above' if gap > 0 else 'below'} it"


def verdict_methods(table: pd.DataFrame, dataset: str, profile: str, main: str = "R-DC",
                    others: Sequence[str] = ("DynAE", "DEC", "IDEC", "AE + k-means", "VaDE")) -> str:
    """Markdown: does ``main`` beat each other method on ``dataset`` (ACC), as in the paper?"""
    m = cell(table, dataset, main)
    if m[2] == 0:
        return f"**{display_name(dataset)}:** no reproduced {main} value at profile `{profile}`."
    lines = [f"**{display_name(dataset)}, profile `{profile}`, ACC of {main}: {m[0]:.1f} ± {m[1]:.1f} % "
             f"({m[2]} seed{'s' if m[2] != 1 else ''}).**", ""]
    for o in others:
        c = cell(table, dataset, o)
        if c[2] == 0:
            continue
        paper_row = table[(table["Dataset"] == display_name(dataset)) & (table["Method"].isin([main, o]))
                          & (table["Metric"] == "ACC")].set_index("Method")["Paper"]
        paper_gap = paper_row.get(main, math.nan) - paper_row.get(o, math.nan)
        paper_txt = f"paper: {paper_gap:+.1f} points" if np.isfinite(paper_gap) else "paper: —"
        lines.append(f"- vs {o} ({c[0]:.1f} ± {c[1]:.1f}): {main} {_beats(m, c)} ({paper_txt}).")
    return "\n".join(lines)


def markdown(table: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """A comparison table as Markdown (NaN shown as "—")."""
    return outputs.to_markdown(table, floatfmt)


# ----------------------------------------------------------------------------
# Table 6: runtime; Table 7: hyperparameters; Table 1: data sets


def runtime_table(runset: RunSet, settings: Settings) -> pd.DataFrame:
    """R-DC Table 6: seconds at equal iterations, paper vs ours.

    Ours, where every run of the method ran the whole budget (``stop="budget"``):
    the measured pretraining plus clustering seconds ("measured"). Otherwise
    (runs that stopped early) extrapolated, and labelled so: the shared ACAI
    pretraining time, plus one k-means on the embedding
    (the time of the AE + k-means run of the same seed; every method runs one
    k-means or GMM fit), plus the method's seconds per clustering iteration
    (training only, evaluation excluded, that k-means taken out) times a
    common budget of ``cluster_epochs`` epochs. AE + k-means has no
    clustering iterations: pretraining plus its k-means. The
    paper's seconds (a Tesla T4, full data, its own iteration counts) and ours
    (CPU, subsample) are not comparable in size, only in ranking.
    """
    frame = finals(runset)
    paper = paper_data.rdc_runtime().set_index(["dataset", "method"])["seconds"]
    samples = {r.config.dataset: r.meta.get("n_samples") for r in runset}  # from the run records
    rows = []
    for d in settings["datasets"]:
        sub = frame[frame["dataset"] == d] if len(frame) else frame
        budget = None
        if len(sub):
            n_rows = samples.get(d)  # older records lack n_samples: the subsample, else the full set
            if not n_rows:
                cap = sub["subsample"].iloc[0]
                n_rows = int(cap) if cap is not None and np.isfinite(cap) else DATASETS[d].paper_samples
            budget = settings.cluster_epochs * math.ceil(n_rows / 256)
        # the k-means (or GMM) that every method runs once: AE + k-means' whole clustering time, per seed
        km = sub[sub["variant"] == "ae_kmeans"].set_index("seed")["seconds_cluster"] if len(sub) else pd.Series()
        for method in PAPER_METHODS:
            key = {v: k for k, v in METHOD_NAME.items()}.get(method)
            runs = sub[sub["variant"] == key] if len(sub) and key else sub.iloc[0:0] if len(sub) else sub
            row = {"Dataset": display_name(d), "Method": method, "Paper (s)": paper.get((d, method), math.nan)}
            if len(runs):
                t_km = runs["seed"].map(km).fillna(0.0) if len(km) else 0.0
                iters = runs["iterations"].clip(lower=1)
                per_it = ((runs["seconds_cluster"] - t_km).clip(lower=0) / iters).where(runs["iterations"] > 0, 0.0)
                measured = runs["iterations"] == budget  # the fixed budget ran in full: its time is measured
                total = (runs["seconds_pretrain"] + runs["seconds_cluster"]).where(
                    measured, runs["seconds_pretrain"] + t_km + per_it * budget)
                if key == "ae_kmeans":
                    total, measured = runs["seconds_pretrain"] + runs["seconds_cluster"], runs["iterations"] == 0
                m, se, k = outputs.mean_se(total)
                row.update({"Ours (s)": m, "± SE": se, "Pretraining (s)": float(runs["seconds_pretrain"].mean()),
                            "ms / clustering iteration": (float((per_it * 1000).mean()) if key != "ae_kmeans"
                                                          else math.nan),
                            "Iterations (budget)": budget if key != "ae_kmeans" else 0, "Seeds": k,
                            "Note": "measured" if bool(measured.all()) else
                            "extrapolated to the budget from the measured time per iteration"})
            else:
                reason = (not_run_reason(d, settings.profile) if d in exp.missing_datasets(settings)
                          else NOT_RERUN.get(method, "not rerun"))
                row.update({"Ours (s)": math.nan, "± SE": math.nan, "Pretraining (s)": math.nan,
                            "ms / clustering iteration": math.nan, "Iterations (budget)": math.nan, "Seeds": 0,
                            "Note": reason})
            rows.append(row)
    return pd.DataFrame(rows)


def hyperparameter_table() -> pd.DataFrame:
    """R-DC Table 7: hyperparameter counts, the paper's and those of the methods as run here.

    Ours are read from :data:`dcutils.rdc.METHOD_HYPERPARAMETERS` (the
    ``rdc.method`` parameters each method uses beyond the shared setup). The
    complexity column of Table 7 was lost in the text extraction.
    """
    paper = paper_data.rdc_hyperparameters().set_index("method")["count"]
    rows = []
    for method in PAPER_METHODS:
        key = {v: k for k, v in METHOD_NAME.items()}.get(method)
        ours = METHOD_HYPERPARAMETERS.get(key) if key else None
        rows.append({
            "Method": method,
            "Complexity (paper)": "lost in the text extraction",
            "Hyperparameters (paper)": paper.get(method, math.nan),
            "Hyperparameters (ours)": len(ours) if ours else math.nan,
            "Ours: which": ", ".join(ours) if ours else NOT_RERUN.get(method, "—"),
        })
    return pd.DataFrame(rows)


RDC_TABLE1 = ["pneumoniamnist", "breastmnist", "bloodmnist", "vesselmnist3d", "cifar10", "fmnist"]


def dataset_table(profile: str) -> pd.DataFrame:
    """R-DC Table 1: samples and classes per data set, the paper's next to the catalog's and the profile's data.

    Nothing is loaded: samples, classes and features come from the catalog
    (:data:`dcutils.data.DATASETS`), the data ``profile`` runs from its pins
    (:func:`dcutils.items.data_spec`). ``Samples (profile)`` is the pinned
    split's size (NaN where the profile does not run the data set), ``Samples used`` what the
    shared runs of Tables 3-8 train on (the profile's subsample of it); ``Status``
    is ``"as in the paper"``, ``"substitute: <how it differs>"`` or
    ``"not run at <profile> (paper profile only)"``.
    """
    paper = paper_data.rdc_datasets().set_index("dataset")
    rows = []
    for key in RDC_TABLE1:
        spec = DATASETS[key]
        pinned = items.data_spec(profile, key)
        paper_n, paper_k = paper.loc[key, ["samples", "classes"]] if key in paper.index else (math.nan, math.nan)
        if pinned is None:
            status = f"not run at {profile} (paper profile only)"
        else:
            status = f"substitute: {pinned.note}" if pinned.note else "as in the paper"
        used = exp.FMNIST_RUNS[profile]["subsample"]
        n_pinned = pinned.n if pinned is not None and pinned.n is not None else math.nan
        rows.append({"Dataset": spec.display, "Type": spec.kind, "Samples (paper)": paper_n,
                     "Samples (catalog)": spec.paper_samples,
                     "Samples (profile)": n_pinned,
                     "Samples used (Tables 3-8 runs)": min(n_pinned, used) if used else n_pinned,
                     "Classes (paper)": paper_k, "Classes": spec.n_classes,
                     "Features": math.prod(spec.original_shape), "Status": status, "Note": spec.note})
    return pd.DataFrame(rows)


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
        ax.legend(loc="lower left")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
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


def twist_verdict(summary: pd.DataFrame, profile: str) -> str:
    """Markdown: did DEC merge / flatten the clusters and did R-DC keep them (per the paper)?"""
    s = summary.set_index("method")
    lines = [f"**Feature Twist toy, profile `{profile}`.**", ""]
    for m, name in (("dec", "DEC"), ("rdc", "R-DC phase 2")):
        if m not in s.index:
            continue
        r = s.loc[m]
        d_pur = r["5-NN purity (end)"] - r["5-NN purity (pretrained)"]
        d_flat = r["flatness (end)"] - r["flatness (pretrained)"]
        d_acc = r["ACC (end)"] - r["ACC (pretrained)"]
        merged = d_pur < -0.02
        lines.append(f"- {name}: 5-NN purity {r['5-NN purity (pretrained)']:.3f} → {r['5-NN purity (end)']:.3f} "
                     f"({'clusters merge' if merged else 'no merging of clusters'}), flatness "
                     f"{r['flatness (pretrained)']:.2f} → {r['flatness (end)']:.2f} "
                     f"({'flattened' if d_flat < -0.05 else 'not flattened' if d_flat <= 0.05 else 'rounder'}), "
                     f"k-means ACC {r['ACC (pretrained)']:.3f} → {r['ACC (end)']:.3f} ({d_acc:+.3f}).")
    if "dec" in s.index:
        r = s.loc["dec"]
        twist = (r["5-NN purity (end)"] - r["5-NN purity (pretrained)"] < -0.02) or \
                (r["ACC (end)"] - r["ACC (pretrained)"] < -0.02)
        lines += ["", "The paper's claim that DEC makes the curved clusters merge "
                  + ("**is reproduced** here." if twist else "**is not reproduced** here: the clusters stay apart "
                     "under DEC (see the snapshots for the flattening).")]
    return "\n".join(lines)


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
            ax.text(start, ax.get_ylim()[1], " DEC", va="top", fontsize=7, color="0.3")
        ax.set_title(f"{display_name(d)}: {pretext} + DEC")
        ax.set_xlabel("iteration")
    axes[0, 0].set_ylabel("dimension")
    axes[0, 0].legend(loc="upper right")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
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


def paradigm_verdict(summary: pd.DataFrame, profile: str) -> str:
    """Markdown: does LID drop in the DEC phase, and is there an LID - ID gap after pretraining?"""
    lines = [f"**Profile `{profile}`.** The paper: LID drops sharply in the clustering phase; after pretraining "
             "LID exceeds ID (curved manifolds).", ""]
    for r in summary.itertuples(index=False):
        drop = r[summary.columns.get_loc("LID pretrained")] - r[summary.columns.get_loc("LID after DEC")]
        gap = r[summary.columns.get_loc("LID pretrained")] - r[summary.columns.get_loc("ID pretrained")]
        lines.append(f"- {r.dataset}, {r.pretext}: LID {r[summary.columns.get_loc('LID pretrained')]:.1f} → "
                     f"{r[summary.columns.get_loc('LID after DEC')]:.1f} under DEC "
                     f"({'drops' if drop >= 1 else 'does not drop'}); LID − ID after pretraining {gap:+.1f} "
                     f"({'curved' if gap > 0.5 else 'not curved by this measure'}).")
    return "\n".join(lines)


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
    for ax, d in zip(axes[0], datasets):
        sub = f[f["dataset"] == d]
        xs = np.arange(len(methods))
        pre = [mean_se_pct(sub[sub["variant"] == m]["acc_pretrained"]) for m in methods]
        post = [mean_se_pct(sub[sub["variant"] == m]["acc"]) for m in methods]
        ax.bar(xs - 0.2, [p[0] for p in pre], 0.4, yerr=[p[1] for p in pre], color="0.75", label="after pretraining")
        ax.bar(xs + 0.2, [p[0] for p in post], 0.4, yerr=[p[1] for p in post],
               color=[plotting.color(m) for m in methods], label="after clustering phase")
        for x, p, q in zip(xs, pre, post):
            ax.text(x + 0.2, q[0] + 1, f"{q[0] - p[0]:+.1f}", ha="center", fontsize=7)
        ax.set_xticks(xs, [METHOD_NAME[m] for m in methods])
        ax.set_ylabel("ACC (%)")
        ax.set_title(display_name(d))
        ax.set_ylim(0, max(100, max(q[0] for q in post) + 8))
    axes[0, 0].legend(loc="upper center", ncol=2)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def gain_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: the clustering phase's mean ACC gain per method (the paper: small)."""
    f = gain_frame(runset)
    lines = [f"**Profile `{profile}`: ACC gain of the clustering phase over pretraining (points).**", ""]
    for (d, m), g in f.groupby(["dataset", "variant"], sort=False):
        mean, se, n = outputs.mean_se(g["gain"])
        lines.append(f"- {display_name(d)}, {METHOD_NAME[m]}: {mean:+.1f} ± {se:.1f} ({n} seeds)")
    return "\n".join(lines)


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
            ax.axhline(paper_start, color="0.5", ls=":", lw=0.8)
            ax.text(0, paper_start, f" paper's start {paper_start:.1f} %", va="bottom", fontsize=7, color="0.4")
        ax.set_xlabel("iteration of the clustering phase")
        ax.set_ylabel("ACC (%)")
        ax.set_title(display_name(d))
        ax.legend(loc="best")
        if with_core_ratio:
            ax = axes[1, j]
            for v in variants:
                part = sub[(sub["variant"] == v) & sub["core_ratio"].notna()]
                if len(part):
                    plotting.line_band(ax, part, "phase_iteration", "core_ratio", label=METHOD_NAME[v],
                                       color_name="rdc")
            ax.set_xlabel("iteration of phase 2")
            ax.set_ylabel("core-point ratio")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


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


def accuracy_verdict(runset: RunSet, profile: str, paper_start: float | None = None) -> str:
    """Markdown: start / end ACC of each method's clustering phase and whether R-DC ends above DynAE."""
    s = start_and_end(runset)
    lines = [f"**Profile `{profile}`.**" + (f" The paper: both start at {paper_start:.1f} %, R-DC rises steadily and "
                                             "ends above DynAE." if paper_start is not None else ""), ""]
    ends = {}
    for (d, v), g in s.groupby(["dataset", "variant"], sort=False):
        a, sa, n = outputs.mean_se(g["acc_start"])
        b, sb, _ = outputs.mean_se(g["acc_end"])
        ends[(d, v)] = (b, sb, n)
        stops = ", ".join(sorted({str(x) for x in g["stopped"]}))
        lines.append(f"- {display_name(d)}, {METHOD_NAME[v]}: ACC {a:.1f} → {b:.1f} ± {sb:.1f} % after "
                     f"{g['iterations'].mean():.0f} iterations (stopped by: {stops}; {n} seeds)")
    for d in s["dataset"].unique():
        if (d, "rdc") in ends and (d, "dynae") in ends:
            lines += ["", f"On {display_name(d)}, at the end of the clustering phase, R-DC compared with DynAE "
                      f"{_beats(ends[(d, 'rdc')], ends[(d, 'dynae')])}."]
    return "\n".join(lines)


def purity_figure(runset: RunSet, variants: Sequence[str] = ("rdc",)):
    """R-DC Figure 14: % true (a) and false (b) neighbours of core points, all M vs reliable only, per iteration."""
    h = phase_history(runset)
    h = h[h["variant"].isin(variants)].copy()
    h["true_initial"], h["true_filtered"] = 100 * h["purity_initial"], 100 * h["purity_filtered"]
    h["false_initial"], h["false_filtered"] = 100 - h["true_initial"], 100 - h["true_filtered"]
    datasets = sorted(h["dataset"].unique())
    fig, axes = plt.subplots(len(datasets), 2, figsize=(8.4, 2.8 * len(datasets)), squeeze=False)
    for i, d in enumerate(datasets):
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
        axes[i, 0].legend(loc="best", fontsize=6)
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    return fig


def purity_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: is the share of true neighbours higher after filtering (the paper: yes)?"""
    h = phase_history(runset)
    lines = [f"**Profile `{profile}`.** The paper: after filtering, the share of true neighbours of core points "
             "is higher than before (and slowly declines as core points are added).", ""]
    for (d, v), g in h.groupby(["dataset", "variant"], sort=False):
        gap = 100 * (g["purity_filtered"] - g["purity_initial"])
        first, last = g.sort_values("phase_iteration").iloc[[0, -1]]["purity_filtered"] * 100
        lines.append(f"- {display_name(d)}, {METHOD_NAME[v]}: filtered − initial = {gap.mean():+.2f} points on "
                     f"average (min {gap.min():+.2f}, max {gap.max():+.2f}); true neighbours after filtering "
                     f"{first:.1f} % → {last:.1f} %.")
    return "\n".join(lines)


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
            ax.text(start, ax.get_ylim()[1], " phase 2", va="top", fontsize=7, color="0.3")
        ax.set_title(f"{METHOD_NAME[v]} ({', '.join(display_name(d) for d in sorted(part['dataset'].unique()))})")
        ax.set_xlabel("iteration (phase 1 + phase 2)")
    axes[0, 0].set_ylabel("dimension")
    axes[0, 0].legend(loc="upper right")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def geometry_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: LID - ID at the end of pretraining and at the end, per method (the paper: DynAE's meet, R-DC's not)."""
    h = history(runset)
    lines = [f"**Profile `{profile}`.** The paper: DynAE's ID and LID jump at the phase change and converge; "
             "R-DC's change smoothly and stay apart.", ""]
    for v, g in h.groupby("variant", sort=False):
        if v not in ("dynae", "rdc"):
            continue
        p1 = g[g["phase"] == "P1"]
        last_p1 = p1[p1["global_iteration"] == p1["global_iteration"].max()]
        ph = g[g["phase"] == PHASE2[v]]
        end = ph[ph["phase_iteration"] == ph.groupby("seed")["phase_iteration"].transform("max")]
        first2 = ph[ph["phase_iteration"] == ph["phase_iteration"][ph["phase_iteration"] > 0].min()] \
            if (ph["phase_iteration"] > 0).any() else ph
        gap0 = (last_p1["lid"] - last_p1["id"]).mean()
        gap1 = (end["lid"] - end["id"]).mean()
        jump = (first2["lid"].mean() - last_p1["lid"].mean())
        lines.append(f"- {METHOD_NAME[v]}: LID − ID {gap0:+.2f} after phase 1 → {gap1:+.2f} at the end; LID changes "
                     f"by {jump:+.1f} over the first logged epoch of phase 2; final ID {end['id'].mean():.2f}, "
                     f"LID {end['lid'].mean():.1f}.")
    dims = {r.config.get("latent_dim") for r in runset} - {None}
    lid = h["lid"].dropna() if len(h) else h
    if len(dims) == 1 and len(lid):
        dim = int(dims.pop())
        at_ceiling = float((lid >= dim - 1e-6).mean())
        lines += ["", f"LID (PCA components to 0.9999 of the variance) is at its ceiling, the code's {dim} "
                      f"dimensions, at {100 * at_ceiling:.0f} % of the logged points: at this threshold the "
                      f"estimator counts nearly every direction, so LID can only fall, and a gap LID − ID says "
                      f"more about ID than about curvature."]
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Algorithm 1: the trace of one R-DC run


ALGORITHM_STEPS = [
    ("Phase 1: for T1 iterations, draw a mini-batch, augment it (shifts ≤ 0.1, rotations ≤ 10°), "
     "update the autoencoder on Eq. 1 and the critic on Eq. 2 (ACAI)",
     "dcutils.rdc.acai.acai_step, dcutils.rdc.pretrain.pretrain_acai"),
    ("Phase 2: embed all data; find the M = 5 nearest neighbours of every code (Eq. 3, the point itself excluded)",
     "dcutils.rdc.proximity.knn"),
    ("Core points: closest / farthest neighbour distance > β (Eq. 4-6)", "dcutils.rdc.proximity.core_points"),
    ("Reliable neighbours: distance − closest distance < γ (Eq. 7-10)", "dcutils.rdc.proximity.reliable_neighbours"),
    ("Targets: latent centroid of the reliable neighbours (Eq. 11)", "dcutils.rdc.proximity.neighbour_centroids"),
    ("Update the autoencoder on L_cc + λ L_enc (Eq. 12-14): decoded centroid for core points, reconstruction for "
     "border points, latent pull of core points", "dcutils.rdc.proximity.proximity_loss"),
    ("Refresh the targets every `refresh_every` mini-batches; stop when the core-point ratio (Eq. 15) stops growing",
     "dcutils.rdc.phase2.train_proximity, dcutils.rdc.proximity.core_ratio_stopped"),
    ("k-means on the final embedding", "dcutils.kmeans.kmeans"),
]


def algorithm_markdown() -> str:
    """Algorithm 1 as a numbered Markdown list naming the function that implements each step."""
    return "\n".join(f"{i}. {step} — `{where}`" for i, (step, where) in enumerate(ALGORITHM_STEPS, 1))


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


def algorithm_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: how each traced run's phase 2 ended (iterations, stop reason, core ratio first → last)."""
    lines = [f"**Profile `{profile}`.**", ""]
    for r in runset:
        if r.config["method"] != "rdc":
            continue
        ratios = r.meta.get("core_ratios", [])
        lines.append(f"- seed {r.config.seed}: phase 2 ran {r.final['iterations']:.0f} iterations, stopped by "
                     f"'{r.meta.get('phase2_stopped')}'; core ratio {ratios[0]:.3f} → {ratios[-1]:.3f} "
                     f"(max {max(ratios):.3f}); ACC {100 * r.final['acc_pretrained']:.1f} → "
                     f"{100 * r.final['acc']:.1f} %.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Figures 17-20


def sensitivity_frame(runset: RunSet) -> pd.DataFrame:
    """Mean over seeds of ACC / F1 (percent) per (beta, gamma)."""
    f = finals(runset)
    g = f.groupby(["dataset", "beta", "gamma"])[list(METRICS)].mean().reset_index()
    for m in METRICS:
        g[m] = 100 * g[m]
    return g


def sensitivity_figure(runset: RunSet):
    """R-DC Figure 17: ACC, F1 macro and F1 micro over the beta x gamma grid (heat maps)."""
    g = sensitivity_frame(runset)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, (m, name) in zip(axes, METRICS.items()):
        piv = g.pivot_table(index="beta", columns="gamma", values=m)
        im = ax.imshow(piv.values, origin="lower", cmap="viridis", aspect="auto")
        ax.set_xticks(range(piv.shape[1]), [f"{v:g}" for v in piv.columns])
        ax.set_yticks(range(piv.shape[0]), [f"{v:g}" for v in piv.index])
        for (i, j), v in np.ndenumerate(piv.values):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="w" if v < np.nanmean(piv.values) else "k")
        ax.set(xlabel="γ", ylabel="β", title=f"{name} (%)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def sensitivity_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: the range of ACC over the grid (the paper: robust)."""
    g = sensitivity_frame(runset)
    f = finals(runset)
    lo, hi = g["acc"].min(), g["acc"].max()
    pre = 100 * f["acc_pretrained"].mean()
    best = g.loc[g["acc"].idxmax()]
    return (f"**Profile `{profile}`:** ACC ranges from {lo:.1f} to {hi:.1f} % over the {len(g)} (β, γ) pairs "
            f"(spread {hi - lo:.1f} points; k-means after phase 1: {pre:.1f} %). Best: β = {best['beta']:g}, "
            f"γ = {best['gamma']:g}. The paper calls R-DC robust over its grid.")


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
        ax.set(xlabel="noise standard deviation (share of the data's, after z-scoring)", ylabel="%",
               title=display_name(d), ylim=(0, 100))
        ax.legend(loc="lower right")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def noise_verdict(runset: RunSet, profile: str) -> str:
    """Markdown: ACC at each noise level and its spread (the paper: stable).

    Each noise level has its own ACAI pretraining on the noisy inputs, so a level differs from the clean
    data in phase 1 as well as in phase 2; the text gives ACC after phase 1 next to the final ACC.
    """
    f = noise_frame(runset)
    lines = [f"**Profile `{profile}`.** The paper: R-DC's performance is stable under input noise.", ""]
    for d, g in f.groupby("dataset"):
        stats = g.groupby("noise_std")[["acc", "acc_pretrained"]].mean()
        spread = stats["acc"].max() - stats["acc"].min()
        lines.append(f"- {display_name(d)}: final ACC (after phase 1) at noise "
                     + ", ".join(f"{k:g}: {v.acc:.1f} % ({v.acc_pretrained:.1f} %)" for k, v in stats.iterrows())
                     + f"; spread over the levels {spread:.1f} points "
                     + ("(stable within 2 points)." if spread <= 2 else
                        "(not stable: " + ("ACC rises with noise" if stats["acc"].iloc[-1] > stats["acc"].iloc[0]
                                           else "ACC falls with noise") + ")."))
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# notes, saving tables, more verdicts


def data_note(runset: RunSet, settings: Settings, substitute_for: str | None = None) -> str:
    """The line put on a figure: the data actually used (subsamples, test-split stand-ins) and any substitution."""
    used = run_datasets(runset, settings)
    text = "Data: " + ("; ".join(used) if used else "none")
    if substitute_for:
        text += f" — substitute for {substitute_for} (not run at profile {settings.profile})"
    return text


def save_table(table: pd.DataFrame, settings: Settings, runset: RunSet | None = None,
               datasets: Sequence[str] | None = None, notes: Sequence[str] = ()) -> None:
    """Save a table with provenance naming the data used and those missing here."""
    used = list(datasets) if datasets is not None else (run_datasets(runset, settings) if runset is not None else [])
    missing = missing_text(settings)
    seeds = sorted({r.config.seed for r in runset}) if runset is not None and len(runset) else []
    outputs.save_table(table, outputs.provenance(settings, datasets=used, seeds=seeds,
                                                 notes=[*notes, *([missing] if missing else [])]), floatfmt=".1f")


def ablation_verdict(table: pd.DataFrame, dataset: str, profile: str) -> str:
    """Markdown: is P1+P2 (R-DC) above P1, P1+P3 and P1+P2+P3 on ``dataset`` (the paper: yes)?"""
    return verdict_methods(table, dataset, profile, main="P1+P2", others=("P1", "P1+P3", "P1+P2+P3"))


def runtime_verdict(table: pd.DataFrame, profile: str) -> str:
    """Markdown: R-DC's time relative to DEC and DynAE, ours vs the paper's."""
    lines = [f"**Profile `{profile}`** (ours: 2 CPU cores, a subsample, possibly shared with other jobs; "
             "compare ratios only).", ""]
    for d, g in table.groupby("Dataset", sort=False):
        g = g.set_index("Method")
        if not np.isfinite(g.loc["R-DC", "Ours (s)"]):
            continue
        for other in ("DEC", "DynAE", "AE + k-means"):
            ours = g.loc["R-DC", "Ours (s)"] / g.loc[other, "Ours (s)"]
            paper = g.loc["R-DC", "Paper (s)"] / g.loc[other, "Paper (s)"]
            lines.append(f"- {d}: R-DC / {other} = {ours:.2f} here, {paper:.2f} in the paper.")
        ms = g.loc["R-DC", "ms / clustering iteration"] / g.loc["DEC", "ms / clustering iteration"]
        lines.append(f"- {d}: one R-DC phase-2 iteration costs {ms:.1f}× a DEC iteration (k-NN refreshes included).")
    return "\n".join(lines)


def missing_short(settings: Settings) -> str:
    """``"not run at quick: CIFAR10, BloodMNIST"`` for a figure's note (or "")."""
    missing = exp.missing_datasets(settings) if "datasets" in settings else []
    return (f"not run at {settings.profile}: " + ", ".join(display_name(d) for d in missing)) if missing else ""


def figure_note(runset: RunSet, settings: Settings, substitute_for: str | None = None) -> str:
    """:func:`data_note` plus the paper's data sets missing here."""
    return " — ".join(t for t in (data_note(runset, settings, substitute_for), missing_short(settings)) if t)


def change_word(delta: float, tol: float) -> str:
    """"more separated" / "less separated" / "about as separated" for a change of a separation score."""
    if abs(delta) < tol:
        return f"about as separated: change {delta:+.3f}"
    return f"{'more' if delta > 0 else 'less'} separated: change {delta:+.3f}"


# ----------------------------------------------------------------------------
# paired claims (tab03, tab08): R-DC against the baselines from the same pretrained network per seed

#: The rerun baselines of Tables 3-5 (same architecture and pretrained network as R-DC).
BASELINES = ("ae_kmeans", "dec", "idec", "dynae", "vade")


def _per_seed(frame: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    return frame[frame["variant"] == variant].set_index("seed")[metric]


def paired_claims(runset: RunSet, dataset: str, metric: str = "acc", *, ablation: bool = False) -> pd.DataFrame:
    """The comparisons the paper's claims need, paired over seeds (every method of a seed starts from the same
    ACAI-pretrained network, so the seeds pair).

    Tables 3-5 (``ablation=False``): R-DC − the best rerun baseline (the one with the highest mean, named; the
    choice is made on these runs, so read its verdict as optimistic for the baseline), and R-DC − each baseline.
    Table 8 (``ablation=True``): P1+P2 − P1, P1+P2 − P1+P3, P1+P2 − P1+P2+P3.

    Returns
    -------
    DataFrame: comparison, ours (mean of the difference, points), se, pairs, verdict (ahead / behind /
    inconclusive at 2 SE), paper (the paper's difference of the two printed means).
    """
    frame = finals(runset)
    cols = ["comparison", "ours", "se", "pairs", "verdict", "paper"]
    if frame.empty or not (frame["dataset"] == dataset).any():
        return pd.DataFrame(columns=cols)
    frame = frame[frame["dataset"] == dataset]
    if ablation:
        printed = paper_data.rdc_ablation()
        paper = {exp_: float(printed[(printed["dataset"] == dataset) & (printed["phases"] == p)][metric].iloc[0])
                 for p, exp_ in ABLATION.items() if ((printed["dataset"] == dataset) & (printed["phases"] == p)).any()}
        pairs = [("rdc", "ae_kmeans"), ("rdc", "dec"), ("rdc", "p1p2p3")]
        name = {v: k for k, v in ABLATION.items()}
    else:
        printed = paper_data.rdc_clustering()
        sub = printed[printed["dataset"] == dataset].set_index("method")[metric]
        paper = {m: float(sub[METHOD_NAME[m]]) for m in ("rdc", *BASELINES) if METHOD_NAME[m] in sub.index}
        present = [b for b in BASELINES if (frame["variant"] == b).any()]
        pairs = [("rdc", b) for b in present]
        name = METHOD_NAME
    rows = []
    for a, b in pairs:
        stat = outputs.paired(_per_seed(frame, a, metric), _per_seed(frame, b, metric))
        rows.append({"comparison": f"{name[a]} − {name[b]}", "ours": stat["mean"], "se": stat["se"],
                     "pairs": stat["n"], "verdict": stat["verdict"],
                     "paper": paper.get(a, np.nan) - paper.get(b, np.nan), "_b": b})
    out = pd.DataFrame(rows)
    if not ablation and len(out):
        means = {b: _per_seed(frame, b, metric).mean() for b in out["_b"]}
        best = max(means, key=means.get)
        top = out[out["_b"] == best].iloc[0].to_dict()
        top["comparison"] = f"R-DC − best baseline ({METHOD_NAME[best]})"
        out = pd.concat([pd.DataFrame([top]), out], ignore_index=True)
    return out.drop(columns="_b")[cols] if len(out) else pd.DataFrame(columns=cols)


def claims_text(claims: pd.DataFrame, dataset: str, profile: str) -> str:
    """Markdown of :func:`paired_claims`, every number from it."""
    if claims.empty:
        return f"No runs on {display_name(dataset)} at profile `{profile}`."
    lines = []
    for r in claims.itertuples():
        se = f" ± {r.se:.1f}" if r.pairs >= 2 else ""
        paper = f"paper {r.paper:+.1f}" if np.isfinite(r.paper) else "paper: —"
        agrees = ("reproduces the paper's sign" if np.isfinite(r.paper) and (
            (r.verdict == "ahead" and r.paper > 0) or (r.verdict == "behind" and r.paper < 0)) else
            "does **not** reproduce" if np.isfinite(r.paper) and r.verdict != "inconclusive" else "inconclusive")
        lines.append(f"- {r.comparison} on {display_name(dataset)}: {r.ours:+.1f}{se} points ACC over {r.pairs} "
                     f"paired seeds, **{r.verdict}** ({paper}; {agrees}).")
    return "\n".join(lines)


def stopping_table(runset: RunSet) -> pd.DataFrame:
    """Per (data set, method): iterations run after phase 1, why each run stopped, when its own rule would have
    fired, and the final ACC next to the best ACC of the run chosen with the labels (what the authors' code
    keeps; never used here to pick a network)."""
    frame = finals(runset)
    if frame.empty:
        return pd.DataFrame()
    rows = []
    for r in runset:
        v = with_variant(pd.DataFrame([{"method": r.config["method"], "patience": r.config["patience"]}]))["variant"][0]
        fired = r.meta.get("rule_fired_at", r.meta.get("phase2_rule_fired_at"))
        rows.append({"dataset": r.config.dataset, "method": METHOD_NAME.get(v, v), "seed": r.config.seed,
                     "iterations": r.final.get("iterations", np.nan),
                     "stopped": r.meta.get("stopped", r.meta.get("phase2_stopped", "—")),
                     "own rule fired at": fired if fired is not None else "never",
                     "ACC final": _pct(r.final.get("acc", np.nan)),
                     "ACC best, chosen with labels": _pct(r.final.get("acc_best_chosen_with_labels", np.nan))})
    out = pd.DataFrame(rows)
    return (out.groupby(["dataset", "method"], sort=False)
            .agg(iterations=("iterations", "mean"), stopped=("stopped", lambda s: ", ".join(sorted(set(map(str, s))))),
                 rule_fired=("own rule fired at", lambda s: ", ".join(map(str, s))),
                 acc_final=("ACC final", "mean"), acc_best_with_labels=("ACC best, chosen with labels", "mean"),
                 seeds=("seed", "nunique"))
            .reset_index())


def checkpoint_text(stops: pd.DataFrame, method: str = "R-DC") -> str:
    """Markdown: how much keeping the best checkpoint chosen with the labels (the authors' code) would add."""
    if stops.empty or not (stops["method"] == method).any():
        return ""
    parts = []
    for r in stops[stops["method"] == method].itertuples():
        parts.append(f"{display_name(r.dataset)}: final {r.acc_final:.1f} %, best during the run chosen with the "
                     f"labels {r.acc_best_with_labels:.1f} % ({r.acc_best_with_labels - r.acc_final:+.1f} points; "
                     f"{r.iterations:.0f} iterations, stopped: {r.stopped})")
    return (f"{method} ends at its fixed budget; " + "; ".join(parts) + ". The authors' code keeps the checkpoint "
            "with the best ACC, chosen with the true labels, so the paper's number may include a gain of that kind; "
            "every table here reports the final ACC.")


#: How each LID estimator is computed (``lid_estimator`` of rdc.method / rdc.paradigm).
LID_TEXT = {
    "authors": "the authors' estimator: codes standardised per k-means cluster, PCA components to 0.9999 explained "
               "variance, ID (TwoNN) and LID averaged over the clusters",
    "authors_index": "the authors' estimator on the true classes",
    "global90": "PCA to 90 % explained variance on the raw global codes (version 1)",
}


def protocol_note(runset: RunSet) -> str:
    """Markdown: the protocol the item's runs used, read from their configs (not from the settings)."""
    if not len(runset):
        return "No runs at this profile."
    cfg = runset.results[0].config
    algo = cfg.algorithm
    seeds = runset.seeds()
    head = f"**Protocol** ({len(seeds)} seed{'s' if len(seeds) != 1 else ''}, {len(runset)} runs): "
    if algo == "rdc.twist":
        return head + (f"the curved-clusters toy, a two-layer autoencoder with hidden width {cfg['hidden']} and "
                       f"activation {cfg['twist_activation'] or 'none (affine)'}, {cfg['pretrain_epochs']} "
                       f"reconstruction epochs, then {cfg['cluster_epochs']} epochs of the method; R-DC with "
                       f"construction weight {cfg['construction_weight']:g}, gamma "
                       f"{_gamma_words(cfg)}.")
    per_epoch = inputs_batches(cfg)
    if algo == "rdc.paradigm":
        pretexts = " or ".join(sorted({r.config["pretext"] for r in runset}, key=lambda t: t != "reconstruction"))
        return head + (f"{pretexts} pretraining for {cfg['pretrain_epochs']} epochs ({per_epoch} steps each), "
                       f"then DEC for {cfg['cluster_epochs']} epochs; ID / LID: "
                       f"{LID_TEXT.get(cfg['lid_estimator'], cfg['lid_estimator'])}.")
    n = cfg["subsample"]
    gamma = (f"gamma set as the {cfg['gamma_quantile']:g} quantile of the neighbour-distance gaps (relative to the "
             "latent scale)" if cfg["gamma_mode"] == "quantile" else "gamma absolute (Table 2, or the grid's value)")
    return head + (f"{display_name(cfg.dataset)}, {f'{n:,} images' if n else 'every image'}; ACAI pretraining "
                   f"{cfg['pretrain_epochs']} epochs = {cfg['pretrain_epochs'] * per_epoch:,} steps; then every "
                   f"method the same budget of {cfg['cluster_epochs']} epochs = {cfg['cluster_epochs'] * per_epoch:,} "
                   f"iterations (stop: {cfg['stop']}; the stopping rules are recorded, not obeyed, under 'budget'), "
                   f"targets refreshed every {cfg['refresh_every']} iterations; R-DC: M = {cfg['n_neighbours']}"
                   f"{' including the point itself' if cfg['neighbours_include_self'] else ''}, latent pull "
                   f"{cfg['pull_weight']:g} : image {cfg['construction_weight']:g}, {gamma}; ID / LID: "
                   f"{LID_TEXT.get(cfg['lid_estimator'], cfg['lid_estimator'])}; {cfg['precision']}.")


def _gamma_words(cfg) -> str:
    return f"as the {cfg['gamma_quantile']:g} quantile" if cfg["gamma_mode"] == "quantile" else f"{cfg['gamma']:g}"


def inputs_batches(cfg) -> int:
    """Mini-batches per epoch of a run config (its subsample, else its data set's size)."""
    return inputs.batches_per_epoch(inputs.sample_count(cfg.dataset, cfg["subsample"]), cfg["batch_size"])
