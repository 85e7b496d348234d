"""Each ReSL item's verdict on the paper's claim, with the numbers behind it (the ``*_findings`` functions).

Verdicts compare a variant with SCAN+SL paired over seeds (every run of a seed starts from the same
SCAN network and the same data order): mean ± SE of the per-seed difference, "ahead" / "behind"
beyond 2 SE, else inconclusive (:func:`dcutils.claims.paired`).

**The baseline must not degrade** (:func:`baseline_change`, :func:`gate`). A reset strategy is judged
against SCAN+SL; when self-labeling itself lowers ACC below the SCAN network it starts from (SCAN+SL
minus SCAN behind beyond 2 SE), a strategy that merely slows self-labeling looks better for the wrong
reason, so every reset verdict is then "inconclusive: the baseline degrades", and the texts state SCAN+SL
minus SCAN first. Runs flagged by their health check (:mod:`dcutils.health`: a cluster without
confident samples at the start or end, collapsed clusters) are counted in the tables and named in the
texts.

Each finding is (verdict, reason, values, text): every number of the text cited (:func:`num`,
:func:`pm`). The frames and labels it reads are in :mod:`dcutils.resl.frames`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from dcutils import claims, findings
from dcutils.profiles import Settings
from dcutils.resl import settings as rs
from dcutils.resl.frames import PAPER_LABELS, VARIANTS, _by_seed, best_cell, chosen_cells, ht_best_cell


def paired_vs_scan(fin: pd.DataFrame, variant: str, cell: str | None, metric: str, dataset: str) -> dict[str, Any]:
    """Paired difference (points) of ``variant`` (at ``cell``) minus SCAN+SL over seeds."""
    return claims.paired(_by_seed(fin, variant, cell, metric, dataset), _by_seed(fin, "SCAN+SL", None, metric,
                                                                                   dataset))


def precondition(hist: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """The premises of the paper's story under SCAN+SL, per seed: the confident fraction rises and NMI match falls.

    Confident fraction: last epoch minus epoch 0. NMI match: last epoch minus the first epoch at which it is
    defined (a confident sample exists). Both paired over seeds (points), with verdicts (ahead = rises).
    """
    sub = hist[(hist["dataset"] == dataset) & (hist["variant"] == "SCAN+SL")]
    last = sub["epoch"].max()
    conf_start = sub[sub["epoch"] == 0].set_index("seed")["confident_fraction"]
    conf_end = sub[sub["epoch"] == last].set_index("seed")["confident_fraction"]
    defined = sub.dropna(subset=["nmi_match"]).sort_values("epoch")
    nm_start = defined.groupby("seed")["nmi_match"].first()
    nm_end = sub[sub["epoch"] == last].set_index("seed")["nmi_match"]
    return {"confident": claims.paired(conf_end, conf_start), "nmi_match": claims.paired(nm_end, nm_start),
            "confident_start": float(conf_start.mean() * 100) if len(conf_start) else math.nan,
            "confident_end": float(conf_end.mean() * 100) if len(conf_end) else math.nan,
            "nmi_match_start": float(nm_start.mean() * 100) if len(nm_start) else math.nan,
            "nmi_match_end": float(nm_end.mean() * 100) if len(nm_end) else math.nan}


def baseline_change(frame: pd.DataFrame, metric: str = "acc", dataset: str | None = None) -> dict[str, Any]:
    """SCAN+SL minus the SCAN network it starts from, in points, paired over seeds (:func:`dcutils.claims.paired`).

    ``frame``: finals (:func:`finals`: ``metric`` minus ``<metric>_scan``) or, without that column, a history
    (:func:`history`: the last epoch minus epoch 0, the network before self-labeling); ``dataset`` None takes
    every row's.
    ``degrades`` is True when the change is behind beyond 2 SE.
    """
    sub = frame[frame["variant"] == "SCAN+SL"] if "variant" in frame else frame.iloc[0:0]
    if dataset is not None and len(sub):
        sub = sub[sub["dataset"] == dataset]
    if sub.empty:
        end = start = pd.Series(dtype=float)
    elif f"{metric}_scan" in sub:
        end, start = sub.set_index("seed")[metric], sub.set_index("seed")[f"{metric}_scan"]
    elif "epoch" in sub:
        end, start = _last(sub).set_index("seed")[metric], sub[sub["epoch"] == 0].set_index("seed")[metric]
    else:
        end = start = pd.Series(dtype=float)
    pr = claims.paired(end, start)
    return {**pr, "degrades": pr["verdict"] == claims.BEHIND}


def baseline_text(base: dict[str, Any], cite: findings.Cite) -> str:
    """"Self-labeling itself, SCAN+SL minus SCAN: ..." with every number cited, and what follows if it degrades."""
    text = (f"Self-labeling itself, SCAN+SL minus the SCAN network it starts from: "
            f"{pm(cite, 'sl_minus_scan', base)} ({base['verdict']}; in the paper self-labeling adds to SCAN).")
    if base["degrades"]:
        text += (" The baseline degrades, so a reset that slows self-labeling would look better for the wrong "
                 "reason: the reset verdicts below are inconclusive whatever their sign.")
    return text


def gate(verdict: str, reason: str | None, base: dict[str, Any]) -> tuple[str, str | None]:
    """A reset strategy's (verdict, reason), made inconclusive when the SCAN+SL baseline degrades (module
    docstring); unchanged otherwise, and for a verdict that is already not testable."""
    return claims.gate(verdict, reason, not base["degrades"], "the baseline degrades: SCAN+SL minus the SCAN network "
                       "is behind beyond 2 SE (the text gives it), so the reset comparison is not judged")


def _health_note(frame: pd.DataFrame, cite: findings.Cite) -> str:
    """" k of n runs are flagged unhealthy (...)" for a finals frame with ``flagged``; "" when none is."""
    if "flagged" not in frame or not frame["flagged"].astype(bool).any():
        return ""
    k = int(frame["flagged"].astype(bool).sum())
    return (f" {cite('flagged_runs', k)} of {cite('runs', len(frame))} runs are flagged unhealthy by their health "
            "check (a cluster without confident samples at the start or end of self-labeling, or collapsed "
            "clusters); the tables mark them.")


def verdict_of(pr: dict[str, Any], paper_sign: int) -> str:
    """A findings verdict from a paired comparison and the sign the paper claims (+1 ahead, -1 behind):
    :func:`dcutils.claims.judge` of its direction."""
    return claims.judge(pr["verdict"], paper_sign)


def verdict_and_reason(pr: dict[str, Any], paper_sign: int, within: str) -> tuple[str, str | None]:
    """:func:`verdict_of` and the reason a findings record needs when it is inconclusive: ``within`` names
    what stays within 2 SE of zero."""
    verdict = verdict_of(pr, paper_sign)
    return verdict, (within if verdict in findings.NEED_REASON else None)


def num(cite: findings.Cite, name: str, value: Any, spec: str = ".1f") -> str:
    """``cite(name, value, spec)``, or "undefined" for a missing or non-finite value (nothing cited)."""
    if value is None or not np.isfinite(value):
        return "undefined"
    return cite(name, value, spec)


def pm(cite: findings.Cite, name: str, pr: dict[str, Any], digits: int = 2) -> str:
    """"+1.23 ± 0.45 points over n seeds", every number cited ("not defined" without a finite pair)."""
    if not pr["n"] or not np.isfinite(pr["mean"]) or not np.isfinite(pr["se"]):
        return "not defined (no seed where both are defined)"
    return (f"{cite(name + '/mean', pr['mean'], f'+.{digits}f')} ± {cite(name + '/se', pr['se'], f'.{digits}f')} "
            f"points over {cite(name + '/n', pr['n'])} seeds")


# ---------------------------------------------------------------- findings: verdict, reason, values, text
Finding = tuple[str, "str | None", dict, str]


def _data_name(settings: Settings) -> str:
    names = rs.run_datasets(settings)
    return PAPER_LABELS.get(names[0], names[0]) if names else ""


def _cite() -> findings.Cite:
    """A Cite that already holds the 2 of the "2 SE" / "2 SD" rule the texts name."""
    cite = findings.Cite()
    cite("rule/k", 2)
    return cite


def _no_runs(settings: Settings) -> Finding:
    return (findings.NOT_TESTABLE, f"the {settings.profile} profile runs none of this item's data sets", {},
            "No runs at this profile.")


def precondition_text(pre: dict[str, Any], cite: findings.Cite) -> str:
    """The two premises under SCAN+SL in words, every number cited."""
    return (f"Under SCAN+SL the confident fraction of the training set goes from "
            f"{num(cite, 'pre/confident_start', pre['confident_start'])} % to "
            f"{num(cite, 'pre/confident_end', pre['confident_end'])} % (paired: "
            f"{pm(cite, 'pre/confident_change', pre['confident'], 1)}), and the NMI match of the confident set "
            + ("is never defined (no confident sample)." if not np.isfinite(pre["nmi_match_start"]) else
               f"from {num(cite, 'pre/nmi_match_start', pre['nmi_match_start'])} % at its first defined epoch "
               f"to {num(cite, 'pre/nmi_match_end', pre['nmi_match_end'])} % at the end (paired: "
               f"{pm(cite, 'pre/nmi_match_change', pre['nmi_match'], 1)})."))


def _last(hist: pd.DataFrame) -> pd.DataFrame:
    return hist[hist["epoch"] == hist["epoch"].max()]


def _series(hist: pd.DataFrame, variant: str, col: str, cell: str | None = None, how: str = "last") -> pd.Series:
    sub = hist[hist["variant"] == variant]
    if cell:
        sub = sub[sub["cell"] == cell]
    if how == "last":
        return _last(sub).set_index("seed")[col]
    return sub[sub["epoch"] > 0].groupby("seed")[col].mean()


def fig01_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 1): under SCAN+SL the confident fraction rises over training."""
    names = rs.run_datasets(settings)
    if not names or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    pre = precondition(hist, names[0])
    verdict, reason = verdict_and_reason(pre["confident"], +1, "the paired change over seeds is within 2 SE of zero")
    text = (f"{precondition_text(pre, cite)} The paper's Figure 1 shows the fraction rising on every data set; "
            f"here on {_data_name(settings)} it "
            + {claims.AHEAD: "rises beyond 2 SE.", claims.BEHIND: "falls beyond 2 SE."}.get(
                pre["confident"]["verdict"], "changes by less than 2 SE."))
    return verdict, reason, cite.values, text


def fig03_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 3): HT slows the fall of NMI match; premise: NMI match falls under SCAN+SL."""
    names = rs.run_datasets(settings)
    if not names or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    pre = precondition(hist, names[0])
    cell = ht_best_cell(settings)
    pr = claims.paired(_series(hist, "HT", "nmi_match", cell), _series(hist, "SCAN+SL", "nmi_match"))
    text = precondition_text(pre, cite) + (
        f" At the end of self-labeling HT's NMI match minus SCAN+SL's is {pm(cite, 'ht_minus_scan/nmi_match', pr)}"
        f" ({pr['verdict']}; the paper has HT ahead).")
    if pre["nmi_match"]["verdict"] != claims.BEHIND:
        return (findings.NOT_TESTABLE, f"the premise fails at {settings.profile}: under SCAN+SL the NMI match of the "
                "confident set does not fall beyond 2 SE, so there is no decay for HT to slow", cite.values,
                text + f" {settings.profile.capitalize()} cannot test the claim: the decay it is about does not "
                "happen here.")
    base = baseline_change(hist, dataset=names[0])
    verdict, reason = gate(*verdict_and_reason(pr, +1, "HT minus SCAN+SL is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text


def fig04_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figure 4, Section 5.3): HT changes cluster labels less (lower CL change) than SCAN+SL."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    cell = ht_best_cell(settings)
    cl = claims.paired(_series(hist, "HT", "cl_change", cell, "mean"), _series(hist, "SCAN+SL", "cl_change",
                                                                                  how="mean"), scale=1.0)
    acc = claims.paired(_series(hist, "HT", "acc", cell), _series(hist, "SCAN+SL", "acc"))
    nm = claims.paired(_series(hist, "HT", "nmi_match", cell), _series(hist, "SCAN+SL", "nmi_match"))
    text = (f"HT minus SCAN+SL, paired over seeds: mean CL change over the epochs "
            f"{pm(cite, 'ht_minus_scan/cl_change', cl)} ("
            + {claims.AHEAD: "HT higher", claims.BEHIND: "HT lower"}.get(cl["verdict"], "no clear difference")
            + f"; the paper: HT lower); final ACC "
            f"{pm(cite, 'ht_minus_scan/acc', acc)} ({acc['verdict']}); final NMI match "
            f"{pm(cite, 'ht_minus_scan/nmi_match', nm)} ({nm['verdict']}).")
    base = baseline_change(hist)
    verdict, reason = gate(*verdict_and_reason(cl, -1, "HT's CL change minus SCAN+SL's is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text


def injection_findings(hist: pd.DataFrame, fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Figures 2, 7): plasticity injection leaves ACC about where SCAN+SL ends.

    With one injection seed there is no paired SE; the yardstick of "similar" is SCAN+SL's own spread:
    |PI - SCAN+SL| of the same seed within 2 standard deviations of SCAN+SL's final ACC over seeds.
    """
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    pi = fin[fin["variant"] == "PI"].set_index("seed")["acc"] * 100
    scan = fin[fin["variant"] == "SCAN+SL"].set_index("seed")["acc"] * 100
    both = pd.concat([pi.rename("pi"), scan.rename("scan")], axis=1, join="inner")
    diff = float((both["pi"] - both["scan"]).mean()) if len(both) else math.nan
    sd = float(scan.std(ddof=1)) if len(scan) > 1 else math.nan
    if not (np.isfinite(diff) and np.isfinite(sd)):
        return (findings.INCONCLUSIVE, "one seed of SCAN+SL gives no spread to judge 'similar' against", cite.values,
                "Too few seeds to judge.")
    text = (f"Final ACC with injection minus without, same seed(s): {cite('pi_minus_scan/acc', diff, '+.2f')} "
            f"points over {cite('pi/seeds', len(both))} seed(s); SCAN+SL's final ACC varies by a standard deviation "
            f"of {cite('scan/acc_sd', sd, '.2f')} points over {cite('scan/seeds', len(scan))} seeds. The paper: all "
            "runs end at similar accuracy (no loss of trainability).")
    judged = claims.similar(diff, sd)  # rule 9
    similar = judged == findings.REPRODUCES
    base = baseline_change(fin)
    verdict, reason = gate(judged, None, base)
    return verdict, reason, cite.values, (baseline_text(base, cite) + " " + text
                                          + (" Within 2 SD: similar." if similar else " Beyond 2 SD: different.")
                                          + _health_note(fin, cite))


def sp_grid_findings(fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Appendix G.1): SP's accuracy improves as alpha increases (paired per seed and R)."""
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    sp = fin[fin["variant"] == "SP"]
    lo, hi = sp["alpha"].min(), sp["alpha"].max()
    a = sp[sp["alpha"] == hi].set_index(["seed", "every_paper"])["acc"]
    b = sp[sp["alpha"] == lo].set_index(["seed", "every_paper"])["acc"]
    pr = claims.paired(a, b)
    best = best_cell(fin, "SP")
    best_pr = paired_vs_scan(fin, "SP", best, "acc", rs.run_datasets(settings)[0])
    text = (f"ACC at alpha {cite('alpha_high', hi, 'g')} minus alpha {cite('alpha_low', lo, 'g')}, paired over "
            f"(seed, R): {pm(cite, 'sp/high_minus_low', pr)} ({pr['verdict']}; the paper: higher alpha better). "
            f"The best cell by mean ACC ({cite('sp/best_cell', best)}) minus SCAN+SL: "
            f"{pm(cite, 'sp_best_minus_scan', best_pr)} "
            f"({best_pr['verdict']}). Grid values are ours.")
    base = baseline_change(fin)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "the paired difference is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text + _health_note(fin, cite)


def ht_grid_findings(fin: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Appendix G.2): HT at mu = 0.995, R = 20 beats SCAN+SL."""
    if not rs.run_datasets(settings) or fin.empty:
        return _no_runs(settings)
    cite = _cite()
    d = rs.run_datasets(settings)[0]
    cell = ht_best_cell(settings)
    pr = paired_vs_scan(fin, "HT", cell, "acc", d)
    best = best_cell(fin, "HT")
    best_pr = paired_vs_scan(fin, "HT", best, "acc", d)
    mu, r = settings["ht_best"]
    text = (f"The paper's setting (mu {cite('paper/mu', mu, 'g')}, R {cite('paper/R', r, 'g')} in paper units) "
            f"minus SCAN+SL: {pm(cite, 'ht_paper_cell_minus_scan', pr)} ({pr['verdict']}). Our best cell "
            f"({cite('ht/best_cell', best)}) minus SCAN+SL: {pm(cite, 'ht_best_minus_scan', best_pr)} "
            f"({best_pr['verdict']}). Grid values "
            "are ours.")
    base = baseline_change(fin)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "the paired difference is within 2 SE of zero"), base)
    return verdict, reason, cite.values, baseline_text(base, cite) + " " + text + _health_note(fin, cite)


def _context(fin: pd.DataFrame, cite: findings.Cite) -> str:
    """How many batches each variant skipped for want of a confident sample."""
    scan = fin[fin["variant"] == "SCAN+SL"]
    if scan.empty:
        return ""
    cells = chosen_cells(fin)
    skipped = []
    for v in VARIANTS:
        sub = fin[fin["variant"] == v]
        if cells.get(v):
            sub = sub[sub["cell"] == cells[v]]
        if len(sub):
            skipped.append(f"{v} {num(cite, f'skipped/{v}', float(sub['skipped_batches'].mean()), '.0f')}")
    steps = int(scan["steps"].max() + scan["skipped_batches"].max())
    return (f" Batches skipped for want of a confident sample, of {cite('batches_per_run', steps)} per run (mean "
            "over seeds): " + ", ".join(skipped) + ".")


def results_findings(table: pd.DataFrame, metric: str, settings: Settings, fin: pd.DataFrame) -> Finding:
    """Claim (Tables 1, 4-6): HT beats SCAN+SL (its best cell, paired over seeds); SP and SP* reported alongside.

    The text states first what self-labeling does to the SCAN network (``fin``, :func:`baseline_change`; the
    verdict is gated by it, :func:`gate`), then the comparisons, how many batches each variant skipped and
    how many runs are flagged unhealthy.
    """
    ours = table[np.isfinite(table["vs_scan"])]
    if ours.empty:
        return _no_runs(settings)
    cite = _cite()
    parts = []
    for _, r in ours.iterrows():
        pr = {"mean": r["vs_scan"], "se": r["vs_scan_se"], "n": int(r["seeds"])}
        cell = f" at {cite(f'{r.dataset}/{r.variant}/cell', r['cell'])}" if r["cell"] else ""
        parts.append(f"{r['variant']}{cell} minus SCAN+SL: {pm(cite, f'{r.dataset}/{r.variant}_minus_scan', pr)} "
                     f"({r['verdict']})")
    ht = ours[ours["variant"] == "HT"].iloc[0]
    pr = {"mean": ht["vs_scan"], "se": ht["vs_scan_se"], "n": int(ht["seeds"]), "verdict": ht["verdict"]}
    label = {"acc": "ACC", "ari": "ARI", "nmi": "NMI"}[metric]
    base = baseline_change(fin, metric)
    text = (baseline_text(base, cite) + f" {label}, paired over seeds: " + "; ".join(parts) + ". The SP and HT "
            "cells are each strategy's best by mean ACC over the same seeds, as the paper chooses them, which "
            "favours the resets a little. The paper has HT ahead of SCAN+SL on every data set.")
    text += _context(fin, cite) + _health_note(fin, cite)
    verdict, reason = gate(*verdict_and_reason(pr, +1, "HT minus SCAN+SL is within 2 SE of zero"), base)
    return verdict, reason, cite.values, text


def nmi_match_findings(table: pd.DataFrame, hist: pd.DataFrame, settings: Settings) -> Finding:
    """Claim (Table 2): HT's confident set has a higher NMI match than SCAN+SL's at mid-run and at the end."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    cell = ht_best_cell(settings)
    run = settings["run"]
    out = {}
    for name, e in (("half", run["sl_epochs"] // 2), ("end", run["sl_epochs"])):
        sub = hist[hist["epoch"] == e]
        out[name] = claims.paired(sub[(sub["variant"] == "HT") & (sub["cell"] == cell)].set_index("seed")["nmi_match"],
                                   sub[sub["variant"] == "SCAN+SL"].set_index("seed")["nmi_match"])
    text = (f"HT minus SCAN+SL in NMI match after {cite('epochs_half', run['sl_epochs'] // 2)} epochs (the paper's "
            f"e=100): {pm(cite, 'half', out['half'])} ({out['half']['verdict']}); after "
            f"{cite('epochs_end', run['sl_epochs'])} epochs (e=200): {pm(cite, 'end', out['end'])} "
            f"({out['end']['verdict']}). The paper has HT ahead at both on every data set.")
    cite("paper/e100", 100)
    cite("paper/e200", 200)
    base = baseline_change(hist)
    text = baseline_text(base, cite) + " " + text
    checks = [verdict_of(out[k], +1) for k in out]
    verdict, reason = findings.overall_verdict(checks), None  # the engine's rule 7, as every item
    if verdict == findings.INCONCLUSIVE:
        reason = ("the two differences point opposite ways beyond 2 SE" if findings.DOES_NOT_REPRODUCE in checks
                  else "at least one of the two differences is within 2 SE of zero")
    return (*gate(verdict, reason, base), cite.values, text)


def algo1_findings(hist: pd.DataFrame, settings: Settings) -> Finding:
    """Algorithm 1's mechanics: HT resets exactly every R epochs (never after the last) and is evaluated per epoch."""
    if not rs.run_datasets(settings) or hist.empty:
        return _no_runs(settings)
    cite = _cite()
    ht = hist[(hist["variant"] == "HT") & (hist["cell"] == ht_best_cell(settings))]
    every = int(ht["every"].iloc[0])
    epochs = int(ht["epoch"].max())
    expected = [e for e in range(every, epochs) if e % every == 0]
    ok = all(sorted(g.loc[g["reset"].astype(bool), "epoch"].astype(int)) == expected for _, g in ht.groupby("seed"))
    rows_ok = all(len(g) == epochs + 1 for _, g in ht.groupby("seed"))
    text = (f"In every HT run the hare was reset to the tortoise after each {cite('R', every)} epochs "
            f"({cite('resets', len(expected))} resets in {cite('epochs', epochs)} epochs, none after the last), and "
            "the tortoise was evaluated after every epoch: " + ("as Algorithm 1 describes." if ok and rows_ok else
                                                             "NOT as scheduled."))
    # a procedure, not a claim of the paper (as brb's Algorithm 1); the text says whether the runs followed it
    return (findings.NOT_TESTABLE, "Algorithm 1 is a procedure, not a claim; the text checks that the runs followed it",
            cite.values, text)


def _from(cite: findings.Cite, i: int, value: str) -> str:
    """" <the paper profile's value>", cited; "" where it is one value per data set (the table shows them)."""
    return "" if " (" in value and "), " in value else f" {cite(f'from/{i}', value)}"


def hyperparameter_findings(table: pd.DataFrame) -> Finding:
    """Table 3 (:func:`dcutils.resl.tables.selflabel_hyperparameters`) claims nothing: the text says which of
    its rows the paper profile runs as the paper gives them, which it does not, and what the notebook's own
    profile (a column ``ours, <profile> profile (<data sets>)``) changes; every value it names is cited."""
    cite = findings.Cite()
    name = lambda r: f"{r['parameter']} ({r['section']})"  # noqa: E731
    other = table[~table["as the paper"]]
    text = (f"The paper profile runs {cite('rows/as_paper', int(table['as the paper'].sum()))} of the table's "
            f"{cite('rows', len(table))} rows as the paper gives them for every data set (the run's defaults are "
            "read from the same object, `dcutils.hparams.RESL_SELF_LABELING`).")
    if len(other):
        text += (" It differs in " + "; ".join(
            f"{name(r)}: the paper's {cite(f'paper/{i}', str(r['CIFAR10']))} for CIFAR10, ours "
            f"{cite(f'ours/{i}', r['ours, paper profile'])}" for i, r in other.iterrows())
            + ".")
    col = next((c for c in table.columns if c.startswith("ours, ") and c != "ours, paper profile"), None)
    if col is not None:
        changed = table[table[col] != table["ours, paper profile"]]
        label = col.removeprefix("ours, ")
        text += (f" The {label} changes {cite('changed', len(changed))} of them from the paper profile: "
                 + "; ".join(f"{name(r)}{_from(cite, i, r['ours, paper profile'])} → {cite(f'to/{i}', r[col])}"
                             for i, r in changed.iterrows())
                 + ". Why (a protocol in optimizer steps on a CPU of two cores; quick's confidence threshold by the "
                   "rule in `dcutils.resl.settings`; SCAN gives no normalisation constants for FMNIST, and the "
                   "paper profile runs the other normalisation too, in `resl/deviations`): `figures/SETTINGS.md` "
                   "and README.")
    return (findings.NOT_TESTABLE, "a table of settings (SCAN's self-labeling hyperparameters per data set), not a "
            "claim", cite.values, text)
