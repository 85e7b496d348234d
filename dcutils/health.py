"""Run health: the signals of a run's own failure, read from its per-epoch history.

A deep-clustering run can degenerate without raising anything: clusters
collapse (one cluster takes nearly every sample, others go empty), or a loss
grows without bound while the metrics still print. A verdict that rests on
such a run measures the failure, not the method. Every training loop records,
per epoch, the size of its smallest predicted cluster and how many clusters
are empty (``min_cluster_share``, ``empty_clusters``) next to its losses, and
:func:`assess` turns that history into flags that the run's record keeps
(``meta["health"]``), ``make status`` counts and the tables print.

The rules (one place, every paper):

* **collapsed clusters**: the smallest cluster holds less than
  :data:`MIN_SHARE` (1 %) of the samples in more than :data:`MAX_SMALL_EPOCHS`
  (10 %) of the epochs;
* **growing loss**: a loss exceeds :data:`MAX_GROWTH` (10) times its start,
  its first finite value (the first training epoch). No window of early
  epochs widens the start: it would hide a divergence that begins at once
  (R-DC's self-referential targets: the clean reconstruction error climbs from
  the first refresh on). A loss that begins near zero by construction is left
  out of the check instead, by the caller's ``loss_columns``: DEC's KL(P||Q) on a
  network that was never trained is ~3e-4 at the first epoch (every
  embedding alike, Q nearly uniform, P no sharper) and rises a thousandfold
  as clusters form, which is learning, not divergence.
* **unconfident clusters** (self-labeling; applied when ``assess`` is given
  ``unconfident_column``): the run starts or ends with a cluster that has no
  sample above the confidence threshold. Self-labeling trains only on
  confident samples' pseudo-labels, so such a cluster receives no target and
  can only lose samples: at the start its fate is decided before any reset
  acts, at the end the run has given it up. :func:`unconfident_clusters`
  reads the column (per epoch, how many of the K clusters have no confident
  sample; row 0 the state before training).

A run is *flagged* when any rule fires; its ``reasons`` say which, in words.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_SHARE", "MAX_SMALL_EPOCHS", "MAX_GROWTH", "LOSS_COLUMNS", "cluster_sizes", "assess",
           "is_flagged", "flag_mark", "rests_on", "unconfident_clusters"]

#: A cluster holding less than this share of the samples counts as collapsed.
MIN_SHARE = 0.01
#: Flag a run whose smallest cluster is below :data:`MIN_SHARE` in more than this share of its epochs.
MAX_SMALL_EPOCHS = 0.10
#: Flag a run whose loss grows beyond this many times its first finite value.
MAX_GROWTH = 10.0
#: History columns read as losses when present (the loops' names).
LOSS_COLUMNS = ("loss", "cluster_loss", "recon_loss", "total_loss")


def cluster_sizes(labels: Any, k: int) -> dict[str, float]:
    """``min_cluster_share`` (the smallest of the K clusters' share of the samples, 0 when one is empty) and
    ``empty_clusters`` (how many of the K have no sample) of hard ``labels`` (N,) in 0..k-1.

    ``labels``: a NumPy array, a sequence or a torch tensor (moved to the CPU); the columns every loop
    logs per epoch for :func:`assess`.
    """
    if hasattr(labels, "detach"):  # a torch tensor, without importing torch here
        labels = labels.detach().cpu().numpy()
    counts = np.bincount(np.asarray(labels, dtype=np.int64).ravel(), minlength=k)[:k]
    return {"min_cluster_share": float(counts.min() / max(counts.sum(), 1)),
            "empty_clusters": int((counts == 0).sum())}


def _loss_growth(values: pd.Series) -> float:
    """Largest finite value over the first; NaN when there is none or the first is not positive."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return math.nan
    start = float(finite[0])
    if start <= 0:
        return math.nan
    return float(finite.max() / start)


def unconfident_clusters(history: pd.DataFrame, column: str = "unconfident_clusters") -> dict[str, Any]:
    """The unconfident-clusters rule (module docstring) on ``history[column]``.

    Returns
    -------
    dict with ``unconfident_clusters_start`` and ``unconfident_clusters_end`` (the column's first and
    last finite values; NaN without any) and ``reasons`` (list of str; empty when neither is positive).
    """
    out: dict[str, Any] = {"unconfident_clusters_start": math.nan, "unconfident_clusters_end": math.nan,
                           "reasons": []}
    if column not in history or not len(history):
        return out
    v = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return out
    start, end = int(v[0]), int(v[-1])
    out.update(unconfident_clusters_start=start, unconfident_clusters_end=end)
    for when, n in (("starts", start), ("ends", end)):
        if n > 0:
            out["reasons"].append(f"{when} with {n} cluster{'s' if n != 1 else ''} without a confident sample "
                                  "(no pseudo-label: it can only shrink)")
    return out


def assess(history: pd.DataFrame, *, loss_columns: Iterable[str] = LOSS_COLUMNS, min_share: float = MIN_SHARE,
           max_small_epochs: float = MAX_SMALL_EPOCHS, max_growth: float = MAX_GROWTH,
           unconfident_column: str | None = None) -> dict[str, Any]:
    """The health of one run from its per-epoch ``history``.

    Parameters
    ----------
    history : DataFrame, one row per epoch; reads ``min_cluster_share``,
        ``empty_clusters`` and the loss columns it has (``loss_columns``).
        Row 0 may be the state before training (its losses NaN).
    min_share, max_small_epochs, max_growth : the rules' thresholds
        (defaults :data:`MIN_SHARE`, :data:`MAX_SMALL_EPOCHS`, :data:`MAX_GROWTH`)
    unconfident_column : str, optional; self-labeling runs name their column of
        clusters without a confident sample here to apply that rule
        (:func:`unconfident_clusters`)

    Returns
    -------
    dict with ``flagged`` (bool), ``reasons`` (list of str), ``small_cluster_epochs``
    (share of epochs whose smallest cluster is below ``min_share``; NaN
    without the column), ``min_cluster_share`` (the smallest over the run and
    at the end), ``max_empty_clusters``, ``loss_growth`` ({column: largest
    value / start}); with ``unconfident_column`` also ``unconfident_clusters_start`` and
    ``unconfident_clusters_end``.
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    out: dict[str, Any] = {"flagged": False, "reasons": [], "small_cluster_epochs": math.nan,
                           "min_cluster_share": math.nan, "final_min_cluster_share": math.nan,
                           "max_empty_clusters": 0, "loss_growth": {}}
    if "min_cluster_share" in history and len(history):
        share = pd.to_numeric(history["min_cluster_share"], errors="coerce").to_numpy(dtype=float)
        share = share[np.isfinite(share)]
        if share.size:
            small = float(np.mean(share < min_share))
            out.update(small_cluster_epochs=small, min_cluster_share=float(share.min()),
                       final_min_cluster_share=float(share[-1]))
            if small > max_small_epochs:
                out["reasons"].append(f"smallest cluster below {min_share:.0%} of the samples in "
                                      f"{small:.0%} of the epochs (limit {max_small_epochs:.0%})")
    if "empty_clusters" in history and len(history):
        empty = pd.to_numeric(history["empty_clusters"], errors="coerce").fillna(0)
        out["max_empty_clusters"] = int(empty.max())
    for col in loss_columns:
        if col in history:
            g = _loss_growth(history[col])
            if not math.isnan(g):
                out["loss_growth"][col] = g
                if g > max_growth:
                    out["reasons"].append(f"{col.replace('_', ' ')} grew to {g:.3g}x its start "
                                          f"(limit {max_growth:g}x)")
    if unconfident_column is not None:
        rule = unconfident_clusters(history, unconfident_column)
        out["reasons"].extend(rule.pop("reasons"))
        out.update(rule)
    out["flagged"] = bool(out["reasons"])
    return out


def is_flagged(meta: Mapping[str, Any] | None) -> bool:
    """Whether a record's meta holds a health assessment that flags the run."""
    return bool(meta and isinstance(meta.get("health"), Mapping) and meta["health"].get("flagged"))


def flag_mark(flagged: bool) -> str:
    """The mark a table cell carries when a run behind it is flagged (``"⚠"``), else ``""``."""
    return "\u26a0" if flagged else ""


def rests_on(flagged: int, pairs: int) -> str:
    """The note of a paired comparison ``flagged`` of whose ``pairs`` hold a flagged run on either side:
    ``"rests on 1 of 3 pairs with a flagged run"``, or ``""`` when none does."""
    if not flagged:
        return ""
    return f"rests on {flagged} of {pairs} pair{'s' if pairs != 1 else ''} with a flagged run"
