"""The paper's claims of BRB's analysis items (issue 13) and their verdicts, from cached runs.

The paper's claims are comparisons between two labels of one row (:class:`Comparison`; per item
:data:`ITEM_COMPARISONS`), tested on the final values paired over seeds (mean ± SE, ahead / behind /
inconclusive at 2 SE, :class:`Comparison` as a :class:`dcutils.claims.Claim`), under the verdict engine's rule
(:mod:`dcutils.claims`). Every number of a "What we see" text is cited through a
:class:`~dcutils.findings.Cite`. The cells' frames and notes are in :mod:`dcutils.brb.analysis_frames`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dcutils import claims, findings, health, metrics
from dcutils import claims as engine
from dcutils.brb.analysis_frames import (
    _protocol,
    _row_name,
    _rows,
    _scale,
    cell_finals,
    cell_table,
    cells_note,
    coinciding_text,
    component_table,
    embedding_snapshots,
)
from dcutils.brb.analysis_settings import FIG13_CLASSES
from dcutils.brb.plots import METRIC_NAME, PERCENT_METRICS, _finding, _num, protocol_note
from dcutils.findings import Cite
from dcutils.runs import RunSet

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

    def engine(self) -> engine.Claim:
        """This comparison for the verdict engine: the two cells' labels, the rows it is about."""
        where = {k: v for k, v in (("dataset", self.datasets), ("method", self.methods)) if v is not None}
        return engine.Claim({"label": self.a}, {"label": self.b}, self.metric, self.sign, paper=self.paper,
                            label=self.label(), where=where, scale=_scale(self.metric))

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


def comparisons(runset: RunSet, settings) -> pd.DataFrame:
    """Every comparison of the item in every row that has both cells, through the verdict engine
    (:func:`dcutils.claims.compare`): dataset, method, pretrain, claim (index), mean, se, pairs (a − b paired over
    seeds; points for percent metrics), verdict, sign, reproduces (:data:`dcutils.claims.SHOWN` for a comparison
    whose paper states no direction), flagged / note (pairs with a run flagged unhealthy on either side,
    :func:`dcutils.health.rests_on`)."""
    runs = cell_finals(runset, settings)
    cols = ["dataset", "method", "pretrain", "claim", "mean", "se", "pairs", "verdict", "sign", "reproduces",
            "flagged", "note"]
    rows = _rows(settings)
    if runs.empty or not rows:
        return pd.DataFrame(columns=cols)
    keys = ["dataset", "method", "pretrain"]
    comp = engine.compare(runs, [c.engine() for c in ITEM_COMPARISONS.get(settings.item, [])], by=keys)
    order = {key: i for i, key in enumerate(rows)}
    comp["_row"] = [order.get((r.dataset, r.method, bool(r.pretrain)), -1) for r in comp.itertuples()]
    comp = comp[comp["_row"] >= 0].sort_values(["claim", "_row"], kind="stable")
    return comp.assign(pretrain=comp["pretrain"].astype(bool))[cols].reset_index(drop=True)


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


def _verdict_of(comp: pd.DataFrame, claims: Sequence[Comparison], settings, cite: Cite) -> tuple[str, str]:
    judged = comp[comp["sign"] != 0] if len(comp) else comp
    if judged.empty:
        stated = [c for c in claims if c.sign]
        if not stated:
            return findings.NOT_TESTABLE, "the paper states no direction for this comparison (its values were " \
                                          "lost in the text); the numbers are shown, not judged"
        return findings.NOT_TESTABLE, (f"the paper's comparisons ({'; '.join(c.label() for c in stated)}) are about "
                                       f"rows profile {settings.profile} does not run: left to the paper profile")
    return engine.summary(comp, cite)


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
    return _finding(verdict, reason, cite, ["\n".join(lines), coinciding_text(runset, settings, cite),
                                            _means_text(runset, settings, metrics, cite), cells_note(settings, cite),
                                            _protocol(settings, cite)])


# ----------------------------------------------------------------------------
# Figures 3 and 13: a 2-D embedding before and after a BRB step


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
        why = ("no run here recorded its embedding around a BRB step" if settings["cells"] else
               f"no cell runs at profile {settings.profile}: left to the paper profile")
        return _finding(findings.NOT_TESTABLE, why, cite, [cells_note(settings, cite)])
    stats = pd.DataFrame([{"seed": r.config.seed, **_step_change(r)} for r in runs])
    parts = []
    for col, words, unit in (("changed", "samples whose cluster changes at the step (clusters matched)", " %"),
                             ("move", "centroid move over the mean distance between centroids", ""),
                             ("acc_before", "ACC just before the step", " %"),
                             ("acc_after", "ACC just after the step", " %")):
        mean, se, n = claims.mean_se(stats[col])
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
