"""Tables, a figure and findings of BRB's contrastive items (Tables 1, 11, 16, 17; the Table 7 view), from runs.

Every function takes the runs of ``brb.contrastive`` (:class:`dcutils.runs.RunSet`, or its tidy frames) and the
item's settings (:mod:`dcutils.brb.contrastive_settings`); nothing here trains. Metrics are stored as fractions
and shown in percent. A run is read at four **stages**: after pretraining (k-means on the SimCLR network, Table
1's "Pretraining + k-means": the ``*_pretrain`` finals), before self-labeling (the end of clustering,
``*_cluster``: Table 17, Table 11), after self-labeling (its last epoch, ``*_selflabel``: Tables 1 and 16) and
the best self-labeling epoch (``acc_selflabel_best``, chosen with the labels, as the paper reports "the best
performance after self-labeling"; shown, never judged).

**Comparisons** (:data:`ITEM_CHECKS`, :func:`comparisons`) pair seeds: each seed's +BRB run starts from the same
SimCLR network and seed as its plain run. Each check is a claim of the verdict engine (:meth:`Check.claim`,
:mod:`dcutils.claims`, whose rule this follows): the difference (points) averaged over the pairs with its SE,
ahead / behind / inconclusive at 2 SE, the pairs holding a run flagged unhealthy counted; a comparison with the
paper's direction (``sign``) **reproduces** when its verdict has that sign, **does not** when it has the other,
and stays inconclusive otherwise; the item's verdict is :func:`dcutils.claims.summary` over them.
Table 1 prints values, so its comparisons show the paper's difference of the same two rows per data set;
Tables 11 and 17 were lost in the text, so theirs carry the text's words. At the smoke and quick profiles
FMNIST stands in for CIFAR10 and CIFAR100-20 (:func:`substitute_note`, on every output); the paper's data sets
keep their rows with the paper's values only.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dcutils import claims, findings, health, outputs, paper_data, plotting
from dcutils.brb import contrastive_settings as cs
from dcutils.brb.analysis_plots import identical_ok
from dcutils.brb.contrastive import AUTHORS
from dcutils.brb.plots import _display, _finding, _num
from dcutils.core import get_algorithm
from dcutils.findings import Cite
from dcutils.hparams import BRB_CONTRASTIVE
from dcutils.items import data_spec
from dcutils.runs import RunSet

__all__ = ["STAGES", "Check", "ITEM_CHECKS", "finals", "run_datasets", "paper_datasets", "substitute_note",
           "provenance", "results_table", "wide_view", "WIDE_LEGEND", "comparisons", "comparisons_view",
           "COMPARISONS_LEGEND", "block_table", "plot_stages", "item_findings", "hyperparameter_table",
           "hyperparameter_findings", "identical_ok", "block_view", "BLOCK_LEGEND"]

METRICS = ("acc", "nmi", "ari")
METRIC_NAME = {"acc": "ACC", "nmi": "NMI", "ari": "ARI"}
#: The stages a run is read at (module docstring), in order.
STAGES = {"pretrain": "after pretraining (k-means)", "cluster": "before self-labeling",
          "selflabel": "after self-labeling", "selflabel_best": "best self-labeling epoch (chosen with the labels)"}
PRETRAIN_ROW = "Pretraining + k-means"
#: Table 11's rows, as the paper names the blocks (block 4 is next to the MLP head).
BLOCK_NAMES = {"none": "no block", "1": "block 1", "4": "block 4", "1+2": "blocks 1+2", "4+3": "blocks 4+3",
               "all": "all blocks"}
FLAG = health.flag_mark(True)


def algorithm(method: str, brb: bool) -> str:
    """The paper's row name, e.g. ``"IDEC+BRB"``."""
    return method.upper() + ("+BRB" if brb else "")


def blocks_label(blocks: str, mlp: bool, projector: bool = False) -> str:
    """A Table 11 row: ``"block 4 + MLP reset"`` (``+ projector reset``: the text's deviation)."""
    return f"{BLOCK_NAMES[blocks]} + {'MLP reset' if mlp else 'no MLP reset'}{' + projector reset' * projector}"


def finals(runset: RunSet) -> pd.DataFrame:
    """One row per run: its config columns, final metrics (fractions), ``flagged`` (the record's health check),
    ``algorithm`` (e.g. ``"DCN+BRB"``) and ``blocks`` (its Table 11 row)."""
    f = runset.finals()
    if f.empty:
        return f
    f["flagged"] = f["flagged"].fillna(False).astype(bool)
    f["algorithm"] = [algorithm(m, bool(b)) for m, b in zip(f["method"], f["brb"])]
    f["blocks"] = [blocks_label(b, bool(m), bool(p)) for b, m, p in zip(f["reset_blocks"], f["reset_mlp"],
                                                                        f["reset_projector"])]
    return f


# ----------------------------------------------------------------------------------------- data and stamps
def paper_datasets(settings) -> list[str]:
    """The paper's data sets of the item: CIFAR10 for Table 11, CIFAR10 and CIFAR100-20 for the others."""
    return ["cifar10"] if settings.item == "brb/tab11" else ["cifar10", "cifar100-20"]


def run_datasets(settings) -> list[str]:
    """The data sets the item's runs use at its profile (the ones it pins)."""
    names = settings["tab11_datasets"] if settings.item == "brb/tab11" else settings["datasets"]
    return [d for d in names if data_spec(settings.profile, d) is not None]


def data_label(settings, dataset: str) -> str:
    """How outputs name the data of ``dataset``, e.g. ``"FMNIST (3,000 / 2,000 balanced train / test images)"``."""
    n_train, n_test = settings["n_train"], settings["n_test"]
    size = "train / test splits" if n_train is None else f"{n_train:,} / {n_test:,} balanced train / test images"
    return f"{_display(dataset)} ({size})"


def substitute_note(settings) -> str | None:
    """The sentence every output carries when the profile runs other data than the paper's, else None."""
    subs = [d for d in run_datasets(settings) if d not in paper_datasets(settings)]
    if not subs:
        return None
    papers = " and ".join(_display(d) for d in paper_datasets(settings))
    return (f"Data: {', '.join(data_label(settings, d) for d in subs)} substitutes for {papers}, which profile "
            f"{settings.profile} does not run (no natural images offline; paper profile)")


def provenance(settings) -> outputs.Provenance:
    """Stamp of a contrastive item's output: its data (substitutes named), protocol and what it leaves out."""
    d = cs.design(settings.profile, settings)
    labels = [data_label(settings, x) + (f"; substitute for {' and '.join(map(_display, paper_datasets(settings)))}"
                                         if x not in paper_datasets(settings) else "") for x in run_datasets(settings)]
    notes = [f"{_display(x)} not run at {settings.profile} (paper profile)" for x in paper_datasets(settings)
             if x not in run_datasets(settings)]
    notes.append(f"ResNet18 width {settings['width']:g}, batch {settings['batch_size']}, SimCLR "
                 f"{settings['pretrain_epochs']} epochs, clustering {d['cluster_epochs']} epochs with T = "
                 f"{d['reset_interval_epochs']} ({d['brb_steps']} BRB steps), self-labeling {settings['sl_epochs']} "
                 f"epochs, {settings['precision']}")
    if settings.item == "brb/tab11" and _left_rows(settings):
        notes.append(f"left to the paper profile: {'; '.join(_left_rows(settings))}")
    return outputs.provenance(settings, datasets=labels, notes=notes)


def _left_rows(settings) -> list[str]:
    ran = set(cs.tab11_rows(settings))
    return [blocks_label(*r) for r in cs.tab11_rows(cs.profile_values("paper")) if r not in ran]


# ----------------------------------------------------------------------------------------- values (Tables 1, 16, 17)
def _long(runset: RunSet, stages: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (run, stage, metric) of the main runs: dataset, seed, row, stage, metric, value, flagged; the
    pretraining row once per (data set, seed), the mean over its runs (they share one network)."""
    f = finals(runset)
    cols = ["dataset", "seed", "row", "stage", "metric", "value", "flagged"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    f = f[(f["reset_blocks"] == "4") & f["reset_mlp"] & ~f["reset_projector"].astype(bool)]
    rows = []
    for m in metrics:
        if "pretrain" in stages:
            for (d, seed), g in f.groupby(["dataset", "seed"]):
                rows.append({"dataset": d, "seed": seed, "row": PRETRAIN_ROW, "stage": "pretrain", "metric": m,
                             "value": float(g[f"{m}_pretrain"].mean()), "flagged": False})
        for stage in (s for s in stages if s != "pretrain"):
            col = f"{m}_{stage}"
            if col not in f:
                continue
            rows += [{"dataset": r.dataset, "seed": r.seed, "row": r.algorithm, "stage": stage, "metric": m,
                      "value": getattr(r, col), "flagged": r.flagged} for r in f.itertuples()]
    return pd.DataFrame(rows, columns=cols)


def _paper(stages: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Table 1 as comparison cells: its rows at "after self-labeling" (the paper reports the best epoch after
    self-labeling), "Pretraining + k-means" at "after pretraining"."""
    p = paper_data.brb_contrastive()
    p = p[p["metric"].isin(metrics)].copy()
    p["stage"] = np.where(p["row"] == PRETRAIN_ROW, "pretrain", "selflabel")
    return p[p["stage"].isin(stages)].rename(columns={"value": "paper"})[["dataset", "row", "stage", "metric",
                                                                           "paper"]]


ROW_ORDER = [PRETRAIN_ROW, *(algorithm(m, b) for m in cs.METHODS for b in (False, True)), "SCAN", "GCC", "SeCu"]


def results_table(runset: RunSet, settings, stages: Sequence[str] = ("pretrain", "cluster", "selflabel"),
                  metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Paper vs ours per (data set, row, stage, metric): :func:`dcutils.outputs.comparison` (paper, ours mean ± SE
    over seeds, ours − paper, seeds), with ``flagged`` (runs flagged unhealthy behind the cell) and ``data`` (what
    the data set is here: its label, "substitute for ...", or "not run at <profile> (paper profile)")."""
    long = _long(runset, stages, metrics)
    table = outputs.comparison(long, _paper(stages, metrics), ["dataset", "row", "stage", "metric"], "value")
    flags = long.groupby(["dataset", "row", "stage", "metric"])["flagged"].sum() if len(long) else pd.Series(dtype=int)
    table["flagged"] = [int(flags.get((r.dataset, r.row, r.stage, r.metric), 0)) for r in table.itertuples()]
    ran, subs = run_datasets(settings), [d for d in run_datasets(settings) if d not in paper_datasets(settings)]
    table["data"] = [data_label(settings, d) + (" (substitute)" if d in subs else "") if d in ran
                     else f"not run at {settings.profile} (paper profile)" for d in table["dataset"]]
    order = {(d, r, s, m): i for i, (d, r, s, m) in enumerate(
        (d, r, s, m) for d in [*paper_datasets(settings), *subs] for r in ROW_ORDER for s in STAGES for m in METRICS)}
    table = table.assign(_o=[order.get(k, len(order)) for k in zip(table.dataset, table.row, table.stage,
                                                                    table.metric)])
    table = table.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    return table.assign(dataset=[_display(d) for d in table["dataset"]])


WIDE_LEGEND = ("Each cell: ours (mean ± SE over seeds; ⚠ a run behind it is flagged unhealthy) / the paper's value "
               "(ours − paper); — where a side has none. The paper prints its rows after self-labeling (the best "
               "epoch); ours is the last epoch.")


def wide_view(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout: its rows x "<data set> <metric>, <stage>" columns (a stage only where a cell has a
    value; "Pretraining + k-means" shows its one value in every stage column of its data set and metric)."""
    def cell(r) -> str:
        ours = "—" if not np.isfinite(r.reproduced) else (
            f"{r.reproduced:.2f}" + (f" ± {r.reproduced_se:.2f}" if r.seeds > 1 else "") + (FLAG if r.flagged else ""))
        paper = "—" if not np.isfinite(r.paper) else f"{r.paper:.2f}"
        diff = f" ({r.difference:+.2f})" if np.isfinite(r.difference) else ""
        return f"{ours} / {paper}{diff}"

    columns = list(dict.fromkeys((r.dataset, r.metric, r.stage) for r in table.itertuples() if r.row != PRETRAIN_ROW))
    out = {}
    for d, m, s in columns:
        sub = table[(table["dataset"] == d) & (table["metric"] == m)
                    & ((table["stage"] == s) | (table["row"] == PRETRAIN_ROW))]
        out[f"{d} {METRIC_NAME[m]}, {STAGES[s]}"] = {r.row: cell(r) for r in sub.itertuples()}
    wide = pd.DataFrame(out)
    wide = wide.reindex([r for r in ROW_ORDER if r in wide.index])
    wide.index.name = "row"
    return wide.fillna("")


# ----------------------------------------------------------------------------------------- comparisons
@dataclass(frozen=True)
class Check:
    """A paired comparison: the runs selected by ``a`` at ``stage_a`` minus those of ``b`` at ``stage_b``, in
    ``metric``; ``sign``: the paper's direction (+1 / -1), 0 = shown, not judged; ``paper``: the paper's words
    (Table 1's comparisons also show its difference of the same two rows)."""

    label: str
    a: dict = field(hash=False)
    b: dict = field(hash=False)
    metric: str = "acc"
    stage_a: str = "selflabel"
    stage_b: str = "selflabel"
    sign: int = 1
    paper: str = ""

    def what(self) -> str:
        stage = f" {STAGES[self.stage_a]}" if self.stage_a == self.stage_b else ""
        return f"{self.label}, {METRIC_NAME[self.metric]}{stage}"

    def claim(self) -> claims.Claim:
        """The check for the verdict engine: the metric's column at each side's stage, in points."""
        return claims.Claim(a=self.a, b=self.b, metric=f"{self.metric}_{self.stage_a}",
                            metric_b=f"{self.metric}_{self.stage_b}", sign=self.sign, paper=self.paper,
                            label=self.what(), scale=100.0)


def _brb_checks(stage: str, metric: str, sign: int, paper: str) -> list[Check]:
    return [Check(f"{algorithm(m, True)} − {algorithm(m, False)}", {"method": m, "brb": True},
                  {"method": m, "brb": False}, metric, stage, stage, sign, paper) for m in cs.METHODS]


T1 = "Table 1: BRB improves DEC, IDEC and DCN after SimCLR and self-labeling (IDEC and DCN by about 2-3 %)"
T16 = "Table 16 vs 17: with self-labeling even higher accuracies than without"
T17 = "Table 17: BRB always improves performance"


def _sl_checks() -> list[Check]:
    return [Check(f"{algorithm(m, b)}: after − before self-labeling", {"method": m, "brb": b}, {"method": m, "brb": b},
                  "acc", "selflabel", "cluster", 1, T16) for m in cs.METHODS for b in (False, True)]


#: Per item: the comparisons its notebook shows; those with a ``sign`` are its claim (its "Claim tested").
ITEM_CHECKS: dict[str, list[Check]] = {
    "brb/tab01": [*_brb_checks("selflabel", "acc", 1, T1), *_brb_checks("selflabel", "nmi", 0, T1),
                  *_brb_checks("selflabel", "ari", 0, T1), *_brb_checks("cluster", "acc", 0, T17)],
    "brb/tab16": [*_brb_checks("selflabel", "acc", 1, T1), *_sl_checks(),
                  *_brb_checks("selflabel_best", "acc", 0, "the paper's own reading: the best epoch")],
    "brb/tab17": _brb_checks("cluster", "acc", 1, T17),
}
H3_BEST = "resetting block 4 outperforms other block reset combinations"
H3_ALL = "resetting all ResNet blocks leads to a large drop in performance"
PROJECTOR = ("a deviation, not a claim: Appendix E's text resets the projector with every BRB step, the authors' "
             "configs (the runs behind the tables, our default) do not")


def _block_checks(settings) -> list[Check]:
    """Table 11 (H.3) over the rows run: block 4 minus every other row of the same MLP setting (+), all blocks
    minus none (−), block 1 minus none (shown: "does not induce any cluster improvement")."""
    rows, out = cs.tab11_rows(settings), []
    for mlp in dict.fromkeys(m for _, m, p in rows if not p):
        have = [b for b, m, p in rows if m == mlp and not p]
        sel = {b: {"reset_blocks": b, "reset_mlp": mlp, "reset_projector": False} for b in have}
        name = {b: blocks_label(b, mlp) for b in have}
        if "4" in have:
            out += [Check(f"{name['4']} − {name[b]}", sel["4"], sel[b], "acc", "cluster", "cluster", 1, H3_BEST)
                    for b in have if b != "4"]
        if {"all", "none"} <= set(have):
            out.append(Check(f"{name['all']} − {name['none']}", sel["all"], sel["none"], "acc", "cluster", "cluster",
                             -1, H3_ALL))
        if {"1", "none"} <= set(have):
            out.append(Check(f"{name['1']} − {name['none']}", sel["1"], sel["none"], "acc", "cluster", "cluster", 0,
                             "block 1 does not induce any cluster improvement over no block reset"))
    for b, m, _ in (r for r in rows if r[2] and (r[0], r[1], False) in rows):  # the projector deviation, shown
        with_p = {"reset_blocks": b, "reset_mlp": m, "reset_projector": True}
        out.append(Check(f"{blocks_label(b, m, True)} − {blocks_label(b, m)}", with_p, {**with_p,
                         "reset_projector": False}, "acc", "cluster", "cluster", 0, PROJECTOR))
    return out


def checks(settings) -> list[Check]:
    return _block_checks(settings) if settings.item == "brb/tab11" else ITEM_CHECKS[settings.item]


def _paper_diff(c: Check, dataset: str) -> float:
    """Table 1's difference of the check's two rows on ``dataset`` (NaN where Table 1 prints none)."""
    if c.stage_a != "selflabel" or c.stage_b != "selflabel" or not {"method", "brb"} <= set(c.a) | set(c.b):
        return math.nan
    p = paper_data.brb_contrastive()
    p = p[(p["dataset"] == dataset) & (p["metric"] == c.metric)]

    def value(sel: dict) -> float:
        v = p[(p["method"] == sel.get("method")) & (p["brb"] == sel.get("brb"))]["value"]
        return float(v.iloc[0]) if len(v) else math.nan

    return value(c.a) - value(c.b)


def comparisons(runset: RunSet, settings) -> pd.DataFrame:
    """Every check of the item (:func:`checks`) on every data set with runs of both sides, through the verdict
    engine (:func:`dcutils.claims.compare`): dataset, check (index), comparison, mean, se, pairs (points),
    verdict, sign, one ``paper <data set>`` column per paper data set (the paper's difference; NaN where it prints
    none), reproduces, flagged, note."""
    f = finals(runset)
    pcols = [f"paper {_display(d)}" for d in paper_datasets(settings)]
    cols = ["dataset", "check", "comparison", "mean", "se", "pairs", "verdict", "sign", *pcols, "reproduces",
            "flagged", "note"]
    ours = run_datasets(settings)
    if f.empty:
        return pd.DataFrame(columns=cols)
    items = checks(settings)
    comp = claims.compare(f[f["dataset"].isin(ours)], [c.claim() for c in items], by=["dataset"])
    comp = comp.assign(_d=[ours.index(d) for d in comp["dataset"]]).sort_values(["claim", "_d"], kind="stable")
    comp = comp.rename(columns={"claim": "check"}).assign(comparison=[items[i].what() for i in comp["claim"]])
    for pc, d in zip(pcols, paper_datasets(settings)):
        comp[pc] = [_paper_diff(items[i], d) for i in comp["check"]]
    return comp[cols].reset_index(drop=True)


COMPARISONS_LEGEND = ("Each row: the first minus the second, per seed (same SimCLR network and seed), mean ± SE "
                      "over the pairs in points, verdict at 2 SE; the paper's difference of the same two rows where "
                      "it prints them (Table 1; on its data sets, not ours); \"reproduces\" when our verdict has the "
                      "paper's direction. ⚠: a pair holds a run flagged unhealthy.")


def comparisons_view(comp: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparisons` for reading: data set names, the ⚠ note, without the index columns."""
    return comp.assign(dataset=[_display(d) for d in comp["dataset"]],
                       note=[f"{FLAG} {n}" if n else "" for n in comp["note"]]).drop(columns=["check", "sign"])


def block_table(runset: RunSet, settings) -> pd.DataFrame:
    """Table 11: per data set and row (blocks x MLP reset), ACC / NMI / ARI before self-labeling, mean ± SE over
    seeds (percent), seeds and flagged runs."""
    f = finals(runset)
    rows = []
    for d in run_datasets(settings):
        for b, m, p in cs.tab11_rows(settings):
            sel = {"reset_blocks": b, "reset_mlp": m, "reset_projector": p}
            g = claims.select(f[f["dataset"] == d], sel) if len(f) else f
            row = {"dataset": _display(d), "row": blocks_label(b, m, p), "seeds": len(g),
                   "flagged": int(g["flagged"].sum()) if len(g) else 0}
            for metric in METRICS:
                row[metric], row[f"{metric}_se"], _ = claims.mean_se(g[f"{metric}_cluster"] * 100) if len(g) else (
                    math.nan, math.nan, 0)
            rows.append(row)
    return pd.DataFrame(rows)


BLOCK_LEGEND = ("Each cell: mean ± SE over seeds (%), before self-labeling; ⚠ a run behind it is flagged unhealthy. "
                "The paper's values of Table 11 were lost in the text.")


def block_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`block_table` in the paper's layout: one row per block choice, "mean ± SE" per metric."""
    def cell(r, m: str) -> str:
        if not np.isfinite(r[m]):
            return "—"
        return f"{r[m]:.2f}" + (f" ± {r[m + '_se']:.2f}" if r["seeds"] > 1 else "") + (FLAG if r["flagged"] else "")

    return pd.DataFrame({"data set": table["dataset"], "block reset": table["row"], "seeds": table["seeds"],
                         **{METRIC_NAME[m]: [cell(r, m) for r in table.to_dict("records")] for m in METRICS}})


# ----------------------------------------------------------------------------------------- figure (Table 1)
def plot_stages(runset: RunSet, settings):
    """Per data set run: ACC of each method, plain and +BRB, before and after self-labeling (bars, each seed a dot
    up to three seeds), and the paired differences +BRB − plain per method and stage (mean ± 2 SE)."""
    plotting.style()
    f = finals(runset)
    datasets = run_datasets(settings) or [None]
    fig, axes = plt.subplots(len(datasets), 3, figsize=(10.5, 2.9 * len(datasets)), squeeze=False)
    for row, d in zip(axes, datasets):
        g = f[f["dataset"] == d] if len(f) else f
        for ax, stage in zip(row[:2], ("cluster", "selflabel")):
            data = pd.DataFrame({"method": g["method"].str.upper(), "variant": np.where(g["brb"], "BRB", "plain"),
                                 "acc": g[f"acc_{stage}"] * 100}) if len(g) else pd.DataFrame(
                columns=["method", "variant", "acc"])
            ax.set_ylabel("ACC (%)")
            ax.set_xlabel("")
            plotting.bars(ax, data, "method", "acc", hue="variant", order=[m.upper() for m in cs.METHODS],
                          hue_order=["plain", "BRB"], palette={"plain": plotting.color("plain"),
                                                               "BRB": plotting.color("brb")})
            ax.set_title(f"{_display(d) if d else 'no runs'}: {STAGES[stage]}")
        diffs = []
        for stage in ("cluster", "selflabel"):
            for m in cs.METHODS:
                a, b = (g[(g["method"] == m) & (g["brb"] == v)].set_index("seed")[f"acc_{stage}"] if len(g)
                        else pd.Series(dtype=float) for v in (True, False))
                diffs.append((f"{m.upper()}, {STAGES[stage]}", (a - b) * 100))
        plotting.paired_differences(row[2], diffs, xlabel="+BRB − plain, ACC (points)")
        row[2].set_title("paired over seeds")
    plotting.mark_profile(fig, settings.profile, f"{f['seed'].nunique() if len(f) else 0} seed(s)")
    plotting.mark_substitute(fig, substitute_note(settings))
    fig.tight_layout()
    plotting.legend_outside(fig)
    return fig


# ----------------------------------------------------------------------------------------- findings
def _comparison_line(cite: Cite, r: dict, c: Check, settings) -> str:
    """One judged comparison (a :func:`comparisons` row as a dict) against the paper, every number cited."""
    k = f"compare/{r['dataset']}/{c.what()}"
    se = f" ± {_num(cite, k + '/se', r['se'], '.1f')}" if r["pairs"] >= 2 else ""
    flag = (f" ({FLAG} rests on {cite(k + '/flagged pairs', int(r['flagged']))} of these pairs with a run flagged "
            "unhealthy)" if r["flagged"] else "")
    printed = [f"{_num(cite, f'{k}/paper/{d}', r[f'paper {_display(d)}'], '+.1f')} on {_display(d)}"
               for d in paper_datasets(settings) if np.isfinite(r[f"paper {_display(d)}"])]
    paper = f"Table 1: {', '.join(printed)}" if printed else f"\"{cite(k + '/paper', c.paper)}\""
    return (f"- {cite(k + '/what', c.what())}, {_display(r['dataset'])}: {_num(cite, k, r['mean'], '+.1f')}{se} "
            f"points over {cite(k + '/pairs', int(r['pairs']))} paired seeds ({r['verdict']}){flag}; the paper: "
            f"{paper}: **{r['reproduces']}**.")


def _verdict(comp: pd.DataFrame, settings, cite: Cite) -> tuple[str, str]:
    judged = claims.summary(comp, cite)
    if judged is None:
        return findings.NOT_TESTABLE, (f"no comparison of the paper's claim has runs of both sides at profile "
                                       f"{settings.profile}: left to the paper profile")
    verdict, reason = judged
    if substitute_note(settings):
        ours, theirs = (" and ".join(map(_display, ds)) for ds in (run_datasets(settings), paper_datasets(settings)))
        reason += f"; on {ours} in place of {theirs}"
    return verdict, reason


def _values_text(runset: RunSet, settings, cite: Cite) -> str:
    f = finals(runset)
    if f.empty:
        return "No runs."
    lines = []
    if settings.item == "brb/tab11":
        for r in block_table(runset, settings).itertuples():
            if r.seeds:
                k = f"mean/{r.dataset}/{r.row}"
                se = f" ± {_num(cite, k + '/acc/se', r.acc_se, '.1f')}" if r.seeds > 1 else ""
                lines.append(f"- {cite(k + '/row', r.row)} ({r.dataset}, {cite(k + '/seeds', r.seeds)} seeds): ACC "
                             f"{_num(cite, k + '/acc', r.acc, '.1f')}{se} before self-labeling"
                             + (f" {FLAG} {cite(k + '/flagged', r.flagged)} flagged" if r.flagged else "") + ".")
        return "Final values (mean ± SE over seeds, %):\n" + "\n".join(lines)
    stages = ("cluster", "selflabel") if settings.item != "brb/tab17" else ("cluster",)
    for d in run_datasets(settings):
        pre = claims.mean_se(f[f["dataset"] == d].groupby("seed")["acc_pretrain"].mean() * 100)
        k = f"mean/{d}"
        lines.append(f"- {_display(d)}, {PRETRAIN_ROW}: ACC {_num(cite, k + '/pretrain', pre[0], '.1f')} "
                     f"({cite(k + '/pretrain/seeds', pre[2])} seeds).")
        for m in cs.METHODS:
            for b in (False, True):
                g = f[(f["dataset"] == d) & (f["method"] == m) & (f["brb"] == b)]
                name = algorithm(m, b)
                parts = []
                for s in stages:
                    mean, se, n = claims.mean_se(g[f"acc_{s}"] * 100)
                    se_text = f" ± {_num(cite, f'{k}/{name}/{s}/se', se, '.1f')}" if n > 1 else ""
                    parts.append(f"{_num(cite, f'{k}/{name}/{s}', mean, '.1f')}{se_text} {STAGES[s]}")
                mark = f" {FLAG} {cite(f'{k}/{name}/flagged', int(g['flagged'].sum()))} flagged" if g[
                    "flagged"].any() else ""
                lines.append(f"- {_display(d)}, {name} ({cite(f'{k}/{name}/seeds', len(g))} seeds): ACC "
                             + ", ".join(parts) + f"{mark}.")
    return "Final values (mean ± SE over seeds, %):\n" + "\n".join(lines)


def protocol_note(settings, cite: Cite) -> str:
    """Markdown: the profile's protocol in optimizer steps, the paper's, and what is left to the paper profile."""
    d, p = cs.design(settings.profile, settings), cs.design("paper")
    pv = cs.profile_values("paper")
    text = (f"**Protocol at profile `{settings.profile}`** ({cite('protocol/seeds', len(settings.seeds))} paired "
            f"seeds, {settings['precision']}): ResNet18 (CIFAR stem) at width "
            f"{cite('protocol/width', settings['width'])}, mini-batches of "
            f"{cite('protocol/batch', settings['batch_size'])} = "
            f"{cite('protocol/steps per epoch', d['steps_per_epoch'], ',')} optimizer steps per epoch; one SimCLR "
            f"pretraining of {cite('protocol/pretraining epochs', settings['pretrain_epochs'])} epochs "
            f"({cite('protocol/pretraining steps', d['pretrain_steps'], ',')} steps); clustering "
            f"{cite('protocol/clustering epochs', d['cluster_epochs'])} epochs = "
            f"{cite('protocol/clustering steps', d['cluster_steps'], ',')} steps with a BRB step every T = "
            f"{cite('protocol/T', d['reset_interval_epochs'])} epochs = "
            f"{cite('protocol/steps between BRB steps', d['steps_between_brb'], ',')} steps "
            f"({cite('protocol/BRB steps', d['brb_steps'])} BRB steps); self-labeling "
            f"{cite('protocol/self-labeling epochs', settings['sl_epochs'])} epochs = "
            f"{cite('protocol/self-labeling steps', d['selflabel_steps'], ',')} steps, threshold "
            f"{cite('protocol/threshold', settings['threshold'])}. The paper: batch "
            f"{cite('paper/batch', pv['batch_size'])}, {cite('paper/pretraining epochs', pv['pretrain_epochs'], ',')} "
            f"SimCLR and {cite('paper/clustering epochs', pv['cluster_epochs'], ',')} clustering epochs with T = "
            f"{cite('paper/T', pv['reset_interval'])} ({cite('paper/BRB steps', p['brb_steps'])} BRB steps), "
            f"{cite('paper/seeds', len(pv['seeds']))} seeds (`make figures PROFILE=paper`, on a GPU).")
    note = substitute_note(settings)
    if note:
        text += f" {cite('protocol/data', note)}."
    if settings.item == "brb/tab11":
        ran = "; ".join(blocks_label(*r) for r in cs.tab11_rows(settings))
        text += (f" Rows run ({settings['tab11_method'].upper()}, read before self-labeling): "
                 f"{cite('protocol/rows', ran)}.")
        if _left_rows(settings):
            text += f" Left to the paper profile: {cite('protocol/left', '; '.join(_left_rows(settings)))}."
    return text


def _run_name(r) -> str:
    c = r.config
    return (f"{_display(c.dataset)} {algorithm(c['method'], c['brb'])} "
            f"({blocks_label(c['reset_blocks'], c['reset_mlp'], c['reset_projector'])}), seed {c.seed}")


def health_note(runset: RunSet, cite: Cite) -> str:
    """Markdown naming each run the health check flags, with its reasons (said also when none is)."""
    sick = [r for r in runset if health.is_flagged(r.meta)]
    if not sick:
        return (f"None of the {cite('health/runs', len(runset))} runs is flagged unhealthy by its health check "
                "(collapsed clusters, a growing loss, clusters without a confident image in self-labeling).")
    names = [cite(f"health/flagged/{i}", f"{_run_name(r)}: " + "; ".join(r.meta["health"].get("reasons", [])))
             for i, r in enumerate(sick)]
    return (f"{FLAG} **{cite('health/flagged runs', len(sick))} of {cite('health/runs', len(runset))} runs are flagged "
            f"unhealthy** by their health check; the tables mark them and every comparison resting on one says so:\n"
            + "\n".join(f"- {n}" for n in names))


def item_findings(runset: RunSet, settings) -> dict:
    """Findings of tab01, tab11, tab16 or tab17 (module docstring): the verdict over the item's claims, each
    comparison against the paper, the final values, the protocol and the flagged runs."""
    cite = Cite()
    comp = comparisons(runset, settings)
    verdict, reason = _verdict(comp, settings, cite)
    cks = checks(settings)
    judged = [_comparison_line(cite, r, cks[r["check"]], settings) for r in comp.to_dict("records")
              if cks[r["check"]].sign]
    missing = [c for i, c in enumerate(cks) if c.sign and not (comp["check"] == i).any()]
    parts = ["\n".join(judged)]
    if missing:
        parts.append(f"Not compared at profile `{settings.profile}` (no runs of both sides): "
                     + "; ".join(cite(f"missing/{i}", c.what()) for i, c in enumerate(missing)) + ".")
    shown = int((comp["sign"] == 0).sum())
    if shown:
        parts.append(f"The table's other {cite('shown comparisons', shown)} comparisons are shown, not judged.")
    parts += [_values_text(runset, settings, cite), protocol_note(settings, cite), health_note(runset, cite)]
    return _finding(verdict, reason, cite, parts)


# ----------------------------------------------------------------------------------------- Table 7
def hyperparameter_table() -> pd.DataFrame:
    """Table 7 as ``brb.contrastive`` runs it: :data:`dcutils.hparams.BRB_CONTRASTIVE`'s rows (the values the run
    takes its defaults from), then the authors' values the text lost or does not state
    (:data:`dcutils.brb.contrastive.AUTHORS`) and the run's self-labeling defaults; columns section, parameter,
    value, source."""
    d = get_algorithm("brb.contrastive").defaults
    rows = [(*r, "Table 7") for r in BRB_CONTRASTIVE.rows()]
    cfg = "the authors' config/contrastive/*.py (not in the text)"
    rows += [("Runs", "Seeds", ", ".join(map(str, AUTHORS["seeds"])), cfg),
             ("Pretraining", "Learning rate (AdamW)", f"{AUTHORS['pretrain_lr']:g}", cfg),
             ("Clustering", "Cluster loss weight", ", ".join(f"{v:g} ({k.upper()})"
                                                             for k, v in AUTHORS["cluster_weight"].items()), cfg),
             ("Clustering", "Contrastive loss weight", f"{AUTHORS['contrastive_weight']:g}", cfg),
             ("Clustering", "Learning-rate warm-up", f"linear from {AUTHORS['warmup_start']:g} × lr over "
                                                     f"{AUTHORS['warmup_epochs']} epochs", cfg),
             ("Clustering", "Gradient-norm clipping", f"{AUTHORS['grad_clip']:g}", cfg),
             ("BRB", "ResNet blocks reset", AUTHORS["reset_blocks"], cfg),
             ("BRB", "Reset factor step per block", f"{AUTHORS['alpha_step']:g} (block 4: α + step)", cfg),
             ("BRB", "Subsample size", f"{AUTHORS['recluster_subsample']:,}", cfg),
             ("BRB", "k-means n_init", str(AUTHORS["kmeans_n_init"]), cfg),
             ("BRB", "Reset projector", str(d["reset_projector"]),
              "the authors' configs (config/brb_config.py default); Appendix E's text: True, a deviation")]
    ours = "brb.contrastive's default (Table 7's self-labeling values were lost; SCAN's where it has one)"
    rows += [("Self-labeling", name, value, ours) for name, value in (
        ("Head warm-up", f"{d['sl_warmup_epochs']} epochs, Adam lr {d['sl_warmup_lr']:g}"),
        ("Epochs, batch size", f"{d['sl_epochs']}, {d['sl_batch']}"),
        ("Learning rate, weight decay", f"{d['sl_lr']:g}, {d['sl_weight_decay']:g}"),
        ("Confidence threshold", f"{d['threshold']:g}"),
        ("BatchNorm in the pseudo-label pass", d["pseudo_label_bn"]))]
    return pd.DataFrame(rows, columns=["section", "parameter", "value", "source"])


def hyperparameter_findings(table: pd.DataFrame) -> dict:
    """Table 7 claims nothing: not testable here; the text says where each group of rows comes from."""
    cite = Cite()
    counts = table["source"].value_counts()
    parts = [f"The {cite('rows', len(table))} rows are read from the objects `brb.contrastive` runs with: "
             + "; ".join(f"{cite(f'rows/{s}', int(n))} from {cite(f'source/{i}', s)}"
                         for i, (s, n) in enumerate(counts.items()))
             + ". The paper profile runs these values; the smoke and quick profiles shrink data, width, batch and "
               "epochs and state each value they change (`contrastive_settings`, `figures/SETTINGS.md`)."]
    return _finding(findings.NOT_TESTABLE, "a table of settings, not a claim", cite, parts)
