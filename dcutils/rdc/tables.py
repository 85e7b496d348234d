"""R-DC's tables from cached runs, paper vs reproduced, and their Markdown texts (the layer above training).

Tables 3-5 (:func:`clustering_table`) and 8 (:func:`ablation_table`) with their wide layout
(:func:`wide_all`) and texts (:func:`verdict_methods`, :func:`ablation_verdict`), the paired comparisons of
the claims (:func:`paired_claims`, :func:`claims_text`), the stopping and checkpoint table, Table 6 (runtime),
Table 7 (hyperparameters) and Table 1 (data sets); :func:`save_table` saves any of them with provenance.
The paper's numbers come from :mod:`dcutils.paper_data` (its ``rdc_*`` tables); reproduced numbers only
from runs. Frames, labels and notes are in :mod:`dcutils.rdc.frames`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from dcutils import claims, health, items, outputs, paper_data
from dcutils.data import DATASETS
from dcutils.findings import Cite
from dcutils.profiles import Settings
from dcutils.rdc import settings as exp
from dcutils.rdc.frames import (
    ABLATION,
    METHOD_NAME,
    METRICS,
    NOT_RERUN,
    PAPER_METHODS,
    _num,
    _pct,
    _seeds_words,
    display_name,
    finals,
    missing_text,
    not_run_reason,
    run_datasets,
    with_variant,
)
from dcutils.rdc.method import METHOD_HYPERPARAMETERS
from dcutils.runs import RunSet

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


def ablation_verdict(table: pd.DataFrame, dataset: str, profile: str, cite: Cite | None = None) -> str:
    """Markdown: is P1+P2 (R-DC) above P1, P1+P3 and P1+P2+P3 on ``dataset`` (the paper: yes)?"""
    return verdict_methods(table, dataset, profile, main="P1+P2", others=("P1", "P1+P3", "P1+P2+P3"), cite=cite)


def markdown(table: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """A comparison table as Markdown (NaN shown as "—")."""
    return outputs.to_markdown(table, floatfmt)


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
            m, se, k = claims.mean_se(total)
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
        m, se, n = claims.mean_se(both["a"] / both["b"])
        rows.append({"dataset": d, "method": method, "ratio": m, "se": se, "seeds": n,
                     "paper": paper.get((d, "R-DC"), math.nan) / paper.get((d, method), math.nan)})
    return pd.DataFrame(rows, columns=["dataset", "method", "ratio", "se", "seeds", "paper"])


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
        stat = claims.paired(_per_seed(frame, a, column), _per_seed(frame, b, column))
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
