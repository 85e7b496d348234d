"""Figures, tables and findings of BRB's analysis items (issue 13), from cached runs: a facade.

The parts live in modules of one job each (nothing in them trains), and this module re-exports every
name of them, so ``from dcutils.brb import analysis_plots as ap`` keeps working:

- :mod:`dcutils.brb.analysis_frames`: the items' runs as **cells** (:mod:`dcutils.brb.analysis_settings`: a
  main-grid row, a label and the parameters that differ) in tidy frames (``cell_finals``, ``cell_history``,
  ``cell_table``), their labels and colours, the notes and stamps on the outputs (``cells_note``,
  ``identical_ok``, ``analysis_provenance``), ``embedding_snapshots`` and the time tables
  (``PAPER_RUNTIME_MIN``, ``runtime_table``, ``component_table``).
- :mod:`dcutils.brb.analysis_figures`: every ``plot_*`` function (``plot_cells``, ``plot_cell_curves``,
  ``plot_sensitivity``, ``plot_embedding``).
- :mod:`dcutils.brb.analysis_verdicts`: the paper's claims as comparisons between two labels of one row
  (:class:`Comparison`, per item ``ITEM_COMPARISONS``; ``NAMES``), tested on the final values paired over
  seeds (``comparisons``, ``comparison_table``) with the verdict rules of :mod:`dcutils.brb.plots`, and each
  item's finding (every ``*_findings`` function), every number of its text cited.

New code may import from the modules above directly.
"""
# ruff: noqa: F401  (every import is a re-export)
from __future__ import annotations

from dcutils.brb.analysis_figures import (
    _voronoi,
    embedding_figure,
    left_out_figure,
    plot_cell_curves,
    plot_cells,
    plot_embedding,
    plot_sensitivity,
)
from dcutils.brb.analysis_frames import (
    PAPER_RUNTIME_MIN,
    _color,
    _DatasetsView,
    _key,
    _labels,
    _protocol,
    _row_name,
    _rows,
    _scale,
    _series,
    analysis_provenance,
    cell_finals,
    cell_history,
    cell_table,
    cells_note,
    coinciding,
    coinciding_text,
    component_table,
    embedding_snapshots,
    identical_ok,
    runtime_table,
)
from dcutils.brb.analysis_verdicts import (
    _LOWER_THAN_BRB,
    ITEM_COMPARISONS,
    NAMES,
    Comparison,
    _comparison_lines,
    _means_text,
    _step_change,
    _verdict_of,
    ablation_findings,
    comparison_table,
    comparisons,
    component_findings,
    embedding_findings,
    runtime_findings,
)

__all__ = ["Comparison", "ITEM_COMPARISONS", "cell_finals", "cell_history", "cell_table", "comparisons",
           "plot_cells", "plot_cell_curves", "plot_sensitivity", "ablation_findings", "analysis_provenance",
           "cells_note", "coinciding", "coinciding_text", "identical_ok", "comparison_table",
           "embedding_snapshots", "plot_embedding", "embedding_findings", "runtime_table", "runtime_findings",
           "component_table", "component_findings", "PAPER_RUNTIME_MIN"]
