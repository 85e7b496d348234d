"""R-DC's tidy frames, labels and notes from cached runs, and saving figures (the layer above training).

The names every other part of R-DC's presentation shares: the paper's method names and metrics
(:data:`METHOD_NAME`, :data:`PAPER_METHODS`, :data:`METRICS`, ...), tidy frames of the runs
(:func:`finals`, :func:`history`), data labels and the notes put on figures and tables
(:func:`dataset_label`, :func:`data_note`, :func:`missing_text`, :func:`protocol_note`,
:func:`health_note`), percent helpers and the provenance of saved outputs. Nothing here trains or loads
data; the tables are in :mod:`dcutils.rdc.tables`, the figures in :mod:`dcutils.rdc.figures`, their texts
in :mod:`dcutils.rdc.texts` and each item's verdict in :mod:`dcutils.rdc.verdicts`
(:mod:`dcutils.rdc.plots` re-exports them all).

Data labels come from the run records (each run's ``meta``: the data set's
display name, split, samples and subsample) and from the profile's pinned
data (:func:`dcutils.items.data_spec`); display names of data sets without
runs from the catalog's table (:data:`dcutils.data.DATASETS`).

Conventions: metrics are stored as fractions and shown in percent; a cell is
(data set, method), its seeds averaged (mean ± SE); ``variant`` is the
method name of ``rdc.method`` (every method runs the same fixed budget, its
stopping rule only logged, so no "stopping rule off" variant is needed).
Data sets a profile does not
pin are "paper profile only": their cells keep the paper's values with the
reason "not run at <profile>".
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dcutils import claims, health, items, outputs, plotting
from dcutils.data import DATASETS, canonical_name
from dcutils.findings import Cite
from dcutils.profiles import Settings
from dcutils.rdc import inputs
from dcutils.rdc import settings as exp
from dcutils.runs import RunSet


def _num(cite: Cite, name: str, value, spec: str = "") -> str:
    """``value`` cited under ``name``, or "n/a" (nothing cited) when it is missing or not finite."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return cite(name, value, spec)


def _seeds_words(cite: Cite, name: str, n: int, unit: str = "seed") -> str:
    return f"{cite(name, int(n))} {unit}{'s' if n != 1 else ''}"

#: Row names as the paper prints them.
METHOD_NAME = {
    "ae_kmeans": "AE + k-means", "dec": "DEC", "idec": "IDEC", "dynae": "DynAE", "vade": "VaDE", "rdc": "R-DC",
    "p1p2p3": "P1+P2+P3",
}
#: The ten methods of Tables 3-5, in the paper's order.
PAPER_METHODS = ["FINCH", "VaDE", "AE + k-means", "DEC", "IDEC", "PSSC", "CC", "DDC-UCO", "DynAE", "R-DC"]
#: Why a method of the tables is not rerun here.
NOT_RERUN = {
    "FINCH": "paper, not rerun (FINCH is on PyPI as finch-clust but is not a dependency of this environment)",
    "PSSC": "paper, not rerun (not implemented here)",
    "CC": "paper, not rerun (not implemented here)",
    "DDC-UCO": "paper, not rerun (not implemented here)",
}
METRICS = {"acc": "ACC", "f1_macro": "F1 macro", "f1_micro": "F1 micro"}
#: Ablation columns of Table 8 and the rdc.method behind each.
ABLATION = {"P1": "ae_kmeans", "P1+P2": "rdc", "P1+P3": "dec", "P1+P2+P3": "p1p2p3"}
PHASE2 = {"rdc": "P2", "dynae": "DynAE", "dec": "P3", "idec": "IDEC", "vade": "VaDE"}


#: ACC spread (points, max − min of the mean over a grid or over noise levels) that counts as robust / stable.
STABLE_SPREAD = 5.0


# ----------------------------------------------------------------------------
# tidy frames and labels


def with_variant(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (finals or history of ``rdc.method`` runs) with a ``variant`` column."""
    frame = frame.copy()
    if not len(frame):
        frame["variant"] = []
        return frame
    frame["variant"] = frame["method"]
    return frame


def finals(runset: RunSet) -> pd.DataFrame:
    """One row per run: config columns, final metrics and ``variant``."""
    return with_variant(runset.finals())


def history(runset: RunSet) -> pd.DataFrame:
    """One row per logged epoch, with config columns, ``variant`` and ``phase_iteration``.

    ``phase_iteration`` counts mini-batches from the start of the run's phase
    (0 at the start of phase 2 / the clustering phase).
    """
    frame = with_variant(runset.history())
    if len(frame):
        frame["phase_iteration"] = frame["iteration"]
    return frame


def display_name(dataset: str) -> str:
    """The data set's display name (``"FMNIST"``) from the catalog's table (nothing is loaded)."""
    try:
        return DATASETS[canonical_name(dataset)].display
    except ValueError:
        return dataset


def dataset_label(meta: Mapping[str, Any], spec: items.DataSpec | None = None) -> str:
    """How a run's data is named on figures, from its record: ``"FMNIST (subsample 5,000 of 70,000)"``.

    Parameters
    ----------
    meta : a run's ``meta``: ``dataset`` (display name), ``split``, ``n_samples``
        and ``subsample`` (the loader's record ``{"n", "of", ...}`` or None)
    spec : the profile's pinned data (:func:`dcutils.items.data_spec`), whose
        ``note`` says how it differs from the paper's data (e.g. ``"test split
        only, 10,000 of 70,000"``); without it a split other than ``"all"`` is
        named from the record
    """
    name = meta.get("dataset") or (spec.display if spec is not None else "?")
    parts = []
    if spec is not None and spec.note:
        parts.append(spec.note)
    elif meta.get("split") not in (None, "all"):
        parts.append(f"{meta['split']} split only")
    sub = meta.get("subsample")
    if isinstance(sub, Mapping) and sub.get("n") is not None and sub.get("of") and sub["n"] < sub["of"]:
        parts.append(f"subsample {sub['n']:,} of {sub['of']:,}")
    return name + (f" ({'; '.join(parts)})" if parts else "")


def run_datasets(runset: RunSet, settings: Settings) -> list[str]:
    """Labels of the data sets the runs used (from their records), naming subsamples and split stand-ins."""
    labels = []
    for d in runset.datasets():
        records = [r for r in runset if r.config.dataset == d]
        labels.append(dataset_label(records[0].meta, items.data_spec(settings.profile, d)))
    return labels


def not_run_reason(dataset: str, profile: str) -> str:
    """Why a data set of the paper has no reproduced values at ``profile``."""
    if items.data_spec(profile, dataset) is None:
        return f"not run at {profile} (paper profile only)"
    return f"no runs recorded for {display_name(dataset)} at {profile}"


def missing_text(settings: Settings) -> str:
    """A sentence naming the settings' data sets that its profile does not run (or "")."""
    missing = exp.missing_datasets(settings) if "datasets" in settings else []
    if not missing:
        return ""
    names = ", ".join(display_name(d) for d in missing)
    return (f"Not run at profile `{settings.profile}` (paper profile only): {names}. Their cells keep the paper's "
            "values with reproduced '—'; the paper profile runs them.")


def _save_figure(fig, settings: Settings, datasets: Sequence[str], seeds: Iterable[int] | None = None,
                 substitute: str | None = None, notes: Sequence[str] = ()) -> None:
    plotting.mark_substitute(fig, substitute)
    shown = settings.seeds if seeds is None else seeds
    plotting.mark_profile(fig, settings.profile, f"seeds {','.join(map(str, shown))}")
    outputs.save_figure(fig, outputs.provenance(settings, datasets=datasets, seeds=seeds, notes=notes))


def save_figure(fig, settings: Settings, datasets: Sequence[str], *, seeds: Iterable[int] | None = None,
                substitute: str | None = None, notes: Sequence[str] = ()) -> None:
    """Mark substitute and profile on ``fig`` and save it with provenance (figures/rdc/...)."""
    _save_figure(fig, settings, datasets, seeds, substitute, notes)


def _pct(v: float) -> float:
    return 100.0 * v if v is not None and np.isfinite(v) else math.nan


def mean_se_pct(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, SE and n of fractions, in percent."""
    m, se, n = claims.mean_se([v * 100.0 for v in values if v is not None and np.isfinite(v)])
    return m, se, n


# ----------------------------------------------------------------------------
# notes on figures and tables


def data_note(runset: RunSet, settings: Settings, substitute_for: str | None = None) -> str:
    """The line put on a figure: the data actually used (subsamples, test-split stand-ins) and any substitution."""
    used = run_datasets(runset, settings)
    text = "Data: " + ("; ".join(used) if used else "none")
    if substitute_for:
        text += f" — substitute for {substitute_for} (not run at profile {settings.profile})"
    return text


def missing_short(settings: Settings) -> str:
    """``"not run at quick: CIFAR10, BloodMNIST"`` for a figure's note (or "")."""
    missing = exp.missing_datasets(settings) if "datasets" in settings else []
    return (f"not run at {settings.profile}: " + ", ".join(display_name(d) for d in missing)) if missing else ""


def figure_note(runset: RunSet, settings: Settings, substitute_for: str | None = None) -> str:
    """:func:`data_note` plus the paper's data sets missing here."""
    return " — ".join(t for t in (data_note(runset, settings, substitute_for), missing_short(settings)) if t)


def change_word(delta: float, tol: float, cite: Cite | None = None, name: str = "change") -> str:
    """"more separated" / "less separated" / "about as separated" for a change of a separation score."""
    cite = Cite() if cite is None else cite
    if abs(delta) < tol:
        return f"about as separated: change {cite(name, delta, '+.3f')}"
    return f"{'more' if delta > 0 else 'less'} separated: change {cite(name, delta, '+.3f')}"


# ----------------------------------------------------------------------------
# the protocol the runs used


#: How each LID estimator is computed (``lid_estimator`` of rdc.method / rdc.paradigm).
LID_TEXT = {
    "authors": "the authors' estimator: codes standardised per k-means cluster, PCA components to 0.9999 explained "
               "variance, ID (TwoNN) and LID averaged over the clusters",
    "authors_index": "the authors' estimator on the true classes",
    "global90": "PCA to 90 % explained variance on the raw global codes (version 1)",
}


def protocol_note(runset: RunSet, cite: Cite | None = None) -> str:
    """Markdown: the protocol the item's runs used, read from their configs (not from the settings).

    Every number is cited through ``cite`` (names ``protocol/...``)."""
    cite = Cite() if cite is None else cite
    if not len(runset):
        return "No runs at this profile."
    cfg = runset.results[0].config
    algo = cfg.algorithm
    seeds = runset.seeds()
    head = (f"**Protocol** ({_seeds_words(cite, 'protocol/seeds', len(seeds))}, "
            f"{cite('protocol/runs', len(runset))} runs): ")
    estimator = cfg.get("lid_estimator")
    lid = cite("protocol/ID and LID estimator", LID_TEXT.get(estimator, estimator)) if estimator else ""
    if algo == "rdc.twist":
        return head + (f"the curved-clusters toy, a two-layer autoencoder with hidden width "
                       f"{cite('protocol/hidden width', cfg['hidden'])} and "
                       f"activation {cfg['twist_activation'] or 'none (affine)'}, "
                       f"{cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} "
                       f"reconstruction epochs, then {cite('protocol/clustering epochs', cfg['cluster_epochs'])} "
                       f"epochs of the method; R-DC with construction weight "
                       f"{cite('protocol/construction weight', cfg['construction_weight'], 'g')}, gamma "
                       f"{_gamma_words(cfg, cite)}.")
    per_epoch = inputs_batches(cfg)
    if algo == "rdc.paradigm":
        pretexts = " or ".join(sorted({r.config["pretext"] for r in runset}, key=lambda t: t != "reconstruction"))
        return head + (f"{pretexts} pretraining for {cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} "
                       f"epochs ({cite('protocol/steps per epoch', per_epoch)} steps each), then DEC for "
                       f"{cite('protocol/clustering epochs', cfg['cluster_epochs'])} epochs; ID / LID: {lid}.")
    n = cfg["subsample"]
    gamma = (f"gamma set as the {_gamma_words(cfg, cite).removeprefix('as the ')} of the neighbour-distance gaps "
             "(relative to the latent scale)" if cfg["gamma_mode"] == "quantile"
             else "gamma absolute (Table 2, or the grid's value)")
    images = f"{cite('protocol/images', n, ',')} images" if n else "every image"
    return head + (f"{display_name(cfg.dataset)}, {images}; ACAI pretraining "
                   f"{cite('protocol/pretraining epochs', cfg['pretrain_epochs'])} epochs = "
                   f"{cite('protocol/pretraining steps', cfg['pretrain_epochs'] * per_epoch, ',')} steps; then every "
                   f"method the same budget of {cite('protocol/clustering epochs', cfg['cluster_epochs'])} epochs = "
                   f"{cite('protocol/clustering iterations', cfg['cluster_epochs'] * per_epoch, ',')} "
                   f"iterations (stop: {cfg['stop']}; the stopping rules are recorded, not obeyed, under 'budget'), "
                   f"targets refreshed every {cite('protocol/refresh every (iterations)', cfg['refresh_every'])} "
                   f"iterations; R-DC: M = {cite('protocol/M', cfg['n_neighbours'])}"
                   f"{' including the point itself' if cfg['neighbours_include_self'] else ''}, latent pull "
                   f"{cite('protocol/pull weight', cfg['pull_weight'], 'g')} : image "
                   f"{cite('protocol/construction weight', cfg['construction_weight'], 'g')}, {gamma}; ID / LID: "
                   f"{lid}; {cfg['precision']}.")


def _gamma_words(cfg, cite: Cite | None = None) -> str:
    cite = Cite() if cite is None else cite
    if cfg["gamma_mode"] == "quantile":
        return f"as the {cite('protocol/gamma quantile', cfg['gamma_quantile'], 'g')} quantile"
    return cite("protocol/gamma", cfg["gamma"], "g")


def inputs_batches(cfg) -> int:
    """Mini-batches per epoch of a run config (its subsample, else its data set's size)."""
    return inputs.batches_per_epoch(inputs.sample_count(cfg.dataset, cfg["subsample"]), cfg["batch_size"])


# ----------------------------------------------------------------------------
# provenance and run health


def findings_provenance(settings: Settings, runset: RunSet | None = None,
                        datasets: Sequence[str] | None = None) -> outputs.Provenance:
    """Provenance of an item's findings: the data its runs used (or ``datasets``), their seeds and the data sets
    its profile does not run (as :func:`save_table` stamps a table)."""
    used = list(datasets) if datasets is not None else (run_datasets(runset, settings) if runset is not None else [])
    missing = missing_text(settings)
    seeds = sorted({r.config.seed for r in runset}) if runset is not None and len(runset) else []
    return outputs.provenance(settings, datasets=used, seeds=seeds, notes=[missing] if missing else [])


def run_label(result) -> str:
    """A run in words for the health notes: method, the grid value or noise level that sets it apart, seed
    (e.g. ``"R-DC (β = 0.1, γ = 0.6), seed 0"``)."""
    cfg = result.config
    name = METHOD_NAME.get(cfg.get("method"), cfg.get("method")) if cfg.algorithm == "rdc.method" else cfg.algorithm
    extra = []
    if cfg.algorithm == "rdc.method":
        if cfg.get("beta") is not None:
            extra.append(f"β = {cfg['beta']:g}")
        if cfg.get("gamma") is not None and cfg.get("gamma_mode") == "absolute":
            extra.append(f"γ = {cfg['gamma']:g}")
        if cfg.get("noise_std"):
            extra.append(f"noise σ = {cfg['noise_std']:g}")
    return f"{name}{' (' + ', '.join(extra) + ')' if extra else ''}, seed {cfg.seed}"


def flagged_runs(runset: RunSet) -> pd.DataFrame:
    """The runs of ``runset`` whose record flags them unhealthy (:func:`dcutils.health.is_flagged`): one row per
    run with ``run`` (:func:`run_label`) and ``reasons`` (the health check's, joined)."""
    rows = [{"run": run_label(r), "reasons": "; ".join(r.meta["health"].get("reasons", []))}
            for r in runset if health.is_flagged(r.meta)]
    return pd.DataFrame(rows, columns=["run", "reasons"])


def health_note(runset: RunSet | None, cite: Cite | None = None) -> str:
    """Markdown: which of the item's runs the health check flags and why (:mod:`dcutils.health`: collapsed
    clusters, a loss or the clean reconstruction error grown beyond 10× its start); "" when none is."""
    cite = Cite() if cite is None else cite
    flagged = flagged_runs(runset) if runset is not None else pd.DataFrame()
    if flagged.empty:
        return ""
    items_ = "\n".join(f"- {cite(f'health/flagged/{i}', f'{r.run}: {r.reasons}')}"
                        for i, r in enumerate(flagged.itertuples()))
    verb = "run is" if len(runset) == 1 else ("runs are" if len(flagged) > 1 else "runs is")
    return (f"{health.flag_mark(True)} **{cite('health/flagged runs', len(flagged))} of "
            f"{cite('health/runs', len(runset))} {verb} flagged unhealthy** by the health check; every number "
            f"above that uses them includes them, so read those as measuring the failure:\n{items_}")
