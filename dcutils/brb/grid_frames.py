"""BRB's grid runs as tidy frames: constants, labels, the paper's cells, and the notes and stamps of every output.

Every function takes a :class:`dcutils.runs.RunSet` (or its tidy frames) of
``brb.dc`` runs and returns a DataFrame or text; nothing here trains. The
paper's numbers come from :func:`dcutils.paper_data.brb_variants` (Tables
13-15, :func:`paper_cells`); reproduced numbers only from runs.

Conventions: metrics are stored as fractions and shown in percent; "plain"
in the paper's tables is the variant ``"none"`` here; a grid cell is
(pretrain, method, variant, dataset), its seeds are averaged (mean ± SE). A run
whose record flags it unhealthy (``meta["health"]``, :mod:`dcutils.health`) is
counted in :func:`finals`, and every paired comparison built on :func:`_paired`
says how many of its pairs hold one (``flagged``, ``note``).

Here also: the provenance stamps (:func:`provenance`, :func:`deviations_provenance`), the note on
substituted data (:func:`substitution_note`) and the protocol note of every text (:func:`protocol_note`).
The layers above read these: :mod:`dcutils.brb.claims`, :mod:`dcutils.brb.grid_tables`,
:mod:`dcutils.brb.grid_figures`, :mod:`dcutils.brb.grid_texts` and :mod:`dcutils.brb.grid_verdicts`
(all re-exported by :mod:`dcutils.brb.plots`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dcutils import claims, outputs
from dcutils.brb.settings import BATCH_SIZE, grid_datasets, protocol
from dcutils.brb.train import reset_epochs
from dcutils.data import DATASETS, canonical_name
from dcutils.findings import Cite
from dcutils.paper_data import brb_variants
from dcutils.profiles import data_spec
from dcutils.runs import RunSet

VARIANT_SUFFIX = {"none": "", "brb": "+BRB", "recluster": "+Recluster", "reset": "+Reset"}
VARIANT_NAME = {"none": "plain", "brb": "BRB", "recluster": "Recluster", "reset": "Reset"}
METRIC_NAME = {"acc": "ACC", "nmi": "NMI", "ari": "ARI", "silhouette": "silhouette (ground truth)",
               "silhouette_pred": "silhouette (predicted clusters)", "intra_cd": "intra-CD", "inter_cd": "inter-CD",
               "cl_change": "CL change (%)", "recon_loss": "reconstruction loss",
               "silhouette_gap": "silhouette gap (predicted clusters − ground truth)"}
#: Reported by the paper (Section 6 and Appendix G).
PAPER_WIN_SHARE = 88.10
PAPER_OVERHEAD = 1.1


def algorithm_label(method: str, variant: str, pretrain: bool = False) -> str:
    """The paper's row name, e.g. ``"IDEC+BRB+Pretrain"``."""
    return method.upper() + VARIANT_SUFFIX[variant] + ("+Pretrain" if pretrain else "")


def _display(dataset: str) -> str:
    return DATASETS[canonical_name(dataset)].display


def _label(dataset: str, profile: str, subsample: int | None = None) -> str:
    """How the profile's data for ``dataset`` are named (with substitution and subsample), from its definition."""
    spec = data_spec(profile, dataset)
    return spec.label(subsample) if spec is not None else f"{_display(dataset)} (not run at {profile})"


def finals(runset: RunSet) -> pd.DataFrame:
    """One row per run: dataset, method, variant, pretrain, seed, final metrics (fractions); with both
    silhouettes, ``silhouette_gap`` = silhouette with predicted clusters − with ground-truth labels; and
    ``flagged``: the run's record flags it unhealthy (``meta["health"]``, :func:`dcutils.health.is_flagged`;
    False for a record without an assessment)."""
    frame = runset.finals()
    if len(frame):
        frame["pretrain"] = frame["pretrain"].astype(bool)
        if {"silhouette", "silhouette_pred"} <= set(frame.columns):
            frame["silhouette_gap"] = frame["silhouette_pred"] - frame["silhouette"]
        frame["flagged"] = frame["flagged"].fillna(False).astype(bool) if "flagged" in frame else False
    return frame


def _paired(a: pd.DataFrame, b: pd.DataFrame, metric: str, scale: float = 100.0) -> dict:
    """:func:`dcutils.claims.paired` of ``metric`` per seed, the rows ``a`` minus the rows ``b`` (:func:`finals`
    rows), with ``flagged``: how many of the pairs hold a flagged run on either side, and ``note``
    (:func:`dcutils.health.rests_on`, ``""`` when none does)."""
    a, b = a.set_index("seed"), b.set_index("seed")
    none = pd.Series(dtype=bool)
    return claims.paired(a[metric], b[metric], scale=scale, flagged_a=a["flagged"] if "flagged" in a else none,
                         flagged_b=b["flagged"] if "flagged" in b else none)


def _cell(dataset: str, method: str, pretrain: bool) -> str:
    """A grid row's name in cited values: ``usps/idec/no-pretrain``."""
    return f"{dataset}/{method}/{'pretrain' if pretrain else 'no-pretrain'}"


def _num(cite: Cite, name: str, value, spec: str = "") -> str:
    """``value`` cited under ``name``, or "n/a" (nothing cited) when it is missing or not finite."""
    if value is None or (not isinstance(value, str) and (pd.isna(value) or not np.isfinite(value))):
        return "n/a"
    return cite(name, value, spec)


def history(runset: RunSet) -> pd.DataFrame:
    """One row per (run, epoch), with the run's config columns."""
    frame = runset.history()
    if len(frame):
        frame["pretrain"] = frame["pretrain"].astype(bool)
    return frame


def brb_epochs(runset: RunSet) -> list[int]:
    """Epochs (0-based, = epochs trained before the step) at which BRB steps ran, from the first run with any."""
    for r in runset:
        if r.meta.get("brb_epochs"):
            return list(r.meta["brb_epochs"])
    return []


def _reproduces(verdict: str, paper_diff: float) -> str:
    """A paired direction against the paper's difference (its sign): :func:`dcutils.claims.judge`."""
    return claims.judge(verdict, paper_diff)


# ----------------------------------------------------------------------------
# the paper's cells (Tables 13-15)


def paper_cells(metric: str) -> pd.DataFrame:
    """Tables 13 (acc), 14 (nmi) or 15 (ari) as cells (pretrain, method, variant, dataset, paper, paper_se)."""
    p = brb_variants()
    p = p[p["metric"] == metric].copy()
    if p.empty:
        raise ValueError(f"the paper's Tables 13-15 give acc, nmi and ari, not {metric!r}")
    p["variant"] = p["variant"].replace({"plain": "none"})
    p["pretrain"] = p["pretrain"].astype(bool)
    return p.rename(columns={"mean": "paper", "se": "paper_se"})[
        ["pretrain", "method", "variant", "dataset", "paper", "paper_se"]]


def data_status(dataset: str, settings) -> str:
    """What a table cell's data is here: the data set's label, or why it was not run."""
    if dataset not in settings["datasets"]:
        return f"not run at profile {settings.profile}"
    if data_spec(settings.profile, dataset) is None:
        return f"not run: profile {settings.profile} does not include {_display(dataset)} (paper profile)"
    return _label(dataset, settings.profile, settings.subsample)


# ----------------------------------------------------------------------------
# provenance


def provenance(settings, datasets: Sequence[str] | None = None) -> outputs.Provenance:
    """Stamp of a brb output: the data sets used (named with any substitution) and those not run here."""
    used = list(datasets) if datasets is not None else grid_datasets(settings)
    wanted = settings["focus"] if "focus" in settings else settings["datasets"]
    labels = [_label(d, settings.profile, settings.subsample) for d in used]
    notes = [f"{_display(d)} not run at {settings.profile}" for d in wanted
             if data_spec(settings.profile, d) is None]
    if "focus" in settings and not set(used) & set(wanted):
        notes.append(f"substitute for {', '.join(_display(d) for d in wanted)}")
    schedule = ", ".join(f"{_display(d)} {e} clustering epochs, T = {t}"
                         for d in used for t, e in [protocol(settings, d)])
    extra = f"{schedule}; {settings.pretrain_epochs} pretraining epochs"
    return outputs.provenance(settings, datasets=labels, notes=[extra, *notes])


def substitution_note(settings, used: Sequence[str]) -> str | None:
    """A line for the figure when its data differ from the paper's (substitute or reduced data), else None."""
    wanted = settings["focus"] if "focus" in settings else settings["datasets"]
    parts = []
    missing = [d for d in wanted if d not in used]
    if missing:
        # a data set the profile runs, but not in this item's cells, vs one the profile does not run at all
        runs_some = [d for d in missing if d in settings["datasets"] and data_spec(settings.profile, d) is not None]
        parts += [f"{', '.join(_display(d) for d in group)} {why}" for group, why in (
            ([d for d in missing if d not in runs_some], f"not run at {settings.profile}"),
            (runs_some, f"runs none of these cells at {settings.profile} (paper profile)")) if group]
        if not set(used) & set(wanted):
            parts[-1] += f"; shown: {', '.join(_display(d) for d in used)}"
    specs = [data_spec(settings.profile, d) for d in used]
    subs = [spec.label() for spec in specs if spec is not None and spec.substitute]
    parts += subs
    if settings.subsample:
        parts.append(f"subsample {settings.subsample:,} per data set")
    return "Data: " + "; ".join(parts) if parts else None


def used_datasets(settings) -> list[str]:
    """The data sets the item's runs use at its profile (focus data sets, their substitute, or the grid's)."""
    return grid_datasets(settings)


def protocol_note(settings, cite: Cite | None = None) -> str:
    """Markdown: the protocol each data set of the item ran at its profile, in optimizer steps, and what was left
    to the paper profile. Every number is cited through ``cite`` (names ``protocol/...``)."""
    cite = Cite() if cite is None else cite
    used = grid_datasets(settings) if ("focus" in settings or "methods" in settings) else settings["datasets"]
    parts = []
    for d in used:
        interval, epochs = protocol(settings, d)
        spec = data_spec(settings.profile, d)
        n = settings.subsample or (spec.n if spec is not None and spec.n else 10_000)
        per_epoch = max(1, n // BATCH_SIZE)
        k = f"protocol/{d}"
        parts.append(f"{_display(d)} ({cite(f'{k}/samples', n, ',')} samples, "
                     f"{cite(f'{k}/optimizer steps per epoch', per_epoch)} optimizer steps per epoch): a BRB step "
                     f"every T = {cite(f'{k}/T (epochs)', interval)} epochs = "
                     f"{cite(f'{k}/optimizer steps between BRB steps', interval * per_epoch, ',')} optimizer steps, "
                     f"{cite(f'{k}/BRB steps', len(reset_epochs(epochs, interval)))} BRB steps in "
                     f"{cite(f'{k}/clustering epochs', epochs)} clustering epochs")
    seeds = settings.seeds
    text = (f"**Protocol at profile `{settings.profile}`** ({cite('protocol/seeds', len(seeds))} paired seeds; "
            f"{cite('protocol/pretraining epochs', settings.pretrain_epochs)} pretraining epochs where pretrained; "
            f"{settings.get('precision', 'fp32')}): " + "; ".join(parts) + ".")
    rows = settings.get("rows")
    if rows is not None:
        ran = "; ".join(f"{_display(d)}: " + ", ".join(algorithm_label(m, "none", p) for m, p in r)
                        for d, r in rows.items() if d in used)
        extra = []
        for variant, cells in settings.get("extra_cells", {}).items():
            if cells == "all":
                extra.append(f"+{VARIANT_NAME[variant]} in every row")
                continue
            cells = [tuple(c) if len(c) == 3 else (None, *c) for c in cells]
            for d, r in rows.items():  # a data set whose every row runs the variant is named once
                if d in used and r and all((d, m, bool(p)) in cells for m, p in r):
                    extra.append(f"+{VARIANT_NAME[variant]} in every {_display(d)} row")
                    cells = [c for c in cells if c[0] != d]
            for d, m, p in cells:
                if d is None or d in used:
                    extra.append(f"{algorithm_label(m, variant, p)}" + (f" on {_display(d)}" if d else ""))
        text += (f" Rows run here: {ran} (plain and +BRB each)" + (f"; also {', '.join(extra)}" if extra else "")
                 + ". Every other cell of the paper's tables is left to the paper profile (`make figures "
                 "PROFILE=paper`, on a GPU) and shows the paper's value only.")
    return text


def deviations_provenance(settings) -> outputs.Provenance:
    """Stamp of the deviations outputs: data set, protocol and seeds."""
    label = _label(settings["dataset"], settings.profile, settings.subsample)
    note = (f"+BRB, {'with' if settings['pretrain'] else 'without'} pretraining, {settings.cluster_epochs} "
            f"clustering epochs, T = {settings.reset_interval}, {settings['precision']}")
    return outputs.provenance(settings, datasets=[label], notes=[note])
