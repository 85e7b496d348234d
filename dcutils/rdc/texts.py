"""The Markdown texts of R-DC's figures: what each figure's runs show, next to the paper's claim.

Each ``*_verdict`` function (and :func:`pca_text`) returns Markdown whose every number is cited through a
:class:`dcutils.findings.Cite`, so the item's findings (:mod:`dcutils.rdc.verdicts`) carry them; the frames
they read are in :mod:`dcutils.rdc.figures`. :func:`algorithm_markdown` lists Algorithm 1's steps.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dcutils import claims, health
from dcutils.findings import Cite
from dcutils.rdc.figures import (
    gain_frame,
    noise_frame,
    phase_history,
    sensitivity_frame,
    start_and_end,
)
from dcutils.rdc.frames import (
    METHOD_NAME,
    PHASE2,
    STABLE_SPREAD,
    _num,
    _seeds_words,
    change_word,
    display_name,
    finals,
    history,
)
from dcutils.rdc.tables import _beats
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# Figures 2 and 16, Figure 1, Figure 3


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


def gain_verdict(runset: RunSet, profile: str, cite: Cite | None = None) -> str:
    """Markdown: the clustering phase's mean ACC gain per method (the paper: small)."""
    cite = Cite() if cite is None else cite
    f = gain_frame(runset)
    lines = [f"**Profile `{profile}`: ACC gain of the clustering phase over pretraining (points).**", ""]
    for (d, m), g in f.groupby(["dataset", "variant"], sort=False):
        mean, se, n = claims.mean_se(g["gain"])
        k = f"gain/{d}/{m}"
        lines.append(f"- {display_name(d)}, {METHOD_NAME[m]}: {_num(cite, k, mean, '+.1f')} ± "
                     f"{_num(cite, k + '/se', se, '.1f')} ({_seeds_words(cite, k + '/seeds', n)})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Figures 12-15


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
        a, sa, n = claims.mean_se(g["acc_start"])
        b, sb, _ = claims.mean_se(g["acc_end"])
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
# Algorithm 1


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
            + _cells_left_text(g, cite) + _flagged_cells_text(runset, g, cite))


def _cells_left_text(cells: pd.DataFrame, cite: Cite) -> str:
    """" The grid's other N cells ... are left to the paper profile." when the runs cover only part of the β × γ
    grid their axes span (quick's cross, :func:`dcutils.rdc.settings.sensitivity_cells`); "" otherwise."""
    left = cells["beta"].nunique() * cells["gamma"].nunique() - len(cells)
    if left <= 0:
        return ""
    return (f" The grid's other {cite('grid/cells left to paper', left)} cells, where β and γ both leave Table 2's "
            "values, are left to the paper profile (blank in the figure).")


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
    hold = "cell holds" if len(bad) == 1 else "cells hold"
    text = f" {health.flag_mark(True)} {cite('grid/flagged cells', len(bad))} {hold} a run flagged unhealthy: {names}."
    if ratios:
        whose = "Its run's" if len(bad) == 1 else "Their runs'"
        text += (f" {whose} core ratio averages {cite('grid/flagged core ratio', float(np.mean(ratios)), '.3f')} "
                 "over the second phase: nearly every point is core, so nearly none reconstructs its input "
                 "(Eq. 12), the term that anchors the decoder.")
    return text


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
