"""BRB's tables, figures, texts and verdicts from cached runs: one import for the notebooks (a facade).

The parts live in modules of one job each (all in the layer above training: they read ``brb.dc`` runs and
draw; nothing here trains or loads data), and this module re-exports every name of them, so
``from dcutils.brb import plots as brb_plots`` keeps working:

- :mod:`dcutils.brb.grid_frames`: the constants (``VARIANT_SUFFIX``, ``VARIANT_NAME``, ``METRIC_NAME``,
  ``PAPER_WIN_SHARE``, ``PAPER_OVERHEAD``), labels and tidy frames (``algorithm_label``, ``finals``,
  ``history``, ``brb_epochs``), the paired difference of two frames (``_paired``, ``_reproduces``), the
  paper's cells of Tables 13-15 (``paper_cells``, ``data_status``), the provenance stamps and notes
  (``provenance``, ``deviations_provenance``, ``substitution_note``, ``used_datasets``, ``protocol_note``).
  Its docstring gives the conventions (fractions stored, percent shown; "plain" is the variant ``"none"``).
- :mod:`dcutils.brb.claims`: the paper's claims as data (``Claim``, ``ITEM_CLAIMS``, ``MAX_LISTED``,
  ``PERCENT_METRICS``) and every claim compared over the runs (``claim_comparisons``).
- :mod:`dcutils.brb.grid_tables`: Tables 13-15 paper vs reproduced (``variant_table``, ``wide_view``,
  ``WIDE_LEGEND``), the paired comparisons (``paired_table``, ``brb_vs_plain``, ``brb_comparisons``,
  ``comparisons_view``, ``COMPARISONS_LEGEND``), the headline (``win_pairs``, ``headline_table``,
  ``WIN_SHARE``, ...), the per-item views (``item_table``, ``claims_table``, ``step_table``) and the
  deviations of the authors' code (``deviations_table``).
- :mod:`dcutils.brb.grid_figures`: every ``plot_*`` function and the frames it draws (``relative_gain``,
  ``ratio_samples``, ``ratio_summary``, ``slots``).
- :mod:`dcutils.brb.grid_texts`: the Markdown texts, every number cited (``variant_verdict``,
  ``flagged_cells``, ``comparisons_summary``, ``headline_summary``, ``curve_verdict``,
  ``reconstruction_verdict``, ``deviations_summary``).
- :mod:`dcutils.brb.grid_verdicts`: each item's verdict on the paper's claim (every ``*_findings``
  function), the claims' texts (``claims_text``, ``claims_reason``) and the frames behind the verdicts of
  Figures 7 and 18 (``ratio_shift``, ``reconstruction_steps``).

``Cite`` and ``overall_verdict`` are re-exported from :mod:`dcutils.findings`. New code may import from the
modules above directly.
"""
# ruff: noqa: F401  (every import is a re-export)
from __future__ import annotations

from dcutils.brb.claims import (
    ITEM_CLAIMS,
    MAX_LISTED,
    PERCENT_METRICS,
    Claim,
    _all_beyond_plain,
    claim_comparisons,
)
from dcutils.brb.grid_figures import (
    _dataset_ticks,
    _mark_steps,
    _new_figure,
    _paper_end_marks,
    _paper_marks,
    plot_curves,
    plot_deviations,
    plot_ratio_histogram,
    plot_relative_gain,
    plot_silhouette_gap,
    plot_variant_bars,
    ratio_samples,
    ratio_summary,
    relative_gain,
    slots,
)
from dcutils.brb.grid_frames import (
    METRIC_NAME,
    PAPER_OVERHEAD,
    PAPER_WIN_SHARE,
    VARIANT_NAME,
    VARIANT_SUFFIX,
    _cell,
    _display,
    _label,
    _num,
    _paired,
    _reproduces,
    algorithm_label,
    brb_epochs,
    data_status,
    deviations_provenance,
    finals,
    history,
    paper_cells,
    protocol_note,
    provenance,
    substitution_note,
    used_datasets,
)
from dcutils.brb.grid_tables import (
    AHEAD_ALL,
    AHEAD_PLAIN,
    BASELINES,
    COMPARISONS_LEGEND,
    OVERHEAD,
    WIDE_LEGEND,
    WIN_SHARE,
    _code_value,
    _deviation_pair,
    brb_comparisons,
    brb_vs_plain,
    claims_table,
    comparisons_view,
    deviations_table,
    headline_table,
    item_table,
    paired_table,
    step_table,
    variant_table,
    wide_view,
    win_pairs,
)
from dcutils.brb.grid_texts import (
    _ahead_text,
    _flag_note,
    _win_share_position,
    comparisons_summary,
    curve_verdict,
    deviations_summary,
    flagged_cells,
    headline_summary,
    reconstruction_verdict,
    variant_verdict,
)
from dcutils.brb.grid_verdicts import (
    BORDER,
    CHANCE_SHARE,
    _comparison,
    _counts,
    _finding,
    _paper_side,
    _where,
    algorithm_findings,
    claims_reason,
    claims_text,
    dataset_findings,
    deviations_findings,
    grid_findings,
    headline_findings,
    ratio_findings,
    ratio_shift,
    reconstruction_findings,
    reconstruction_steps,
    settings_findings,
)
from dcutils.findings import Cite, overall_verdict
