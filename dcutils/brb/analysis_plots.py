"""Figures, tables and findings of BRB's analysis items (issue 13), from cached runs.

The items' runs are **cells** (:mod:`dcutils.brb.analysis_settings`): a main-grid row (data set, method,
pretraining), a label and the parameters that differ. The paper's claims are comparisons between two labels of
one row (:class:`Comparison`), tested on the final values paired over seeds (mean ± SE, ahead / behind /
inconclusive at 2 SE, :func:`dcutils.outputs.paired`), with the verdict rules of :mod:`dcutils.brb.plots`
(:func:`~dcutils.brb.plots.overall_verdict`). Every number of a "What we see" text is cited through a
:class:`~dcutils.findings.Cite`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from dcutils import findings, health, metrics, outputs, plotting
from dcutils.brb.analysis_settings import FIG13_CLASSES, PAPER_LRS, cell_of
from dcutils.brb.plots import (
    METRIC_NAME,
    PERCENT_METRICS,
    _display,
    _finding,
    _label,
    _mark_steps,
    _num,
    _reproduces,
    overall_verdict,
    protocol_note,
    provenance,
)
from dcutils.findings import Cite
from dcutils.runs import RunSet

__all__ = ["Comparison", "ITEM_COMPARISONS", "cell_finals", "cell_history", "cell_table", "comparisons",
           "plot_cells", "plot_cell_curves", "plot_sensitivity", "ablation_findings", "analysis_provenance",
           "cells_note", "identical_ok", "comparison_table",
           "embedding_snapshots", "plot_embedding", "embedding_findings", "runtime_table", "runtime_findings",
           "component_table", "component_findings", "PAPER_RUNTIME_MIN"]


# ----------------------------------------------------------------------------
# runs as cells


def _key(c: dict) -> tuple:
    return c["dataset"], c["method"], bool(c["pretrain"])


def cell_finals(runset: RunSet, settings) -> pd.DataFrame:
    """One row per run: dataset, method, pretrain, label (its cell), seed, the final metrics (fractions), the
    BRB step times (``t_*``: mean seconds per step; ``brb_share``: BRB seconds per step over a training epoch's
    seconds, %), and the CL change (%) of the epochs that start with a step (``cl_change``: all of them,
    ``cl_change_late``: the second half), and ``flagged``: the record flags the run unhealthy
    (:func:`dcutils.health.is_flagged`)."""
    cells = cell_of(settings)
    rows = []
    for r in runset:
        c = cells.get(r.config)
        if c is None:
            continue
        h = r.history
        steps = h[h["brb"].astype(bool)]
        row = {"dataset": c["dataset"], "method": c["method"], "pretrain": bool(c["pretrain"]), "label": c["label"],
               "seed": r.config.seed, "lr": r.config["lr"], "T": r.config["reset_interval"], "alpha": r.config["alpha"],
               **r.final, "seconds": float(r.meta.get("seconds", math.nan)), "flagged": health.is_flagged(r.meta)}
        for t in ("t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds"):
            row[t] = float(steps[t].mean()) if len(steps) else math.nan
        change = steps["cl_change"].dropna()
        row["cl_change"] = float(change.mean()) if len(change) else math.nan
        late = change.iloc[len(change) // 2:]
        row["cl_change_late"] = float(late.mean()) if len(late) else math.nan
        epoch_s = float(h["epoch_seconds"].iloc[1:].mean()) if len(h) > 1 else math.nan
        row["epoch_seconds"] = epoch_s
        row["brb_share"] = 100 * row["brb_seconds"] / epoch_s if epoch_s and len(steps) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cell_history(runset: RunSet, settings) -> pd.DataFrame:
    """One row per (run, epoch) with the run's cell (dataset, method, pretrain, label) and seed."""
    cells = cell_of(settings)
    frames = []
    for r in runset:
        c = cells.get(r.config)
        if c is None:
            continue
        frames.append(r.history.assign(dataset=c["dataset"], method=c["method"], pretrain=bool(c["pretrain"]),
                                       label=c["label"], seed=r.config.seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _labels(settings) -> list[str]:
    return list(dict.fromkeys(c["label"] for c in settings["cells"]))


def _color(settings, label: str) -> str:
    """Plain and BRB in the companion's colours, every other cell in the next colour of the cycle."""
    fixed = {"plain": plotting.color("none"), "BRB": plotting.color("brb"), "k-means": plotting.color("brb"),
             "100 %": plotting.color("brb"),
             "BRB (k-means)": plotting.color("brb")}
    if label in fixed:
        return fixed[label]
    others = [lb for lb in _labels(settings) if lb not in fixed]
    return f"C{(others.index(label) + 4) % 10}"


def _rows(settings) -> list[tuple]:
    return list(dict.fromkeys(_key(c) for c in settings["cells"]))


def _row_name(d: str, m: str, p: bool) -> str:
    return f"{m.upper()} {'with' if p else 'without'} pretraining, {_display(d)}"


def _scale(metric: str) -> float:
    return 100.0 if metric in PERCENT_METRICS else 1.0


def cell_table(runset: RunSet, settings, metrics: Sequence[str] = ("acc", "nmi", "ari")) -> pd.DataFrame:
    """Per cell: seeds and the mean ± SE over seeds of each metric (percent for ACC, NMI, ARI)."""
    runs = cell_finals(runset, settings)
    rows = []
    for c in settings["cells"]:
        g = runs[(runs["dataset"] == c["dataset"]) & (runs["method"] == c["method"])
                 & (runs["pretrain"] == c["pretrain"]) & (runs["label"] == c["label"])] if len(runs) else runs
        row = {"data set": _display(c["dataset"]), "method": c["method"].upper(),
               "pretraining": "with" if c["pretrain"] else "without", "cell": c["label"], "seeds": len(g)}
        for m in metrics:
            mean, se, _ = outputs.mean_se(g[m] * _scale(m)) if len(g) and m in g else (math.nan, math.nan, 0)
            row[m], row[f"{m}_se"] = mean, se
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# the paper's claims: one label against another, paired over seeds


@dataclass(frozen=True)
class Comparison:
    """The paper's claim that cell ``a`` ends above (``sign`` +1) or below (-1) cell ``b`` in ``metric``; 0: the
    paper states no direction (shown, not judged). ``datasets`` / ``methods``: the rows the claim is about
    (None: any); ``paper``: the paper's words."""

    a: str
    b: str
    metric: str
    sign: int
    paper: str
    datasets: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None

    def label(self) -> str:
        return f"{self.a} − {self.b}, {NAMES.get(self.metric, self.metric)}"

    def applies(self, dataset: str, method: str) -> bool:
        return ((self.datasets is None or dataset in self.datasets)
                and (self.methods is None or method in self.methods))


_LOWER_THAN_BRB = "below BRB"
#: Names of the per-run summaries beyond the final metrics.
NAMES = {**METRIC_NAME, "cl_change": "CL change at a step (%)", "cl_change_late": "CL change at the later steps (%)",
         "brb_share": "BRB step / training epoch (%)"}
#: Per item: the comparisons its notebook tests (its "Claim tested").
ITEM_COMPARISONS: dict[str, list[Comparison]] = {
    "brb/algo2": [Comparison("Disentangled", "BRB", "acc", -1, "Appendix F.1 / Figure 10: Disentangled ends "
                             + _LOWER_THAN_BRB)],
    "brb/fig10": [Comparison("Disentangled", "BRB", "acc", -1, "Figure 10: Disentangled below 80 %, BRB above 85 %"),
                  Comparison("Noise", "BRB", "acc", -1, "Figure 10: Noise below 80 %, BRB above 85 %"),
                  Comparison("Disentangled", "BRB", "cl_change", -1, "F.2: Disentangled changes too few labels"),
                  Comparison("Noise", "BRB", "cl_change_late", +1, "F.2: Noise changes too many labels late in "
                             "training")],
    "brb/fig19": [Comparison("Perturbation only", "BRB", "acc", -1, "H.13: removing contraction consistently "
                             "hinders training"),
                  Comparison("Scaled Gaussian noise", "BRB", "acc", -1, "H.13: Gaussian noise is a little worse on "
                             "USPS", datasets=("usps",)),
                  Comparison("Scaled Gaussian noise", "BRB", "acc", 0, "H.13: similar to soft resets on OPTDIGITS",
                             datasets=("optdigits",))],
    "brb/fig11": [Comparison("BRB + embedding reset", "BRB", "acc", -1, "H.1: small but consistent drops on GTSRB "
                             "and OPTDIGITS", datasets=("gtsrb5", "optdigits")),
                  Comparison("BRB + embedding reset", "BRB", "acc", 0, "H.1: USPS and MNIST mostly unaffected",
                             datasets=("usps", "mnist"))],
    "brb/fig12": [Comparison("BRB without momentum reset", "BRB", "acc", -1, "H.2: drops considerably for DEC on "
                             "OPTDIGITS", datasets=("optdigits",), methods=("dec",)),
                  Comparison("BRB without momentum reset", "BRB", "acc", -1, "H.2: drops considerably for IDEC on "
                             "GTSRB", datasets=("gtsrb5",), methods=("idec",)),
                  Comparison("BRB without momentum reset", "BRB", "acc", 0, "H.2: USPS and MNIST mostly unaffected",
                             datasets=("usps", "mnist"))],
    "brb/tab18": [Comparison("BRB (k-means)", "BRB (own assignments)", "acc", +1, "H.14: k-means reclustering performs "
                             "similar or better than the method's own assignments")],
    "brb/tab19": [Comparison("BRB (k-means)", "BRB (own assignments)", "acc", +1, "H.14: k-means reclustering performs "
                             "similar or better; on OPTDIGITS with pretraining more than 4 % better for DEC")],
    "brb/tab12": [Comparison("EM", "k-means", "ari", +1, "Table 12: EM has the highest average ARI"),
                  Comparison("k-means++ init", "k-means", "ari", -1, "Table 12: k-means++ init has the lowest "
                             "average ARI")],
    "brb/tab10": [Comparison("EM", "k-means", "brb_share", +1, "Table 10: EM takes the longest"),
                  Comparison("k-means++ init", "k-means", "brb_share", -1, "Table 10: k-means++ init is the fastest")],
    "brb/fig09": [Comparison("lr 5e-3", "BRB", "acc", +1, "E.2: USPS and OPTDIGITS benefit from the higher lr 5e-3",
                             datasets=("usps", "optdigits")),
                  Comparison("alpha 0.6", "BRB", "acc", -1, "E.2: USPS and OPTDIGITS suffer more from strong resets",
                             datasets=("usps", "optdigits"))],
    "brb/fig08": [Comparison("lr 5e-3", "BRB", "acc", -1, "E.2: on MNIST the higher lr 5e-3 is harmful",
                             datasets=("mnist",))],
    "brb/tab09": [Comparison("10 %", "100 %", "acc", 0, "Table 9 (values lost in the text); G.1: subsampling "
                             "costs minimal clustering performance")],
    "brb/tab08": [Comparison("10 %", "100 %", "brb_share", -1, "Table 8: BRB's share of an epoch grows with the "
                             "subsample (18.0 % at 10 %, 51.8 % at 100 %)")],
}


def _series(runs: pd.DataFrame, key: tuple, label: str, metric: str) -> pd.Series:
    d, m, p = key
    g = runs[(runs["dataset"] == d) & (runs["method"] == m) & (runs["pretrain"] == p) & (runs["label"] == label)]
    return g.set_index("seed")[metric] if metric in g else pd.Series(dtype=float)


def comparisons(runset: RunSet, settings) -> pd.DataFrame:
    """Every comparison of the item in every row that has both cells: dataset, method, pretrain, claim (index),
    mean, se, pairs (a − b paired over seeds; points for percent metrics), verdict, sign, reproduces, flagged /
    note (pairs with a run flagged unhealthy on either side, :func:`dcutils.health.rests_on`)."""
    runs = cell_finals(runset, settings)
    cols = ["dataset", "method", "pretrain", "claim", "mean", "se", "pairs", "verdict", "sign", "reproduces",
            "flagged", "note"]
    rows = []
    for i, c in enumerate(ITEM_COMPARISONS.get(settings.item, [])):
        for key in _rows(settings):
            if runs.empty or not c.applies(key[0], key[1]):
                continue
            a, b = _series(runs, key, c.a, c.metric), _series(runs, key, c.b, c.metric)
            if a.empty or b.empty:
                continue
            stat = outputs.paired(a, b, scale=_scale(c.metric))
            if not stat["n"]:
                continue
            rep = _reproduces(stat["verdict"], float(c.sign)) if c.sign else "no direction claimed"
            both = pd.concat([a, b], axis=1, join="inner").dropna().index
            sick = pd.concat([_series(runs, key, c.a, "flagged"), _series(runs, key, c.b, "flagged")], axis=1,
                             join="inner").reindex(both).fillna(False).astype(bool).any(axis=1)
            flagged = int(sick.sum())
            rows.append({"dataset": key[0], "method": key[1], "pretrain": key[2], "claim": i, "mean": stat["mean"],
                         "se": stat["se"], "pairs": stat["n"], "verdict": stat["verdict"], "sign": c.sign,
                         "reproduces": rep, "flagged": flagged, "note": health.rests_on(flagged, stat["n"])})
    return pd.DataFrame(rows, columns=cols)


def comparison_table(runset: RunSet, settings) -> pd.DataFrame:
    """:func:`comparisons` with readable names (the paper's words beside each)."""
    comp = comparisons(runset, settings)
    claims = ITEM_COMPARISONS.get(settings.item, [])
    return pd.DataFrame({"row": [_row_name(r.dataset, r.method, r.pretrain) for r in comp.itertuples()],
                         "comparison": [claims[i].label() for i in comp["claim"]],
                         "paired": comp["mean"], "paired_se": comp["se"], "pairs": comp["pairs"],
                         "verdict": comp["verdict"], "paper": [claims[i].paper for i in comp["claim"]],
                         "reproduces": comp["reproduces"]})


def _comparison_lines(comp: pd.DataFrame, claims: Sequence[Comparison], cite: Cite) -> list[str]:
    lines = []
    for r in comp.itertuples():
        c = claims[r.claim]
        percent = c.metric in PERCENT_METRICS
        shares = c.metric in ("brb_share", "cl_change", "cl_change_late")
        digits = ".1f" if percent or shares else ".3f"
        k = f"compare/{r.dataset}/{r.method}/{'pretrain' if r.pretrain else 'no-pretrain'}/{c.a} - {c.b}/{c.metric}"
        se = f" ± {_num(cite, k + '/se', r.se, digits)}" if r.pairs >= 2 else ""
        unit = " points" if percent else (" percentage points" if shares else "")
        judged = f"**{r.reproduces}**" if r.sign else "the paper states no direction, so nothing is judged"
        flag = (f" ({health.flag_mark(True)} rests on {cite(k + '/flagged pairs', int(r.flagged))} of these pairs "
                f"with a run flagged unhealthy)" if getattr(r, "flagged", 0) else "")
        lines.append(f"- {cite(k + '/what', c.label())}, {_row_name(r.dataset, r.method, r.pretrain)}: "
                     f"{_num(cite, k, r.mean, '+' + digits)}{se}{unit} over {cite(k + '/pairs', int(r.pairs))} "
                     f"paired seeds ({r.verdict}){flag}; the paper: \"{cite(k + '/paper', c.paper)}\": {judged}.")
    return lines


def cells_note(settings, cite: Cite) -> str:
    """Markdown: the cells this profile ran and what it leaves to the paper profile."""
    rows = "; ".join(f"{_row_name(*key)}: " + ", ".join(
        cite(f"cells/{key[0]}/{key[1]}/{key[2]}/{i}", c["label"]) for i, c in enumerate(
            c for c in settings["cells"] if _key(c) == key)) for key in _rows(settings))
    text = f"**Cells run at profile `{settings.profile}`** ({rows})."
    if settings.get("left_out"):
        text += (f" Left to the paper profile: {cite('cells/left to the paper profile', settings['left_out'])} "
                 "(`make figures PROFILE=paper`).")
    return text


def _verdict_of(comp: pd.DataFrame, claims: Sequence[Comparison], settings, cite: Cite) -> tuple[str, str]:
    judged = comp[comp["sign"] != 0] if len(comp) else comp
    verdict = overall_verdict(list(judged["reproduces"]))
    if judged.empty:
        stated = [c for c in claims if c.sign]
        if not stated:
            return findings.NOT_TESTABLE, "the paper states no direction for this comparison (its values were " \
                                          "lost in the text); the numbers are shown, not judged"
        return findings.NOT_TESTABLE, (f"the paper's comparisons ({'; '.join(c.label() for c in stated)}) are about "
                                       f"rows profile {settings.profile} does not run: left to the paper profile")
    rep = int((judged["reproduces"] == findings.REPRODUCES).sum())
    contra = int((judged["reproduces"] == findings.DOES_NOT_REPRODUCE).sum())
    reason = (f"{cite('claims/reproduce', rep)} of {cite('claims/compared', len(judged))} paired comparisons have "
              f"the paper's direction beyond {cite('verdict threshold (SE)', 2)} SE, "
              f"{cite('claims/contradict', contra)} the opposite one")
    sick = int((judged["flagged"] > 0).sum()) if "flagged" in judged else 0
    if sick:
        reason += (f"; {health.flag_mark(True)} {cite('claims/resting on flagged runs', sick)} of them rest on a run "
                   "flagged unhealthy")
    return verdict, reason


def _means_text(runset: RunSet, settings, metrics: Sequence[str], cite: Cite) -> str:
    table = cell_table(runset, settings, metrics)
    lines = []
    for r in table.to_dict("records"):
        if not r["seeds"]:
            continue
        k = f"mean/{r['data set']}/{r['method']}/{r['pretraining']}/{r['cell']}"
        parts = []
        for m in metrics:
            digits = ".1f" if m in PERCENT_METRICS or m in ("brb_share", "cl_change", "cl_change_late") else ".3f"
            parts.append(f"{NAMES.get(m, m)} {_num(cite, f'{k}/{m}', r[m], digits)}"
                         + (f" ± {_num(cite, f'{k}/{m}/se', r[f'{m}_se'], digits)}" if r["seeds"] >= 2 else ""))
        lines.append(f"- {cite(k + '/cell', r['cell'])} ({r['method']} {r['pretraining']} pretraining, "
                     f"{r['data set']}; {cite(k + '/seeds', r['seeds'])} seeds): " + ", ".join(parts) + ".")
    return "Final values (mean ± SE over seeds):\n" + "\n".join(lines) if lines else "No runs."


def ablation_findings(runset: RunSet, settings, metrics: Sequence[str] = ("acc",)) -> dict:
    """Findings of a cell item: each comparison of :data:`ITEM_COMPARISONS` against the paper, the verdict
    (:func:`dcutils.brb.plots.overall_verdict` over the comparisons with a stated direction), the final values
    per cell and the protocol."""
    cite = Cite()
    claims = ITEM_COMPARISONS.get(settings.item, [])
    comp = comparisons(runset, settings)
    verdict, reason = _verdict_of(comp, claims, settings, cite)
    lines = _comparison_lines(comp, claims, cite)
    missing = [c for i, c in enumerate(claims) if not (comp["claim"] == i).any()]
    if missing:
        lines.append("Not compared here (no runs of both cells at profile "
                     f"`{settings.profile}`): " + "; ".join(
                         f"{cite(f'missing/{i}', c.label())} (\"{cite(f'missing/{i}/paper', c.paper)}\")"
                         for i, c in enumerate(missing)) + ".")
    return _finding(verdict, reason, cite, ["\n".join(lines), _means_text(runset, settings, metrics, cite),
                                            cells_note(settings, cite), _protocol(settings, cite)])


def _protocol(settings, cite: Cite) -> str:
    used = {c["dataset"] for c in settings["cells"] if not c["params"].get("classes")}
    if not used:
        return ""
    return protocol_note(_DatasetsView(settings, sorted(used)), cite)


class _DatasetsView:
    """``settings`` with ``datasets`` narrowed (for :func:`protocol_note`)."""

    def __init__(self, settings, datasets: list[str]):
        self._s, self._d = settings, datasets

    def __contains__(self, key: str) -> bool:
        return key != "focus" and key != "methods" and key in self._s

    def __getitem__(self, key: str):
        return self._d if key == "datasets" else self._s[key]

    def get(self, key: str, default=None):
        return self._d if key == "datasets" else (None if key == "rows" else self._s.get(key, default))

    def __getattr__(self, name: str):
        return getattr(self._s, name)


def identical_ok(settings) -> str | None:
    """At the smoke profile, why two curves may coincide (a few epochs on a few hundred images often collapse
    every variant to the same clustering); None at the other profiles, where the figure check stays strict."""
    if settings.profile == "smoke":
        return "smoke profile: a few epochs on a few hundred images, where variants can end in the same clustering"
    return None


def analysis_provenance(settings) -> outputs.Provenance:
    """Stamp of an analysis item's output: the data sets its cells ran on (named with any substitution) and
    what the profile leaves to the paper profile (an item without cells, Table 4: the main grid's stamp)."""
    if "cells" not in settings:
        return provenance(settings)
    data = sorted({(c["dataset"], c["params"].get("subsample", settings.subsample)) for c in settings["cells"]},
                  key=str)
    labels = [_label(d, settings.profile, sub) for d, sub in data]
    classes = {tuple(c["params"]["classes"]) for c in settings["cells"] if c["params"].get("classes")}
    notes = [f"classes {', '.join(map(str, cl))} only" for cl in classes]
    if settings.get("left_out"):
        notes.append(f"left to the paper profile: {settings['left_out']}")
    return outputs.provenance(settings, datasets=labels, notes=notes)


# ----------------------------------------------------------------------------
# figures


def plot_cells(runset: RunSet, settings, metrics: Sequence[str] = ("acc",)):
    """Per row (columns: metrics): each cell's final mean (bar) with every seed a dot up to three seeds, ± SE
    beyond (:func:`dcutils.plotting.bars`); a last column draws the item's comparisons in that row as paired
    differences over seeds, mean ± 2 SE (:func:`dcutils.plotting.paired_differences`), where a one-point
    difference that bars from zero hide is visible, and the 2-SE bar crossing zero reads "inconclusive"."""
    runs = cell_finals(runset, settings)
    rows = _rows(settings)
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


def embedding_snapshots(runset: RunSet) -> list:
    """The runs that recorded their embedding around a BRB step (``record_embedding``), in seed order."""
    return sorted((r for r in runset if "embedding_before" in r.arrays), key=lambda r: r.config.seed)


def _voronoi(ax, centroids: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([xs.ravel(), ys.ravel()], 1)
    cell = ((grid[:, None] - centroids[None]) ** 2).sum(-1).argmin(1).reshape(xs.shape)
    ax.contourf(xs, ys, cell, levels=np.arange(len(centroids) + 1) - 0.5, cmap="Pastel2", alpha=0.55, zorder=0)
    ax.contour(xs, ys, cell, levels=np.arange(len(centroids)) + 0.5, colors="0.35", linewidths=0.6, zorder=1)


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


def _step_change(run) -> dict[str, float]:
    """Share (%) of samples whose nearest centroid changed at the step, and the centroids' mean move relative
    to their mean distance from each other (before)."""
    a = run.arrays
    zb, za, cb, ca = a["embedding_before"], a["embedding_after"], a["centroids_before"], a["centroids_after"]
    lb = ((zb[:, None] - cb[None]) ** 2).sum(-1).argmin(1)
    la = ((za[:, None] - ca[None]) ** 2).sum(-1).argmin(1)
    spread = np.linalg.norm(cb[:, None] - cb[None], axis=-1)
    spread = spread[np.triu_indices(len(cb), 1)].mean()
    # the centroids have no identity across the step (k-means renumbers them): match each new one to the nearest old
    move = np.linalg.norm(ca[:, None] - cb[None], axis=-1).min(1).mean()
    return {"changed": 100.0 * (1 - metrics.clustering_scores(lb, la)["acc"]), "move": float(move / spread),
            "acc_before": 100 * metrics.clustering_scores(a["labels_true"], lb)["acc"],
            "acc_after": 100 * metrics.clustering_scores(a["labels_true"], la)["acc"]}


def embedding_findings(runset: RunSet, settings) -> dict:
    """Figures 3 / 13 draw the embedding before and after a BRB step; the paper states no number for them, so
    the verdict is "not testable here". The text gives, per seed and as mean ± SE, the share of samples whose
    cluster changes at the step (after matching the clusters), how far the centroids move and the ACC of the
    nearest-centroid assignment just before and just after the step."""
    cite = Cite()
    runs = embedding_snapshots(runset)
    if not runs:
        return _finding(findings.NOT_TESTABLE, "no run here recorded its embedding around a BRB step", cite,
                        [cells_note(settings, cite)])
    stats = pd.DataFrame([{"seed": r.config.seed, **_step_change(r)} for r in runs])
    parts = []
    for col, words, unit in (("changed", "samples whose cluster changes at the step (clusters matched)", " %"),
                             ("move", "centroid move over the mean distance between centroids", ""),
                             ("acc_before", "ACC just before the step", " %"),
                             ("acc_after", "ACC just after the step", " %")):
        mean, se, n = outputs.mean_se(stats[col])
        digits = ".1f" if unit and col != "changed" else ".2f"  # a share of samples can be well under 0.1 %
        parts.append(f"{words}: {cite(f'step/{col}', mean, digits)}"
                     + (f" ± {cite(f'step/{col}/se', se, digits)}" if n >= 2 else "") + unit)
    text = (f"Over {cite('step/seeds', len(stats))} seeds, at the recorded BRB step: " + "; ".join(parts) + ".")
    classes = ", ".join(map(str, FIG13_CLASSES))
    reason = (f"the paper draws the embedding before and after a BRB step (USPS digits {cite('classes', classes)}) "
              "and states no number to compare with")
    return _finding(findings.NOT_TESTABLE, reason, cite, [text, cells_note(settings, cite)])


# ----------------------------------------------------------------------------
# Table 4: wall-clock per run; Tables 8 and 10: BRB component times

#: Table 4 (A100 GPU, the paper's full data and 400 epochs): average minutes per run.
PAPER_RUNTIME_MIN = {"mnist": 240, "fmnist": 240, "kmnist": 240, "gtsrb5": 20, "usps": 15, "optdigits": 8,
                     "cifar10": 300, "cifar100-20": 300}


def runtime_table(runset: RunSet) -> pd.DataFrame:
    """Per (data set, method, pretraining) run here: runs, clustering epochs, the mean ± SE wall-clock minutes of
    one run (the record's own time: one thread, pretraining counted only where the run trained the shared
    network), the machine (CPU or GPU, threads) and the paper's minutes per run for the data set (Table 4)."""
    rows = []
    for r in runset:
        env = r.environment or {}
        rows.append({"dataset": r.config.dataset, "method": r.config["method"], "pretrain": bool(r.config["pretrain"]),
                     "epochs": int(r.config["cluster_epochs"]), "minutes": r.meta.get("seconds", math.nan) / 60,
                     "machine": f"{env.get('gpu') or env.get('cpu', '?')}, {env.get('threads', '?')} thread(s)"})
    frame = pd.DataFrame(rows)
    out = []
    for d in PAPER_RUNTIME_MIN:
        g = frame[frame["dataset"] == d] if len(frame) else frame
        if g.empty:
            out.append({"dataset": _display(d), "run": "not run at this profile", "runs": 0, "clustering epochs": None,
                        "minutes per run (here)": math.nan, "se": math.nan, "machine": "",
                        "paper (A100, 400 epochs)": PAPER_RUNTIME_MIN[d]})
            continue
        for (m, p), gm in g.groupby(["method", "pretrain"], sort=False):
            mean, se, n = outputs.mean_se(gm["minutes"])
            out.append({"dataset": _display(d), "run": f"{m.upper()}{' with' if p else ' without'} pretraining",
                        "runs": n, "clustering epochs": int(gm["epochs"].max()), "minutes per run (here)": mean,
                        "se": se, "machine": ", ".join(sorted(set(gm["machine"]))),
                        "paper (A100, 400 epochs)": PAPER_RUNTIME_MIN[d]})
    table = pd.DataFrame(out)
    table["clustering epochs"] = table["clustering epochs"].astype("Int64")
    return table


def runtime_findings(table: pd.DataFrame, settings) -> dict:
    """Table 4 reports times of another machine and protocol: not testable here; the text gives ours."""
    cite = Cite()
    lines = []
    for r in table.to_dict("records"):
        if not r["runs"]:
            continue
        k = f"runtime/{r['dataset']}/{r['run']}"
        paper_k = f"runtime/{r['dataset']}/paper"
        lines.append(f"- {r['dataset']}, {cite(k + '/run', r['run'])}: "
                     f"{_num(cite, k, r['minutes per run (here)'], '.1f')} ± {_num(cite, k + '/se', r['se'], '.1f')} "
                     f"minutes per run over {cite(k + '/runs', int(r['runs']))} runs of "
                     f"{cite(k + '/epochs', int(r['clustering epochs']))} clustering epochs "
                     f"({cite(k + '/machine', r['machine'])}); the paper "
                     f"{cite(paper_k, r['paper (A100, 400 epochs)'])} "
                     f"minutes for {cite('paper clustering epochs', 400)} epochs on an A100.")
    reason = (f"the paper's times are of an A100 GPU and {cite('paper clustering epochs', 400)} clustering epochs on "
              "the full data; these are one CPU thread per run at this profile's protocol, so only their order is "
              "comparable")
    return _finding(findings.NOT_TESTABLE, reason, cite, ["\n".join(lines) or "No runs.",
                                                          protocol_note(settings, cite)])


def component_table(runset: RunSet, settings) -> pd.DataFrame:
    """Per cell: mean seconds per BRB step of each component (reset, embedding, clustering, momentum reset), the
    whole step, a training epoch, and the step's share of one epoch (%), mean over seeds."""
    runs = cell_finals(runset, settings)
    cols = ["t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds", "epoch_seconds", "brb_share"]
    if runs.empty:
        return pd.DataFrame(columns=["cell", *cols])
    out = runs.groupby("label", sort=False)[cols].mean().reset_index().rename(columns={"label": "cell"})
    out["seeds"] = runs.groupby("label", sort=False)["seed"].nunique().to_numpy()
    return out


def component_findings(runset: RunSet, settings) -> dict:
    """Tables 8 / 10: the comparisons of :data:`ITEM_COMPARISONS` on BRB's share of an epoch, and per cell its
    component times."""
    found = ablation_findings(runset, settings, metrics=("brb_share",))
    cite = Cite()
    cite.values.update(found["values"])
    table = component_table(runset, settings)
    lines = []
    for r in table.to_dict("records"):
        k = f"times/{r['cell']}"
        lines.append(f"- {cite(k + '/cell', r['cell'])}: reset {_num(cite, k + '/reset', 1000 * r['t_reset'], '.1f')}"
                     f" ms, embedding {_num(cite, k + '/embed', 1000 * r['t_embed'], '.1f')} ms, clustering "
                     f"{_num(cite, k + '/cluster', 1000 * r['t_cluster'], '.1f')} ms, momentum reset "
                     f"{_num(cite, k + '/momentum', 1000 * r['t_momentum'], '.2f')} ms per step; one training epoch "
                     f"{_num(cite, k + '/epoch', r['epoch_seconds'], '.2f')} s.")
    text = "Mean over seeds and steps:\n" + "\n".join(lines)
    return {**found, "values": dict(cite.values), "text": found["text"] + "\n\n" + text}
