"""Each R-DC item's verdict on the paper's claim, with the numbers behind it (the ``*_findings`` functions).

The rule (below, and in each function's docstring) is applied to per-seed differences read from the
runs through :mod:`dcutils.rdc.frames`, :mod:`dcutils.rdc.tables` and :mod:`dcutils.rdc.figures`; the
text of a finding is the item's Markdown from :mod:`dcutils.rdc.texts` and :mod:`dcutils.rdc.tables`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from dcutils import claims, findings, health
from dcutils.findings import Cite, overall_verdict
from dcutils.profiles import Settings
from dcutils.rdc.figures import (
    gain_frame,
    geometry_gaps,
    noise_frame,
    paradigm_per_seed,
    paradigm_summary,
    pca_per_seed,
    pca_separation,
    phase_history,
    start_and_end,
    twist_summary,
)
from dcutils.rdc.frames import (
    METHOD_NAME,
    STABLE_SPREAD,
    _num,
    display_name,
    flagged_runs,
    health_note,
    missing_text,
    protocol_note,
)
from dcutils.rdc.tables import (
    ablation_table,
    ablation_verdict,
    cell,
    checkpoint_text,
    claims_text,
    clustering_table,
    paired_claims,
    runtime_ratios,
    runtime_table,
    runtime_verdict,
    stopping_table,
    verdict_methods,
)
from dcutils.rdc.texts import (
    accuracy_verdict,
    algorithm_verdict,
    gain_verdict,
    geometry_verdict,
    noise_verdict,
    paradigm_verdict,
    pca_text,
    purity_verdict,
    sensitivity_verdict,
    twist_verdict,
)
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# findings: each item's verdict on the paper's claim, with the numbers behind it
#
# Each ``*_findings`` function returns ``{"verdict", "reason", "values", "text"}`` for
# :func:`dcutils.outputs.save_findings`; the text is the notebook's "What we see" and every number in it is
# cited in ``values``. A claim is checked on per-seed differences (mean ± SE over seeds): it reproduces when the
# mean lies beyond 2 SE on the paper's side, does not when beyond 2 SE on the other side, and is inconclusive
# in between. With one seed there is no SE: the check is inconclusive ("one seed") unless the effect lies on
# the other side of the claim by more than the check's stated wide margin.

#: With one seed, a spread beyond this many times :data:`STABLE_SPREAD` contradicts robustness by a wide margin.
WIDE_FACTOR = 3
#: A clustering phase that "adds little" gains less than this many points of ACC over k-means after pretraining.
LITTLE_GAIN = 5.0


def reproduces(verdict: str, sign: float) -> str:
    """A paired direction (ahead / behind / inconclusive) against the paper's direction ``sign`` (+1 / -1):
    :func:`dcutils.claims.judge`."""
    return claims.judge(verdict, sign)


#: ``a − b`` over the seeds both have (:func:`dcutils.claims.differences`).
paired_difference = claims.differences


def seed_check(diffs: Iterable[float], sign: int, margin: float) -> tuple[str, float, float, int]:
    """(verdict, mean, SE, seeds) of per-seed differences whose sign the paper claims is ``sign``
    (:func:`dcutils.claims.check`): the 2-SE rule from two seeds; one seed contradicts the claim only beyond
    ``margin`` against it."""
    return claims.check(diffs, sign, margin)


def _check_words(cite: Cite, key: str, mean: float, se: float, n: int, spec: str, unit: str = "") -> str:
    """"-14.4 ± 4.0 points over 3 seeds" / "-0.3 points on one seed", cited."""
    if n >= 2:
        return (f"{_num(cite, key, mean, '+' + spec)} ± {_num(cite, key + '/se', se, spec)}{unit} over "
                f"{cite(key + '/seeds', n)} seeds")
    return f"{_num(cite, key, mean, '+' + spec)}{unit} on one seed"


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


# ----------------------------------------------------------------------------
# the items' findings


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
    several = f["dataset"].nunique() > 1
    groups = list(f.groupby(["dataset", "variant"], sort=False))
    names = [f"{METHOD_NAME[m]} ({display_name(d)})" if several else METHOD_NAME[m] for (d, m), _ in groups]
    if not names:
        return _finding(findings.NOT_TESTABLE, f"no runs at profile {settings.profile}", cite, [missing_text(settings)])
    verdict, i_below, i_above = claims.all_below([claims.mean_se(g["gain"]) for _, g in groups], LITTLE_GAIN)
    below, above = [names[i] for i in i_below], [names[i] for i in i_above]  # the engine's rule 11
    if verdict == findings.DOES_NOT_REPRODUCE:
        reason = (f"the clustering phase of {', '.join(above)} gains more than {bound} points of ACC beyond "
                  f"{two} SE")
    elif verdict == findings.REPRODUCES:
        reason = f"every method's gain (+ {two} SE) stays below {bound} points of ACC"
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
    n = int(cells["n"].min())
    noise = math.hypot(hi["se"], lo["se"]) if n >= 2 else math.nan
    verdict = claims.stable(spread, noise, n, STABLE_SPREAD, WIDE_FACTOR)  # rule 8
    if n < 2:
        wide = cite("one-seed wide spread (points)", WIDE_FACTOR * STABLE_SPREAD, "g")
        if verdict == findings.DOES_NOT_REPRODUCE:
            return verdict, (f"one seed, but {shown}, above {wide} points, "
                             f"{cite('one-seed wide factor', WIDE_FACTOR)} times the {bound} points counted as stable")
        return verdict, (f"one seed: {shown} (stable means within {bound} points; one seed contradicts it only "
                         f"beyond {wide})")
    two = cite("verdict threshold (SE)", claims.THRESHOLD_SE)
    shown += f" ± {cite(key + '/ACC spread/se', noise, '.1f')} points"
    if verdict == findings.REPRODUCES:
        return verdict, f"{shown}, within {bound} points beyond {two} SE"
    if verdict == findings.DOES_NOT_REPRODUCE:
        return verdict, f"{shown}, above {bound} points beyond {two} SE"
    return verdict, f"{shown}: within {two} SE of the {bound} points counted as stable"


def _cells(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    return (frame.groupby(list(keys))["acc"].agg(mean="mean", n="count",
                                                 se=lambda x: claims.mean_se(x)[1]).reset_index())


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
        check = reproduces(claims.direction(r["ratio"] - 1, se, r["seeds"]), float(np.sign(r["paper"] - 1)))
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
