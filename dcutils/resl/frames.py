"""ReSL's tidy frames, labels and notes from cached runs (the layer above the runs and settings).

Every function takes the runs (:class:`dcutils.runs.RunSet` or its tidy frames) and the settings;
nothing here trains. Runs are labelled by :func:`label_runs`: ``variant`` (``SCAN+SL``, ``SP``,
``SP*``, ``HT``, ``PI``) and the reset parameters in the paper's units (``every_paper`` in paper
epochs of 200, ``momentum_paper`` with mu ** 10,000 steps kept, see :mod:`dcutils.resl.settings`).

Besides the labelled frames (:func:`finals`, :func:`history`): the grid tables' frames and each
variant's chosen cell (:func:`grid_table`, :func:`best_cell`, :func:`chosen_cells`, :func:`ht_best_cell`),
the notes on figures and tables (:func:`protocol_note`, :func:`dataset_labels`, :func:`missing_text`,
:func:`smoke_coincidence`) and the provenance of the plasticity-injection outputs. The tables are in
:mod:`dcutils.resl.tables`, the figures in :mod:`dcutils.resl.figures` and each item's verdict in
:mod:`dcutils.resl.verdicts` (:mod:`dcutils.resl.plots` re-exports them all).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dcutils import items, outputs
from dcutils.profiles import Settings
from dcutils.resl import settings as rs

#: Variant labels in table order.
VARIANTS = ["SP", "SP*", "HT", "SCAN+SL"]


_LABEL = {"none": "SCAN+SL", "sp": "SP", "sp*": "SP*", "ht": "HT", "pi": "PI"}


PAPER_LABELS = {"stl10": "STL10", "cifar10": "CIFAR10", "cifar100-20": "CIFAR20", "cifar100": "CIFAR100",
                "fmnist": "FMNIST"}


_PAPER_STRATEGY = {"SP": "sp", "SP*": "sp*", "HT": "ht", "SCAN+SL": "none"}


def _paper_every(every: float, sl_epochs: float) -> float:
    return float(every) if sl_epochs == rs.PAPER_EPOCHS else float(round(every / sl_epochs * rs.PAPER_EPOCHS))


def _paper_momentum(mu: float, steps: float) -> float:
    return float(mu) if steps >= rs.PAPER_STEPS else float(round(mu ** (steps / rs.PAPER_STEPS), 4))


def _paper_units(settings: Settings) -> dict[tuple, tuple[float, float]]:
    """(strategy, every, rounded momentum) of the runs -> (R, mu) in the paper's units, from the settings."""
    out: dict[tuple, tuple[float, float]] = {}
    for c in grid_cells(settings, "sp"):
        out[("sp", c["params"]["every"], None)] = (c["every_paper"], math.nan)
    for c in grid_cells(settings, "ht"):
        out[("ht", c["params"]["every"], round(c["params"]["momentum"], 10))] = (c["every_paper"], c["momentum_paper"])
    star = rs.strategy_params(settings, "sp*")
    out[("sp*", star["every"], None)] = (float(settings["spstar_every"]), math.nan)
    return out


def grid_cells(settings: Settings, strategy: str) -> list[dict]:
    """:func:`dcutils.resl.settings.grid_cells` (the grid in paper units and the run parameters)."""
    return rs.grid_cells(settings, strategy)


def label_runs(frame: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """``frame`` (finals or history) with ``variant``, ``every_paper``, ``momentum_paper`` and ``cell``.

    With ``settings`` the paper units come from the settings' grids (exact); without, they are computed back
    from the run's scaled values (R rounded to whole paper epochs, mu to 4 digits).
    """
    out = frame.copy()
    out["variant"] = out["strategy"].map(_LABEL)
    steps = out["sl_epochs"] * np.ceil(out["n_train"].fillna(50_000) / out["sl_batch"])
    every = [_paper_every(e, s) for e, s in zip(out["every"], out["sl_epochs"])]
    mom = [_paper_momentum(m, s) for m, s in zip(out["momentum"], steps)]
    if settings is not None:
        units = _paper_units(settings)
        for i, (st, e, m) in enumerate(zip(out["strategy"], out["every"], out["momentum"])):
            key = (st, int(e), round(float(m), 10) if st == "ht" else None)
            if key in units:
                every[i] = units[key][0]
                if st == "ht":
                    mom[i] = units[key][1]
    out["every_paper"], out["momentum_paper"] = every, mom
    cells = []
    for v, a, r, m in zip(out["variant"], out["alpha"], out["every_paper"], out["momentum_paper"]):
        if v in ("SP", "SP*"):
            cells.append(f"alpha={a:g}, R={r:g}")
        elif v == "HT":
            cells.append(f"mu={m:g}, R={r:g}")
        else:
            cells.append("")
    out["cell"] = cells
    return out


def finals(runset, settings: Settings | None = None) -> pd.DataFrame:
    """Labelled final metrics, one row per run."""
    return label_runs(runset.finals(), settings)


def history(runset, settings: Settings | None = None) -> pd.DataFrame:
    """Labelled per-epoch history, one row per (run, epoch)."""
    return label_runs(runset.history(), settings)


def grid_table(fin: pd.DataFrame, variant: str, row: str, col: str, metric: str = "acc") -> pd.DataFrame:
    """Mean ``metric`` (percent) over seeds per grid cell: rows ``row``, columns ``col``."""
    sub = fin[fin["variant"] == variant]
    return (sub.groupby([row, col])[metric].mean() * 100).unstack(col)


def best_cell(fin: pd.DataFrame, variant: str, metric: str = "acc") -> str:
    """The cell of ``variant`` with the best mean ``metric`` over seeds (ties: the first in sorted order)."""
    sub = fin[fin["variant"] == variant]
    if sub.empty:
        return ""
    means = sub.groupby("cell")[metric].mean()
    return str(means.idxmax())


def _by_seed(fin: pd.DataFrame, variant: str, cell: str | None, metric: str, dataset: str) -> pd.Series:
    sub = fin[(fin["variant"] == variant) & (fin["dataset"] == dataset)]
    if cell:
        sub = sub[sub["cell"] == cell]
    return sub.set_index("seed")[metric]


def chosen_cells(fin: pd.DataFrame) -> dict[str, str]:
    """Each variant's cell in the results tables: the best by mean ACC (SP, HT), SP*'s only cell, SCAN+SL's none."""
    out = {"SP": best_cell(fin, "SP"), "HT": best_cell(fin, "HT"), "SCAN+SL": ""}
    sp_star = fin.loc[fin["variant"] == "SP*", "cell"]
    out["SP*"] = str(sp_star.iloc[0]) if len(sp_star) else ""
    return out


def protocol_note(settings: Settings) -> str:
    """One paragraph: what this profile ran (data, width, stages, schedule scaling, seeds)."""
    run = settings["run"]
    steps = rs.steps_per_run(run)
    mu = rs.scaled_momentum(0.995, run)
    n_train = "all" if run["n_train"] is None else f"{run['n_train']:,}"
    n_test = "all" if run["n_test"] is None else f"{run['n_test']:,}"
    threshold = float(run.get("threshold", 0.99))
    return (f"**Protocol ({settings.profile}).** Data: {', '.join(rs.run_datasets(settings)) or 'none run'} "
            f"({n_train} balanced training images, {n_test} balanced test images for evaluation). ResNet18 with the "
            f"CIFAR stem at width {run['width']:g}; SimCLR {run['simclr_epochs']} epochs (batch "
            f"{run['simclr_batch']}), SCAN {run['scan_epochs']} epochs (batch {run['scan_batch']}), one cached "
            f"SimCLR + SCAN network shared by every run; self-labeling {run['sl_epochs']} epochs at batch "
            f"{run['sl_batch']} = {steps:,} optimizer steps (the paper: 200 epochs = {rs.PAPER_STEPS:,} steps on "
            f"CIFAR10), confidence threshold {threshold:g}{' (the paper: 0.99)' if threshold != 0.99 else ''}, "
            f"{run['precision']}. Resets scaled to the run: R = 20 paper epochs -> every "
            f"{rs.scaled_every(20, run)} epochs, mu = 0.995 -> {mu:.4f} per step (mu ** steps as in the paper). "
            f"Seeds {settings.seeds}; plasticity injection seeds {settings['pi_seeds']}.")


def dataset_labels(settings: Settings) -> list[str]:
    """How outputs name the data the profile ran, e.g. "FMNIST (3,000 / 2,000 balanced train / test images)"."""
    run = settings["run"]
    out = []
    for d in rs.run_datasets(settings):
        spec = items.data_spec(settings.profile, d)
        if run["n_train"] is None:
            out.append(f"{spec.display} (train / test splits)")
        else:
            out.append(f"{spec.display} ({run['n_train']:,} / {run['n_test']:,} balanced train / test images)")
    return out


def missing_text(settings: Settings) -> str:
    """The paper's data sets this profile does not run, and why."""
    missing = [PAPER_LABELS.get(d, d) for d in rs.PAPER_DATASETS if not rs.available(d, settings.profile)]
    if not missing:
        return ""
    return (f"{', '.join(missing)} are not run at {settings.profile}: no natural-image data set is available "
            "offline and a ResNet18 on them needs a GPU (paper profile); their cells show the paper's values.")


def _substitute_note(settings: Settings) -> str | None:
    pairs = zip(rs.run_datasets(settings), dataset_labels(settings))
    subs = [label for d, label in pairs if d not in rs.PAPER_DATASETS]
    return f"data: {', '.join(subs)}, substituting for the paper's data sets" if subs else None


def injection_provenance(settings: Settings) -> outputs.Provenance:
    """Provenance of the plasticity-injection outputs (fig02, fig07): the seeds their curves show are
    ``pi_seeds``; SCAN+SL's seed-to-seed spread, their yardstick, comes from all the profile's seeds."""
    note = f"SCAN+SL's seed-to-seed spread (the yardstick) over seeds {outputs.compact_seeds(settings.seeds)}"
    return outputs.provenance(settings, datasets=dataset_labels(settings), seeds=settings["pi_seeds"],
                              notes=[note])


def smoke_coincidence(settings: Settings) -> str | None:
    """``save_figure``'s ``identical_ok`` for a figure of HT against SCAN+SL: at the smoke profile (a few dozen
    optimizer steps on 200 images, 100 test images) the two can end on the same test predictions, which is no
    plotting slip; at every other profile None, so identical curves still fail."""
    if settings.profile != "smoke":
        return None
    return "smoke profile: a few dozen steps on 200 images, HT and SCAN+SL may predict the 100 test images alike"


def ht_best_cell(settings: Settings) -> str:
    """The cell label of the paper's best HT setting (mu = 0.995, R = 20) in paper units."""
    mu, r = settings["ht_best"]
    return f"mu={mu:g}, R={r:g}"
