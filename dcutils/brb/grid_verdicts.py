"""Each BRB item's verdict on the paper's claim, with the numbers behind it (the ``*_findings`` functions).

Each ``*_findings`` function returns ``{"verdict", "reason", "values", "text"}`` for
:func:`dcutils.outputs.save_findings`; the text is the notebook's "What we see" and every number in it is
cited in ``values`` (through a :class:`dcutils.findings.Cite`). A grid item's verdict is
:func:`overall_verdict` of its claims (:mod:`dcutils.brb.claims`) over its cells, and the texts of
:func:`grid_findings` and :func:`headline_findings` say how many verdicts rest on runs flagged unhealthy.
The texts of the figures and tables come from :mod:`dcutils.brb.grid_texts`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dcutils import claims, findings, health
from dcutils.brb.claims import ITEM_CLAIMS, MAX_LISTED, PERCENT_METRICS, Claim, claim_comparisons
from dcutils.brb.grid_figures import ratio_summary
from dcutils.brb.grid_frames import (
    PAPER_WIN_SHARE,
    VARIANT_NAME,
    _cell,
    _display,
    _num,
    _reproduces,
    finals,
    history,
    protocol_note,
)
from dcutils.brb.grid_tables import WIN_SHARE, brb_comparisons
from dcutils.brb.grid_texts import (
    _flag_note,
    _win_share_position,
    comparisons_summary,
    curve_verdict,
    deviations_summary,
    headline_summary,
    reconstruction_verdict,
    variant_verdict,
)
from dcutils.findings import Cite, overall_verdict
from dcutils.runs import RunSet


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
    mean, se, n = claims.mean_se(shift["after"] - shift["before"])
    verdict = claims.direction(mean, se, n)
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
            mean, se, n = claims.mean_se(g[what])
            verdict = claims.direction(mean - 1, se, n)
            rep = _reproduces(verdict, float(sign))
            reps.append(rep)
            one, two = cite("no change (ratio)", 1), cite("verdict threshold (SE)", 2)
            where = {claims.AHEAD: f"above {one} beyond {two} SE", claims.BEHIND: f"below {one} beyond {two} SE",
                     claims.INCONCLUSIVE: f"within {two} SE of {one}"}[verdict]
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
    verdict = claims.share_verdict(PAPER_WIN_SHARE, allr["ci_low"], allr["ci_high"], CHANCE_SHARE)  # rule 10
    if verdict == findings.INCONCLUSIVE:
        return _finding(findings.INCONCLUSIVE, f"the paper's {paper} % lies inside the {interval}, but so does a "
                        f"coin flip's {cite('chance win share (%)', CHANCE_SHARE, '.0f')} %", cite, [text, note])
    if verdict == findings.REPRODUCES:
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
