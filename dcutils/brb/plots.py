"""Tables and figures of BRB (Breaking the Reclustering Barrier), from cached runs.

Every function takes a :class:`dcutils.runs.RunSet` (or its tidy frames) of
``brb.dc`` runs and returns a DataFrame or a matplotlib figure; nothing here
trains. The paper's numbers come from :func:`dcutils.paper_data.brb_variants`
(Tables 13-15); reproduced numbers only from runs.

Conventions: metrics are stored as fractions and shown in percent; "plain"
in the paper's tables is the variant ``"none"`` here; a grid cell is
(pretrain, method, variant, dataset), its seeds are averaged (mean ± SE). A run
whose record flags it unhealthy (``meta["health"]``, :mod:`dcutils.health`) is
counted in :func:`finals`, :func:`variant_table` and every comparison built on
:func:`paired_table` or :func:`claim_comparisons` (``flagged``, ``note``), and
the texts of :func:`grid_findings` and :func:`headline_findings` say how many
verdicts rest on such runs.

Text for a notebook's "What we see" cites every number through a
:class:`dcutils.findings.Cite` (the ``cite`` argument of the functions that
write prose), and the ``*_findings`` functions at the end return the verdict,
reason, values and text that :func:`dcutils.outputs.save_findings` writes.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from dcutils import findings, health, outputs, plotting
from dcutils.brb.settings import BATCH_SIZE, DEVIATIONS, PAPER_DATASETS, cell_runs, grid_datasets, protocol
from dcutils.brb.train import reset_epochs
from dcutils.core import get_algorithm
from dcutils.data import DATASETS, canonical_name
from dcutils.findings import Cite, overall_verdict  # noqa: F401  (re-exported: item verdicts of this paper)
from dcutils.paper_data import brb_variants
from dcutils.profiles import data_spec
from dcutils.runs import RunSet

VARIANT_SUFFIX = {"none": "", "brb": "+BRB", "recluster": "+Recluster", "reset": "+Reset"}
VARIANT_NAME = {"none": "plain", "brb": "BRB", "recluster": "Recluster", "reset": "Reset"}
METRIC_NAME = {"acc": "ACC", "nmi": "NMI", "ari": "ARI", "silhouette": "silhouette (ground truth)",
               "silhouette_pred": "silhouette (predicted clusters)", "intra_cd": "intra-CD", "inter_cd": "inter-CD",
               "cl_change": "CL change (%)", "recon_loss": "reconstruction loss",
               "silhouette_gap": "silhouette gap (predicted clusters − ground truth)"}
#: Reported by the paper (Section 6 and Appendix G).
PAPER_WIN_SHARE = 88.10
PAPER_OVERHEAD = 1.1


def algorithm_label(method: str, variant: str, pretrain: bool = False) -> str:
    """The paper's row name, e.g. ``"IDEC+BRB+Pretrain"``."""
    return method.upper() + VARIANT_SUFFIX[variant] + ("+Pretrain" if pretrain else "")


def _display(dataset: str) -> str:
    return DATASETS[canonical_name(dataset)].display


def _label(dataset: str, profile: str, subsample: int | None = None) -> str:
    """How the profile's data for ``dataset`` are named (with substitution and subsample), from its definition."""
    spec = data_spec(profile, dataset)
    return spec.label(subsample) if spec is not None else f"{_display(dataset)} (not run at {profile})"


def finals(runset: RunSet) -> pd.DataFrame:
    """One row per run: dataset, method, variant, pretrain, seed, final metrics (fractions); with both
    silhouettes, ``silhouette_gap`` = silhouette with predicted clusters − with ground-truth labels; and
    ``flagged``: the run's record flags it unhealthy (``meta["health"]``, :func:`dcutils.health.is_flagged`;
    False for a record without an assessment)."""
    frame = runset.finals()
    if len(frame):
        frame["pretrain"] = frame["pretrain"].astype(bool)
        if {"silhouette", "silhouette_pred"} <= set(frame.columns):
            frame["silhouette_gap"] = frame["silhouette_pred"] - frame["silhouette"]
        frame["flagged"] = frame["flagged"].fillna(False).astype(bool) if "flagged" in frame else False
    return frame


def _paired(a: pd.DataFrame, b: pd.DataFrame, metric: str, scale: float = 100.0) -> dict:
    """:func:`dcutils.outputs.paired` of ``metric`` per seed, the rows ``a`` minus the rows ``b`` (:func:`finals`
    rows), with ``flagged``: how many of the pairs hold a flagged run on either side, and ``note``
    (:func:`dcutils.health.rests_on`, ``""`` when none does)."""
    a, b = a.set_index("seed"), b.set_index("seed")
    stat = outputs.paired(a[metric], b[metric], scale=scale)
    both = pd.concat([a[metric].rename("a"), b[metric].rename("b")], axis=1, join="inner").astype(float)
    used = both.index[np.isfinite(both).all(axis=1)]

    def flags(rows: pd.DataFrame) -> np.ndarray:
        if "flagged" not in rows:
            return np.zeros(len(used), dtype=bool)
        return rows["flagged"].reindex(used).fillna(False).astype(bool).to_numpy()

    k = int((flags(a) | flags(b)).sum())
    return {**stat, "flagged": k, "note": health.rests_on(k, stat["n"])}


def _cell(dataset: str, method: str, pretrain: bool) -> str:
    """A grid row's name in cited values: ``usps/idec/no-pretrain``."""
    return f"{dataset}/{method}/{'pretrain' if pretrain else 'no-pretrain'}"


def _num(cite: Cite, name: str, value, spec: str = "") -> str:
    """``value`` cited under ``name``, or "n/a" (nothing cited) when it is missing or not finite."""
    if value is None or (not isinstance(value, str) and (pd.isna(value) or not np.isfinite(value))):
        return "n/a"
    return cite(name, value, spec)


def history(runset: RunSet) -> pd.DataFrame:
    """One row per (run, epoch), with the run's config columns."""
    frame = runset.history()
    if len(frame):
        frame["pretrain"] = frame["pretrain"].astype(bool)
    return frame


def brb_epochs(runset: RunSet) -> list[int]:
    """Epochs (0-based, = epochs trained before the step) at which BRB steps ran, from the first run with any."""
    for r in runset:
        if r.meta.get("brb_epochs"):
            return list(r.meta["brb_epochs"])
    return []


# ----------------------------------------------------------------------------
# Tables 13-15: paper vs reproduced


def paper_cells(metric: str) -> pd.DataFrame:
    """Tables 13 (acc), 14 (nmi) or 15 (ari) as cells (pretrain, method, variant, dataset, paper, paper_se)."""
    p = brb_variants()
    p = p[p["metric"] == metric].copy()
    if p.empty:
        raise ValueError(f"the paper's Tables 13-15 give acc, nmi and ari, not {metric!r}")
    p["variant"] = p["variant"].replace({"plain": "none"})
    p["pretrain"] = p["pretrain"].astype(bool)
    return p.rename(columns={"mean": "paper", "se": "paper_se"})[
        ["pretrain", "method", "variant", "dataset", "paper", "paper_se"]]


def data_status(dataset: str, settings) -> str:
    """What a table cell's data is here: the data set's label, or why it was not run."""
    if dataset not in settings["datasets"]:
        return f"not run at profile {settings.profile}"
    if data_spec(settings.profile, dataset) is None:
        return f"not run: profile {settings.profile} does not include {_display(dataset)} (paper profile)"
    return _label(dataset, settings.profile, settings.subsample)


def variant_table(runset: RunSet, metric: str, settings) -> pd.DataFrame:
    """Paper vs reproduced for every cell of Table 13/14/15, in the paper's order.

    Parameters
    ----------
    runset : the grid runs of the item
    metric : "acc" (Table 13), "nmi" (14) or "ari" (15)
    settings : the notebook's settings (its data sets and profile say which cells were run)

    Returns
    -------
    DataFrame with columns setting, algorithm, dataset, paper, paper_se,
    reproduced, reproduced_se, difference (reproduced − paper, points), seeds,
    flagged (how many of the cell's runs are flagged unhealthy, :func:`finals`),
    paired / paired_se / pairs / verdict (the variant minus the plain algorithm,
    per seed, mean ± SE over the paired seeds, and ahead / behind /
    inconclusive at 2 SE; empty for the plain rows), paired_flagged / note (the
    pairs with a flagged run on either side, and the note saying so; 0 and ""
    when none), data (the data used, or why the cell was not run). Values in
    percent.
    """
    runs = finals(runset)
    paper = paper_cells(metric)
    keys = ["pretrain", "method", "variant", "dataset"]
    table = outputs.comparison(runs[[*keys, metric]] if len(runs) else pd.DataFrame(columns=[*keys, metric]),
                               paper, keys, metric)
    order = {d: i for i, d in enumerate(PAPER_DATASETS)}
    table["_d"] = table["dataset"].map(order)
    table["_m"] = table["method"].map({"dec": 0, "idec": 1, "dcn": 2})
    table["_v"] = table["variant"].map({"none": 0, "brb": 1, "recluster": 2, "reset": 3})
    table = table.sort_values(["pretrain", "_m", "_v", "_d"]).reset_index(drop=True)
    flagged = runs.groupby(keys)["flagged"].sum().rename("flagged").reset_index() if len(runs) else None
    table = (table.merge(flagged, on=keys, how="left") if flagged is not None else table.assign(flagged=0))
    table["flagged"] = table["flagged"].fillna(0).astype(int)
    table.insert(0, "setting", np.where(table["pretrain"].astype(bool), "with pretraining", "without pretraining"))
    table.insert(1, "algorithm", [algorithm_label(m, v) for m, v in zip(table["method"], table["variant"])])
    pairs = paired_table(runset, metric, variants=("brb", "recluster", "reset"))
    if len(pairs):
        table = table.merge(pairs[["pretrain", "method", "dataset", "variant", "paired", "paired_se", "pairs",
                                   "verdict", "flagged", "note"]].rename(columns={"flagged": "paired_flagged"}),
                            on=["pretrain", "method", "variant", "dataset"], how="left")
    else:
        table = table.assign(paired=math.nan, paired_se=math.nan, pairs=0, verdict=None, paired_flagged=0, note="")
    table["pairs"] = table["pairs"].fillna(0).astype(int)
    table["paired_flagged"] = table["paired_flagged"].fillna(0).astype(int)
    table["note"] = table["note"].fillna("")
    table["data"] = [data_status(d, settings) if cell_runs(settings, m, p, v, d) else
                     f"cell left to the paper profile (not run at {settings.profile})"
                     for d, m, p, v in zip(table["dataset"], table["method"], table["pretrain"], table["variant"])]
    table["dataset"] = [_display(d) for d in table["dataset"]]
    return table.drop(columns=["_d", "_m", "_v", "pretrain", "method", "variant"])


#: How to read a cell of :func:`wide_view`.
WIDE_LEGEND = ("Each cell: ours (mean ± SE over seeds) / the paper's value (ours − paper); where the variant ran "
               "with its plain algorithm, the paired difference to it over seeds and the verdict at 2 SE; "
               f"{health.flag_mark(True)} \"k of n runs flagged\": k of the cell's runs are flagged unhealthy "
               "(collapsed clusters or a growing loss, dcutils.health), and a verdict resting on one says so; "
               "\"— / paper\" is a cell this profile left to the paper profile.")


def wide_view(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the paper prints it: per algorithm, per data set "ours / paper (Δ)" (:data:`WIDE_LEGEND`)."""

    def cell(r) -> str:
        ours = outputs.plus_minus(r.reproduced, r.reproduced_se)
        if ours == "—":
            return f"— / {r.paper:.2f}"
        text = f"{ours} / {r.paper:.2f} ({r.difference:+.1f})"
        if isinstance(getattr(r, "verdict", None), str):
            text += f"; vs plain {r.paired:+.1f} ± {r.paired_se:.1f}, {r.verdict}"
            if getattr(r, "note", ""):
                text += f" ({r.note})"
        if getattr(r, "flagged", 0):
            text += f"; {health.flag_mark(True)} {r.flagged} of {r.seeds} runs flagged"
        return text

    view = table.assign(cell=[cell(r) for r in table.itertuples()])
    return view.pivot_table(index=["setting", "algorithm"], columns="dataset", values="cell", aggfunc="first",
                            sort=False)


def paired_table(runset: RunSet, metric: str = "acc", variants: Sequence[str] = ("brb",),
                 baseline: str = "none") -> pd.DataFrame:
    """Per (setting, method, data set, variant): the paired difference to ``baseline`` over seeds, and the paper's.

    Each seed's variant run is paired with the same seed's baseline run (same
    pretrained network, same initial weights); the difference (points) is
    averaged over the pairs, with its standard error and a verdict (ahead /
    behind / inconclusive at 2 SE, :func:`dcutils.outputs.verdict`). The
    paper's difference is its variant mean minus its baseline mean; it
    ``reproduces`` when our verdict is "ahead" and the paper's difference is
    positive (or "behind" and negative), ``does not`` when the verdict is the
    opposite, and stays ``inconclusive`` otherwise.

    A comparison never hides a failed run: ``flagged`` counts the pairs with a
    run flagged unhealthy on either side (:func:`finals`) and ``note`` says so
    ("rests on 1 of 3 pairs with a flagged run", :func:`dcutils.health.rests_on`;
    ``""`` when none); the verdict itself is left as the numbers give it.

    Returns
    -------
    DataFrame: pretrain, method, dataset, variant, paired, paired_se, pairs,
    verdict, paper_diff, reproduces, flagged, note; values in percent points.
    """
    runs = finals(runset)
    cols = ["pretrain", "method", "dataset", "variant", "paired", "paired_se", "pairs", "verdict", "paper_diff",
            "reproduces", "flagged", "note"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    paper = paper_cells(metric).set_index(["pretrain", "method", "dataset", "variant"])["paper"]
    rows = []
    for (pre, m, d), group in runs.groupby(["pretrain", "method", "dataset"], sort=False):
        base = group[group["variant"] == baseline]
        if base.empty:
            continue
        for v in variants:
            other = group[group["variant"] == v]
            if other.empty:
                continue
            stat = _paired(other, base, metric)
            paper_diff = paper.get((bool(pre), m, d, v), math.nan) - paper.get((bool(pre), m, d, baseline), math.nan)
            rows.append({"pretrain": bool(pre), "method": m, "dataset": d, "variant": v, "paired": stat["mean"],
                         "paired_se": stat["se"], "pairs": stat["n"], "verdict": stat["verdict"],
                         "paper_diff": paper_diff, "reproduces": _reproduces(stat["verdict"], paper_diff),
                         "flagged": stat["flagged"], "note": stat["note"]})
    return pd.DataFrame(rows, columns=cols)


def _reproduces(verdict: str, paper_diff: float) -> str:
    if verdict == outputs.INCONCLUSIVE or not np.isfinite(paper_diff) or paper_diff == 0:
        return "inconclusive"
    ours_positive = verdict == outputs.AHEAD
    return "reproduces" if ours_positive == (paper_diff > 0) else "does not reproduce"


def brb_vs_plain(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Per (setting, method, data set): +BRB minus plain, paired over seeds (points), verdict and the paper's gain."""
    pairs = paired_table(runset, metric, variants=("brb",))
    if pairs.empty:
        return pd.DataFrame()
    out = pairs.rename(columns={"paired": "gain", "paired_se": "gain_se", "paper_diff": "paper_gain"})
    out["dataset"] = [_display(d) for d in out["dataset"]]
    return out.drop(columns=["variant"])


def variant_verdict(runset: RunSet, metric: str = "acc", cite: Cite | None = None) -> str:
    """Markdown: per cell, is +BRB ahead of the plain algorithm (paired over seeds), and does that match the paper?
    How many compared cells rest on a run flagged unhealthy is always said, and each listed cell that does is
    marked (:func:`flagged_cells`).

    Every number is cited through ``cite`` (names ``gain/<metric>/...``)."""
    cite = Cite() if cite is None else cite
    gains = brb_vs_plain(runset, metric)
    if gains.empty:
        return "No runs to compare."
    counts = gains["verdict"].value_counts()
    n = len(gains)
    paper_ahead = int((gains["paper_gain"] > 0).sum())
    rep = gains["reproduces"].value_counts()
    pairs = "/".join(map(str, sorted(set(gains["pairs"]))))
    k = f"gain/{metric}"
    lines = [
        f"Paired over seeds ({cite(f'{k}/pairs per cell', pairs)} pairs per cell), +BRB is **ahead** of the plain "
        f"algorithm in {cite(f'{k}/cells ahead', int(counts.get('ahead', 0)))} of {cite(f'{k}/cells', n)} "
        f"(setting, algorithm, data set) cells, **behind** in {cite(f'{k}/cells behind', int(counts.get('behind', 0)))}"
        f" and **inconclusive** (|mean| < {cite('verdict threshold (SE)', 2)} SE) in "
        f"{cite(f'{k}/cells inconclusive', int(counts.get('inconclusive', 0)))}; the paper's table has BRB ahead in "
        f"{cite(f'{k}/cells ahead in the paper', paper_ahead)} of the same cells.",
        f"Against the paper: {cite(f'{k}/cells reproduce', int(rep.get('reproduces', 0)))} cells reproduce its sign, "
        f"{cite(f'{k}/cells do not reproduce', int(rep.get('does not reproduce', 0)))} do not, "
        f"{cite(f'{k}/cells stay inconclusive', int(rep.get('inconclusive', 0)))} stay inconclusive.",
        flagged_cells(paired_table(runset, metric, variants=("brb",)), cite, k),
    ]

    def cells(rows) -> str:
        return "; ".join(
            f"{r.method.upper()} {'with' if r.pretrain else 'without'} pretraining on {r.dataset}: "
            f"{cite(f'{k}/{r.dataset}/{r.method}/{r.pretrain}', r.gain, '+.1f')} ± "
            f"{cite(f'{k}/{r.dataset}/{r.method}/{r.pretrain}/se', r.gain_se, '.1f')} points"
            + _flag_note(cite, f"{k}/{r.dataset}/{r.method}/{r.pretrain}", r.flagged, r.pairs)
            for r in rows.itertuples())

    worst = gains[gains["verdict"] == "behind"].sort_values("gain").head(3)
    if len(worst):
        lines.append("Clearest losses of BRB here: " + cells(worst) + ".")
    best = gains[gains["verdict"] == "ahead"].sort_values("gain", ascending=False).head(3)
    if len(best):
        lines.append("Clearest gains: " + cells(best) + ".")
    return "\n\n".join(lines)


def _flag_note(cite: Cite, key: str, flagged: int, pairs: int) -> str:
    """``" (⚠ rests on 1 of 3 pairs with a flagged run)"`` with its numbers cited under ``key``, or ``""``."""
    if not flagged:
        return ""
    return (f" ({health.flag_mark(True)} rests on {cite(f'{key}/flagged pairs', int(flagged))} of "
            f"{cite(f'{key}/pairs', int(pairs))} pairs with a flagged run)")


def flagged_cells(comp: pd.DataFrame, cite: Cite, key: str) -> str:
    """Markdown: how many of the compared (setting, method, data set) cells of ``comp`` rest on a run flagged
    unhealthy (a comparison with ``flagged`` > 0), and which, with their verdicts; said also when none does.

    ``comp``: rows of :func:`paired_table` or :func:`brb_comparisons` (pretrain, method, dataset, pairs, verdict,
    flagged; a ``baseline`` column names the comparison). Numbers are cited under ``key``.
    """
    keys = ["pretrain", "method", "dataset"]
    n = len(comp.drop_duplicates(keys))
    hit = comp[comp["flagged"] > 0]
    cells = list(hit.groupby(keys, sort=False))
    if not cells:
        return (f"None of the {cite(f'{key}/cells compared', n)} compared cells rests on a run flagged unhealthy "
                f"(collapsed clusters or a growing loss, `dcutils.health`).")
    listed = []
    for (pre, m, d), rows in cells[:MAX_LISTED]:
        parts = []
        for r in rows.itertuples():
            what = f"BRB − {VARIANT_NAME[r.baseline]}: " if hasattr(r, "baseline") else ""
            name = f"{key}/{_cell(d, m, pre)}" + (f"/{r.baseline}" if what else "")
            parts.append(f"{what}{r.verdict}, {cite(f'{name}/flagged pairs', int(r.flagged))} of "
                         f"{cite(f'{name}/pairs', int(r.pairs))} pairs")
        listed.append(f"{m.upper()} {'with' if pre else 'without'} pretraining on {_display(d)} ({'; '.join(parts)})")
    more = len(cells) - len(listed)
    return (f"{health.flag_mark(True)} **{cite(f'{key}/cells resting on flagged runs', len(cells))} of "
            f"{cite(f'{key}/cells compared', n)} compared cells rest on a run flagged unhealthy** (collapsed "
            f"clusters or a growing loss, `dcutils.health`): their verdicts may measure that failure rather than "
            f"the method: " + "; ".join(listed)
            + (f"; and {cite(f'{key}/more flagged cells', more)} more cells" if more else "") + ".")


# ----------------------------------------------------------------------------
# Tables 13-15: +BRB against each baseline

#: What +BRB is compared with in Tables 13-15, in the paper's order.
BASELINES = ("none", "recluster", "reset")


def brb_comparisons(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Per (setting, method, data set, baseline of :data:`BASELINES`) with runs of both: +BRB minus the baseline.

    Each is :func:`paired_table` with that baseline: the difference per seed (points), its mean ± SE over the
    pairs, the verdict at 2 SE (:func:`dcutils.outputs.paired`), the paper's difference of the same two cells
    and whether ours ``reproduces`` its sign, and the pairs with a flagged run (``flagged``, ``note``).

    Returns
    -------
    DataFrame: pretrain, method, dataset, baseline, paired, paired_se, pairs, verdict, paper_diff, reproduces,
    flagged, note; in the paper's order (setting, method, data set, then plain, Recluster, Reset).
    """
    frames = [paired_table(runset, metric, ("brb",), baseline=b).assign(baseline=b) for b in BASELINES]
    comp = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    order = {d: i for i, d in enumerate(PAPER_DATASETS)}
    comp = comp.assign(_m=comp["method"].map({"dec": 0, "idec": 1, "dcn": 2}),
                       _d=comp["dataset"].map(lambda d: order.get(d, len(order))),
                       _b=comp["baseline"].map({b: i for i, b in enumerate(BASELINES)}))
    comp = comp.sort_values(["pretrain", "_m", "_d", "_b"], kind="stable").reset_index(drop=True)
    return comp[["pretrain", "method", "dataset", "baseline", "paired", "paired_se", "pairs", "verdict",
                 "paper_diff", "reproduces", "flagged", "note"]]


#: How to read :func:`comparisons_view`.
COMPARISONS_LEGEND = ("+BRB minus each baseline of the same cell, per seed (same pretrained network and initial "
                      "weights), mean ± SE over the pairs in points; verdict ahead / behind / inconclusive at 2 SE; "
                      "\"paper\": the paper's +BRB mean minus its baseline mean (Tables 13-15); \"reproduces\": "
                      "our verdict has the paper's sign; a note marks a comparison resting on a run flagged "
                      "unhealthy (dcutils.health).")


def comparisons_view(comp: pd.DataFrame) -> pd.DataFrame:
    """:func:`brb_comparisons` as a notebook shows it (:data:`COMPARISONS_LEGEND`): setting, algorithm, data set,
    comparison ("BRB − Recluster"), ours ("+2.1 ± 0.8"; no SE from one pair), pairs, verdict, paper, reproduces,
    note (⚠ and the note where a pair holds a flagged run)."""
    return pd.DataFrame({
        "setting": ["with pretraining" if p else "without pretraining" for p in comp["pretrain"]],
        "algorithm": [m.upper() for m in comp["method"]],
        "dataset": [_display(d) for d in comp["dataset"]],
        "comparison": [f"BRB − {VARIANT_NAME[b]}" for b in comp["baseline"]],
        "ours": ["—" if not np.isfinite(m) else f"{m:+.1f}" + (f" ± {se:.1f}" if n >= 2 else "")
                 for m, se, n in zip(comp["paired"], comp["paired_se"], comp["pairs"])],
        "pairs": comp["pairs"].astype(int),
        "verdict": comp["verdict"],
        "paper": comp["paper_diff"].astype(float),
        "reproduces": comp["reproduces"],
        "note": [f"{health.flag_mark(True)} {n}" if n else "" for n in comp["note"]],
    })


def comparisons_summary(comp: pd.DataFrame, metric: str, cite: Cite | None = None) -> str:
    """Markdown: per baseline, in how many cells +BRB is ahead / behind / inconclusive, how often the paper has it
    higher, how many cells reproduce the paper's sign, and how many rest on a flagged run (:func:`flagged_cells`).

    ``comp``: :func:`brb_comparisons`. Every number is cited through ``cite`` (names ``brb vs <baseline>/...``).
    """
    cite = Cite() if cite is None else cite
    if comp.empty:
        return "No cell has runs of +BRB and a baseline to compare."
    lines = [f"+BRB against each baseline, paired over seeds per cell (verdicts at "
             f"{cite('verdict threshold (SE)', 2)} SE; the table \"+BRB against each baseline\" above):"]
    for b in BASELINES:
        rows = comp[comp["baseline"] == b]
        if rows.empty:
            continue
        k = f"brb vs {b}/{metric}"
        counts, rep = rows["verdict"].value_counts(), rows["reproduces"].value_counts()
        flagged = int((rows["flagged"] > 0).sum())
        lines.append(
            f"- **BRB − {VARIANT_NAME[b]}**: ahead in {cite(f'{k}/cells ahead', int(counts.get('ahead', 0)))} of "
            f"{cite(f'{k}/cells', len(rows))} cells, behind in "
            f"{cite(f'{k}/cells behind', int(counts.get('behind', 0)))}, inconclusive in "
            f"{cite(f'{k}/cells inconclusive', int(counts.get('inconclusive', 0)))}; the paper has "
            f"BRB higher in {cite(f'{k}/cells higher in the paper', int((rows['paper_diff'] > 0).sum()))}; "
            f"{cite(f'{k}/cells reproduce', int(rep.get('reproduces', 0)))} reproduce its sign, "
            f"{cite(f'{k}/cells do not reproduce', int(rep.get('does not reproduce', 0)))} do not; "
            + (f"cells resting on a flagged run: {health.flag_mark(True)} "
               f"{cite(f'{k}/cells resting on flagged runs', flagged)}." if flagged else
               "no cell rests on a flagged run."))
    return "\n".join(lines) + "\n\n" + flagged_cells(comp, cite, f"brb vs baselines/{metric}")


# ----------------------------------------------------------------------------
# headline: share of runs where BRB beats its baseline, and its overhead


def win_pairs(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """One row per (method, dataset, pretrain, seed) with both plain and +BRB runs: both values, ``brb_wins`` and
    ``flagged`` (either run flagged unhealthy, :func:`finals`)."""
    runs = finals(runset)
    keys = ["method", "dataset", "pretrain", "seed"]
    if runs.empty:
        return pd.DataFrame(columns=[*keys, "plain", "brb", "brb_overhead", "brb_wins", "flagged"])
    plain = runs[runs["variant"] == "none"][[*keys, metric, "flagged"]].rename(columns={metric: "plain"})
    brb = runs[runs["variant"] == "brb"][[*keys, metric, "brb_overhead", "flagged"]].rename(columns={metric: "brb"})
    pairs = plain.merge(brb, on=keys, suffixes=("_plain", "_brb"))
    pairs["brb_wins"] = pairs["brb"] > pairs["plain"]
    pairs["flagged"] = pairs.pop("flagged_plain") | pairs.pop("flagged_brb")
    return pairs


#: The rows of :func:`headline_table` that its text reads by name.
WIN_SHARE = "BRB beats its baseline (% of runs), all"
AHEAD_PLAIN = "BRB ahead of plain at 2 SE (% of cells)"
AHEAD_ALL = "BRB ahead of its baseline at 2 SE (% of comparisons with plain, Recluster, Reset)"
OVERHEAD = "BRB overhead (% of clustering-phase time), median"


def headline_table(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Share of runs where BRB beats its baseline (percent) overall, per setting and per method, and BRB's overhead.

    A run counts as a win when DEC/IDEC/DCN+BRB ends with a higher ``metric``
    than the plain algorithm with the same data set, setting and seed (same
    pretrained network, same initial weights). The overhead is BRB's seconds
    over the clustering phase's training seconds, median over BRB runs.
    ``ci_low`` / ``ci_high``: the share's 95 % Wilson interval (runs as
    independent trials; seeds of one cell are not, so read it as a lower bound
    on the uncertainty).

    Two rows count verdicts instead of runs (:func:`brb_comparisons`, paired
    over seeds per cell, ahead at 2 SE): :data:`AHEAD_PLAIN`, the share of
    cells where +BRB is ahead of plain, and :data:`AHEAD_ALL`, the share of
    the comparisons with plain, +Recluster and +Reset where it is ahead; their
    ``runs`` is the number of comparisons, their ``paper`` the share of the same
    comparisons where the paper's tables have +BRB higher (its tables give no
    paired standard errors, so no verdict at 2 SE: no ``difference``).
    ``flagged``: the row's pairs (comparisons) with a run flagged unhealthy.
    """
    pairs = win_pairs(runset, metric)
    rows = []

    def add(what: str, sub: pd.DataFrame, paper: float = math.nan) -> None:
        k, n = int(sub["brb_wins"].sum()), len(sub)
        share = 100.0 * k / n if n else math.nan
        low, high = outputs.wilson_interval(k, n)
        rows.append({"quantity": what, "paper": paper, "reproduced": share, "ci_low": 100 * low,
                     "ci_high": 100 * high, "difference": share - paper, "runs": n,
                     "flagged": int(sub["flagged"].sum())})

    def ahead(what: str, comp: pd.DataFrame) -> None:
        k, n = int((comp["verdict"] == outputs.AHEAD).sum()), len(comp)
        low, high = outputs.wilson_interval(k, n)
        known = comp[np.isfinite(comp["paper_diff"].astype(float))]
        rows.append({"quantity": what, "reproduced": 100.0 * k / n if n else math.nan, "ci_low": 100 * low,
                     "ci_high": 100 * high, "difference": math.nan, "runs": n,
                     "paper": 100.0 * float((known["paper_diff"] > 0).mean()) if len(known) else math.nan,
                     "flagged": int((comp["flagged"] > 0).sum())})

    add(WIN_SHARE, pairs, PAPER_WIN_SHARE)
    for pre in (False, True):
        add(f"  {'with' if pre else 'without'} pretraining", pairs[pairs["pretrain"] == pre])
    for m in ("dec", "idec", "dcn"):
        add(f"  {m.upper()}", pairs[pairs["method"] == m])
    comp = brb_comparisons(runset, metric)
    ahead(AHEAD_PLAIN, comp[comp["baseline"] == "none"])
    ahead(AHEAD_ALL, comp)
    over = 100.0 * pairs["brb_overhead"].median() if len(pairs) else math.nan
    rows.append({"quantity": OVERHEAD, "paper": PAPER_OVERHEAD, "reproduced": over, "ci_low": math.nan,
                 "ci_high": math.nan, "difference": over - PAPER_OVERHEAD, "runs": len(pairs),
                 "flagged": int(pairs["flagged"].sum())})
    return pd.DataFrame(rows)


def _win_share_position(table: pd.DataFrame) -> str:
    """Where the paper's win share lies against our interval: "inside", "above" or "below" ("" without runs)."""
    allr = table.set_index("quantity").loc[WIN_SHARE]
    if not allr["runs"]:
        return ""
    if allr["ci_low"] <= PAPER_WIN_SHARE <= allr["ci_high"]:
        return "inside"
    return "above" if PAPER_WIN_SHARE > allr["ci_high"] else "below"


def headline_summary(table: pd.DataFrame, cite: Cite | None = None) -> str:
    """Markdown 'what we see' of :func:`headline_table`, every number from it (cited through ``cite``): the win
    share, by setting and method, the shares of ahead verdicts (over plain, over all three baselines), how many
    pairs and comparisons rest on a run flagged unhealthy (said also when none does), and the overhead."""
    cite = Cite() if cite is None else cite
    t = table.set_index("quantity")
    allr = t.loc[WIN_SHARE]
    if not allr["runs"]:
        return "No paired runs."
    paper = f"the paper's {cite('paper win share (%)', PAPER_WIN_SHARE, '.2f')} %"
    verdict = {"inside": f"{paper} lies inside the interval: consistent with the paper",
               "above": f"{paper} lies above the interval: the headline does **not** reproduce",
               "below": f"{paper} lies below the interval: BRB wins more often here than in the paper"}[
        _win_share_position(table)]
    lines = [f"BRB beats its baseline in **{cite('win share (%)', allr['reproduced'], '.1f')} %** of "
             f"{cite('paired runs', int(allr['runs']))} paired runs ({cite('interval level (%)', 95)} % Wilson "
             f"interval {cite('win share low (%)', allr['ci_low'], '.1f')}-"
             f"{cite('win share high (%)', allr['ci_high'], '.1f')} %); {verdict}."]
    subs = [f"{q.strip()}: {cite(f'win share (%)/{q.strip()}', r['reproduced'], '.0f')} % of "
            f"{cite(f'paired runs/{q.strip()}', int(r['runs']))}" for q, r in t.iterrows()
            if q.startswith("  ") and r["runs"]]
    if subs:
        lines.append("By setting and method: " + "; ".join(subs) + ".")
    lines.append(_ahead_text(t, cite))
    over = t.loc[OVERHEAD]
    lines.append(f"BRB's steps take a median {_num(cite, 'overhead (%)', over['reproduced'], '.1f')} % of the "
                 f"clustering phase's training time (paper: {cite('paper overhead (%)', PAPER_OVERHEAD)} % on an "
                 f"A100).")
    return "\n\n".join(lines)


def _ahead_text(t: pd.DataFrame, cite: Cite) -> str:
    """The ahead shares of :func:`headline_table` (indexed by quantity) and its flagged runs, cited."""
    parts = []
    for q, name, what in ((AHEAD_PLAIN, "plain", "cells"), (AHEAD_ALL, "all", "comparisons with plain, "
                                                               "Recluster and Reset")):
        r = t.loc[q]
        if not r["runs"]:
            continue
        paper = (f" (the paper's tables have it higher in {cite(f'paper higher (%)/{name}', r['paper'], '.0f')} % "
                 f"of them)" if np.isfinite(r["paper"]) else "")
        parts.append(f"**{cite(f'ahead share (%)/{name}', r['reproduced'], '.0f')} %** of "
                     f"{cite(f'comparisons/{name}', int(r['runs']))} {what}{paper}")
    text = ""
    if parts:
        text = (f"Paired over seeds per cell, BRB is ahead beyond {cite('verdict threshold (SE)', 2)} SE in "
                + " and in ".join(parts) + ". ")
    runs, comps = t.loc[WIN_SHARE], t.loc[AHEAD_ALL]
    if not runs["flagged"] and not comps["flagged"]:
        return text + (f"None of the {cite('paired runs', int(runs['runs']))} paired runs includes a run flagged "
                       f"unhealthy (collapsed clusters or a growing loss, `dcutils.health`).")
    return text + (f"{health.flag_mark(True)} **{cite('paired runs with a flagged run', int(runs['flagged']))} of "
                   f"{cite('paired runs', int(runs['runs']))} paired runs include a run flagged unhealthy** "
                   f"(collapsed clusters or a growing loss, `dcutils.health`), and "
                   f"{cite('comparisons resting on flagged runs', int(comps['flagged']))} of "
                   f"{cite('comparisons/all', int(comps['runs']))} comparisons rest on one: the shares count them "
                   f"as they ended.")


# ----------------------------------------------------------------------------
# figures


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
# provenance


def provenance(settings, datasets: Sequence[str] | None = None) -> outputs.Provenance:
    """Stamp of a brb output: the data sets used (named with any substitution) and those not run here."""
    used = list(datasets) if datasets is not None else grid_datasets(settings)
    wanted = settings["focus"] if "focus" in settings else settings["datasets"]
    labels = [_label(d, settings.profile, settings.subsample) for d in used]
    notes = [f"{_display(d)} not run at {settings.profile}" for d in wanted
             if data_spec(settings.profile, d) is None]
    if "focus" in settings and not set(used) & set(wanted):
        notes.append(f"substitute for {', '.join(_display(d) for d in wanted)}")
    schedule = ", ".join(f"{_display(d)} {e} clustering epochs, T = {t}"
                         for d in used for t, e in [protocol(settings, d)])
    extra = f"{schedule}; {settings.pretrain_epochs} pretraining epochs"
    return outputs.provenance(settings, datasets=labels, notes=[extra, *notes])


def substitution_note(settings, used: Sequence[str]) -> str | None:
    """A line for the figure when its data differ from the paper's (substitute or reduced data), else None."""
    wanted = settings["focus"] if "focus" in settings else settings["datasets"]
    parts = []
    missing = [d for d in wanted if d not in used]
    if missing:
        # a data set the profile runs, but not in this item's cells, vs one the profile does not run at all
        runs_some = [d for d in missing if d in settings["datasets"] and data_spec(settings.profile, d) is not None]
        parts += [f"{', '.join(_display(d) for d in group)} {why}" for group, why in (
            ([d for d in missing if d not in runs_some], f"not run at {settings.profile}"),
            (runs_some, f"runs none of these cells at {settings.profile} (paper profile)")) if group]
        if not set(used) & set(wanted):
            parts[-1] += f"; shown: {', '.join(_display(d) for d in used)}"
    specs = [data_spec(settings.profile, d) for d in used]
    subs = [spec.label() for spec in specs if spec is not None and spec.substitute]
    parts += subs
    if settings.subsample:
        parts.append(f"subsample {settings.subsample:,} per data set")
    return "Data: " + "; ".join(parts) if parts else None


# ----------------------------------------------------------------------------
# per-item views


def used_datasets(settings) -> list[str]:
    """The data sets the item's runs use at its profile (focus data sets, their substitute, or the grid's)."""
    return grid_datasets(settings)


def item_table(runset: RunSet, settings, metric: str = "acc") -> pd.DataFrame:
    """Paper vs reproduced final ``metric`` for the item's methods, variants, settings and data sets only."""
    table = variant_table(runset, metric, settings)
    labels = {algorithm_label(m, v) for m in settings["methods"] for v in settings["variants"]}
    settings_ = {("with pretraining" if p else "without pretraining") for p in settings["pretrain"]}
    shown = {_display(d) for d in used_datasets(settings)}
    keep = table["algorithm"].isin(labels) & table["setting"].isin(settings_) & table["dataset"].isin(shown)
    return table[keep].reset_index(drop=True)


def curve_verdict(runset: RunSet, settings, metric: str = "acc", cite: Cite | None = None) -> str:
    """Markdown per (data set, method, setting): each variant's final ``metric`` (mean over seeds, the paper's
    Table 13-15 value beside it where it has one), then each variant minus the plain algorithm and +BRB minus
    +Recluster, paired over seeds (mean ± SE, verdict at 2 SE; marked where a pair holds a run flagged
    unhealthy). Every number is cited through ``cite``
    (names ``final/<data set>/<method>/<setting>/<metric>/...``)."""
    cite = Cite() if cite is None else cite
    runs = finals(runset)
    if runs.empty or metric not in runs:
        return "No runs."
    percent = metric in ("acc", "nmi", "ari")
    scale, digits = (100, 1) if percent else (1, 3)
    paper = paper_cells(metric).set_index(["pretrain", "method", "dataset", "variant"])["paper"] if percent else None
    lines = []
    for (d, m, p), g in runs.groupby(["dataset", "method", "pretrain"]):
        k = f"final/{_cell(d, m, p)}/{metric}"
        means = (g.groupby("variant")[metric].mean() * scale).sort_values(ascending=False)
        parts = []
        for v, val in means.items():
            ref = paper.get((bool(p), m, d, v), math.nan) if paper is not None else math.nan
            parts.append(f"{algorithm_label(m, v)} {_num(cite, f'{k}/{v}', val, f'.{digits}f')}"
                         + (f" (paper {cite(f'{k}/{v}/paper', ref, '.1f')})" if np.isfinite(ref) else ""))
        text = (f"- **{_display(d)}, {'with' if p else 'without'} pretraining** "
                f"({cite(f'final/{_cell(d, m, p)}/seeds', g['seed'].nunique())} seeds, final "
                f"{METRIC_NAME[metric]}{' %' if percent else ''}): " + ", ".join(parts) + ".")
        per_seed = {v: gv for v, gv in g.groupby("variant")}
        comparisons = [(v, "none") for v in ("brb", "recluster", "reset") if v in per_seed and "none" in per_seed]
        if "brb" in per_seed and "recluster" in per_seed:
            comparisons.append(("brb", "recluster"))
        for a_, b_ in comparisons:
            stat = _paired(per_seed[a_], per_seed[b_], metric, scale=scale)
            if not stat["n"]:
                continue
            key = f"{k}/{a_} - {b_}"
            se = f" ± {_num(cite, key + '/se', stat['se'], f'.{digits}f')}" if stat["n"] >= 2 else ""
            text += (f" {VARIANT_NAME[a_]} − {VARIANT_NAME[b_]}: {_num(cite, key, stat['mean'], f'+.{digits}f')}{se} "
                     f"({cite(key + '/pairs', stat['n'])} pairs, {stat['verdict']})"
                     + _flag_note(cite, key, stat["flagged"], stat["n"]) + ".")
        lines.append(text)
    return "\n".join(lines)


def protocol_note(settings, cite: Cite | None = None) -> str:
    """Markdown: the protocol each data set of the item ran at its profile, in optimizer steps, and what was left
    to the paper profile. Every number is cited through ``cite`` (names ``protocol/...``)."""
    cite = Cite() if cite is None else cite
    used = grid_datasets(settings) if ("focus" in settings or "methods" in settings) else settings["datasets"]
    parts = []
    for d in used:
        interval, epochs = protocol(settings, d)
        spec = data_spec(settings.profile, d)
        n = settings.subsample or (spec.n if spec is not None and spec.n else 10_000)
        per_epoch = max(1, n // BATCH_SIZE)
        k = f"protocol/{d}"
        parts.append(f"{_display(d)} ({cite(f'{k}/samples', n, ',')} samples, "
                     f"{cite(f'{k}/optimizer steps per epoch', per_epoch)} optimizer steps per epoch): a BRB step "
                     f"every T = {cite(f'{k}/T (epochs)', interval)} epochs = "
                     f"{cite(f'{k}/optimizer steps between BRB steps', interval * per_epoch, ',')} optimizer steps, "
                     f"{cite(f'{k}/BRB steps', len(reset_epochs(epochs, interval)))} BRB steps in "
                     f"{cite(f'{k}/clustering epochs', epochs)} clustering epochs")
    seeds = settings.seeds
    text = (f"**Protocol at profile `{settings.profile}`** ({cite('protocol/seeds', len(seeds))} paired seeds; "
            f"{cite('protocol/pretraining epochs', settings.pretrain_epochs)} pretraining epochs where pretrained; "
            f"{settings.get('precision', 'fp32')}): " + "; ".join(parts) + ".")
    rows = settings.get("rows")
    if rows is not None:
        ran = "; ".join(f"{_display(d)}: " + ", ".join(algorithm_label(m, "none", p) for m, p in r)
                        for d, r in rows.items() if d in used)
        extra = []
        for variant, cells in settings.get("extra_cells", {}).items():
            if cells == "all":
                extra.append(f"+{VARIANT_NAME[variant]} in every row")
                continue
            cells = [tuple(c) if len(c) == 3 else (None, *c) for c in cells]
            for d, r in rows.items():  # a data set whose every row runs the variant is named once
                if d in used and r and all((d, m, bool(p)) in cells for m, p in r):
                    extra.append(f"+{VARIANT_NAME[variant]} in every {_display(d)} row")
                    cells = [c for c in cells if c[0] != d]
            for d, m, p in cells:
                if d is None or d in used:
                    extra.append(f"{algorithm_label(m, variant, p)}" + (f" on {_display(d)}" if d else ""))
        text += (f" Rows run here: {ran} (plain and +BRB each)" + (f"; also {', '.join(extra)}" if extra else "")
                 + ". Every other cell of the paper's tables is left to the paper profile (`make figures "
                 "PROFILE=paper`, on a GPU) and shows the paper's value only.")
    return text


def step_table(runset: RunSet, dataset: str, method: str, pretrain: bool) -> pd.DataFrame:
    """Every BRB step of the first seed's +BRB run: epoch, ACC before and after, label change, component times (ms)."""
    h = history(runset)
    h = h[(h["dataset"] == dataset) & (h["method"] == method) & (h["pretrain"] == pretrain) & (h["variant"] == "brb")]
    if h.empty:
        return pd.DataFrame()
    h = h[h["seed"] == h["seed"].min()].sort_values("epoch").reset_index(drop=True)
    rows = []
    for i in h.index[h["brb"].astype(bool)]:
        r, prev = h.loc[i], h.loc[i - 1]
        rows.append({"step at epoch": int(prev["epoch"]), "ACC before (%)": 100 * prev["acc"],
                     "ACC after the epoch (%)": 100 * r["acc"], "CL change (%)": r["cl_change"],
                     "reset (ms)": 1e3 * r["t_reset"], "embed (ms)": 1e3 * r["t_embed"],
                     "k-means (ms)": 1e3 * r["t_cluster"], "momentum reset (ms)": 1e3 * r["t_momentum"],
                     "epoch training (ms)": 1e3 * r["epoch_seconds"]})
    return pd.DataFrame(rows)


def reconstruction_verdict(runset: RunSet, cite: Cite | None = None) -> str:
    """Markdown for Figure 18: the loss jump at BRB steps and the final loss with vs without BRB (DCN, pretrained);
    numbers cited through ``cite`` (names ``recon/...``)."""
    cite = Cite() if cite is None else cite
    h = history(runset)
    h = h[(h["method"] == "dcn") & h["pretrain"]].sort_values("epoch")
    lines = []
    for d, g in h.groupby("dataset"):
        brb_h, plain_h = g[g["variant"] == "brb"], g[g["variant"] == "none"]
        jumps = []
        for _, run in brb_h.groupby("seed"):
            run = run.reset_index(drop=True)
            for i in run.index[run["brb"].astype(bool)]:
                if i > 1:
                    jumps.append(run.loc[i, "recon_loss"] / run.loc[i - 1, "recon_loss"])
        last = lambda f: f[f["epoch"] == f["epoch"].max()]["recon_loss"].mean()  # noqa: E731
        jump = f"{cite(f'recon/{d}/jump', float(np.mean(jumps)), '.2f')}×" if jumps else "—"
        lines.append(f"- {_display(d)}: the epoch after a BRB step has {jump} the loss of the epoch before (mean over "
                     f"steps and seeds); final loss {_num(cite, f'recon/{d}/final/brb', last(brb_h), '.3f')} with "
                     f"BRB vs {_num(cite, f'recon/{d}/final/none', last(plain_h), '.3f')} without.")
    return "\n".join(lines) or "No runs."


# ----------------------------------------------------------------------------
# brb/deviations: the authors' code vs the paper's text


def deviations_table(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Per choice of :data:`dcutils.brb.settings.DEVIATIONS`: the code's value vs the other, paired over seeds.

    Each run of the other value is paired with the same seed's run of the code's configuration (same method,
    same initial weights and data order up to the choice itself).

    Returns
    -------
    DataFrame: choice, method, text, code, other (the switched parameter and value), code_mean, code_se,
    other_mean, other_se (``metric`` in percent), paired (other − code, points), paired_se, pairs, verdict
    (ahead: the other value scores higher; behind: lower; inconclusive at 2 SE), identical (every pair
    ended with the same value: the choice never acted, e.g. a gradient norm that never reached the clip),
    flagged / note (pairs with a run flagged unhealthy on either side, :func:`dcutils.health.rests_on`).
    """
    runs = finals(runset)
    rows = []
    for d in DEVIATIONS:
        (param, value), = d["other"].items()
        base, other = _deviation_pair(runs, d, metric)
        stat = outputs.paired(other, base)
        if len(runs):
            flag_base, flag_other = _deviation_pair(runs, d, "flagged")
            both = pd.concat([flag_base, flag_other], axis=1, join="inner").fillna(False).astype(bool)
            flagged = int(both.any(axis=1).sum())
        else:
            flagged = 0
        cm, cs, _ = outputs.mean_se(base * 100)
        om, os_, _ = outputs.mean_se(other * 100)
        rows.append({"choice": d["choice"], "method": d["method"].upper(), "text": d["text"], "code": d["code"],
                     "other": f"{param}={value!r}", "code_mean": cm, "code_se": cs, "other_mean": om,
                     "other_se": os_, "paired": stat["mean"], "paired_se": stat["se"], "pairs": stat["n"],
                     "verdict": stat["verdict"], "identical": bool(stat["n"]) and bool(
                         ((other - base).dropna() == 0).all()),
                     "flagged": flagged, "note": health.rests_on(flagged, stat["n"])})
    return pd.DataFrame(rows)


def _deviation_pair(runs: pd.DataFrame, d: dict, metric: str) -> tuple[pd.Series, pd.Series]:
    """``metric`` per seed of the code's configuration and of choice ``d``'s other value (same method)."""
    empty = pd.Series(dtype=float)
    if runs.empty:
        return empty, empty
    mine = runs[runs["method"] == d["method"]]
    switched = {k for dv in DEVIATIONS for k in dv["other"]}
    is_code = np.ones(len(mine), dtype=bool)
    for k in switched:
        is_code &= (mine[k] == _code_value(k)).to_numpy()
    (param, value), = d["other"].items()
    return (mine[is_code].set_index("seed")[metric],
            mine[(mine[param] == value).to_numpy()].set_index("seed")[metric])


def _code_value(param: str):
    """``brb.dc``'s default of ``param``: the configuration of the runs behind the tables (authors' runner and code)."""
    return get_algorithm("brb.dc").defaults[param]


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


def deviations_provenance(settings) -> outputs.Provenance:
    """Stamp of the deviations outputs: data set, protocol and seeds."""
    label = _label(settings["dataset"], settings.profile, settings.subsample)
    note = (f"+BRB, {'with' if settings['pretrain'] else 'without'} pretraining, {settings.cluster_epochs} "
            f"clustering epochs, T = {settings.reset_interval}, {settings['precision']}")
    return outputs.provenance(settings, datasets=[label], notes=[note])


def deviations_summary(table: pd.DataFrame, settings, cite: Cite | None = None) -> str:
    """Markdown 'what we see' of the deviations table, every number from it (cited through ``cite``)."""
    cite = Cite() if cite is None else cite
    if table.empty or not table["pairs"].gt(0).any():
        return "No runs to compare."
    counts = table["verdict"].value_counts()
    lines = [
        f"Over {cite('pairs per choice', int(table['pairs'].max()))} paired seeds per choice "
        f"({settings['dataset'].upper()}, {cite('clustering epochs', settings.cluster_epochs)} clustering epochs, "
        f"T = {cite('T (epochs)', settings.reset_interval)}), switching one choice away from the authors' code "
        f"changes final ACC clearly (beyond {cite('verdict threshold (SE)', 2)} SE) in "
        f"{cite('choices with a clear change', int(counts.get('ahead', 0) + counts.get('behind', 0)))} of "
        f"{cite('choices', len(table))} choices; {cite('choices that never acted', int(table['identical'].sum()))} "
        f"never acted (identical runs) and the rest stay inconclusive."]

    def pm(name: str, mean: float, se: float, pairs: int) -> str:
        text = _num(cite, name, mean, ".1f")
        return text + (f" ± {_num(cite, name + '/se', se, '.1f')}" if pairs >= 2 and np.isfinite(se) else "")

    for r in table.itertuples():
        k = f"{r.choice} ({r.method}, {r.other})"
        what = ("identical in every pair: the choice never acted" if r.identical else
                f"paired {_num(cite, k + '/other - code', r.paired, '+.1f')}"
                + (f" ± {_num(cite, k + '/other - code/se', r.paired_se, '.1f')}" if r.pairs >= 2 else "")
                + f" points, {r.verdict}")
        flag = (f" ({health.flag_mark(True)} rests on {_num(cite, k + '/flagged pairs', r.flagged)} of "
                f"{_num(cite, k + '/pairs', r.pairs)} pairs with a run flagged unhealthy)"
                if getattr(r, "flagged", 0) else "")
        lines.append(f"- **{r.choice}** ({r.method}, {r.other}): code "
                     f"{pm(k + '/code', r.code_mean, r.code_se, r.pairs)}, other "
                     f"{pm(k + '/other', r.other_mean, r.other_se, r.pairs)}; {what}{flag}.")
    if table["pairs"].max() < 2:
        lines.append("With one seed there is no standard error: every verdict is inconclusive.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# findings: each item's verdict on the paper's claim, with the numbers behind it
#
# Each ``*_findings`` function returns ``{"verdict", "reason", "values", "text"}`` for
# :func:`dcutils.outputs.save_findings`; the text is the notebook's "What we see" and every number in it is
# cited in ``values``.

#: Metrics the paper's Tables 13-15 give (in percent); the others are shown as they are, with 3 decimals.
PERCENT_METRICS = ("acc", "nmi", "ari")


@dataclass(frozen=True)
class Claim:
    """One comparison the paper makes: ``variant`` minus ``baseline`` in final ``metric``, paired over seeds.

    ``sign`` is +1 when the paper has the variant higher, -1 lower; None takes the sign of the paper's own
    difference in Tables 13-15 (acc, nmi and ari only), cell by cell.
    """

    variant: str
    baseline: str
    metric: str
    sign: int | None = None

    def label(self) -> str:
        return f"{VARIANT_NAME[self.variant]} − {VARIANT_NAME[self.baseline]}, {METRIC_NAME[self.metric]}"


def _all_beyond_plain(metric: str) -> list[Claim]:
    return [Claim("brb", b, metric) for b in ("none", "recluster", "reset")]


#: The claim each grid item tests (the "Claim tested" of its notebook) and the metrics its text shows.
ITEM_CLAIMS: dict[str, tuple[list[Claim], tuple[str, ...]]] = {
    # the reclustering barrier: BRB ends above plain IDEC (the paper: 84.50 vs 66.67)
    "brb/fig01": ([Claim("brb", "none", "acc")], ("acc",)),
    # BRB vs reclustering alone: higher accuracy and spread-out classes (higher inter-CD)
    "brb/fig02": ([Claim("brb", "recluster", "acc"), Claim("brb", "recluster", "inter_cd", +1)], ("acc", "inter_cd")),
    "brb/fig06": ([Claim("brb", "recluster", "acc"), Claim("brb", "recluster", "inter_cd", +1)], ("acc", "inter_cd")),
    # BRB improves DCN with pretraining, more than Recluster or Reset alone
    "brb/fig04": (_all_beyond_plain("acc"), ("acc",)),
    "brb/fig14": ([*_all_beyond_plain("nmi"), *_all_beyond_plain("ari")], ("nmi", "ari")),
    # BRB improves DEC and IDEC without pretraining
    "brb/fig05": ([Claim("brb", "none", "acc")], ("acc",)),
    "brb/fig15": ([Claim("brb", "none", "nmi"), Claim("brb", "none", "ari")], ("nmi", "ari")),
    # the ground-truth silhouette rises with BRB, not with DCN or DCN+Recluster
    "brb/fig16": ([Claim("brb", "none", "silhouette", +1), Claim("brb", "recluster", "silhouette", +1)],
                  ("silhouette",)),
    # BRB lowers the gap between the silhouette with predicted clusters and with the true classes
    "brb/fig17": ([Claim("brb", "none", "silhouette_gap", -1)], ("silhouette", "silhouette_pred")),
    # Tables 13-15: BRB improves each algorithm, more than Recluster or Reset alone
    "brb/tab13": (_all_beyond_plain("acc"), ()),
    "brb/tab14": (_all_beyond_plain("nmi"), ()),
    "brb/tab15": (_all_beyond_plain("ari"), ()),
}
#: Up to this many comparisons the text lists each one; beyond, it gives their counts.
MAX_LISTED = 8


def claim_comparisons(runs: pd.DataFrame, claims: Sequence[Claim]) -> pd.DataFrame:
    """Every claim in every (data set, method, setting) of ``runs`` (a :func:`finals` frame) that has both sides.

    Returns
    -------
    DataFrame, one row per comparison: dataset, method, pretrain, claim (its index in ``claims``), mean, se,
    pairs (the paired difference variant − baseline over seeds, in points for percent metrics), verdict (ahead /
    behind / inconclusive at 2 SE), paper_diff (the paper's difference from Tables 13-15; NaN for a claim with a
    stated sign), sign (+1 / -1 the paper's direction, 0 unknown) and reproduces ("reproduces" when our verdict
    has the paper's sign, "does not reproduce" when it has the other, else "inconclusive"), flagged (the pairs
    with a run flagged unhealthy on either side) and note (:func:`dcutils.health.rests_on`).
    """
    cols = ["dataset", "method", "pretrain", "claim", "mean", "se", "pairs", "verdict", "paper_diff", "sign",
            "reproduces", "flagged", "note"]
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=cols)
    papers = {}
    for (d, m, p), g in runs.groupby(["dataset", "method", "pretrain"], sort=True):
        for i, c in enumerate(claims):
            if c.metric not in g:
                continue
            a = g[g["variant"] == c.variant]
            b = g[g["variant"] == c.baseline]
            if a.empty or b.empty:
                continue
            stat = _paired(a, b, c.metric, scale=100.0 if c.metric in PERCENT_METRICS else 1.0)
            if not stat["n"]:
                continue
            paper_diff = math.nan
            if c.sign is None:
                if c.metric not in papers:
                    papers[c.metric] = paper_cells(c.metric).set_index(["pretrain", "method", "dataset", "variant"])
                paper = papers[c.metric]["paper"]
                paper_diff = (paper.get((bool(p), m, d, c.variant), math.nan)
                              - paper.get((bool(p), m, d, c.baseline), math.nan))
                sign = int(np.sign(paper_diff)) if np.isfinite(paper_diff) else 0
            else:
                sign = int(c.sign)
            rows.append({"dataset": d, "method": m, "pretrain": bool(p), "claim": i, "mean": stat["mean"],
                         "se": stat["se"], "pairs": stat["n"], "verdict": stat["verdict"], "paper_diff": paper_diff,
                         "sign": sign, "reproduces": _reproduces(stat["verdict"], float(sign)),
                         "flagged": stat["flagged"], "note": stat["note"]})
    return pd.DataFrame(rows, columns=cols)


def _where(r) -> str:
    return f"{r.method.upper()} {'with' if r.pretrain else 'without'} pretraining on {_display(r.dataset)}"


def _comparison(cite: Cite, r, claim: Claim) -> tuple[str, str]:
    """(the comparison's name, "+18.0 ± 6.6 points over 3 pairs (ahead)") with its numbers cited; a comparison
    resting on a flagged run adds " (⚠ rests on 1 of 3 pairs with a flagged run)"."""
    percent = claim.metric in PERCENT_METRICS
    digits = ".1f" if percent else ".3f"
    k = f"claim/{_cell(r.dataset, r.method, r.pretrain)}/{claim.variant} - {claim.baseline}/{claim.metric}"
    se = f" ± {_num(cite, k + '/se', r.se, digits)}" if r.pairs >= 2 else ""
    return k, (f"{_num(cite, k, r.mean, '+' + digits)}{se}{' points' if percent else ''} over "
               f"{cite(k + '/pairs', int(r.pairs))} pairs ({r.verdict})"
               + _flag_note(cite, k, getattr(r, "flagged", 0), r.pairs))


def _paper_side(cite: Cite, k: str, r, claim: Claim) -> str:
    if np.isfinite(r.paper_diff):
        return f"the paper's tables: {cite(k + '/paper', r.paper_diff, '+.1f')}"
    if r.sign:
        return f"the paper: {VARIANT_NAME[claim.variant]} {'higher' if r.sign > 0 else 'lower'}"
    return "the paper gives no difference"


def claims_text(comp: pd.DataFrame, claims: Sequence[Claim], settings, cite: Cite) -> str:
    """Markdown: each comparison against the paper (or their counts beyond :data:`MAX_LISTED`), and the claims
    no run here could compare."""
    lines = []
    if 0 < len(comp) <= MAX_LISTED:
        for r in comp.itertuples():
            c = claims[r.claim]
            k, ours = _comparison(cite, r, c)
            lines.append(f"- {c.label()}, {_where(r)}: {ours}; {_paper_side(cite, k, r, c)}: **{r.reproduces}**.")
    elif len(comp):
        lines.append(_counts(comp, cite) + ".")
    text = "\n".join(lines)
    missing = [c.label() for i, c in enumerate(claims) if not (comp["claim"] == i).any()]
    if missing:
        text += ("\n\n" if text else "") + (f"Not compared here: {'; '.join(missing)} (no runs of both sides at "
                                              f"profile `{settings.profile}`; the paper profile runs them).")
    return text


def _counts(comp: pd.DataFrame, cite: Cite) -> str:
    rep = comp["reproduces"].value_counts()
    flagged = int((comp["flagged"] > 0).sum()) if "flagged" in comp else 0
    return (f"{cite('claims/reproduce', int(rep.get(findings.REPRODUCES, 0)))} of "
            f"{cite('claims/compared', len(comp))} paired comparisons have the paper's sign, "
            f"{cite('claims/contradict', int(rep.get(findings.DOES_NOT_REPRODUCE, 0)))} the opposite one and "
            f"{cite('claims/inconclusive', int(rep.get(findings.INCONCLUSIVE, 0)))} stay within "
            f"{cite('verdict threshold (SE)', 2)} SE"
            + (f"; {health.flag_mark(True)} {cite('claims/resting on flagged runs', flagged)} of them rest on a run "
               f"flagged unhealthy" if flagged else ""))


def claims_table(runset: RunSet, settings) -> pd.DataFrame:
    """:func:`claim_comparisons` of a grid item's claims (:data:`ITEM_CLAIMS`), with readable names."""
    claims, _ = ITEM_CLAIMS[settings.item]
    comp = claim_comparisons(finals(runset), claims)
    return comp.assign(claim=[claims[i].label() for i in comp["claim"]],
                       dataset=[_display(d) for d in comp["dataset"]]).drop(columns="sign")


def claims_reason(comp: pd.DataFrame, claims: Sequence[Claim], settings, cite: Cite) -> str:
    """One sentence behind the verdict of :func:`overall_verdict`: the single comparison, or the counts."""
    if comp.empty:
        labels = "; ".join(c.label() for c in claims)
        return (f"the paper's comparison ({labels}) has no runs of both sides at profile {settings.profile}: it is "
                f"left to the paper profile")
    if len(comp) == 1:
        r = next(comp.itertuples())
        c = claims[r.claim]
        k, ours = _comparison(cite, r, c)
        return f"{c.label()}, {_where(r)}: {ours}; {_paper_side(cite, k, r, c)}"
    return _counts(comp, cite)


def _finding(verdict: str, reason: str, cite: Cite, parts: Sequence[str]) -> dict:
    return {"verdict": verdict, "reason": reason, "values": dict(cite.values),
            "text": "\n\n".join(p for p in parts if p)}


def grid_findings(runset: RunSet, settings) -> dict:
    """Findings of a grid item of :data:`ITEM_CLAIMS` (Figures 1, 2, 4-6, 14-17, Tables 13-15).

    The verdict is :func:`overall_verdict` of the item's claims over its cells; the text lists each
    comparison against the paper (or their counts), then the final values (:func:`curve_verdict`, or for the
    tables :func:`variant_verdict` and +BRB against each baseline, :func:`comparisons_summary`) and the protocol
    (:func:`protocol_note`). A comparison resting on a run flagged unhealthy says so, in the text and, when it
    is the only one or they are counted, in the reason.
    """
    claims, shown = ITEM_CLAIMS[settings.item]
    cite = Cite()
    comp = claim_comparisons(finals(runset), claims)
    verdict = overall_verdict(list(comp["reproduces"]))
    reason = claims_reason(comp, claims, settings, cite)
    parts = [claims_text(comp, claims, settings, cite)]
    if settings.item.startswith("brb/tab"):
        parts.append(variant_verdict(runset, claims[0].metric, cite))
        parts.append(comparisons_summary(brb_comparisons(runset, claims[0].metric), claims[0].metric, cite))
    parts += [curve_verdict(runset, settings, metric, cite) for metric in shown]
    parts.append(protocol_note(settings, cite))
    return _finding(verdict, reason, cite, parts)


def algorithm_findings(runset: RunSet, settings) -> dict:
    """Algorithm 1: a procedure, not a claim; the text shows what its runs did."""
    cite = Cite()
    return _finding(findings.NOT_TESTABLE, "Algorithm 1 is a procedure, not a claim; its notebook shows it at work",
                    cite, [curve_verdict(runset, settings, "acc", cite), protocol_note(settings, cite)])


#: Figure 7's border: d1/d2 at or above it puts a sample near the border between two clusters.
BORDER = 0.9


def ratio_shift(runset: RunSet, dataset: str, method: str = "dcn") -> pd.DataFrame:
    """Per +BRB run with a recorded step: seed and the share (%) of samples with d1/d2 ≥ :data:`BORDER` before
    and after the step."""
    rows = []
    for r in runset:
        c = r.config
        if c.dataset == dataset and c["method"] == method and c["variant"] == "brb" and "ratio_before" in r.arrays:
            rows.append({"seed": c.seed, "before": 100 * float(np.mean(r.arrays["ratio_before"] >= BORDER)),
                         "after": 100 * float(np.mean(r.arrays["ratio_after"] >= BORDER))})
    return pd.DataFrame(rows, columns=["seed", "before", "after"])


def ratio_findings(runset: RunSet, settings, dataset: str, method: str = "dcn") -> dict:
    """Figure 7: does a BRB step move samples to a cluster border? The share with d1/d2 ≥ 0.9 after minus before,
    per seed (mean ± SE over seeds, verdict at 2 SE); the paper finds more after."""
    cite = Cite()
    shift = ratio_shift(runset, dataset, method)
    if shift.empty:
        return _finding(findings.NOT_TESTABLE, f"no {method.upper()}+BRB run recorded d1/d2 at a step here", cite,
                        [protocol_note(settings, cite)])
    summary = ratio_summary(runset, dataset, method)
    before, after = summary["share in [0.9, 1] (%)"]
    mean, se, n = outputs.mean_se(shift["after"] - shift["before"])
    verdict = outputs.verdict(mean, se, n)
    rep = _reproduces(verdict, 1.0)
    border = cite("border d1/d2", BORDER)
    shown = (f"{cite('after - before (points)', mean, '+.1f')}" + (f" ± {cite('after - before/se', se, '.1f')}"
                                                                    if n >= 2 else "")
             + f" points over {cite('seeds', n)} seeds ({verdict})")
    text = (f"Share of samples with d1/d2 ≥ {border} (pooled over seeds): **{cite('before (%)', before, '.1f')} % "
            f"before and {cite('after (%)', after, '.1f')} % after** the step. Per seed, after − before: {shown}; "
            f"the paper finds more samples near the border after the step: **{rep}**.")
    overall = overall_verdict([rep])
    reason = f"after − before the step, share with d1/d2 ≥ {border}: {shown}"
    return _finding(overall, reason, cite, [text, protocol_note(settings, cite)])


def reconstruction_steps(runset: RunSet) -> pd.DataFrame:
    """Per DCN+BRB run with pretraining: dataset, seed, ``spike`` (mean over BRB steps of the loss in the epoch
    after the step over the epoch before) and ``recovery`` (mean over steps of the loss just before the next
    step, or at the end, over the loss in the epoch after the step)."""
    h = history(runset)
    h = h[(h["method"] == "dcn") & h["pretrain"] & (h["variant"] == "brb")]
    rows = []
    for (d, seed), run in h.groupby(["dataset", "seed"]):
        run = run.sort_values("epoch").reset_index(drop=True)
        steps = [i for i in run.index[run["brb"].astype(bool)] if i > 1]
        if not steps:
            continue
        loss = run["recon_loss"].to_numpy()
        ends = [*steps[1:], len(run)]
        rows.append({"dataset": d, "seed": seed,
                     "spike": float(np.mean([loss[i] / loss[i - 1] for i in steps])),
                     "recovery": float(np.mean([loss[j - 1] / loss[i] for i, j in zip(steps, ends)]))})
    return pd.DataFrame(rows, columns=["dataset", "seed", "spike", "recovery"])


def reconstruction_findings(runset: RunSet, settings) -> dict:
    """Figure 18: the loss spikes at a BRB step (ratio after / before > 1 beyond 2 SE over seeds) and then
    recovers (loss before the next step / loss after this one < 1 beyond 2 SE). Both as the paper: reproduces."""
    cite = Cite()
    steps = reconstruction_steps(runset)
    if steps.empty:
        return _finding(findings.NOT_TESTABLE, "no DCN+BRB run with pretraining and a BRB step here", cite,
                        [protocol_note(settings, cite)])
    lines, reps = [], []
    for d, g in steps.groupby("dataset"):
        for what, sign, words in (("spike", 1, "the loss after a step over the loss before it"),
                                  ("recovery", -1, "the loss before the next step over the loss after this one")):
            mean, se, n = outputs.mean_se(g[what])
            verdict = outputs.verdict(mean - 1, se, n)
            rep = _reproduces(verdict, float(sign))
            reps.append(rep)
            one, two = cite("no change (ratio)", 1), cite("verdict threshold (SE)", 2)
            where = {outputs.AHEAD: f"above {one} beyond {two} SE", outputs.BEHIND: f"below {one} beyond {two} SE",
                     outputs.INCONCLUSIVE: f"within {two} SE of {one}"}[verdict]
            se_text = f" ± {cite(f'recon/{d}/{what}/se', se, '.3f')}" if n >= 2 else ""
            lines.append(f"- {_display(d)}, {what}: {words}, {cite(f'recon/{d}/{what}', mean, '.3f')}{se_text} "
                         f"over {cite(f'recon/{d}/seeds', n)} seeds ({where}); the paper: "
                         f"{'above' if sign > 0 else 'below'} {one}: **{rep}**.")
    verdict = overall_verdict(reps)
    reason = (f"{cite('claims/reproduce', sum(r == findings.REPRODUCES for r in reps))} of "
              f"{cite('claims/compared', len(reps))} checks (the spike at a step, the recovery before the next) "
              f"have the paper's direction beyond {cite('verdict threshold (SE)', 2)} SE")
    return _finding(verdict, reason, cite, ["\n".join(lines), reconstruction_verdict(runset, cite),
                                            protocol_note(settings, cite)])


#: A win share no larger than a coin flip's: an interval reaching it cannot tell BRB's gains from chance.
CHANCE_SHARE = 50.0


def headline_findings(table: pd.DataFrame, settings) -> dict:
    """The headline: "reproduces" when the paper's win share (88.10 %) lies inside our 95 % Wilson interval and
    the interval lies above :data:`CHANCE_SHARE` (BRB wins more often than not); "inconclusive" when it lies
    inside an interval that reaches 50 % (too few runs to tell); "does not reproduce" when it lies outside the
    interval (either side); "not testable here" without paired runs. The reason says how many of the paired runs
    include a run flagged unhealthy, when any does."""
    cite = Cite()
    position = _win_share_position(table)
    text = headline_summary(table, cite)
    note = protocol_note(settings, cite)
    if not position:
        return _finding(findings.NOT_TESTABLE, "no paired plain and +BRB runs here", cite, [text, note])
    allr = table.set_index("quantity").loc[WIN_SHARE]
    paper = cite("paper win share (%)", PAPER_WIN_SHARE, ".2f")
    interval = (f"{cite('interval level (%)', 95)} % interval of {cite('paired runs', int(allr['runs']))} paired "
                f"runs here ({cite('win share low (%)', allr['ci_low'], '.1f')}-"
                f"{cite('win share high (%)', allr['ci_high'], '.1f')} %"
                + (f"; {cite('paired runs with a flagged run', int(allr['flagged']))} of them include a run flagged "
                   f"unhealthy" if allr["flagged"] else "") + ")")
    if position == "inside" and allr["ci_low"] <= CHANCE_SHARE:
        return _finding(findings.INCONCLUSIVE, f"the paper's {paper} % lies inside the {interval}, but so does a "
                        f"coin flip's {cite('chance win share (%)', CHANCE_SHARE, '.0f')} %", cite, [text, note])
    if position == "inside":
        return _finding(findings.REPRODUCES, f"the paper's {paper} % lies inside the {interval}, which lies above "
                        f"a coin flip's {cite('chance win share (%)', CHANCE_SHARE, '.0f')} %", cite, [text, note])
    side = "above" if position == "above" else "below"
    why = "BRB wins less often here" if position == "above" else "BRB wins more often here than the paper says"
    return _finding(findings.DOES_NOT_REPRODUCE, f"the paper's {paper} % lies {side} the {interval}: {why}", cite,
                    [text, note])


def deviations_findings(table: pd.DataFrame, settings) -> dict:
    """The deviations notebook tests no claim of the paper: not testable here, with the choices' effects."""
    cite = Cite()
    return _finding(findings.NOT_TESTABLE, "not a claim of the paper: the authors' code against its text, each "
                    "choice run both ways", cite, [deviations_summary(table, settings, cite)])


def dataset_findings(table: pd.DataFrame) -> dict:
    """Table 3 describes the data, it claims nothing: not testable here. The text compares each data set's loaded
    sample count with the paper's, from the notebook's table (columns Dataset, Status, "# Samples (loaded)",
    "# Samples (paper)", "# Features (as trained)")."""
    cite = Cite()
    lines, full, match = [], 0, 0
    for r in table.itertuples(index=False):
        name, status = r[table.columns.get_loc("Dataset")], r[table.columns.get_loc("Status")]
        loaded = r[table.columns.get_loc("# Samples (loaded)")]
        paper = r[table.columns.get_loc("# Samples (paper)")]
        features = r[table.columns.get_loc("# Features (as trained)")]
        k = f"tab03/{name}"
        said = cite(f"{k}/status", str(status))
        if status == "missing":
            lines.append(f"- **{name}**: {said} here (the paper's {_num(cite, k + '/paper', paper, ',')} samples).")
            continue
        if status == "loaded":
            full += 1
            match += int(loaded == paper)
        lines.append(f"- **{name}** ({said}): {_num(cite, k + '/loaded', loaded, ',')} samples, the paper's "
                     f"{_num(cite, k + '/paper', paper, ',')}; {_num(cite, k + '/features', features)} features as "
                     f"trained.")
    head = (f"Of the {cite('tab03/loaded in full', full)} data sets loaded in full here, "
            f"{cite('tab03/loaded in full with the paper count', match)} have the paper's sample count; the others "
            f"are substitutes or missing, row by row:")
    return _finding(findings.NOT_TESTABLE, "a description of the data sets, not a claim: the text compares the "
                    "loaded sample counts with the paper's", cite, [head + "\n" + "\n".join(lines)])


def settings_findings(table: pd.DataFrame, sources: Sequence[str],
                      reason: str = "a table of settings, not a claim") -> dict:
    """A table of settings (Tables 5-7): not testable here; the text says which objects of
    :mod:`dcutils.hparams` its values come from."""
    cite = Cite()
    names = " and ".join(f"`dcutils.hparams.{s}`" for s in sources)
    text = (f"The {cite('settings', len(table))} rows above are read from {names}, the "
            f"object{'s' if len(sources) > 1 else ''} the training code takes its values from: they are what the "
            f"runs use, not a result to reproduce.")
    return _finding(findings.NOT_TESTABLE, reason, cite, [text])
