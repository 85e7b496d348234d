"""BRB's Markdown texts ("What we see") of the tables and figures, every number cited.

Text for a notebook's "What we see" cites every number through a :class:`dcutils.findings.Cite` (the
``cite`` argument): +BRB against plain and each baseline (:func:`variant_verdict`,
:func:`comparisons_summary`), the headline (:func:`headline_summary`), the final values per cell
(:func:`curve_verdict`), the reconstruction loss (:func:`reconstruction_verdict`) and the deviations
(:func:`deviations_summary`). Each text says how many of its comparisons rest on a run flagged unhealthy
(:func:`flagged_cells`), also when none does.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dcutils import claims, health
from dcutils.brb.claims import MAX_LISTED
from dcutils.brb.grid_frames import (
    METRIC_NAME,
    PAPER_OVERHEAD,
    PAPER_WIN_SHARE,
    VARIANT_NAME,
    _cell,
    _display,
    _num,
    _paired,
    algorithm_label,
    finals,
    history,
    paper_cells,
)
from dcutils.brb.grid_tables import (
    AHEAD_ALL,
    AHEAD_PLAIN,
    BASELINES,
    OVERHEAD,
    WIN_SHARE,
    brb_vs_plain,
    paired_table,
)
from dcutils.findings import Cite
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# Tables 13-15


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
# headline


def _win_share_position(table: pd.DataFrame) -> str:
    """Where the paper's win share lies against our interval: "inside", "above" or "below" ("" without runs)."""
    allr = table.set_index("quantity").loc[WIN_SHARE]
    if not allr["runs"]:
        return ""
    return claims.share_position(PAPER_WIN_SHARE, allr["ci_low"], allr["ci_high"])


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
# per-item views


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
# brb/deviations


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
