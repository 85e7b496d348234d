"""R-DC's tables, figures, texts and verdicts from cached runs: one import for the notebooks (a facade).

The parts live in modules of one job each (all in the layer above training: they read runs and draw;
nothing here trains or loads data), and this module re-exports every name of them, so
``from dcutils.rdc import plots as rp`` keeps working:

- :mod:`dcutils.rdc.frames`: the constants (``METHOD_NAME``, ``PAPER_METHODS``, ``NOT_RERUN``, ``METRICS``,
  ``ABLATION``, ``PHASE2``, ``LID_TEXT``, ``STABLE_SPREAD``), tidy frames and labels (``finals``, ``history``,
  ``display_name``, ``dataset_label``, ...), the notes on figures and tables (``data_note``, ``missing_text``,
  ``protocol_note``, ``health_note``, ...), ``save_figure`` and ``findings_provenance``.
- :mod:`dcutils.rdc.tables`: Tables 1 and 3-8, paper vs reproduced (``clustering_table``, ``ablation_table``,
  ``wide_all``, ``runtime_table``, ``hyperparameter_table``, ``dataset_table``, ``stopping_table``), the paired
  comparisons (``paired_claims``), their texts (``verdict_methods``, ``claims_text``, ``runtime_verdict``, ...)
  and ``save_table``.
- :mod:`dcutils.rdc.figures`: every ``*_figure`` function and the frames and summaries it draws (twist,
  paradigm, gain, accuracy, purity, geometry, algorithm, sensitivity, PCA, noise); it sets the companion's
  matplotlib style (:func:`dcutils.plotting.style`) once, on import.
- :mod:`dcutils.rdc.texts`: the Markdown texts of the figures (``*_verdict``, ``pca_text``,
  ``algorithm_markdown``), every number cited.
- :mod:`dcutils.rdc.verdicts`: each item's verdict on the paper's claim (every ``*_findings`` function) and
  the rule's helpers (``reproduces``, ``paired_difference``, ``seed_check``, ...).

``Cite`` and ``overall_verdict`` are re-exported from :mod:`dcutils.findings`. New code may import from the
modules above directly.
"""
# ruff: noqa: F401  (every import is a re-export)
from __future__ import annotations

from dcutils.findings import Cite, overall_verdict
from dcutils.rdc.figures import (
    _paper_end_marks,
    accuracy_figure,
    algorithm_figure,
    gain_figure,
    gain_frame,
    geometry_figure,
    geometry_gaps,
    lid_label,
    noise_figure,
    noise_frame,
    paradigm_figure,
    paradigm_per_seed,
    paradigm_summary,
    pca_figure,
    pca_per_seed,
    pca_separation,
    phase_history,
    purity_figure,
    sensitivity_figure,
    sensitivity_frame,
    start_and_end,
    twist_figure,
    twist_summary,
)
from dcutils.rdc.frames import (
    ABLATION,
    LID_TEXT,
    METHOD_NAME,
    METRICS,
    NOT_RERUN,
    PAPER_METHODS,
    PHASE2,
    STABLE_SPREAD,
    _gamma_words,
    _num,
    _pct,
    _save_figure,
    _seeds_words,
    change_word,
    data_note,
    dataset_label,
    display_name,
    figure_note,
    finals,
    findings_provenance,
    flagged_runs,
    health_note,
    history,
    inputs_batches,
    mean_se_pct,
    missing_short,
    missing_text,
    not_run_reason,
    protocol_note,
    run_datasets,
    run_label,
    save_figure,
    with_variant,
)
from dcutils.rdc.tables import (
    BASELINES,
    RDC_TABLE1,
    WIDE_LEGEND,
    _beats,
    _comparison,
    _flag_counts,
    _format,
    _paper_frame,
    _per_seed,
    _runtime_runs,
    ablation_table,
    ablation_verdict,
    cell,
    checkpoint_text,
    claims_text,
    clustering_table,
    dataset_table,
    hyperparameter_table,
    markdown,
    paired_claims,
    runtime_ratios,
    runtime_table,
    runtime_verdict,
    save_table,
    stopping_table,
    verdict_methods,
    wide,
    wide_all,
)
from dcutils.rdc.texts import (
    ALGORITHM_STEPS,
    _flagged_cells_text,
    accuracy_verdict,
    algorithm_markdown,
    algorithm_verdict,
    gain_verdict,
    geometry_verdict,
    noise_verdict,
    paradigm_verdict,
    pca_text,
    purity_verdict,
    sensitivity_verdict,
    twist_verdict,
)
from dcutils.rdc.verdicts import (
    LID_WIDE,
    LITTLE_GAIN,
    TWIST_WIDE,
    WIDE_FACTOR,
    _cells,
    _check_words,
    _finding,
    _one_seed_reason,
    _spread_verdict,
    accuracy_findings,
    algorithm_findings,
    beta_gamma_findings,
    dataset_findings,
    gain_findings,
    geometry_findings,
    hyperparameter_findings,
    noise_findings,
    paired_difference,
    paradigm_findings,
    pca_findings,
    purity_findings,
    reproduces,
    runtime_findings,
    seed_check,
    sensitivity_findings,
    table_findings,
    twist_findings,
)
