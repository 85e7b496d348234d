"""BRB's analysis items (issue 13): the runs as cells, their tables and notes, from cached runs.

The items' runs are **cells** (:mod:`dcutils.brb.analysis_settings`): a main-grid row (data set, method,
pretraining), a label and the parameters that differ. Here: the tidy frames of the cells' runs
(:func:`cell_finals`, :func:`cell_history`, :func:`cell_table`), their labels and colours, the notes and
stamps on the outputs (:func:`cells_note`, :func:`identical_ok`, :func:`analysis_provenance`), the runs
that recorded an embedding (:func:`embedding_snapshots`) and the time tables (:func:`runtime_table`,
Table 4; :func:`component_table`, Tables 8 and 10). The figures are in :mod:`dcutils.brb.analysis_figures`,
the comparisons and verdicts in :mod:`dcutils.brb.analysis_verdicts` (:mod:`dcutils.brb.analysis_plots`
re-exports them all).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dcutils import claims, health, outputs, plotting
from dcutils.brb.analysis_settings import cell_of
from dcutils.brb.plots import PERCENT_METRICS, _display, _label, protocol_note, provenance
from dcutils.findings import Cite
from dcutils.runs import RunSet

# ----------------------------------------------------------------------------
# runs as cells


def _key(c: dict) -> tuple:
    return c["dataset"], c["method"], bool(c["pretrain"])


def _with_cells(runset: RunSet, settings):
    """(run, its cell) for every run of ``runset`` that is one of the item's cells."""
    cells = cell_of(settings)
    for r in runset:
        c = cells.get(r.config)
        if c is not None:
            yield r, c


def cell_finals(runset: RunSet, settings) -> pd.DataFrame:
    """One row per run: dataset, method, pretrain, label (its cell), seed, the final metrics (fractions), the
    BRB step times (``t_*``: mean seconds per step; ``brb_share``: BRB seconds per step over a training epoch's
    seconds, %), and the CL change (%) of the epochs that start with a step (``cl_change``: all of them,
    ``cl_change_late``: the second half), and ``flagged``: the record flags the run unhealthy
    (:func:`dcutils.health.is_flagged`)."""
    rows = []
    for r, c in _with_cells(runset, settings):
        h = r.history
        steps = h[h["brb"].astype(bool)]
        row = {"dataset": c["dataset"], "method": c["method"], "pretrain": bool(c["pretrain"]), "label": c["label"],
               "seed": r.config.seed, "lr": r.config["lr"], "T": r.config["reset_interval"], "alpha": r.config["alpha"],
               **r.final, "seconds": float(r.meta.get("seconds", math.nan)), "flagged": health.is_flagged(r.meta)}
        for t in ("t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds"):
            row[t] = float(steps[t].mean()) if len(steps) else math.nan
        change = steps["cl_change"].dropna()
        row["cl_change"] = float(change.mean()) if len(change) else math.nan
        late = change.iloc[len(change) // 2:]
        row["cl_change_late"] = float(late.mean()) if len(late) else math.nan
        epoch_s = float(h["epoch_seconds"].iloc[1:].mean()) if len(h) > 1 else math.nan
        row["epoch_seconds"] = epoch_s
        row["brb_share"] = 100 * row["brb_seconds"] / epoch_s if epoch_s and len(steps) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cell_history(runset: RunSet, settings) -> pd.DataFrame:
    """One row per (run, epoch) with the run's cell (dataset, method, pretrain, label) and seed."""
    frames = []
    for r, c in _with_cells(runset, settings):
        frames.append(r.history.assign(dataset=c["dataset"], method=c["method"], pretrain=bool(c["pretrain"]),
                                       label=c["label"], seed=r.config.seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _labels(settings) -> list[str]:
    return list(dict.fromkeys(c["label"] for c in settings["cells"]))


def _color(settings, label: str) -> str:
    """Plain and BRB in the companion's colours, every other cell in the next colour of the cycle."""
    fixed = {"plain": plotting.color("none"), "BRB": plotting.color("brb"), "k-means": plotting.color("brb"),
             "100 %": plotting.color("brb"),
             "BRB (k-means)": plotting.color("brb")}
    if label in fixed:
        return fixed[label]
    others = [lb for lb in _labels(settings) if lb not in fixed]
    return f"C{(others.index(label) + 4) % 10}"


def _rows(settings) -> list[tuple]:
    return list(dict.fromkeys(_key(c) for c in settings["cells"]))


def _row_name(d: str, m: str, p: bool) -> str:
    return f"{m.upper()} {'with' if p else 'without'} pretraining, {_display(d)}"


def _scale(metric: str) -> float:
    return 100.0 if metric in PERCENT_METRICS else 1.0


def cell_table(runset: RunSet, settings, metrics: Sequence[str] = ("acc", "nmi", "ari")) -> pd.DataFrame:
    """Per cell: seeds and the mean ± SE over seeds of each metric (percent for ACC, NMI, ARI)."""
    runs = cell_finals(runset, settings)
    rows = []
    for c in settings["cells"]:
        g = runs[(runs["dataset"] == c["dataset"]) & (runs["method"] == c["method"])
                 & (runs["pretrain"] == c["pretrain"]) & (runs["label"] == c["label"])] if len(runs) else runs
        row = {"data set": _display(c["dataset"]), "method": c["method"].upper(),
               "pretraining": "with" if c["pretrain"] else "without", "cell": c["label"], "seeds": len(g)}
        for m in metrics:
            mean, se, _ = claims.mean_se(g[m] * _scale(m)) if len(g) and m in g else (math.nan, math.nan, 0)
            row[m], row[f"{m}_se"] = mean, se
        rows.append(row)
    return pd.DataFrame(rows)


def _series(runs: pd.DataFrame, key: tuple, label: str, metric: str) -> pd.Series:
    d, m, p = key
    g = runs[(runs["dataset"] == d) & (runs["method"] == m) & (runs["pretrain"] == p) & (runs["label"] == label)]
    return g.set_index("seed")[metric] if metric in g else pd.Series(dtype=float)


# ----------------------------------------------------------------------------
# notes and stamps on the outputs


def cells_note(settings, cite: Cite) -> str:
    """Markdown: the cells this profile ran and what it leaves to the paper profile."""
    rows = "; ".join(f"{_row_name(*key)}: " + ", ".join(
        cite(f"cells/{key[0]}/{key[1]}/{key[2]}/{i}", c["label"]) for i, c in enumerate(
            c for c in settings["cells"] if _key(c) == key)) for key in _rows(settings))
    text = (f"**Cells run at profile `{settings.profile}`** ({rows})." if rows
            else f"**No cell runs at profile `{settings.profile}`.**")
    if settings.get("left_out"):
        text += (f" Left to the paper profile: {cite('cells/left to the paper profile', settings['left_out'])} "
                 "(`make figures PROFILE=paper`).")
    return text


def _protocol(settings, cite: Cite) -> str:
    used = {c["dataset"] for c in settings["cells"] if not c["params"].get("classes")}
    if not used:
        return ""
    return protocol_note(_DatasetsView(settings, sorted(used)), cite)


class _DatasetsView:
    """``settings`` with ``datasets`` narrowed (for :func:`protocol_note`)."""

    def __init__(self, settings, datasets: list[str]):
        self._s, self._d = settings, datasets

    def __contains__(self, key: str) -> bool:
        return key != "focus" and key != "methods" and key in self._s

    def __getitem__(self, key: str):
        return self._d if key == "datasets" else self._s[key]

    def get(self, key: str, default=None):
        return self._d if key == "datasets" else (None if key == "rows" else self._s.get(key, default))

    def __getattr__(self, name: str):
        return getattr(self._s, name)


#: The curves of the cell figures whose coincidence :func:`identical_ok` explains, with their names.
CURVES = {"acc": "ACC", "cl_change": "CL change"}


def coinciding(runset: RunSet, settings, curve: str = "acc") -> pd.DataFrame:
    """Cells of one row whose ``curve`` is the same at every epoch on a seed (one line hides the other).

    Returns
    -------
    DataFrame, one row per (dataset, method, pretrain, seed, group of coinciding cells): ``labels`` (the cells,
    in the item's order, joined by ", ") and ``settled`` (the last epoch at which their common curve changes).
    Empty when no curves coincide.
    """
    cols = ["dataset", "method", "pretrain", "seed", "labels", "settled"]
    hist = cell_history(runset, settings)
    if hist.empty or curve not in hist:
        return pd.DataFrame(columns=cols)
    order = {lab: i for i, lab in enumerate(_labels(settings))}
    rows = []
    for (d, m, p, seed), g in hist.groupby(["dataset", "method", "pretrain", "seed"], sort=True):
        same: dict[bytes, list[str]] = {}
        for lab, h in g.groupby("label", sort=False):
            same.setdefault(h.sort_values("epoch")[curve].to_numpy(dtype=float).tobytes(), []).append(lab)
        for labs in same.values():
            if len(labs) < 2:
                continue
            h = g[g["label"] == labs[0]].sort_values("epoch")
            values, epochs = h[curve].to_numpy(dtype=float), h["epoch"].to_numpy()
            moves = [int(epochs[i]) for i in range(1, len(values)) if not (values[i] == values[i - 1]
                                                                           or np.isnan(values[i - 1:i + 1]).all())]
            rows.append({"dataset": d, "method": m, "pretrain": bool(p), "seed": int(seed),
                         "labels": ", ".join(sorted(labs, key=lambda x: order.get(x, len(order)))),
                         "settled": moves[-1] if moves else int(epochs[0])})
    return pd.DataFrame(rows, columns=cols)


def coinciding_text(runset: RunSet, settings, cite: Cite | None = None, curves: dict[str, str] | None = None) -> str:
    """Per curve and row, the cells whose curves coincide on some seed (:func:`coinciding`), with the seeds and
    the last epoch at which that curve moves; "" when none do."""
    cite = cite or Cite()
    parts = []
    for curve, name in (curves or {"acc": "ACC"}).items():
        same = coinciding(runset, settings, curve)
        for (d, m, p, labs), g in same.groupby(["dataset", "method", "pretrain", "labels"], sort=False):
            k = f"coinciding/{curve}/{d}/{m}/{'pretrain' if p else 'no-pretrain'}/{labs}"
            parts.append(f"{_row_name(d, m, p)}: {cite(k, labs)} have the same {name} at every epoch on seed(s) "
                         f"{cite(k + '/seeds', ', '.join(map(str, g['seed'])))} (it last moves at epoch "
                         f"{cite(k + '/settled', int(g['settled'].max()))})")
    if not parts:
        return ""
    return ("**Coinciding curves.** " + "; ".join(parts) + ". Their lines lie on each other in the figure, and "
            "their paired differences on those seeds are exactly 0.")


def identical_ok(settings, runset: RunSet | None = None) -> str | None:
    """Why two curves of a cell figure may coincide, or None (the figure check stays strict).

    At the smoke profile: a few epochs on a few hundred images often collapse every variant to the same
    clustering. At the other profiles, given the runs: the cells whose ACC or CL change curves are the same at
    every epoch on some seed (:func:`coinciding_text`), measured, never assumed.
    """
    if settings.profile == "smoke":
        return "smoke profile: a few epochs on a few hundred images, where variants can end in the same clustering"
    if runset is None:
        return None
    text = coinciding_text(runset, settings, curves=CURVES)
    return text.replace("**Coinciding curves.** ", "") or None


def analysis_provenance(settings) -> outputs.Provenance:
    """Stamp of an analysis item's output: the data sets its cells ran on (named with any substitution) and
    what the profile leaves to the paper profile (an item without cells, Table 4: the main grid's stamp)."""
    if "cells" not in settings:
        return provenance(settings)
    data = sorted({(c["dataset"], c["params"].get("subsample", settings.subsample)) for c in settings["cells"]},
                  key=str)
    labels = [_label(d, settings.profile, sub) for d, sub in data]
    classes = {tuple(c["params"]["classes"]) for c in settings["cells"] if c["params"].get("classes")}
    notes = [f"classes {', '.join(map(str, cl))} only" for cl in classes]
    if settings.get("left_out"):
        notes.append(f"left to the paper profile: {settings['left_out']}")
    return outputs.provenance(settings, datasets=labels, notes=notes)


# ----------------------------------------------------------------------------
# Figures 3 and 13: a 2-D embedding before and after a BRB step


def embedding_snapshots(runset: RunSet) -> list:
    """The runs that recorded their embedding around a BRB step (``record_embedding``), in seed order."""
    return sorted((r for r in runset if "embedding_before" in r.arrays), key=lambda r: r.config.seed)


# ----------------------------------------------------------------------------
# Table 4: wall-clock per run; Tables 8 and 10: BRB component times

#: Table 4 (A100 GPU, the paper's full data and 400 epochs): average minutes per run.
PAPER_RUNTIME_MIN = {"mnist": 240, "fmnist": 240, "kmnist": 240, "gtsrb5": 20, "usps": 15, "optdigits": 8,
                     "cifar10": 300, "cifar100-20": 300}


def runtime_table(runset: RunSet) -> pd.DataFrame:
    """Per (data set, method, pretraining) run here: runs, clustering epochs, the mean ± SE wall-clock minutes of
    one run (the record's own time: one thread, pretraining counted only where the run trained the shared
    network), the machine (CPU or GPU, threads) and the paper's minutes per run for the data set (Table 4)."""
    rows = []
    for r in runset:
        env = r.environment or {}
        rows.append({"dataset": r.config.dataset, "method": r.config["method"], "pretrain": bool(r.config["pretrain"]),
                     "epochs": int(r.config["cluster_epochs"]), "minutes": r.meta.get("seconds", math.nan) / 60,
                     "machine": f"{env.get('gpu') or env.get('cpu', '?')}, {env.get('threads', '?')} thread(s)"})
    frame = pd.DataFrame(rows)
    out = []
    for d in PAPER_RUNTIME_MIN:
        g = frame[frame["dataset"] == d] if len(frame) else frame
        if g.empty:
            out.append({"dataset": _display(d), "run": "not run at this profile", "runs": 0, "clustering epochs": None,
                        "minutes per run (here)": math.nan, "se": math.nan, "machine": "",
                        "paper (A100, 400 epochs)": PAPER_RUNTIME_MIN[d]})
            continue
        for (m, p), gm in g.groupby(["method", "pretrain"], sort=False):
            mean, se, n = claims.mean_se(gm["minutes"])
            out.append({"dataset": _display(d), "run": f"{m.upper()}{' with' if p else ' without'} pretraining",
                        "runs": n, "clustering epochs": int(gm["epochs"].max()), "minutes per run (here)": mean,
                        "se": se, "machine": ", ".join(sorted(set(gm["machine"]))),
                        "paper (A100, 400 epochs)": PAPER_RUNTIME_MIN[d]})
    table = pd.DataFrame(out)
    table["clustering epochs"] = table["clustering epochs"].astype("Int64")
    return table


def component_table(runset: RunSet, settings) -> pd.DataFrame:
    """Per cell: mean seconds per BRB step of each component (reset, embedding, clustering, momentum reset), the
    whole step, a training epoch, and the step's share of one epoch (%), mean over seeds."""
    runs = cell_finals(runset, settings)
    cols = ["t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds", "epoch_seconds", "brb_share"]
    if runs.empty:
        return pd.DataFrame(columns=["cell", *cols])
    out = runs.groupby("label", sort=False)[cols].mean().reset_index().rename(columns={"label": "cell"})
    out["seeds"] = runs.groupby("label", sort=False)["seed"].nunique().to_numpy()
    return out
