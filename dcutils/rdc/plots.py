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
import seaborn as sns

from dcutils import findings, health, items, metrics, outputs, paper_data, plotting
from dcutils.data import DATASETS, canonical_name
from dcutils.findings import Cite, overall_verdict  # noqa: F401  (re-exported: item verdicts of this paper)
from dcutils.profiles import Settings
from dcutils.rdc import inputs
from dcutils.rdc import settings as exp
from dcutils.rdc.method import METHOD_HYPERPARAMETERS
from dcutils.runs import RunSet

plotting.style()


def _num(cite: Cite, name: str, value, spec: str = "") -> str:
    """``value`` cited under ``name``, or "n/a" (nothing cited) when it is missing or not finite."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return cite(name, value, spec)


def _seeds_words(cite: Cite, name: str, n: int, unit: str = "seed") -> str:
    return f"{cite(name, int(n))} {unit}{'s' if n != 1 else ''}"

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


def _flag_counts(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Runs flagged unhealthy per (data set, ``method_paper``) of a finals frame."""
    if frame.empty or "flagged" not in frame:
        return {}
    counts = frame.assign(flagged=frame["flagged"].astype(bool)).groupby(["dataset", "method_paper"])["flagged"].sum()
    return {key: int(v) for key, v in counts.items() if v}


def _format(table: pd.DataFrame, notes: dict[tuple[str, str], str], missing: set[str], profile: str,
            flagged: Mapping[tuple[str, str], int] | None = None) -> pd.DataFrame:
    """The comparison table's columns; ``Flagged``: how many of a cell's runs their health check flags
    (:mod:`dcutils.health`), said in its ``Note`` too."""
    flagged = flagged or {}
    out = []
    for r in table.itertuples(index=False):
        sick = flagged.get((r.dataset, r.method), 0)
        if r.dataset in missing:
            note = not_run_reason(r.dataset, profile)
        elif r.seeds == 0:
            note = notes.get((r.dataset, r.method), NOT_RERUN.get(r.method, "not rerun at this profile"))
        elif sick:
            note = f"{health.flag_mark(True)} {sick} of {r.seeds} runs flagged unhealthy"
        else:
            note = ""
        out.append({
            "Dataset": display_name(r.dataset), "Method": r.method, "Metric": r.metric,
            "Paper": r.paper, "Reproduced": r.reproduced, "± SE": r.reproduced_se, "Difference": r.difference,
            "Seeds": r.seeds, "Flagged": sick, "Note": note,
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
                   settings.profile, _flag_counts(frame))


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
                   settings.profile, _flag_counts(frame))


def wide(table: pd.DataFrame, metric: str = "ACC") -> pd.DataFrame:
    """One metric of a comparison table as Method x Dataset with "paper / reproduced ± SE" cells."""
    sub = table[table["Metric"] == metric]
    cells = {}
    for r in sub.itertuples(index=False):
        rep = outputs.plus_minus(r.Reproduced, r._5, 1) + health.flag_mark(bool(getattr(r, "Flagged", 0)))
        paper = "—" if not np.isfinite(r.Paper) else f"{r.Paper:.1f}"
        cells.setdefault(r.Method, {})[r.Dataset] = f"{paper} / {rep}"
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("Method (paper / ours)").reset_index()


#: How to read a cell of :func:`wide_all`.
WIDE_LEGEND = ("Each cell: the paper's value / ours (mean ± SE over seeds); \"—\" where a side has none (a method "
               "the paper ran and we do not rerun, or a data set this profile does not run); ⚠: a run of the cell "
               "is flagged unhealthy (collapsed clusters or a growing loss).")


def wide_all(table: pd.DataFrame) -> pd.DataFrame:
    """Every metric of a comparison table in the paper's layout: one row per method, one column per (data set,
    metric), "paper / ours ± SE" per cell (:data:`WIDE_LEGEND`)."""
    parts = []
    for metric in dict.fromkeys(table["Metric"]):
        w = wide(table, metric).set_index("Method (paper / ours)")
        parts.append(w.rename(columns=lambda d, m=metric: f"{d} {m}"))
    return pd.concat(parts, axis=1).reset_index() if parts else pd.DataFrame()


def cell(table: pd.DataFrame, dataset: str, method: str, metric: str = "ACC") -> tuple[float, float, int]:
    """Reproduced mean, SE and seeds of one cell of a comparison table (NaN, NaN, 0 when absent)."""
    r = table[(table["Dataset"] == display_name(dataset)) & (table["Method"] == method) & (table["Metric"] == metric)]
    if not len(r):
        return math.nan, math.nan, 0
    r = r.iloc[0]
    return float(r["Reproduced"]), float(r["± SE"]), int(r["Seeds"])


def _beats(a: tuple[float, float, int], b: tuple[float, float, int], cite: Cite | None = None,
           key: str = "gap") -> str:
    cite = Cite() if cite is None else cite
    if not (np.isfinite(a[0]) and np.isfinite(b[0])):
        return "cannot be compared (a value is missing)"
    gap = a[0] - b[0]
    noise = math.hypot(a[1] if np.isfinite(a[1]) else 0.0, b[1] if np.isfinite(b[1]) else 0.0)
    if abs(gap) <= noise or abs(gap) < 0.5:
        return f"ties with it ({cite(key, gap, '+.1f')} points, within the seeds' spread)"
    return f"is {cite(key, gap, '+.1f').lstrip('+-')} points {'above' if gap > 0 else 'below'} it"


def verdict_methods(table: pd.DataFrame, dataset: str, profile: str, main: str = "R-DC",
                    others: Sequence[str] = ("DynAE", "DEC", "IDEC", "AE + k-means", "VaDE"),
                    cite: Cite | None = None) -> str:
    """Markdown: does ``main`` beat each other method on ``dataset`` (ACC), as in the paper?

    Every number is cited through ``cite`` (names ``acc/<dataset>/<method>...``)."""
    cite = Cite() if cite is None else cite
    m = cell(table, dataset, main)
    if m[2] == 0:
        return f"**{display_name(dataset)}:** no reproduced {main} value at profile `{profile}`."
    k = f"acc/{dataset}"
    lines = [f"**{display_name(dataset)}, profile `{profile}`, ACC of {main}: {_num(cite, f'{k}/{main}', m[0], '.1f')}"
             f" ± {_num(cite, f'{k}/{main}/se', m[1], '.1f')} % "
             f"({_seeds_words(cite, f'{k}/{main}/seeds', m[2])}).**", ""]
    for o in others:
        c = cell(table, dataset, o)
        if c[2] == 0:
            continue
        paper_row = table[(table["Dataset"] == display_name(dataset)) & (table["Method"].isin([main, o]))
                          & (table["Metric"] == "ACC")].set_index("Method")["Paper"]
        paper_gap = paper_row.get(main, math.nan) - paper_row.get(o, math.nan)
        paper_txt = (f"paper: {cite(f'{k}/{main} - {o}/paper', paper_gap, '+.1f')} points" if np.isfinite(paper_gap)
                     else "paper: —")
        lines.append(f"- vs {o} ({_num(cite, f'{k}/{o}', c[0], '.1f')} ± {_num(cite, f'{k}/{o}/se', c[1], '.1f')}):"
                     f" {main} {_beats(m, c, cite, f'{k}/{main} - {o}')} ({paper_txt}).")
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
    paper = paper_data.rdc_runtime().set_index(["dataset", "method"])["seconds"]
    rows = []
    for d, method, runs, total, measured, per_it, budget, key in _runtime_runs(runset, settings):
        row = {"Dataset": display_name(d), "Method": method, "Paper (s)": paper.get((d, method), math.nan)}
        if runs is not None:
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


def _runtime_runs(runset: RunSet, settings: Settings):
    """Per (data set, paper method): (dataset, method, runs or None, total seconds per run, measured per run,
    seconds per clustering iteration per run, budget, rdc.method name); see :func:`runtime_table`."""
    frame = finals(runset)
    samples = {r.config.dataset: r.meta.get("n_samples") for r in runset}  # from the run records
    inverse = {v: k for k, v in METHOD_NAME.items()}
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
            key = inverse.get(method)
            runs = sub[sub["variant"] == key] if len(sub) and key else sub.iloc[0:0] if len(sub) else sub
            if not len(runs):
                yield d, method, None, None, None, None, budget, key
                continue
            t_km = runs["seed"].map(km).fillna(0.0) if len(km) else 0.0
            iters = runs["iterations"].clip(lower=1)
            per_it = ((runs["seconds_cluster"] - t_km).clip(lower=0) / iters).where(runs["iterations"] > 0, 0.0)
            measured = runs["iterations"] == budget  # the fixed budget ran in full: its time is measured
            total = (runs["seconds_pretrain"] + runs["seconds_cluster"]).where(
                measured, runs["seconds_pretrain"] + t_km + per_it * budget)
            if key == "ae_kmeans":
                total, measured = runs["seconds_pretrain"] + runs["seconds_cluster"], runs["iterations"] == 0
            yield d, method, runs, total, measured, per_it, budget, key


def runtime_ratios(runset: RunSet, settings: Settings) -> pd.DataFrame:
    """Per (data set, rerun method other than R-DC): R-DC's time over the method's, per seed (mean ± SE over
    seeds), next to the paper's ratio. Columns: dataset, method, ratio, se, seeds, paper."""
    paper = paper_data.rdc_runtime().set_index(["dataset", "method"])["seconds"]
    totals = {}
    for d, method, runs, total, *_ in _runtime_runs(runset, settings):
        if runs is not None:
            totals[(d, method)] = pd.Series(total.to_numpy(), index=runs["seed"].to_numpy())
    rows = []
    for (d, method), t in totals.items():
        if method == "R-DC" or (d, "R-DC") not in totals:
            continue
        both = pd.concat([totals[(d, "R-DC")].rename("a"), t.rename("b")], axis=1, join="inner").dropna()
        m, se, n = outputs.mean_se(both["a"] / both["b"])
        rows.append({"dataset": d, "method": method, "ratio": m, "se": se, "seeds": n,
                     "paper": paper.get((d, "R-DC"), math.nan) / paper.get((d, method), math.nan)})
    return pd.DataFrame(rows, columns=["dataset", "method", "ratio", "se", "seeds", "paper"])


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


def twist_verdict(summary: pd.DataFrame, profile: str, cite: Cite | None = None) -> str:
    """Markdown: did DEC merge / flatten the clusters and did R-DC keep them (per the paper)?

    Every number is cited through ``cite`` (names ``twist/<method>/...``)."""
    cite = Cite() if cite is None else cite
    s = summary.set_index("method")
    k_nn = cite("twist/k of the k-NN purity", 5)
    lines = [f"**Feature Twist toy, profile `{profile}`.**", ""]
    for m, name in (("dec", "DEC"), ("rdc", "R-DC phase 2")):
        if m not in s.index:
            continue
        r = s.loc[m]
        d_pur = r["5-NN purity (end)"] - r["5-NN purity (pretrained)"]
        d_flat = r["flatness (end)"] - r["flatness (pretrained)"]
        d_acc = r["ACC (end)"] - r["ACC (pretrained)"]
        merged = d_pur < -0.02
        k = f"twist/{m}"
        lines.append(f"- {name}: {k_nn}-NN purity "
                     f"{cite(f'{k}/purity pretrained', r['5-NN purity (pretrained)'], '.3f')}"
                     f" → {cite(f'{k}/purity end', r['5-NN purity (end)'], '.3f')} "
                     f"({'clusters merge' if merged else 'no merging of clusters'}), flatness "
                     f"{cite(f'{k}/flatness pretrained', r['flatness (pretrained)'], '.2f')} → "
                     f"{cite(f'{k}/flatness end', r['flatness (end)'], '.2f')} "
                     f"({'flattened' if d_flat < -0.05 else 'not flattened' if d_flat <= 0.05 else 'rounder'}), "
                     f"k-means ACC {cite(f'{k}/ACC pretrained', r['ACC (pretrained)'], '.3f')} → "
                     f"{cite(f'{k}/ACC end', r['ACC (end)'], '.3f')} ({cite(f'{k}/ACC change', d_acc, '+.3f')}).")
    if "dec" in s.index:
        r = s.loc["dec"]
        twist = (r["5-NN purity (end)"] - r["5-NN purity (pretrained)"] < -0.02) or \
                (r["ACC (end)"] - r["ACC (pretrained)"] < -0.02)
        lines += ["", "The paper's claim that DEC makes the curved clusters merge "
                  + ("**is seen** in these runs." if twist else "**is not seen** in these runs: the clusters stay "
                     "apart under DEC (see the snapshots for the flattening).")]
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


def paradigm_verdict(summary: pd.DataFrame, profile: str, cite: Cite | None = None) -> str:
    """Markdown: does LID drop in the DEC phase, and is there an LID - ID gap after pretraining?"""
    cite = Cite() if cite is None else cite
    lines = [f"**Profile `{profile}`.** The paper: LID drops sharply in the clustering phase; after pretraining "
             "LID exceeds ID (curved manifolds).", ""]
    for r in summary.to_dict("records"):
        drop = r["LID pretrained"] - r["LID after DEC"]
        gap = r["LID pretrained"] - r["ID pretrained"]
        k = f"paradigm/{r['dataset']}/{r['pretext']}"
        lines.append(f"- {r['dataset']}, {r['pretext']}: LID {cite(f'{k}/LID pretrained', r['LID pretrained'], '.1f')}"
                     f" → {cite(f'{k}/LID after DEC', r['LID after DEC'], '.1f')} under DEC "
                     f"({'drops' if drop >= 1 else 'does not drop'}); LID − ID after pretraining "
                     f"{cite(f'{k}/LID - ID pretrained', gap, '+.1f')} "
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


def gain_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: the clustering phase's mean ACC gain per method (the paper: small)."""
    cite = Cite() if cite is None else cite
    f = gain_frame(runset)
    lines = [f"**Profile `{profile}`: ACC gain of the clustering phase over pretraining (points).**", ""]
    for (d, m), g in f.groupby(["dataset", "variant"], sort=False):
        mean, se, n = outputs.mean_se(g["gain"])
        k = f"gain/{d}/{m}"
        lines.append(f"- {display_name(d)}, {METHOD_NAME[m]}: {_num(cite, k, mean, '+.1f')} ± "
                     f"{_num(cite, k + '/se', se, '.1f')} ({_seeds_words(cite, k + '/seeds', n)})")
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


def accuracy_verdict(runset: RunSet, profile: str, paper_start: float | None = None,
                     cite: Cite | None = None) -> str:
    """Markdown: start / end ACC of each method's clustering phase and whether R-DC ends above DynAE."""
    cite = Cite() if cite is None else cite
    s = start_and_end(runset)
    lines = [f"**Profile `{profile}`.**" + (f" The paper: both start at {cite('paper start ACC', paper_start, '.1f')}"
                                             " %, R-DC rises steadily and ends above DynAE."
                                             if paper_start is not None else ""), ""]
    ends = {}
    for (d, v), g in s.groupby(["dataset", "variant"], sort=False):
        a, sa, n = outputs.mean_se(g["acc_start"])
        b, sb, _ = outputs.mean_se(g["acc_end"])
        ends[(d, v)] = (b, sb, n)
        stops = ", ".join(sorted({str(x) for x in g["stopped"]}))
        k = f"acc/{d}/{v}"
        lines.append(f"- {display_name(d)}, {METHOD_NAME[v]}: ACC {_num(cite, k + '/start', a, '.1f')} → "
                     f"{_num(cite, k + '/end', b, '.1f')} ± {_num(cite, k + '/end/se', sb, '.1f')} % after "
                     f"{cite(k + '/iterations', g['iterations'].mean(), '.0f')} iterations (stopped by: {stops}; "
                     f"{_seeds_words(cite, k + '/seeds', n)})")
    for d in s["dataset"].unique():
        if (d, "rdc") in ends and (d, "dynae") in ends:
            lines += ["", f"On {display_name(d)}, at the end of the clustering phase, R-DC compared with DynAE "
                      f"{_beats(ends[(d, 'rdc')], ends[(d, 'dynae')], cite, f'acc/{d}/R-DC - DynAE at the end')}."]
    return "\n".join(lines)


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


def purity_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: is the share of true neighbours higher after filtering (the paper: yes)?"""
    cite = Cite() if cite is None else cite
    h = phase_history(runset)
    lines = [f"**Profile `{profile}`.** The paper: after filtering, the share of true neighbours of core points "
             "is higher than before (and slowly declines as core points are added).", ""]
    for (d, v), g in h.groupby(["dataset", "variant"], sort=False):
        gap = 100 * (g["purity_filtered"] - g["purity_initial"])
        first, last = g.sort_values("phase_iteration").iloc[[0, -1]]["purity_filtered"] * 100
        k = f"purity/{d}/{v}"
        if "gamma_removed" in g and g["gamma_removed"].notna().any():
            lines.append(f"- {display_name(d)}, {METHOD_NAME[v]}: the filter removes "
                         f"{cite(k + '/removed', 100 * g['gamma_removed'].mean(), '.1f')} % of the core points' "
                         f"neighbours on average (γ from {cite(k + '/gamma min', g['gamma_value'].min(), '.2f')} to "
                         f"{cite(k + '/gamma max', g['gamma_value'].max(), '.2f')} in latent units)"
                         + (": a share fixed by construction, since γ is a quantile of the same gaps it filters."
                            if (g["gamma_mode"] == "quantile").all() else "."))
        lines.append(f"- {display_name(d)}, {METHOD_NAME[v]}: filtered − initial = "
                     f"{cite(k + '/filtered - initial', gap.mean(), '+.2f')} points on average (min "
                     f"{cite(k + '/filtered - initial/min', gap.min(), '+.2f')}, max "
                     f"{cite(k + '/filtered - initial/max', gap.max(), '+.2f')}); true neighbours after filtering "
                     f"{cite(k + '/filtered/first', first, '.1f')} % → {cite(k + '/filtered/last', last, '.1f')} %.")
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
            ax.text(start, 0.01, " phase 2 →", transform=ax.get_xaxis_transform(), va="bottom", fontsize=7,
                    color="0.3")  # at the panel's foot, off the curves
        ax.set_title(f"{METHOD_NAME[v]} ({', '.join(display_name(d) for d in sorted(part['dataset'].unique()))})")
        ax.set_xlabel("iteration (phase 1 + phase 2)")
    axes[0, 0].set_ylabel("dimension")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


def geometry_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: LID - ID at the end of pretraining and at the end, per method (the paper: DynAE's meet, R-DC's not)."""
    cite = Cite() if cite is None else cite
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
        k = f"geometry/{v}"
        lines.append(f"- {METHOD_NAME[v]}: LID − ID {_num(cite, k + '/LID - ID after phase 1', gap0, '+.2f')} after "
                     f"phase 1 → {_num(cite, k + '/LID - ID at the end', gap1, '+.2f')} at the end; LID changes by "
                     f"{_num(cite, k + '/LID jump', jump, '+.1f')} over the first logged epoch of phase 2; final ID "
                     f"{_num(cite, k + '/ID at the end', end['id'].mean(), '.2f')}, LID "
                     f"{_num(cite, k + '/LID at the end', end['lid'].mean(), '.1f')}.")
    dims = {r.config.get("latent_dim") for r in runset} - {None}
    lid = h["lid"].dropna() if len(h) else h
    if len(dims) == 1 and len(lid):
        dim = int(dims.pop())
        at_ceiling = float((lid >= dim - 1e-6).mean())
        lines += ["", f"LID (PCA components to {cite('geometry/LID variance threshold', 0.9999)} of the variance) is "
                      f"at its ceiling, the code's {cite('geometry/code dimensions', dim)} dimensions, at "
                      f"{cite('geometry/share of logged points at the ceiling (%)', 100 * at_ceiling, '.0f')} % of "
                      f"the logged points: at this threshold the estimator counts nearly every direction, so LID can "
                      f"only fall, and a gap LID − ID says more about ID than about curvature."]
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


def algorithm_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: how each traced run's phase 2 ended (iterations, stop reason, core ratio first → last)."""
    cite = Cite() if cite is None else cite
    lines = [f"**Profile `{profile}`.**", ""]
    for r in runset:
        if r.config["method"] != "rdc":
            continue
        ratios = r.meta.get("core_ratios", [])
        k = f"algo1/seed {r.config.seed}"
        lines.append(f"- seed {cite(k + '/seed', r.config.seed)}: phase 2 ran "
                     f"{cite(k + '/iterations', r.final['iterations'], '.0f')} iterations, stopped by "
                     f"'{r.meta.get('phase2_stopped')}'; core ratio "
                     f"{cite(k + '/core ratio first', ratios[0], '.3f')} → "
                     f"{cite(k + '/core ratio last', ratios[-1], '.3f')}"
                     f" (max {cite(k + '/core ratio max', max(ratios), '.3f')}"
                     f"); ACC {cite(k + '/ACC after phase 1', 100 * r.final['acc_pretrained'], '.1f')} → "
                     f"{cite(k + '/ACC final', 100 * r.final['acc'], '.1f')} %.")
    return "\n".join(lines)


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
    if g["flagged"].any():
        fig.text(0.01, 0.01, f"{health.flag_mark(True)} a run of the cell is flagged unhealthy (collapsed clusters "
                 "or a growing loss)", fontsize=7, color="red")
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    return fig


def sensitivity_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: the range of ACC over the grid (the paper: robust)."""
    cite = Cite() if cite is None else cite
    g = sensitivity_frame(runset)
    f = finals(runset)
    lo, hi = g["acc"].min(), g["acc"].max()
    pre = 100 * f["acc_pretrained"].mean()
    best = g.loc[g["acc"].idxmax()]
    return (f"**Profile `{profile}`:** ACC ranges from {cite('grid/ACC min', lo, '.1f')} to "
            f"{cite('grid/ACC max', hi, '.1f')} % over the {cite('grid/pairs', len(g))} (β, γ) pairs "
            f"(spread {cite('grid/ACC spread', hi - lo, '.1f')} points; k-means after phase 1: "
            f"{cite('grid/ACC after phase 1', pre, '.1f')} %). Best: β = {cite('grid/best beta', best['beta'], 'g')}, "
            f"γ = {cite('grid/best gamma', best['gamma'], 'g')}. The paper calls R-DC robust over its grid."
            + _flagged_cells_text(runset, g, cite))


def _flagged_cells_text(runset: RunSet, cells: pd.DataFrame, cite: Cite) -> str:
    """" The flagged cells ... core ratio ..." for Figure 17's grid: which (β, γ) cells hold a flagged run and
    their runs' mean core ratio (the share of points phase 2 treats as core; a border point reconstructs its
    input, Eq. 12, which anchors the decoder); "" when no cell is flagged."""
    bad = cells[cells["flagged"] > 0]
    if bad.empty:
        return ""
    ratios = [float(np.mean(r.meta["core_ratios"])) for r in runset
              if health.is_flagged(r.meta) and r.meta.get("core_ratios")]
    names = cite("grid/flagged cells/names",
                 ", ".join(f"(β = {b:g}, γ = {c:g})" for b, c in zip(bad["beta"], bad["gamma"])))
    text = (f" {health.flag_mark(True)} {cite('grid/flagged cells', len(bad))} cells hold a run flagged unhealthy: "
            f"{names}.")
    if ratios:
        text += (f" Their runs' core ratio averages {cite('grid/flagged core ratio', float(np.mean(ratios)), '.3f')} "
                 "over the second phase: nearly every point is core, so nearly none reconstructs its input "
                 "(Eq. 12), the term that anchors the decoder.")
    return text


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
        bad = sub[sub["flagged"].astype(bool)]
        if len(bad):
            ax.scatter(bad["noise_std"], bad["acc"], marker="x", color="red", zorder=5,
                       label="flagged run (collapsed clusters or a growing loss)")
        ax.set(xlabel="noise standard deviation (share of the data's, after z-scoring)", ylabel="%",
               title=display_name(d), ylim=(0, 100))
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    plotting.legend_outside(fig)
    return fig


def noise_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: ACC at each noise level and its spread (the paper: stable).

    Each noise level has its own ACAI pretraining on the noisy inputs, so a level differs from the clean
    data in phase 1 as well as in phase 2; the text gives ACC after phase 1 next to the final ACC.
    "Stable" means a spread of the mean ACC over the levels within :data:`STABLE_SPREAD` points.
    """
    cite = Cite() if cite is None else cite
    f = noise_frame(runset)
    lines = [f"**Profile `{profile}`.** The paper: R-DC's performance is stable under input noise.", ""]
    bound = cite("stable spread (points)", STABLE_SPREAD, "g")
    for d, g in f.groupby("dataset"):
        stats = g.groupby("noise_std")[["acc", "acc_pretrained"]].mean()
        spread = stats["acc"].max() - stats["acc"].min()
        k = f"noise/{d}"
        levels = ", ".join(f"{cite(f'{k}/{lv:g}/level', float(lv), 'g')}: {cite(f'{k}/{lv:g}/ACC', v.acc, '.1f')} % "
                           f"({cite(f'{k}/{lv:g}/ACC after phase 1', v.acc_pretrained, '.1f')} %)"
                           for lv, v in stats.iterrows())
        lines.append(f"- {display_name(d)}: final ACC (after phase 1) at noise {levels}; spread over the levels "
                     f"{cite(f'{k}/ACC spread', spread, '.1f')} points "
                     + (f"(stable within {bound} points)." if spread <= STABLE_SPREAD else
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
    """Save a table with provenance naming the data used and those missing here; a comparison table (Tables 3-5,
    8) goes to Markdown in the paper's wide layout (:func:`wide_all`), the tidy rows to the CSV."""
    used = list(datasets) if datasets is not None else (run_datasets(runset, settings) if runset is not None else [])
    missing = missing_text(settings)
    seeds = sorted({r.config.seed for r in runset}) if runset is not None and len(runset) else []
    comparison = {"Method", "Dataset", "Metric", "Paper", "Reproduced"} <= set(table.columns)
    outputs.save_table(table, outputs.provenance(settings, datasets=used, seeds=seeds,
                                                 notes=[*notes, *([missing] if missing else [])]), floatfmt=".1f",
                       wide=wide_all(table) if comparison and len(table) else None,
                       legend=WIDE_LEGEND if comparison else "")


def ablation_verdict(table: pd.DataFrame, dataset: str, profile: str, cite: Cite | None = None) -> str:
    """Markdown: is P1+P2 (R-DC) above P1, P1+P3 and P1+P2+P3 on ``dataset`` (the paper: yes)?"""
    return verdict_methods(table, dataset, profile, main="P1+P2", others=("P1", "P1+P3", "P1+P2+P3"), cite=cite)


def runtime_verdict(table: pd.DataFrame, profile: str, cite: Cite | None = None) -> str:
    """Markdown: R-DC's time relative to DEC and DynAE, ours vs the paper's (numbers cited through ``cite``)."""
    cite = Cite() if cite is None else cite
    lines = [f"**Profile `{profile}`** (ours: {cite('runtime/CPU cores', 2)} CPU cores, a subsample, possibly "
             "shared with other jobs; compare ratios only).", ""]
    for d, g in table.groupby("Dataset", sort=False):
        g = g.set_index("Method")
        if not np.isfinite(g.loc["R-DC", "Ours (s)"]):
            continue
        for other in ("DEC", "DynAE", "AE + k-means"):
            ours = g.loc["R-DC", "Ours (s)"] / g.loc[other, "Ours (s)"]
            paper = g.loc["R-DC", "Paper (s)"] / g.loc[other, "Paper (s)"]
            lines.append(f"- {d}: R-DC / {other} = {_num(cite, f'runtime/{d}/R-DC / {other}/of means', ours, '.2f')}"
                         f" here, {_num(cite, f'runtime/{d}/R-DC / {other}/paper', paper, '.2f')} in the paper.")
        ms = g.loc["R-DC", "ms / clustering iteration"] / g.loc["DEC", "ms / clustering iteration"]
        lines.append(f"- {d}: one R-DC phase-2 iteration costs "
                     f"{_num(cite, f'runtime/{d}/iteration R-DC / DEC', ms, '.1f')}"
                     f"× a DEC iteration (k-NN refreshes included).")
    return "\n".join(lines)


def missing_short(settings: Settings) -> str:
    """``"not run at quick: CIFAR10, BloodMNIST"`` for a figure's note (or "")."""
    missing = exp.missing_datasets(settings) if "datasets" in settings else []
    return (f"not run at {settings.profile}: " + ", ".join(display_name(d) for d in missing)) if missing else ""


def figure_note(runset: RunSet, settings: Settings, substitute_for: str | None = None) -> str:
    """:func:`data_note` plus the paper's data sets missing here."""
    return " — ".join(t for t in (data_note(runset, settings, substitute_for), missing_short(settings)) if t)


def change_word(delta: float, tol: float, cite: Cite | None = None, name: str = "change") -> str:
    """"more separated" / "less separated" / "about as separated" for a change of a separation score."""
    cite = Cite() if cite is None else cite
    if abs(delta) < tol:
        return f"about as separated: change {cite(name, delta, '+.3f')}"
    return f"{'more' if delta > 0 else 'less'} separated: change {cite(name, delta, '+.3f')}"


# ----------------------------------------------------------------------------
# paired claims (tab03, tab08): R-DC against the baselines from the same pretrained network per seed

#: The rerun baselines of Tables 3-5 (same architecture and pretrained network as R-DC).
BASELINES = ("ae_kmeans", "dec", "idec", "dynae", "vade")


def _per_seed(frame: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    return frame[frame["variant"] == variant].set_index("seed")[metric]


def paired_claims(runset: RunSet, dataset: str, metric: str = "acc", *, ablation: bool = False,
                  readout: str = "own") -> pd.DataFrame:
    """The comparisons the paper's claims need, paired over seeds (every method of a seed starts from the same
    ACAI-pretrained network, so the seeds pair).

    Tables 3-5 (``ablation=False``): R-DC − the best rerun baseline (the one with the highest mean, named; the
    choice is made on these runs, so read its verdict as optimistic for the baseline), and R-DC − each baseline.
    Table 8 (``ablation=True``): P1+P2 − P1, P1+P2 − P1+P3, P1+P2 − P1+P2+P3.

    ``readout``: ``"own"`` compares each method's reported clusters (k-means for AE + k-means and R-DC, the
    method's own assignments for the others); ``"kmeans"`` reads every method out by the same 20-start
    k-means on its final codes (the records' ``<metric>_kmeans``).

    Returns
    -------
    DataFrame: comparison, ours (mean of the difference, points), se, pairs, verdict (ahead / behind /
    inconclusive at 2 SE), paper (the paper's difference of the two printed means), flagged (pairs with a run
    flagged unhealthy on either side, :func:`dcutils.health.rests_on`).
    """
    if readout not in ("own", "kmeans"):
        raise ValueError(f"readout must be 'own' or 'kmeans', got {readout!r}")
    frame = finals(runset)
    column = metric if readout == "own" else f"{metric}_kmeans"
    cols = ["comparison", "ours", "se", "pairs", "verdict", "paper", "flagged"]
    if frame.empty or not (frame["dataset"] == dataset).any() or column not in frame:
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
        stat = outputs.paired(_per_seed(frame, a, column), _per_seed(frame, b, column))
        sick = pd.concat([_per_seed(frame, a, "flagged"), _per_seed(frame, b, "flagged")], axis=1,
                         join="inner").astype(bool).any(axis=1)
        rows.append({"comparison": f"{name[a]} − {name[b]}", "ours": stat["mean"], "se": stat["se"],
                     "pairs": stat["n"], "verdict": stat["verdict"],
                     "paper": paper.get(a, np.nan) - paper.get(b, np.nan), "flagged": int(sick.sum()), "_b": b})
    out = pd.DataFrame(rows)
    if not ablation and len(out):
        means = {b: _per_seed(frame, b, column).mean() for b in out["_b"]}
        best = max(means, key=means.get)
        top = out[out["_b"] == best].iloc[0].to_dict()
        top["comparison"] = f"R-DC − best baseline ({METHOD_NAME[best]})"
        out = pd.concat([pd.DataFrame([top]), out], ignore_index=True)
    return out.drop(columns="_b")[cols] if len(out) else pd.DataFrame(columns=cols)


def claims_text(claims: pd.DataFrame, dataset: str, profile: str, cite: Cite | None = None) -> str:
    """Markdown of :func:`paired_claims`, every number from it (cited through ``cite``, names ``paired/...``)."""
    cite = Cite() if cite is None else cite
    if claims.empty:
        return f"No runs on {display_name(dataset)} at profile `{profile}`."
    lines = []
    for r in claims.itertuples():
        k = f"paired/{dataset}/{r.comparison}"
        se = f" ± {_num(cite, k + '/se', r.se, '.1f')}" if r.pairs >= 2 else ""
        paper = f"paper {cite(k + '/paper', r.paper, '+.1f')}" if np.isfinite(r.paper) else "paper: —"
        agrees = ("reproduces the paper's sign" if np.isfinite(r.paper) and (
            (r.verdict == "ahead" and r.paper > 0) or (r.verdict == "behind" and r.paper < 0)) else
            "does **not** reproduce" if np.isfinite(r.paper) and r.verdict != "inconclusive" else "inconclusive")
        sick = ""
        if getattr(r, "flagged", 0):
            cite(k + "/flagged pairs", int(r.flagged))
            sick = f" {health.flag_mark(True)} It {health.rests_on(int(r.flagged), int(r.pairs))}."
        lines.append(f"- {r.comparison} on {display_name(dataset)}: {_num(cite, k, r.ours, '+.1f')}{se} points ACC "
                     f"over {cite(k + '/pairs', int(r.pairs))} paired seeds, **{r.verdict}** ({paper}; {agrees})."
                     + sick)
    return "\n".join(lines)


def stopping_table(runset: RunSet) -> pd.DataFrame:
    """Per (data set, method): iterations run after phase 1, why each run stopped, when its own rule would have
    fired, and the final ACC next to the best ACC of the run chosen with the labels (what the authors' code
    keeps; never used here to pick a network); ``flagged``: how many of the seeds' runs the health check flags."""
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
                     "ACC best, chosen with labels": _pct(r.final.get("acc_best_chosen_with_labels", np.nan)),
                     "flagged": health.is_flagged(r.meta)})
    out = pd.DataFrame(rows)
    return (out.groupby(["dataset", "method"], sort=False)
            .agg(iterations=("iterations", "mean"), stopped=("stopped", lambda s: ", ".join(sorted(set(map(str, s))))),
                 rule_fired=("own rule fired at", lambda s: ", ".join(map(str, s))),
                 acc_final=("ACC final", "mean"), acc_best_with_labels=("ACC best, chosen with labels", "mean"),
                 seeds=("seed", "nunique"), flagged=("flagged", "sum"))
            .reset_index())


def checkpoint_text(stops: pd.DataFrame, method: str = "R-DC", cite: Cite | None = None) -> str:
    """Markdown: how much keeping the best checkpoint chosen with the labels (the authors' code) would add."""
    cite = Cite() if cite is None else cite
    if stops.empty or not (stops["method"] == method).any():
        return ""
    parts = []
    for r in stops[stops["method"] == method].itertuples():
        k = f"checkpoint/{r.dataset}/{method}"
        parts.append(f"{display_name(r.dataset)}: final {_num(cite, k + '/final', r.acc_final, '.1f')} %, best "
                     f"during the run chosen with the labels "
                     f"{_num(cite, k + '/best with labels', r.acc_best_with_labels, '.1f')} % "
                     f"({_num(cite, k + '/best - final', r.acc_best_with_labels - r.acc_final, '+.1f')} points; "
                     f"{_num(cite, k + '/iterations', r.iterations, '.0f')} iterations, stopped: {r.stopped})")
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


def protocol_note(runset: RunSet, cite: Cite | None = None) -> str:
    """Markdown: the protocol the item's runs used, read from their configs (not from the settings).

    Every number is cited through ``cite`` (names ``protocol/...``)."""
    cite = Cite() if cite is None else cite
    if not len(runset):
        return "No runs at this profile."
    cfg = runset.results[0].config
    algo = cfg.algorithm
    seeds = runset.seeds()
    head = (f"**Protocol** ({_seeds_words(cite, 'protocol/seeds', len(seeds))}, "
            f"{cite('protocol/runs', len(runset))} runs): ")
    estimator = cfg.get("lid_estimator")
    lid = cite("protocol/ID and LID estimator", LID_TEXT.get(estimator, estimator)) if estimator else ""
    if algo == "rdc.twist":
        return head + (f"the curved-clusters toy, a two-layer autoencoder with hidden width "
                       f"{cite('protocol/hidden width', cfg['hidden'])} and "
                       f"activation {cfg['twist_activation'] or 'none (affine)'}, "
                       f"{cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} "
                       f"reconstruction epochs, then {cite('protocol/clustering epochs', cfg['cluster_epochs'])} "
                       f"epochs of the method; R-DC with construction weight "
                       f"{cite('protocol/construction weight', cfg['construction_weight'], 'g')}, gamma "
                       f"{_gamma_words(cfg, cite)}.")
    per_epoch = inputs_batches(cfg)
    if algo == "rdc.paradigm":
        pretexts = " or ".join(sorted({r.config["pretext"] for r in runset}, key=lambda t: t != "reconstruction"))
        return head + (f"{pretexts} pretraining for {cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} "
                       f"epochs ({cite('protocol/steps per epoch', per_epoch)} steps each), then DEC for "
                       f"{cite('protocol/clustering epochs', cfg['cluster_epochs'])} epochs; ID / LID: {lid}.")
    n = cfg["subsample"]
    gamma = (f"gamma set as the {_gamma_words(cfg, cite).removeprefix('as the ')} of the neighbour-distance gaps "
             "(relative to the latent scale)" if cfg["gamma_mode"] == "quantile"
             else "gamma absolute (Table 2, or the grid's value)")
    images = f"{cite('protocol/images', n, ',')} images" if n else "every image"
    return head + (f"{display_name(cfg.dataset)}, {images}; ACAI pretraining "
                   f"{cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} epochs = "
                   f"{cite('protocol/pretraining steps', cfg['pretrain_epochs'] * per_epoch, ',')} steps; then every "
                   f"method the same budget of {cite('protocol/clustering epochs', cfg['cluster_epochs'])} epochs = "
                   f"{cite('protocol/clustering iterations', cfg['cluster_epochs'] * per_epoch, ',')} "
                   f"iterations (stop: {cfg['stop']}; the stopping rules are recorded, not obeyed, under 'budget'), "
                   f"targets refreshed every {cite('protocol/refresh every (iterations)', cfg['refresh_every'])} "
                   f"iterations; R-DC: M = {cite('protocol/M', cfg['n_neighbours'])}"
                   f"{' including the point itself' if cfg['neighbours_include_self'] else ''}, latent pull "
                   f"{cite('protocol/pull weight', cfg['pull_weight'], 'g')} : image "
                   f"{cite('protocol/construction weight', cfg['construction_weight'], 'g')}, {gamma}; ID / LID: "
                   f"{lid}; {cfg['precision']}.")


def _gamma_words(cfg, cite: Cite | None = None) -> str:
    cite = Cite() if cite is None else cite
    if cfg["gamma_mode"] == "quantile":
        return f"as the {cite('protocol/gamma quantile', cfg['gamma_quantile'], 'g')} quantile"
    return cite("protocol/gamma", cfg["gamma"], "g")


def inputs_batches(cfg) -> int:
    """Mini-batches per epoch of a run config (its subsample, else its data set's size)."""
    return inputs.batches_per_epoch(inputs.sample_count(cfg.dataset, cfg["subsample"]), cfg["batch_size"])


# ----------------------------------------------------------------------------
# Figures 18 and 19: the PCA texts


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


def pca_text(separation: pd.DataFrame, profile: str, cite: Cite | None = None) -> str:
    """Markdown of :func:`pca_separation`: the silhouette after phase 1 → final, per (data set, variant)."""
    cite = Cite() if cite is None else cite
    lines = [f"**Profile `{profile}`:** silhouette of the true classes in the 2-D PCA picture, after phase 1 → "
             "final (mean over seeds):"]
    for r in separation.to_dict("records"):
        before, after = r["silhouette 2-D (after phase 1)"], r["silhouette 2-D (final)"]
        k = f"pca/{r['dataset']}/{r['variant']}"
        lines.append(f"- {r['dataset']}, {r['variant']}: {cite(k + '/after phase 1', before, '.3f')} → "
                     f"{cite(k + '/final', after, '.3f')} ({change_word(after - before, 0.01, cite, k + '/change')}).")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# findings: each item's verdict on the paper's claim, with the numbers behind it
#
# Each ``*_findings`` function returns ``{"verdict", "reason", "values", "text"}`` for
# :func:`dcutils.outputs.save_findings`; the text is the notebook's "What we see" and every number in it is
# cited in ``values``. A claim is checked on per-seed differences (mean ± SE over seeds): it reproduces when the
# mean lies beyond 2 SE on the paper's side, does not when beyond 2 SE on the other side, and is inconclusive
# in between. With one seed there is no SE: the check is inconclusive ("one seed") unless the effect lies on
# the other side of the claim by more than the check's stated wide margin.

#: ACC spread (points, max − min of the mean over a grid or over noise levels) that counts as robust / stable.
STABLE_SPREAD = 5.0
#: With one seed, a spread beyond this many times :data:`STABLE_SPREAD` contradicts robustness by a wide margin.
WIDE_FACTOR = 3
#: A clustering phase that "adds little" gains less than this many points of ACC over k-means after pretraining.
LITTLE_GAIN = 5.0


def findings_provenance(settings: Settings, runset: RunSet | None = None,
                        datasets: Sequence[str] | None = None) -> outputs.Provenance:
    """Provenance of an item's findings: the data its runs used (or ``datasets``), their seeds and the data sets
    its profile does not run (as :func:`save_table` stamps a table)."""
    used = list(datasets) if datasets is not None else (run_datasets(runset, settings) if runset is not None else [])
    missing = missing_text(settings)
    seeds = sorted({r.config.seed for r in runset}) if runset is not None and len(runset) else []
    return outputs.provenance(settings, datasets=used, seeds=seeds, notes=[missing] if missing else [])


def reproduces(verdict: str, sign: float) -> str:
    """A paired verdict (ahead / behind / inconclusive) against the paper's direction ``sign`` (+1 / -1)."""
    if not sign or not np.isfinite(sign) or verdict == outputs.INCONCLUSIVE:
        return findings.INCONCLUSIVE
    return findings.REPRODUCES if (verdict == outputs.AHEAD) == (sign > 0) else findings.DOES_NOT_REPRODUCE


def paired_difference(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a − b`` over the seeds (index) both have: the per-seed differences a paired check averages."""
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    return both["a"] - both["b"]


def seed_check(diffs: Iterable[float], sign: int, margin: float) -> tuple[str, float, float, int]:
    """(:func:`reproduces` verdict, mean, SE, seeds) of per-seed differences whose sign the paper claims is ``sign``.

    Two seeds or more: the 2-SE rule. One seed: "does not reproduce" when ``sign * value < -margin`` (the opposite
    of the claim by a wide margin), else "inconclusive"."""
    mean, se, n = outputs.mean_se(list(diffs))
    if n == 0:
        return findings.INCONCLUSIVE, mean, se, 0
    if n == 1:
        return (findings.DOES_NOT_REPRODUCE if sign * mean < -margin else findings.INCONCLUSIVE), mean, se, 1
    return reproduces(outputs.verdict(mean, se, n), sign), mean, se, n


def _check_words(cite: Cite, key: str, mean: float, se: float, n: int, spec: str, unit: str = "") -> str:
    """"-14.4 ± 4.0 points over 3 seeds" / "-0.3 points on one seed", cited."""
    if n >= 2:
        return (f"{_num(cite, key, mean, '+' + spec)} ± {_num(cite, key + '/se', se, spec)}{unit} over "
                f"{cite(key + '/seeds', n)} seeds")
    return f"{_num(cite, key, mean, '+' + spec)}{unit} on one seed"


def run_label(result) -> str:
    """A run in words for the health notes: method, the grid value or noise level that sets it apart, seed
    (e.g. ``"R-DC (β = 0.1, γ = 0.6), seed 0"``)."""
    cfg = result.config
    name = METHOD_NAME.get(cfg.get("method"), cfg.get("method")) if cfg.algorithm == "rdc.method" else cfg.algorithm
    extra = []
    if cfg.algorithm == "rdc.method":
        if cfg.get("beta") is not None:
            extra.append(f"β = {cfg['beta']:g}")
        if cfg.get("gamma") is not None and cfg.get("gamma_mode") == "absolute":
            extra.append(f"γ = {cfg['gamma']:g}")
        if cfg.get("noise_std"):
            extra.append(f"noise σ = {cfg['noise_std']:g}")
    return f"{name}{' (' + ', '.join(extra) + ')' if extra else ''}, seed {cfg.seed}"


def flagged_runs(runset: RunSet) -> pd.DataFrame:
    """The runs of ``runset`` whose record flags them unhealthy (:func:`dcutils.health.is_flagged`): one row per
    run with ``run`` (:func:`run_label`) and ``reasons`` (the health check's, joined)."""
    rows = [{"run": run_label(r), "reasons": "; ".join(r.meta["health"].get("reasons", []))}
            for r in runset if health.is_flagged(r.meta)]
    return pd.DataFrame(rows, columns=["run", "reasons"])


def health_note(runset: RunSet | None, cite: Cite | None = None) -> str:
    """Markdown: which of the item's runs the health check flags and why (:mod:`dcutils.health`: collapsed
    clusters, a loss or the clean reconstruction error grown beyond 10× its start); "" when none is."""
    cite = Cite() if cite is None else cite
    flagged = flagged_runs(runset) if runset is not None else pd.DataFrame()
    if flagged.empty:
        return ""
    items_ = "\n".join(f"- {cite(f'health/flagged/{i}', f'{r.run}: {r.reasons}')}"
                        for i, r in enumerate(flagged.itertuples()))
    verb = "run is" if len(runset) == 1 else ("runs are" if len(flagged) > 1 else "runs is")
    return (f"{health.flag_mark(True)} **{cite('health/flagged runs', len(flagged))} of "
            f"{cite('health/runs', len(runset))} {verb} flagged unhealthy** by the health check; every number "
            f"above that uses them includes them, so read those as measuring the failure:\n{items_}")


def _finding(verdict: str, reason: str, cite: Cite, parts: Sequence[str], runset: RunSet | None = None) -> dict:
    """The findings dict; with ``runset``, its flagged runs are named in the text (:func:`health_note`) and the
    reason says how many the verdict rests on."""
    note = health_note(runset, cite)
    if note:
        k = len(flagged_runs(runset))
        reason += f"; {health.flag_mark(True)} {k} of {len(runset)} runs flagged unhealthy (named in the text)"
    return {"verdict": verdict, "reason": reason, "values": dict(cite.values),
            "text": "\n\n".join(p for p in [*parts, note] if p)}


def _one_seed_reason(checks: Sequence[str], n_seeds: int, what: str) -> str | None:
    """The reason "one seed: ..." when every check rests on one seed and none contradicts the claim."""
    if n_seeds == 1 and findings.DOES_NOT_REPRODUCE not in checks:
        return f"one seed: {what}"
    return None


def table_findings(runset: RunSet, settings: Settings, datasets: Sequence[str], *, ablation: bool = False) -> dict:
    """Tables 3-5 (``ablation=False``) and Table 8 (``ablation=True``), from :func:`paired_claims`.

    The central comparison per data set with runs is the first row of :func:`paired_claims`: R-DC − the best rerun
    baseline (Tables 3-5) or P1+P2 − P1 (Table 8), every method read out by the same 20-start k-means on its
    final codes (``readout="kmeans"``, so no method's readout decides; issue 21). It reproduces when it is
    ahead beyond 2 SE like the paper, does not when it is behind beyond 2 SE, and is inconclusive otherwise;
    the item's verdict is :func:`overall_verdict` over the data sets. The text adds the same first row under
    each method's own readout. Without runs on any of ``datasets``: "not testable here".
    """
    cite = Cite()
    table = ablation_table(runset, settings) if ablation else clustering_table(runset, settings)
    parts, checks, reasons = [], [], []
    for d in datasets:
        claims = paired_claims(runset, d, ablation=ablation, readout="kmeans")
        if claims.empty:
            continue
        starts = int(runset[0].config.get("kmeans_n_init", 20)) if len(runset) else 20
        parts.append(f"Every method read out by {cite('k-means starts', starts)}-start k-means on its final codes:\n"
                     + claims_text(claims, d, settings.profile, cite))
        own = paired_claims(runset, d, ablation=ablation)
        if len(own):
            o, k = own.iloc[0], f"own readout/{d}/{own.iloc[0]['comparison']}"
            se = f" ± {_num(cite, k + '/se', o['se'], '.1f')}" if o["pairs"] >= 2 else ""
            parts.append(f"Under each method's own readout (its clusters; k-means for AE + k-means and R-DC): "
                         f"{o['comparison']} {_num(cite, k, o['ours'], '+.1f')}{se} points, {o['verdict']}.")
        r = claims.iloc[0]
        check = reproduces(r["verdict"], float(np.sign(r["paper"])) if np.isfinite(r["paper"]) else 0.0)
        checks.append(check)
        k = f"paired/{d}/{r['comparison']}"
        se = f" ± {_num(cite, k + '/se', r['se'], '.1f')}" if r["pairs"] >= 2 else ""
        sick = (f", {health.flag_mark(True)} {health.rests_on(int(r['flagged']), int(r['pairs']))}"
                if r["flagged"] else "")
        reasons.append(f"{r['comparison']} on {display_name(d)}: {_num(cite, k, r['ours'], '+.1f')}{se} points ACC "
                       f"over {cite(k + '/pairs', int(r['pairs']))} paired seeds, {r['verdict']} at "
                       f"{cite('verdict threshold (SE)', 2)} SE (paper {_num(cite, k + '/paper', r['paper'], '+.1f')})"
                       + sick)
    missing = missing_text(settings)
    if not checks:
        names = ", ".join(display_name(d) for d in datasets)
        reason = (f"{names} {'is' if len(datasets) == 1 else 'are'} not run at profile {settings.profile} (paper "
                  "profile only), so every cell keeps the paper's value with reproduced '—'")
        return _finding(findings.NOT_TESTABLE, reason, cite, [missing])
    methods = [verdict_methods(table, d, settings.profile, cite=cite) if not ablation else
               ablation_verdict(table, d, settings.profile, cite=cite) for d in datasets
               if cell(table, d, "P1+P2" if ablation else "R-DC")[2]]
    return _finding(overall_verdict(checks), "; ".join(reasons), cite,
                    [*parts, *methods, checkpoint_text(stopping_table(runset), cite=cite), missing,
                     protocol_note(runset, cite)], runset=runset)


def accuracy_findings(runset: RunSet, settings: Settings, paper_start: float | None = None,
                      against: str | None = "dynae") -> dict:
    """Figures 12 and 13: R-DC's ACC rises during phase 2 (end − start per seed, paired) and, with ``against``,
    ends above that method (R-DC − it at the end, paired over seeds; both start from the same pretrained
    network). Each check at 2 SE; the verdict is :func:`overall_verdict` of the checks."""
    cite = Cite()
    s = start_and_end(runset)
    checks, reasons = [], []
    for d in sorted(s["dataset"].unique()):
        sub = s[s["dataset"] == d]
        rdc = sub[sub["variant"] == "rdc"].set_index("seed")
        if rdc.empty:
            continue
        check, mean, se, n = seed_check(rdc["acc_end"] - rdc["acc_start"], +1, 0.0)
        checks.append(check)
        reasons.append(f"on {display_name(d)} R-DC's ACC changes by "
                       f"{_check_words(cite, f'check/{d}/R-DC end - start', mean, se, n, '.1f', ' points')} "
                       f"in phase 2 ({check})")
        other = sub[sub["variant"] == against].set_index("seed") if against else pd.DataFrame()
        if len(other):
            check, mean, se, n = seed_check(paired_difference(rdc["acc_end"], other["acc_end"]), +1, 0.0)
            checks.append(check)
            key = f"check/{d}/R-DC - {against} at the end"
            reasons.append(f"R-DC − {METHOD_NAME[against]} at the end "
                           f"{_check_words(cite, key, mean, se, n, '.1f', ' points')} ({check})")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no R-DC runs at profile {settings.profile}", cite,
                        [missing_text(settings)])
    reason = "; ".join(reasons) + f", each judged at {cite('verdict threshold (SE)', 2)} SE"
    return _finding(overall_verdict(checks), reason, cite,
                    [accuracy_verdict(runset, settings.profile, paper_start, cite), missing_text(settings),
                     protocol_note(runset, cite)], runset=runset)


def purity_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 14: filtering raises the share of true neighbours of core points. Per seed, the mean over phase 2's
    logged iterations of filtered − initial (points); reproduces when above 0 beyond 2 SE over seeds."""
    cite = Cite()
    h = phase_history(runset)
    checks, reasons = [], []
    for (d, v), g in h.groupby(["dataset", "variant"], sort=True):
        per_seed = (100 * (g["purity_filtered"] - g["purity_initial"])).groupby(g["seed"]).mean()
        check, mean, se, n = seed_check(per_seed, +1, 0.0)
        checks.append(check)
        reasons.append(f"{display_name(d)}, {METHOD_NAME[v]}: filtered − initial share of true neighbours "
                       f"{_check_words(cite, f'check/{d}/{v}/filtered - initial', mean, se, n, '.2f', ' points')}"
                       f" ({check} at {cite('verdict threshold (SE)', 2)} SE)")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no R-DC runs at profile {settings.profile}", cite,
                        [missing_text(settings)])
    return _finding(overall_verdict(checks), "; ".join(reasons), cite,
                    [purity_verdict(runset, settings.profile, cite), missing_text(settings),
                     protocol_note(runset, cite)], runset=runset)


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


def geometry_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 15: DynAE's LID and ID converge (its LID − ID at the end minus after phase 1 is below 0), R-DC's stay
    apart (R-DC's LID − ID at the end minus DynAE's is above 0, paired over seeds). Each check at 2 SE."""
    cite = Cite()
    gaps = geometry_gaps(runset)
    dyn = gaps[gaps["variant"] == "dynae"].set_index("seed")
    rdc = gaps[gaps["variant"] == "rdc"].set_index("seed")
    checks, reasons = [], []
    if len(dyn):
        check, mean, se, n = seed_check(dyn["gap_end"] - dyn["gap_p1"], -1, 0.0)
        checks.append(check)
        reasons.append(f"DynAE's LID − ID changes by "
                       f"{_check_words(cite, 'check/DynAE gap end - after phase 1', mean, se, n, '.2f')}"
                       f" over phase 2 (the paper: it shrinks; {check})")
    if len(dyn) and len(rdc):
        check, mean, se, n = seed_check(paired_difference(rdc["gap_end"], dyn["gap_end"]), +1, 0.0)
        checks.append(check)
        reasons.append(f"R-DC's final LID − ID minus DynAE's is "
                       f"{_check_words(cite, 'check/R-DC - DynAE gap at the end', mean, se, n, '.2f')}"
                       f" (the paper: above zero; {check})")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no DynAE or R-DC runs at profile {settings.profile}", cite, [])
    reason = "; ".join(reasons) + f", each at {cite('verdict threshold (SE)', 2)} SE"
    return _finding(overall_verdict(checks), reason, cite,
                    [geometry_verdict(runset, settings.profile, cite), protocol_note(runset, cite)], runset=runset)


def paradigm_per_seed(runset: RunSet) -> pd.DataFrame:
    """Per run of ``rdc.paradigm``: dataset (display name), pretext, seed, LID drop under DEC (LID after
    pretraining − LID after DEC) and the LID − ID gap after pretraining."""
    rows = [{"dataset": display_name(r.config.dataset), "pretext": r.config["pretext"], "seed": r.config.seed,
             "drop": r.final["lid_pretrained"] - r.final["lid"],
             "gap": r.final["lid_pretrained"] - r.final["id_pretrained"]}
            for r in runset]
    return pd.DataFrame(rows, columns=["dataset", "pretext", "seed", "drop", "gap"])


#: With one seed, a change of LID (or of LID − ID) of more than this many dimensions against the claim
#: contradicts it by a wide margin (twice the one dimension the text calls a drop).
LID_WIDE = 2.0


def paradigm_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 1, per (data set, pretext): LID drops under DEC (drop > 0) and LID exceeds ID after pretraining
    (gap > 0), each over seeds at 2 SE; with one seed a check contradicts the claim only by more than
    :data:`LID_WIDE` dimensions."""
    cite = Cite()
    f = paradigm_per_seed(runset)
    checks, drops, gaps = [], [], []
    for _, g in f.groupby(["dataset", "pretext"], sort=False):
        for col, out in (("drop", drops), ("gap", gaps)):
            check, mean, se, n = seed_check(g[col], +1, LID_WIDE)
            checks.append(check)
            out.append(mean)
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no runs at profile {settings.profile}", cite, [])
    n_seeds = f["seed"].nunique()
    margin = cite("one-seed wide margin (dimensions)", LID_WIDE, "g")
    what = (f"under DEC LID changes by {cite('check/LID change under DEC min', -max(drops), '+.1f')} to "
            f"{cite('check/LID change under DEC max', -min(drops), '+.1f')} "
            f"dimensions (the paper: a sharp drop) and LID "
            f"− ID after pretraining is {cite('check/LID - ID min', min(gaps), '+.1f')} to "
            f"{cite('check/LID - ID max', max(gaps), '+.1f')} (the paper: above zero) over the "
            f"{cite('check/cases', len(drops))} data set and pretext pairs; one seed contradicts the claim only by "
            f"more than {margin} dimensions")
    verdict = overall_verdict(checks)
    reason = _one_seed_reason(checks, n_seeds, what) or (what + f"; checks at {cite('verdict threshold (SE)', 2)} SE")
    summary = paradigm_summary(runset)
    return _finding(verdict, reason, cite, [paradigm_verdict(summary, settings.profile, cite),
                                            protocol_note(runset, cite)], runset=runset)


def twist_findings(runset: RunSet, settings: Settings) -> dict:
    """Figures 2 and 16 (Feature Twist toy): DEC merges the curved clusters (its 5-NN purity end − after
    pretraining is below 0) and, where R-DC runs, R-DC keeps them better (R-DC's purity change − DEC's is above
    0, paired over seeds). 2 SE over seeds; with one seed a check contradicts the claim only by more than
    :data:`TWIST_WIDE` of purity."""
    cite = Cite()
    per = {m: pd.Series({r.config.seed: r.final["knn_purity"] - r.final["knn_purity_pretrained"]
                         for r in runset if r.config["method"] == m}, dtype=float) for m in ("dec", "rdc")}
    checks, reasons = [], []
    margin = cite("one-seed wide margin (purity)", TWIST_WIDE, "g")
    if len(per["dec"]):
        check, mean, se, n = seed_check(per["dec"], -1, TWIST_WIDE)
        checks.append(check)
        reasons.append(f"DEC's 5-NN purity changes by "
                       f"{_check_words(cite, 'check/DEC purity change', mean, se, n, '.3f')} "
                       f"(the paper: the clusters merge, a drop)")
    if len(per["dec"]) and len(per["rdc"]):
        check, mean, se, n = seed_check(paired_difference(per["rdc"], per["dec"]), +1, TWIST_WIDE)
        checks.append(check)
        reasons.append(f"R-DC's purity change minus DEC's is "
                       f"{_check_words(cite, 'check/R-DC - DEC purity change', mean, se, n, '.3f')}"
                       f" (the paper: R-DC keeps the clusters, above zero)")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no runs at profile {settings.profile}", cite, [])
    what = "; ".join(reasons) + f"; one seed contradicts the claim only by more than {margin} of purity"
    n_seeds = len({r.config.seed for r in runset})
    reason = _one_seed_reason(checks, n_seeds, what) or (
        "; ".join(reasons) + f", at {cite('verdict threshold (SE)', 2)} SE")
    return _finding(overall_verdict(checks), reason, cite,
                    [twist_verdict(twist_summary(runset), settings.profile, cite), protocol_note(runset, cite)],
                    runset=runset)


#: With one seed, a 5-NN purity change this large against the claim contradicts it by a wide margin.
TWIST_WIDE = 0.1


def gain_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 3: the clustering phase adds little. Per method, the ACC gain over k-means after pretraining (mean
    ± SE over seeds): reproduces when every method's gain + 2 SE is below :data:`LITTLE_GAIN` points; does not
    when some method's gain − 2 SE is above it; inconclusive otherwise."""
    cite = Cite()
    f = gain_frame(runset)
    bound = cite("little gain (points)", LITTLE_GAIN, "g")
    two = cite("verdict threshold (SE)", 2)
    below, above, names = [], [], []
    several = f["dataset"].nunique() > 1
    for (d, m), g in f.groupby(["dataset", "variant"], sort=False):
        mean, se, n = outputs.mean_se(g["gain"])
        se = se if n >= 2 else math.inf
        label = f"{METHOD_NAME[m]} ({display_name(d)})" if several else METHOD_NAME[m]
        names.append(label)
        if mean + 2 * se < LITTLE_GAIN:
            below.append(label)
        elif mean - 2 * se > LITTLE_GAIN:
            above.append(label)
    if not names:
        return _finding(findings.NOT_TESTABLE, f"no runs at profile {settings.profile}", cite, [missing_text(settings)])
    if above:
        verdict, reason = findings.DOES_NOT_REPRODUCE, (f"the clustering phase of {', '.join(above)} gains more than "
                                                        f"{bound} points of ACC beyond {two} SE")
    elif len(below) == len(names):
        verdict, reason = findings.REPRODUCES, (f"every method's gain (+ {two} SE) stays below {bound} points of ACC")
    else:
        rest = [n for n in names if n not in below]
        verdict, reason = findings.INCONCLUSIVE, (f"{', '.join(below) or 'no method'} gain less than {bound} points "
                                                  f"of ACC beyond {two} SE, but the interval of {', '.join(rest)} "
                                                  f"reaches {bound} points")
    return _finding(verdict, reason, cite, [gain_verdict(runset, settings.profile, cite), missing_text(settings),
                                            protocol_note(runset, cite)], runset=runset)


def _spread_verdict(cells: pd.DataFrame, cite: Cite, key: str, what: str) -> tuple[str, str]:
    """(verdict, reason) of "robust / stable": ``cells`` has one row per grid cell or noise level with ``mean``,
    ``se`` and ``n`` (seeds) of ACC in percent. The spread max − min of the means is compared with
    :data:`STABLE_SPREAD`: with two seeds or more, beyond 2 SE (the SE of the two extreme cells combined); with
    one seed, only a spread beyond :data:`WIDE_FACTOR` times the bound counts (against the claim)."""
    hi, lo = cells.loc[cells["mean"].idxmax()], cells.loc[cells["mean"].idxmin()]
    spread = hi["mean"] - lo["mean"]
    bound = cite("stable spread (points)", STABLE_SPREAD, "g")
    shown = f"the ACC spread over the {what} is {cite(key + '/ACC spread', spread, '.1f')} points"
    if int(cells["n"].min()) < 2:
        wide = cite("one-seed wide spread (points)", WIDE_FACTOR * STABLE_SPREAD, "g")
        if spread > WIDE_FACTOR * STABLE_SPREAD:
            return findings.DOES_NOT_REPRODUCE, (f"one seed, but {shown}, above {wide} points, "
                                                 f"{cite('one-seed wide factor', WIDE_FACTOR)} times the {bound} "
                                                 f"points counted as stable")
        return findings.INCONCLUSIVE, (f"one seed: {shown} (stable means within {bound} points; one seed "
                                       f"contradicts it only beyond {wide})")
    noise = math.hypot(hi["se"], lo["se"])
    two = cite("verdict threshold (SE)", 2)
    shown += f" ± {cite(key + '/ACC spread/se', noise, '.1f')} points"
    if spread + 2 * noise <= STABLE_SPREAD:
        return findings.REPRODUCES, f"{shown}, within {bound} points beyond {two} SE"
    if spread - 2 * noise > STABLE_SPREAD:
        return findings.DOES_NOT_REPRODUCE, f"{shown}, above {bound} points beyond {two} SE"
    return findings.INCONCLUSIVE, f"{shown}: within {two} SE of the {bound} points counted as stable"


def _cells(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    return (frame.groupby(list(keys))["acc"].agg(mean="mean", n="count",
                                                 se=lambda x: outputs.mean_se(x)[1]).reset_index())


def sensitivity_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 17: R-DC is robust over the β × γ grid; :func:`_spread_verdict` of the grid's mean ACC (percent)."""
    cite = Cite()
    f = noise_frame(runset)  # finals in percent
    if f.empty:
        return _finding(findings.NOT_TESTABLE, f"no grid runs at profile {settings.profile}", cite, [])
    verdict, reason = _spread_verdict(_cells(f, ["beta", "gamma"]), cite, "grid", "(β, γ) grid")
    return _finding(verdict, reason, cite, [sensitivity_verdict(runset, settings.profile, cite),
                                            missing_text(settings), protocol_note(runset, cite)], runset=runset)


def noise_findings(runset: RunSet, settings: Settings) -> dict:
    """Figure 20: R-DC is stable under input noise; :func:`_spread_verdict` of the mean ACC over the noise levels,
    per data set, combined with :func:`overall_verdict`."""
    cite = Cite()
    f = noise_frame(runset)
    if f.empty:
        return _finding(findings.NOT_TESTABLE, f"no noise runs at profile {settings.profile}", cite, [])
    checks, reasons = [], []
    for d, g in f.groupby("dataset"):  # noqa: B007 (d names the check)
        v, r = _spread_verdict(_cells(g, ["noise_std"]), cite, f"noise/{d}", f"noise levels on {display_name(d)}")
        checks.append(v)
        reasons.append(r)
    return _finding(overall_verdict(checks), "; ".join(reasons), cite,
                    [noise_verdict(runset, settings.profile, cite), missing_text(settings),
                     protocol_note(runset, cite)], runset=runset)


def pca_findings(runset: RunSet, settings: Settings, reference: RunSet | None = None) -> dict:
    """Figures 18 and 19, on the silhouette of the true classes in the 2-D PCA picture.

    Without ``reference`` (Figure 18, R-DC's runs): R-DC's phase 2 keeps the classes apart in the picture, final −
    after phase 1 per seed above 0. With ``reference`` (Figure 19: the runs are pseudo-supervised substitutes for
    CC, the reference R-DC's runs of Figure 18): R-DC's final silhouette − each baseline's, paired over seeds,
    above 0. Each check at 2 SE; the verdict is :func:`overall_verdict`.
    """
    cite = Cite()
    sep = pca_per_seed(runset)
    checks, reasons = [], []
    if reference is None:
        for (d, v), g in sep.groupby(["dataset", "variant"], sort=False):
            check, mean, se, n = seed_check(g["after"] - g["before"], +1, 0.0)
            checks.append(check)
            key = f"check/{d}/{v}/final - after phase 1"
            reasons.append(f"{METHOD_NAME[v]} on {display_name(d)}: silhouette final − after phase 1 "
                           f"{_check_words(cite, key, mean, se, n, '.3f')} ({check})")
    else:
        ref = pca_per_seed(reference)
        ref = ref[ref["variant"] == "rdc"]
        for (d, v), g in sep.groupby(["dataset", "variant"], sort=False):
            r = ref[ref["dataset"] == d].set_index("seed")["after"]
            if r.empty:
                continue
            check, mean, se, n = seed_check(paired_difference(r, g.set_index("seed")["after"]), +1, 0.0)
            checks.append(check)
            reasons.append(f"R-DC − {METHOD_NAME[v]} on {display_name(d)}, final silhouette "
                           f"{_check_words(cite, f'check/{d}/R-DC - {v}/final', mean, se, n, '.3f')} ({check})")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no runs to compare at profile {settings.profile}", cite,
                        [missing_text(settings)])
    reason = "; ".join(reasons) + f", each at {cite('verdict threshold (SE)', 2)} SE"
    parts = [pca_text(pca_separation(runset), settings.profile, cite)]
    if reference is not None:
        parts.append("R-DC's runs (Figure 18), for the comparison:\n"
                     + pca_text(pca_separation(reference), settings.profile, cite).split("\n", 1)[-1])
    return _finding(overall_verdict(checks), reason, cite, [*parts, missing_text(settings),
                                                            protocol_note(runset, cite)], runset=runset)


def runtime_findings(runset: RunSet, settings: Settings) -> dict:
    """Table 6, on ratios only (our CPU seconds are not comparable with the paper's GPU seconds): for each rerun
    method, R-DC's time over its time per seed (mean ± SE over seeds) should lie on the paper's side of 1 (the
    paper's own ratio, from its Table 6) beyond 2 SE; the verdict is :func:`overall_verdict`."""
    cite = Cite()
    ratios = runtime_ratios(runset, settings)
    table = runtime_table(runset, settings)
    checks, reasons = [], []
    for r in ratios.to_dict("records"):
        if not np.isfinite(r["paper"]):
            continue
        se = r["se"] if r["seeds"] >= 2 else math.nan
        check = reproduces(outputs.verdict(r["ratio"] - 1, se, r["seeds"]), float(np.sign(r["paper"] - 1)))
        checks.append(check)
        k = f"check/{r['dataset']}/R-DC / {r['method']}"
        reasons.append(f"R-DC / {r['method']} {_num(cite, k, r['ratio'], '.2f')}"
                       + (f" ± {_num(cite, k + '/se', r['se'], '.2f')}" if r["seeds"] >= 2 else "")
                       + f" (paper {cite(k + '/paper', r['paper'], '.2f')}; {check})")
    if not checks:
        return _finding(findings.NOT_TESTABLE, f"no R-DC runs with a rerun baseline at profile {settings.profile}",
                        cite, [missing_text(settings)])
    reason = (f"per-seed time ratios against the paper's side of {cite('ratio one', 1)} at "
              f"{cite('verdict threshold (SE)', 2)} SE: " + "; ".join(reasons))
    return _finding(overall_verdict(checks), reason, cite,
                    [runtime_verdict(table, settings.profile, cite), missing_text(settings),
                     protocol_note(runset, cite)], runset=runset)


def algorithm_findings(runset: RunSet, settings: Settings) -> dict:
    """Algorithm 1, on the claim its notebook traces: phase 2 grows the core-point ratio. Per R-DC run, the last
    core ratio − the first; reproduces when above 0 beyond 2 SE over seeds, does not when below."""
    cite = Cite()
    diffs = [r.meta["core_ratios"][-1] - r.meta["core_ratios"][0] for r in runset
             if r.config["method"] == "rdc" and r.meta.get("core_ratios")]
    if not diffs:
        return _finding(findings.NOT_TESTABLE, f"no R-DC run with a core-ratio trace at profile {settings.profile}",
                        cite, [algorithm_verdict(runset, settings.profile, cite)])
    check, mean, se, n = seed_check(diffs, +1, 0.0)
    reason = (f"the core-point ratio changes by "
              f"{_check_words(cite, 'check/core ratio last - first', mean, se, n, '.3f')}"
              f" over phase 2 (the claim traced: it grows; {check} at {cite('verdict threshold (SE)', 2)} SE)")
    return _finding(overall_verdict([check]), reason, cite, [algorithm_verdict(runset, settings.profile, cite),
                                                             protocol_note(runset, cite)], runset=runset)


def dataset_findings(table: pd.DataFrame, settings: Settings) -> dict:
    """Table 1 describes the data, it claims nothing: not testable here. The text compares, row by row of
    :func:`dataset_table`, the paper's samples and classes with the catalog's and says what the profile runs."""
    cite = Cite()
    lines = []
    for r in table.to_dict("records"):
        k = f"tab01/{r['Dataset']}"
        lines.append(f"- **{r['Dataset']}** ({r['Status']}): "
                     f"{_num(cite, k + '/samples paper', r['Samples (paper)'], ',.0f')}"
                     f" samples and {_num(cite, k + '/classes paper', r['Classes (paper)'], '.0f')} classes in the "
                     f"paper, {_num(cite, k + '/samples catalog', r['Samples (catalog)'], ',')} and "
                     f"{_num(cite, k + '/classes', r['Classes'])} in the catalog; "
                     f"{_num(cite, k + '/features', r['Features'], ',')} features"
                     + (f"; runs use {_num(cite, k + '/samples used', r['Samples used (Tables 3-8 runs)'], ',.0f')}"
                        if np.isfinite(r["Samples used (Tables 3-8 runs)"]) else "") + ".")
    same = sum(1 for r in table.to_dict("records") if r["Samples (paper)"] == r["Samples (catalog)"]
               and r["Classes (paper)"] == r["Classes"])
    head = (f"{cite('tab01/rows agreeing', same)} of the {cite('tab01/rows', len(table))} data sets have the paper's "
            f"sample and class counts in the catalog the loaders use; row by row:")
    return _finding(findings.NOT_TESTABLE, "a description of the data sets, not a claim: the text compares the "
                    "catalog's counts with the paper's", cite, [head + "\n" + "\n".join(lines), missing_text(settings)])


def beta_gamma_findings(table: pd.DataFrame) -> dict:
    """Table 2 gives settings, not a result: not testable here. The text gives the ranges of β and γ per data set,
    read from ``dcutils.hparams.RDC.beta_gamma`` (columns dataset, beta, gamma)."""
    cite = Cite()
    parts = []
    for col, name in (("beta", "β"), ("gamma", "γ")):
        lo, hi = table.loc[table[col].idxmin()], table.loc[table[col].idxmax()]
        parts.append(f"{name} ranges from {cite(f'tab02/{col} min', float(lo[col]), 'g')}"
                     f" ({display_name(lo['dataset'])})"
                     f" to {cite(f'tab02/{col} max', float(hi[col]), 'g')} ({display_name(hi['dataset'])})")
    text = (f"The {cite('tab02/rows', len(table))} rows above are read from `dcutils.hparams.RDC.beta_gamma`, the "
            f"object the R-DC runs take β and γ from: " + "; ".join(parts) + ".")
    return _finding(findings.NOT_TESTABLE, "a table of settings (β and γ per data set), not a claim", cite, [text])


def hyperparameter_findings(table: pd.DataFrame) -> dict:
    """Table 7 counts hyperparameters, it makes no claim the runs can test: not testable here. The text compares,
    row by row of :func:`hyperparameter_table`, the paper's count with the count of the methods as run here."""
    cite = Cite()
    lines, same, both = [], 0, 0
    for r in table.to_dict("records"):
        paper, ours = r["Hyperparameters (paper)"], r["Hyperparameters (ours)"]
        k = f"tab07/{r['Method']}"
        if np.isfinite(ours):
            both += int(np.isfinite(paper))
            same += int(paper == ours)
            lines.append(f"- {r['Method']}: paper {_num(cite, k + '/paper', paper, '.0f')}, ours "
                         f"{cite(k + '/ours', ours, '.0f')} ({r['Ours: which']}).")
        else:
            lines.append(f"- {r['Method']}: paper {_num(cite, k + '/paper', paper, '.0f')}; {r['Ours: which']}.")
    head = (f"Of the {cite('tab07/methods compared', both)} methods run here, {cite('tab07/same count', same)} have "
            f"the paper's count of hyperparameters; the complexity column was lost in the text extraction:")
    return _finding(findings.NOT_TESTABLE, "a count of hyperparameters, not a claim the runs can test", cite,
                    [head + "\n" + "\n".join(lines)])
