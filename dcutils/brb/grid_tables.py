"""BRB's tables from cached runs: Tables 13-15 paper vs reproduced, the paired comparisons, the headline,
the per-item views and the deviations of the authors' code.

Every function takes a :class:`dcutils.runs.RunSet` (or a frame built from one) and returns a DataFrame;
each paired comparison (:func:`paired_table`, :func:`brb_comparisons`, :func:`deviations_table`) counts the
pairs with a run flagged unhealthy (``flagged``, ``note``). Their Markdown texts live in
:mod:`dcutils.brb.grid_texts`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dcutils import claims, health, outputs
from dcutils.brb.claims import ITEM_CLAIMS, claim_comparisons
from dcutils.brb.grid_frames import (
    PAPER_OVERHEAD,
    PAPER_WIN_SHARE,
    VARIANT_NAME,
    _display,
    _paired,
    _reproduces,
    algorithm_label,
    data_status,
    finals,
    history,
    paper_cells,
    used_datasets,
)
from dcutils.brb.settings import DEVIATIONS, PAPER_DATASETS, cell_runs
from dcutils.core import get_algorithm
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# Tables 13-15: paper vs reproduced


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
    behind / inconclusive at 2 SE, :func:`dcutils.claims.direction`). The
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


def brb_vs_plain(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Per (setting, method, data set): +BRB minus plain, paired over seeds (points), verdict and the paper's gain."""
    pairs = paired_table(runset, metric, variants=("brb",))
    if pairs.empty:
        return pd.DataFrame()
    out = pairs.rename(columns={"paired": "gain", "paired_se": "gain_se", "paper_diff": "paper_gain"})
    out["dataset"] = [_display(d) for d in out["dataset"]]
    return out.drop(columns=["variant"])


# ----------------------------------------------------------------------------
# Tables 13-15: +BRB against each baseline

#: What +BRB is compared with in Tables 13-15, in the paper's order.
BASELINES = ("none", "recluster", "reset")


def brb_comparisons(runset: RunSet, metric: str = "acc") -> pd.DataFrame:
    """Per (setting, method, data set, baseline of :data:`BASELINES`) with runs of both: +BRB minus the baseline.

    Each is :func:`paired_table` with that baseline: the difference per seed (points), its mean ± SE over the
    pairs, the verdict at 2 SE (:func:`dcutils.claims.paired`), the paper's difference of the same two cells
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
        low, high = claims.wilson_interval(k, n)
        rows.append({"quantity": what, "paper": paper, "reproduced": share, "ci_low": 100 * low,
                     "ci_high": 100 * high, "difference": share - paper, "runs": n,
                     "flagged": int(sub["flagged"].sum())})

    def ahead(what: str, comp: pd.DataFrame) -> None:
        k, n = int((comp["verdict"] == claims.AHEAD).sum()), len(comp)
        low, high = claims.wilson_interval(k, n)
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


# ----------------------------------------------------------------------------
# per-item views


def item_table(runset: RunSet, settings, metric: str = "acc") -> pd.DataFrame:
    """Paper vs reproduced final ``metric`` for the item's methods, variants, settings and data sets only."""
    table = variant_table(runset, metric, settings)
    labels = {algorithm_label(m, v) for m in settings["methods"] for v in settings["variants"]}
    settings_ = {("with pretraining" if p else "without pretraining") for p in settings["pretrain"]}
    shown = {_display(d) for d in used_datasets(settings)}
    keep = table["algorithm"].isin(labels) & table["setting"].isin(settings_) & table["dataset"].isin(shown)
    return table[keep].reset_index(drop=True)


def claims_table(runset: RunSet, settings) -> pd.DataFrame:
    """:func:`claim_comparisons` of a grid item's claims (:data:`ITEM_CLAIMS`), with readable names."""
    claims, _ = ITEM_CLAIMS[settings.item]
    comp = claim_comparisons(finals(runset), claims)
    return comp.assign(claim=[claims[i].label() for i in comp["claim"]],
                       dataset=[_display(d) for d in comp["dataset"]]).drop(columns="sign")


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
        stat = claims.paired(other, base)
        if len(runs):
            flag_base, flag_other = _deviation_pair(runs, d, "flagged")
            both = pd.concat([flag_base, flag_other], axis=1, join="inner").fillna(False).astype(bool)
            flagged = int(both.any(axis=1).sum())
        else:
            flagged = 0
        cm, cs, _ = claims.mean_se(base * 100)
        om, os_, _ = claims.mean_se(other * 100)
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
