"""The resl/deviations notebook: choices where SCAN's code could be followed or not, SCAN+SL run both ways.

Table, figure and findings from the runs' frames (the layer above training, beside :mod:`dcutils.resl.plots`,
whose labels and baseline check it reuses). Each row of :data:`dcutils.resl.settings.DEVIATIONS` pairs, per
data set and seed, the profile's SCAN+SL run (no resets; the very run of tab01, fig01, ...) with the SCAN+SL
run whose one parameter holds the row's other value. Both start from the same cached SCAN network with the
same data order, so the seeds pair.

Per side: the final ACC, what self-labeling does to the SCAN network it starts from (SCAN+SL minus SCAN,
:func:`dcutils.resl.plots.baseline_change`: "degrades" when behind beyond 2 SE), the start of self-labeling
(the SCAN network's confident training images, evaluated in eval mode, so the same network gives the same
share on both sides; and the share the pseudo-label pass itself gives a confident target, which depends on
the side's BatchNorm mode), the clusters without a confident training image at the start and the end, and
the runs flagged by their health check (:mod:`dcutils.health`). The issue's rule: the profile should run the
value that keeps SCAN+SL from degrading the SCAN network; the texts say which value does, from the runs.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dcutils import claims, findings, health, outputs, plotting
from dcutils.findings import Cite
from dcutils.profiles import Settings
from dcutils.resl import plots as rp
from dcutils.resl import settings as rs
from dcutils.resl.settings import DEVIATIONS

__all__ = ["SIDES", "profile_values", "side_values", "side_frames", "deviations_table", "plot_deviations",
           "deviations_provenance", "not_run_text", "deviations_summary", "deviations_findings"]

#: The two sides of a row: the profile's value and the row's other value.
SIDES = ("profile", "other")
#: The colour of each side in the figure.
_COLOURS = {"profile": "C0", "other": "C3"}


def profile_values(settings: Settings) -> dict[str, Any]:
    """The profile's value of every parameter some row of :data:`DEVIATIONS` switches: {parameter: value}."""
    return {row["param"]: rs.deviation_values(settings, row)[0] for row in DEVIATIONS}


def side_values(settings: Settings, row: Mapping, side: str) -> dict[str, Any]:
    """The switched parameters of one side of ``row``: the profile's values, with ``row``'s parameter at its
    other value for side "other"."""
    values = profile_values(settings)
    if side == "other":
        values[row["param"]] = rs.deviation_values(settings, row)[1]
    elif side != "profile":
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    return values


def _select(frame: pd.DataFrame, values: Mapping, dataset: str) -> pd.DataFrame:
    """The SCAN+SL rows of ``frame`` on ``dataset`` with every parameter of ``values`` at its value."""
    if frame.empty or not {"variant", "dataset", *values} <= set(frame.columns):
        return frame.iloc[0:0]
    keep = (frame["variant"] == "SCAN+SL") & (frame["dataset"] == dataset)
    for k, v in values.items():
        keep &= frame[k] == v
    return frame[keep]


def side_frames(fin: pd.DataFrame, hist: pd.DataFrame, settings: Settings, row: Mapping, side: str,
                dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One side's runs: its finals (one row per seed, indexed by seed) and its history rows (every epoch).

    ``fin`` and ``hist`` are :func:`dcutils.resl.plots.finals` / :func:`~dcutils.resl.plots.history` frames."""
    values = side_values(settings, row, side)
    runs = _select(fin, values, dataset)
    return runs.drop_duplicates("seed").set_index("seed") if "seed" in runs else runs, _select(hist, values, dataset)


def _at_epoch(hist: pd.DataFrame, column: str, last: bool) -> pd.Series:
    """``column`` per seed at epoch 0 (the SCAN network, before self-labeling) or at each run's last epoch."""
    if hist.empty or column not in hist:
        return pd.Series(dtype=float)
    epochs = hist.groupby("seed")["epoch"].transform("max") if last else 0
    return pd.to_numeric(hist.loc[hist["epoch"] == epochs, column], errors="coerce").groupby(
        hist.loc[hist["epoch"] == epochs, "seed"]).first()


def _mean(values: pd.Series, scale: float = 1.0) -> float:
    return claims.mean_se(pd.Series(values, dtype=float) * scale)[0]


def _side_columns(side: str, fin: pd.DataFrame, hist: pd.DataFrame) -> dict[str, Any]:
    acc, acc_se, _ = claims.mean_se(fin["acc"] * 100) if "acc" in fin else (math.nan, math.nan, 0)
    base = rp.baseline_change(fin.reset_index() if fin.index.name == "seed" else fin)
    flagged = fin["flagged"].astype(bool) if "flagged" in fin else pd.Series(False, index=fin.index)
    return {f"{side}_acc": acc, f"{side}_se": acc_se,
            f"{side}_sl_minus_scan": base["mean"], f"{side}_sl_minus_scan_se": base["se"],
            f"{side}_sl_minus_scan_n": base["n"], f"{side}_sl_minus_scan_verdict": base["verdict"],
            f"{side}_degrades": bool(base["degrades"]),
            f"{side}_scan_acc": _mean(fin["acc_scan"], 100) if "acc_scan" in fin else math.nan,
            f"{side}_confident_start": _mean(_at_epoch(hist, "confident_fraction", False), 100),
            f"{side}_targets_start": _mean(_at_epoch(hist, "pseudo_confident_fraction", False), 100),
            f"{side}_unconfident_start": _mean(_at_epoch(hist, "unconfident_clusters", False)),
            f"{side}_unconfident_end": _mean(_at_epoch(hist, "unconfident_clusters", True)),
            f"{side}_flagged": int(flagged.sum())}


def _keeps(values: Mapping[str, Any], columns: Mapping[str, Any]) -> str:
    """Which values keep SCAN+SL from degrading the SCAN network (not behind beyond 2 SE): the values joined by
    ", ", "neither", or "" when a side has fewer than 2 seeds (no SE: nothing can be shown either way)."""
    if any(columns[f"{s}_sl_minus_scan_n"] < 2 for s in SIDES):
        return ""
    kept = [str(values[s]) for s in SIDES if not columns[f"{s}_degrades"]]
    return ", ".join(kept) or "neither"


def deviations_table(fin: pd.DataFrame, hist: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Per row of :data:`dcutils.resl.settings.DEVIATIONS` and data set the profile runs it on
    (:func:`dcutils.resl.settings.deviation_datasets`): the profile's value vs the other, SCAN+SL paired over
    seeds. A row with no such data set has no table row (:func:`not_run_text` says so).

    Parameters
    ----------
    fin, hist : :func:`dcutils.resl.plots.finals` and :func:`~dcutils.resl.plots.history` of the runs (finals
        with ``acc``, ``acc_scan`` and ``flagged``; histories with ``confident_fraction``,
        ``pseudo_confident_fraction`` and ``unconfident_clusters``; a missing column gives NaN)

    Returns
    -------
    DataFrame, one row per (choice, data set): choice, dataset, param, profile_value / other_value and
    profile_text / other_text (what each value means); per side (``profile_*``, ``other_*``): acc / se (final
    ACC, mean ± SE over seeds, percent), sl_minus_scan / _se / _n / _verdict (SCAN+SL minus the SCAN network,
    points, :func:`dcutils.resl.plots.baseline_change`) and degrades (behind beyond 2 SE), scan_acc (the SCAN
    network's ACC, percent), confident_start (training images above the threshold at the start, percent: the
    SCAN network in eval mode, the same on both sides), targets_start (the share the side's pseudo-label pass
    gives a confident target at the start, percent), unconfident_start / unconfident_end (clusters without a
    confident training image, mean over seeds) and flagged (runs flagged unhealthy); then paired / paired_se /
    pairs / verdict (other − profile per seed, points of ACC, :func:`dcutils.claims.paired`: ahead / behind /
    inconclusive at 2 SE), keeps (the values that keep SCAN+SL from degrading the SCAN network, "neither", or ""
    with fewer than 2 seeds a side), flagged_pairs (pairs with a run flagged on either side), flag
    (:func:`dcutils.health.flag_mark` when a pair holds a flagged run) and note (:func:`dcutils.health.rests_on`).
    """
    rows = []
    for row in DEVIATIONS:
        profile, other = rs.deviation_values(settings, row)
        values = {"profile": profile, "other": other}
        for d in rs.deviation_datasets(settings, row):
            out: dict[str, Any] = {"choice": row["choice"], "dataset": d, "param": row["param"],
                                   "profile_value": profile, "other_value": other,
                                   "profile_text": row["values"][profile], "other_text": row["values"][other]}
            sides = {s: side_frames(fin, hist, settings, row, s, d) for s in SIDES}
            for s in SIDES:
                out.update(_side_columns(s, *sides[s]))
            (p_fin, _), (o_fin, _) = sides["profile"], sides["other"]
            stat = claims.paired(o_fin["acc"] if "acc" in o_fin else pd.Series(dtype=float),
                                  p_fin["acc"] if "acc" in p_fin else pd.Series(dtype=float))
            flags = pd.concat([f["flagged"].astype(bool) if "flagged" in f else pd.Series(False, index=f.index)
                               for f in (p_fin, o_fin)], axis=1, join="inner")
            flagged_pairs = int(flags.any(axis=1).sum())
            out.update({"paired": stat["mean"], "paired_se": stat["se"], "pairs": stat["n"],
                        "verdict": stat["verdict"], "keeps": _keeps(values, out), "flagged_pairs": flagged_pairs,
                        "flag": health.flag_mark(flagged_pairs > 0), "note": health.rests_on(flagged_pairs, stat["n"])})
            rows.append(out)
    return pd.DataFrame(rows)


def _label(row: Mapping, value: Any, side: str) -> str:
    return f"{row['param']}={value!r}" + (" (the profile's)" if side == "profile" else " (the other)")


def plot_deviations(fin: pd.DataFrame, hist: pd.DataFrame, settings: Settings):
    """One row of panels per (choice, data set). Left: each seed's final ACC of SCAN+SL with each value, and the
    SCAN network it starts from (a grey bar per seed). Middle: the confident fraction of the training set per
    epoch (the evaluated network in eval mode). Right: the share of training images the pseudo-label pass
    gives a confident target per epoch (epoch 0: one pass before training). Each seed thin, their mean bold.
    Returns the figure."""
    plotting.style()
    panels = [(row, d) for row in DEVIATIONS for d in rs.deviation_datasets(settings, row)] or [(DEVIATIONS[0], None)]
    fig, axes = plt.subplots(len(panels), 3, figsize=(10.2, 2.9 * len(panels)), squeeze=False)
    for (row, d), (acc_ax, conf_ax, target_ax) in zip(panels, axes):
        name = rp.PAPER_LABELS.get(d, d) if d else "no data set run"
        scan = None
        for i, side in enumerate(SIDES):
            value = side_values(settings, row, side)[row["param"]]
            side_fin, side_hist = side_frames(fin, hist, settings, row, side, d) if d else (fin.iloc[0:0],
                                                                                          hist.iloc[0:0])
            colour, label = _COLOURS[side], _label(row, value, side)
            if len(side_fin):
                seeds = np.asarray(side_fin.index, dtype=float)
                acc_ax.plot(seeds + (-0.12 if i == 0 else 0.12), side_fin["acc"] * 100, "os"[i], color=colour,
                            ms=6, label=label, zorder=3)
                if i == 0 and "acc_scan" in side_fin:
                    scan = (seeds, side_fin["acc_scan"] * 100)
            for ax, col in ((conf_ax, "confident_fraction"), (target_ax, "pseudo_confident_fraction")):
                if len(side_hist) and col in side_hist:
                    frame = side_hist[["epoch", "seed", col]].assign(**{col: side_hist[col] * 100})
                    plotting.line_band(ax, frame, "epoch", col, label=label, line_color=colour)
        if scan is not None:  # one bar per seed: a reference, not a series (the same network on both sides)
            acc_ax.hlines(scan[1], scan[0] - 0.35, scan[0] + 0.35, colors="0.35", lw=2.0,
                          label="SCAN network (before self-labeling)", zorder=2)
        acc_ax.set_xlabel("seed")
        acc_ax.set_ylabel("final ACC (%)")
        if len(fin) and "seed" in fin:
            acc_ax.set_xticks(sorted(fin["seed"].unique()))
        acc_ax.set_title(f"{row['choice']}, {name}", fontsize=8)
        conf_ax.set_xlabel("self-labeling epoch")
        conf_ax.set_ylabel("confident training images (%)")
        conf_ax.set_title("eval mode, as evaluated", fontsize=8)
        target_ax.set_xlabel("self-labeling epoch")
        target_ax.set_ylabel("confident targets (% of images)")
        target_ax.set_title("the pseudo-label pass, per its mode", fontsize=8)
    seeds = len(fin["seed"].unique()) if len(fin) and "seed" in fin else 0
    plotting.mark_profile(fig, settings.profile, f"{seeds} seed(s), SCAN+SL without resets")
    plotting.mark_substitute(fig, rp._substitute_note(settings))
    fig.tight_layout()
    plotting.legend_outside(fig)
    return fig


def deviations_provenance(settings: Settings) -> outputs.Provenance:
    """Stamp of the deviations outputs: the data the runs used, their seeds and the protocol."""
    run = settings["run"]
    note = (f"SCAN+SL without resets from the shared SCAN network, {run['sl_epochs']} self-labeling epochs at batch "
            f"{run['sl_batch']}, threshold {run.get('threshold', 0.99):g}, {run['precision']}; the profile's "
            + ", ".join(f"{k}={v!r}" for k, v in profile_values(settings).items()))
    return outputs.provenance(settings, datasets=rp.dataset_labels(settings), notes=[note])


def _num(cite: Cite, name: str, value: float, spec: str = ".1f") -> str:
    return rp.num(cite, name, value, spec)


def _pm(cite: Cite, name: str, mean: float, se: float, n: int, spec: str = ".1f") -> str:
    text = _num(cite, name, mean, spec)
    return text + (f" ± {_num(cite, name + '/se', se, spec)}" if n >= 2 and np.isfinite(se) else "")


def _side_words(cite: Cite, k: str, side: str, r: Mapping) -> str:
    """"`eval` (what it means): ACC 58.1 ± 0.4 %, SCAN+SL − SCAN +0.52 ± 0.30 points over 3 seeds (inconclusive)"."""
    value = r[f"{side}_value"]
    base = {"mean": r[f"{side}_sl_minus_scan"], "se": r[f"{side}_sl_minus_scan_se"],
            "n": int(r[f"{side}_sl_minus_scan_n"])}
    degrades = ": it degrades the network" if r[f"{side}_degrades"] else ""
    acc = _pm(cite, f"{k}/{side}/acc", r[f"{side}_acc"], r[f"{side}_se"], base["n"])
    return (f"`{cite(f'{k}/{side}', value)}` ({r[f'{side}_text']}): ACC {acc} %, "
            f"SCAN+SL − SCAN {rp.pm(cite, f'{k}/{side}/sl_minus_scan', base)} "
            f"({r[f'{side}_sl_minus_scan_verdict']}{degrades})")


def _conclusion(cite: Cite, k: str, r: Mapping) -> str:
    """Which value keeps SCAN+SL from degrading the SCAN network, and whether the profile runs it."""
    profile, other = f"`{r['profile_value']}`", f"`{r['other_value']}`"
    if r["keeps"] == "":
        return ("With fewer than two seeds a side there is no standard error: this profile cannot show which value "
                "keeps SCAN+SL from degrading the SCAN network.")
    kept = r["keeps"].split(", ")
    if r["keeps"] == "neither":
        return (f"**Neither value keeps SCAN+SL from degrading the SCAN network** (both behind beyond "
                f"{cite('rule/k', 2)} SE); the profile runs {profile}.")
    if len(kept) == 2:
        return (f"**Both values keep SCAN+SL from degrading the SCAN network** (neither behind beyond "
                f"{cite('rule/k', 2)} SE); the profile runs {profile}, and {other} − {profile} is "
                f"{r['verdict']}.")
    keeper = f"`{kept[0]}`"
    runs_it = ("the profile runs it" if kept[0] == str(r["profile_value"]) else
               f"the profile runs {profile}, which degrades it")
    return (f"**Only {keeper} keeps SCAN+SL from degrading the SCAN network** (SCAN+SL − SCAN not behind beyond "
            f"{cite('rule/k', 2)} SE): {runs_it}.")


def not_run_text(settings: Settings) -> list[str]:
    """One Markdown line per row of :data:`DEVIATIONS` that the profile runs on none of its data sets: where the
    choice exists, and that the paper profile runs it both ways."""
    lines = []
    for row in DEVIATIONS:
        if rs.deviation_datasets(settings, row):
            continue
        where = ", ".join(rp.PAPER_LABELS.get(d, d) for d in row.get("datasets", ()))
        mine, other = rs.deviation_values(settings, row)
        lines.append(f"- **{row['choice']}** (`{row['param']}`): not run at {settings.profile}. The choice exists on "
                     f"{where} only, none of which this profile runs; it runs `{mine}` ({row['values'][mine]}), and "
                     f"the paper profile runs both values, paired. The other: `{other}` ({row['values'][other]}).")
    return lines


def deviations_summary(table: pd.DataFrame, settings: Settings, cite: Cite | None = None) -> str:
    """Markdown 'what we see' of :func:`deviations_table`, every number from it (cited through ``cite``), then
    the choices this profile does not run (:func:`not_run_text`)."""
    cite = Cite() if cite is None else cite
    if table.empty or not (table["profile_sl_minus_scan_n"].gt(0) | table["pairs"].gt(0)).any():
        return "\n".join(["No runs to compare.", *not_run_text(settings)])
    run = settings["run"]
    lines = [f"SCAN+SL without resets, {cite('sl_epochs', run['sl_epochs'])} self-labeling epochs from the shared "
             f"SCAN network, each choice run with the profile's value and with the other (verdicts at "
             f"{cite('rule/k', 2)} SE, paired over seeds; SCAN+SL − SCAN is self-labeling's change of the network "
             "it starts from, and \"degrades\" means behind beyond that rule):"]
    for _, r in table.iterrows():
        k = f"{r['choice']}/{r['dataset']}"
        name = rp.PAPER_LABELS.get(r["dataset"], r["dataset"])
        pairs = int(r["pairs"])
        paired = (f"`{r['other_value']}` − `{r['profile_value']}` paired "
                  + rp.pm(cite, f"{k}/other - profile", {"mean": r["paired"], "se": r["paired_se"], "n": pairs})
                  + f" ({r['verdict']})")
        start = (f"At the start the SCAN network (ACC {_num(cite, f'{k}/scan_acc', r['profile_scan_acc'])} %) has "
                 f"{_num(cite, f'{k}/confident_start', r['profile_confident_start'])} % of the training images "
                 f"confident in eval mode and "
                 f"{_num(cite, f'{k}/unconfident_start', r['profile_unconfident_start'], '.3g')} clusters without "
                 f"one; its first pseudo-label pass gives a confident target to "
                 f"{_num(cite, f'{k}/profile/targets_start', r['profile_targets_start'])} % of them with "
                 f"`{r['profile_value']}` and "
                 f"{_num(cite, f'{k}/other/targets_start', r['other_targets_start'])} % with `{r['other_value']}`. "
                 f"At the end, clusters without a confident image (mean over seeds): "
                 f"{_num(cite, f'{k}/profile/unconfident_end', r['profile_unconfident_end'], '.3g')} with "
                 f"`{r['profile_value']}`, "
                 f"{_num(cite, f'{k}/other/unconfident_end', r['other_unconfident_end'], '.3g')} with "
                 f"`{r['other_value']}`.")
        flagged = (f" Runs flagged unhealthy: {cite(f'{k}/profile/flagged', int(r['profile_flagged']))} with "
                   f"`{r['profile_value']}`, {cite(f'{k}/other/flagged', int(r['other_flagged']))} with "
                   f"`{r['other_value']}` ({health.flag_mark(True)} "
                   f"{cite(f'{k}/flagged pairs', int(r['flagged_pairs']))} of {cite(f'{k}/pairs', pairs)} pairs "
                   "hold a flagged run)."
                   if r["note"] else " No run is flagged unhealthy.")
        lines.append(f"- **{r['choice']}** (`{r['param']}`) on {name}, "
                     f"{cite(f'{k}/pairs', pairs)} paired seed(s). The profile's "
                     f"{_side_words(cite, k, 'profile', r)}; the other, {_side_words(cite, k, 'other', r)}; "
                     f"{paired}. {start}{flagged} {_conclusion(cite, k, r)}")
    return "\n".join(lines + not_run_text(settings))


def deviations_findings(table: pd.DataFrame, settings: Settings) -> dict:
    """The deviations notebook tests no claim of the paper: not testable here, with each choice's effect and
    which value keeps SCAN+SL from degrading the SCAN network.
    Returns {"verdict", "reason", "values", "text"} for :func:`dcutils.outputs.save_findings`."""
    cite = Cite()
    text = deviations_summary(table, settings, cite)
    return {"verdict": findings.NOT_TESTABLE, "reason": "not a claim of the paper: a choice of ours where SCAN's "
            "code could be followed or not, run both ways on SCAN+SL", "values": dict(cite.values), "text": text}
