"""Tables, figures and verdicts of the resl notebooks (the layer above the runs and settings): a facade.

The parts live in modules of one job each (nothing in them trains), and this module re-exports every
name of them, so ``from dcutils.resl import plots`` keeps working:

- :mod:`dcutils.resl.frames`: the labels (``VARIANTS``, ``PAPER_LABELS``, :func:`label_runs`: ``variant``
  and the reset parameters in the paper's units), the labelled frames (``finals``, ``history``), the grid
  tables' frames and each variant's cell (``grid_cells``, ``grid_table``, ``best_cell``, ``chosen_cells``,
  ``ht_best_cell``), the notes on figures and tables (``protocol_note``, ``dataset_labels``,
  ``missing_text``, ``smoke_coincidence``) and ``injection_provenance``.
- :mod:`dcutils.resl.tables`: Tables 1 and 4-6 (``results_table``, ``wide_table``) and Table 2
  (``nmi_match_table``), paper vs reproduced; Table 3 beside what the runs use (``selflabel_hyperparameters``).
- :mod:`dcutils.resl.figures`: ``curve_figure`` and ``heatmap_figure``.
- :mod:`dcutils.resl.verdicts`: the paired comparisons and their rule (``paired_vs_scan``,
  ``precondition``, ``baseline_change``, ``gate``, ``verdict_of``, ``verdict_and_reason``), the texts'
  helpers (``num``, ``pm``, ``baseline_text``, ``precondition_text``) and each item's finding (every
  ``*_findings`` function). Its docstring states the rule: variants paired with SCAN+SL over seeds, and
  every reset verdict inconclusive when the SCAN+SL baseline degrades.

New code may import from the modules above directly.
"""
# ruff: noqa: F401  (every import is a re-export)
from __future__ import annotations

from dcutils.resl.figures import (
    curve_figure,
    heatmap_figure,
)
from dcutils.resl.frames import (
    _LABEL,
    _PAPER_STRATEGY,
    PAPER_LABELS,
    VARIANTS,
    _by_seed,
    _paper_every,
    _paper_momentum,
    _paper_units,
    _substitute_note,
    best_cell,
    chosen_cells,
    dataset_labels,
    finals,
    grid_cells,
    grid_table,
    history,
    ht_best_cell,
    injection_provenance,
    label_runs,
    missing_text,
    protocol_note,
    smoke_coincidence,
)
from dcutils.resl.tables import (
    TABLE3_DATASETS,
    nmi_match_table,
    results_table,
    selflabel_hyperparameters,
    wide_table,
)
from dcutils.resl.verdicts import (
    Finding,
    _cite,
    _context,
    _data_name,
    _health_note,
    _last,
    _no_runs,
    _series,
    algo1_findings,
    baseline_change,
    baseline_text,
    fig01_findings,
    fig03_findings,
    fig04_findings,
    gate,
    ht_grid_findings,
    hyperparameter_findings,
    injection_findings,
    nmi_match_findings,
    num,
    paired_vs_scan,
    pm,
    precondition,
    precondition_text,
    results_findings,
    sp_grid_findings,
    verdict_and_reason,
    verdict_of,
)

__all__ = ["VARIANTS", "PAPER_LABELS", "label_runs", "finals", "history", "grid_table", "best_cell",
           "results_table", "wide_table", "paired_vs_scan", "precondition", "protocol_note", "missing_text",
           "dataset_labels", "curve_figure", "heatmap_figure", "nmi_match_table", "verdict_of", "num", "pm",
           "baseline_change", "gate"]
