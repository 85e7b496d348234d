"""R-DC: ACAI pretraining, proximity-level self-supervision and the baselines.

*Rethinking Deep Clustering Paradigms: Self-Supervision Is All You Need*
(R-DC), Sections 1.2, 3 and 4. Three registered algorithms:

``rdc.method``
    One method on one data set, all starting from the **same** pretrained
    autoencoder (d-500-500-2000-10, ACAI, Section 3.1), cached under
    ``results/pretrained/<dataset>/<key>.pt`` by (data set, seed, data
    fingerprint, pretraining parameters, :data:`dcutils.rdc.pretrain.PRETRAIN_VERSION`).
    ``method`` is one of

    - ``"ae_kmeans"``  phase 1 only, k-means on the embedding (AE + k-means; ablation P1);
    - ``"dec"``        phase 1, then DEC's KL(P || Q) on the encoder (ablation P1+P3);
    - ``"idec"``       phase 1, then reconstruction + 0.1 KL(P || Q);
    - ``"dynae"``      phase 1, then DynAE's dynamic loss (decoded k-means
      centroids as targets for confident samples, reconstruction for the rest);
    - ``"rdc"``        phase 1, then R-DC's proximity-level self-supervision
      (Eq. 3-15), k-means on the final embedding (ablation P1+P2);
    - ``"p1p2p3"``     R-DC's phase 2, then DEC (ablation P1+P2+P3); phase 2 is
      shared with ``"rdc"`` through the same network cache
      (:data:`dcutils.rdc.phase2.PHASE2_VERSION`);
    - ``"vade"``       phase 1, then VaDE's mixture prior and ELBO.

``rdc.twist``
    The Feature Twist toy (Figures 2 and 16): four curved 2-D clusters, the
    affine two-layer autoencoder, 200 epochs of plain reconstruction, then DEC
    or R-DC phase 2, with latent snapshots.

``rdc.paradigm``
    Figure 1's "typical" paradigm: reconstruction or NT-Xent pretraining,
    then DEC, with ID / LID through both phases.

Choices where the paper is silent or its text lost the value (all are
parameters with these defaults):

- batch 256; Adam lr 1e-3 in phase 1 and 1e-4 in phases 2/3 (the text lost
  both learning rates and the number of pretraining iterations);
- ACAI with ``lam = 0.5`` and ACAI's fixed blend ``gamma = 0.2`` (see
  :mod:`dcutils.rdc.acai`); augmentation (shifts <= 0.1, rotation <= 10 degrees)
  in every phase of every method, as Section 4.1.3 says;
- phase 2 refreshes the targets every ``refresh_every`` mini-batches (the
  paper: every iteration; 1 gives that) and stops when the core-point ratio
  has not grown for ``patience`` refreshes
  (:func:`dcutils.rdc.proximity.core_ratio_stopped`) or after ``cluster_epochs``;
- DEC/IDEC: Student-t soft assignment (alpha = 1), target distribution
  recomputed on the whole data every ``refresh_every`` mini-batches,
  centroids initialised by k-means and trained with the encoder; IDEC weight
  0.1 (Guo et al.);
- DynAE (``dynae_rule="fixed_gap"``): a sample is confident when the gap
  between its two largest soft assignments is at least ``dynae_threshold``;
  centroids are refreshed by a one-run k-means started from the previous
  centroids;
- ID (TwoNN) and LID (PCA, 90 % variance) on a fixed subsample of
  ``geometry_sample`` codes (the first codes of a permutation drawn with seed
  ``1234 + seed``, the same rows at every logging step).

Options following the authors' public code (``Amalsalem/Rethinking-DC``, one
TensorFlow file ``DynAE``), each a run parameter whose default keeps the
behaviour above (so every algorithm stays at version 1 and its golden numbers
hold); the list with defaults and the authors' values is in
:mod:`dcutils.rdc.method`, the facts with the authors' functions and line
numbers in the modules they concern:

- phase-2 loss weights ``construction_weight`` / ``pull_weight`` (authors
  100 / 1), ``neighbours_include_self`` (authors: ``M = 5`` counts the point,
  4 real neighbours), ``gamma_mode`` / ``gamma_quantile`` (gamma relative to
  the latent scale, ours), ``border_target`` (authors: border points keep
  their own code; default: they reconstruct their input, Eq. 12) and
  ``core_image_targets`` (authors: decoded by the current decoder at every
  iteration; default: once per refresh), the last two anchoring the targets
  since ``rdc.method`` / ``rdc.twist`` version 3 (the authors' pair lets
  phase 2 diverge): :mod:`dcutils.rdc.proximity`;
- ``refresh_every`` (authors 140) and ``stop`` (``"budget"``: a fixed number
  of epochs for every method, the stopping rules only recorded; the authors'
  phase 2 has no stopping rule): :mod:`dcutils.rdc.phase2`;
- ``lid_estimator`` (authors: standardised codes, 0.9999, averaged per
  k-means cluster): :mod:`dcutils.rdc.evaluation` (``rdc.method`` and
  ``rdc.paradigm``);
- ``dynae_rule`` (authors: two thresholds loosening by DynAE's schedule,
  embedded-centroid targets): :mod:`dcutils.rdc.baselines`;
- ``acai_mixing`` (authors: ``alpha ~ U[0, 1]``, blend ``~ U[0, 0.5]``):
  :mod:`dcutils.rdc.acai`, :mod:`dcutils.rdc.pretrain`;
- ``twist_activation`` (``"relu"``: a non-linear toy network; the paper's
  "linear" one is affine): :mod:`dcutils.rdc.twist`.

The authors keep the best-ACC checkpoint chosen with the labels; the runs do
not, and report that number apart (``final["acc_best_chosen_with_labels"]``).

Everything runs on the device of the run context; mini-batches come from
index permutations of the data tensor on that device.

Modules (training layer: they import only :mod:`dcutils.core`, the primitives and each other)
---------------------------------------------------------------------------------------------
``acai``        ACAI's critic, losses and step (phase 1, Eq. 1-2)
``proximity``   neighbours, core points, reliable neighbours, targets, loss, stopping (phase 2, Eq. 3-15)
``inputs``      mini-batch indices, R-DC's augmentation, input noise
``evaluation``  the shared per-epoch logger, ACC/F1, ID/LID, neighbour purity, PCA pictures
``pretrain``    ACAI pretraining and the cache of pretrained networks
``phase2``      the proximity self-supervision loop and its cache
``baselines``   DEC, IDEC and DynAE
``vade``        VaDE
``method``      the registered run ``rdc.method``
``paradigm``    the registered run ``rdc.paradigm``
``twist``       the registered run ``rdc.twist``

DEC's soft assignment and target distribution are :mod:`dcutils.dec`'s (shared
with BRB), re-exported here.

Above them (import the run cache and the settings; not re-exported here):
``settings`` (the items' settings and run lists), ``plots`` (tables and figures) and ``choices_plots``
(the rdc/choices notebook: the text's rule vs the authors' code, each run both ways).
"""
from __future__ import annotations

from dcutils.dec import soft_assignment, target_distribution
from dcutils.rdc import acai, proximity
from dcutils.rdc.baselines import dynae_loss, dynae_targets, train_dec, train_dynae
from dcutils.rdc.evaluation import HISTORY_COLUMNS, pca_2d
from dcutils.rdc.method import METHOD_HYPERPARAMETERS, METHODS, resolve_beta_gamma, run_method
from dcutils.rdc.paradigm import run_paradigm
from dcutils.rdc.phase2 import train_proximity
from dcutils.rdc.pretrain import pretrain_acai, pretrained_acai
from dcutils.rdc.twist import run_twist
from dcutils.rdc.vade import train_vade

__all__ = [
    "acai",
    "proximity",
    "METHODS",
    "HISTORY_COLUMNS",
    "resolve_beta_gamma",
    "pretrain_acai",
    "pretrained_acai",
    "soft_assignment",
    "target_distribution",
    "dynae_targets",
    "dynae_loss",
    "train_proximity",
    "train_dec",
    "train_dynae",
    "train_vade",
    "pca_2d",
    "METHOD_HYPERPARAMETERS",
    "run_method",
    "run_paradigm",
    "run_twist",
]
