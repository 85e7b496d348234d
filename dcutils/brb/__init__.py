"""BRB: DEC, IDEC and DCN with soft resets, reclustering and momentum resets.

*Breaking the Reclustering Barrier in Centroid-based Deep Clustering*
(Miklautz et al., ICLR 2025), Sections 3-5, Appendices A, B.1, E and F.

Adding BRB to your own loop takes one call every T epochs::

    from dcutils import brb
    centroids = torch.nn.Parameter(...)                     # DEC / IDEC centroids
    optimizer = torch.optim.Adam([*model.parameters(), centroids], lr=1e-3)
    for epoch in range(epochs):
        if epoch > 0 and epoch % T == 0:
            info = brb.brb_step(model, centroids, optimizer, x[kmeans.subsample_indices(len(x), 10_000, g)],
                                alpha=0.8, method="idec", generator=g)
        for xb in batches:                                  # full batches only (drop_last, authors' loader)
            total, recon, cluster, labels = brb.clustering_loss("idec", model, xb, centroids, xb_aug)
            optimizer.zero_grad(); total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 500)   # the autoencoder only
            optimizer.step()
        # DCN (centroids a plain tensor, not in the optimizer): after the epoch's steps
        # brb.dcn_centroid_pass(model, x, centroids, batch_size=256, generator=g)

Pieces (all run on the device of their input tensors)
------------------------------------------------------
Losses (Appendix B.1 Eq. 3-7; augmentation-consistent Eq. 14-17):
:func:`dec_soft_assignment` (Eq. 3), :func:`dec_target_distribution`
(Eq. 4), :func:`dec_loss` (KL(P||Q), Eq. 5), :func:`dec_cluster_loss`
(Eq. 15-16), :func:`reconstruction_loss` (Eq. 14), :func:`dcn_loss`
(Eq. 6 / 17), DCN's centroid updates :func:`dcn_centroid_pass` (the
authors' once-per-epoch pass, built on :func:`dcn_minibatch_update`) and
:func:`dcn_update_centroids` (Eq. 7), and :func:`clustering_loss` combining
them with the paper's weights (:data:`LOSS_WEIGHTS`, from :mod:`dcutils.hparams`).

BRB steps: :func:`brb_step` (Algorithm 1: soft reset of the encoder except
its embedding layer, k-means reclustering on the clean embedded subsample,
zeroed Adam moments of the DEC/IDEC centroids) with ablation switches
(``reset="soft" | "perturb" | "gaussian" | None``, ``recluster="kmeans" |
"kmeans++" | "kmedoids" | "em" | "own" | None``, ``reset_embedding``,
``reset_momentum``); siblings :func:`noise_step` (Eq. 18) and
:func:`disentangled_step` (Algorithm 2).

Training: :func:`pretrain_autoencoder`, :func:`pretrained_autoencoder`
(cached under ``results/pretrained``), :func:`train_clustering`,
:func:`clustering_augmenter` (the clustering phase's augmentation with the
affine view's interpolation), and the registered run ``brb.dc``.

Modules (training layer: they import only :mod:`dcutils.core` and the primitives)
----------------------------------------------------------------------------------
``losses``        DEC / IDEC / DCN losses and DCN's centroid update
``steps``         the BRB step and its ablations
``pretrain``      reconstruction pretraining and its cache
``augmentation``  the clustering phase's batched augmentation per data set
``train``         the clustering loop
``run``           the registered run ``brb.dc``
``contrastive``   BRB with SimCLR as the auxiliary task: ResNet18 + MLP + projector, its block resets,
                  losses, views and the clustering loop (Tables 1, 11, 16, 17); they also import
                  ReSL's network, pretext data and self-labeling (:mod:`dcutils.resl`, training layer)
``contrastive_pretrain`` its SimCLR pretraining and the cache of the pretrained network
``contrastive_run`` the registered run ``brb.contrastive`` (pretraining, clustering, self-labeling)

Above them (import the run cache and settings; not re-exported here):
``settings`` (items' settings and run lists), ``contrastive_settings`` (the contrastive items' settings
and run lists), ``plots`` (tables and figures) and ``contrastive_plots`` (the contrastive items' tables).

Choices where the paper is silent (stated so they can be checked)
-----------------------------------------------------------------
Where the text is silent or only cites the original algorithm we follow the
authors' code (github.com/Probabilistic-and-Interactive-ML/breaking-the-reclustering-barrier);
where the text states a setting (Tables 5/6) we follow the text. Each choice
has a parameter of ``brb.dc`` and of :func:`train_clustering` (and of
:func:`clustering_loss` / :func:`dcn_loss` for the loss) whose other value
gives the other behaviour. The functions and the registered run ``brb.dc``
default to the authors' code (``brb.dc`` since issue 9; its records computed
with the other values keep their keys, since a config names every parameter):

* DCN loss normalisation, ``dcn_loss_mean="entries"``: the mean over all
  N x K entries of squared distance x one-hot assignment, so Table 5's weight
  0.025 acts per sample as 0.025 / K (code: ``src/deep/dcn_module.py``,
  ``_BRB_DCN_Module.dcn_loss``, ``(dist * assignment_matrix).mean()``).
  ``"samples"``: the mean over samples.
* DCN centroids, ``dcn_centroids="epoch_pass"``: not moved after optimizer
  steps; after each epoch's network updates an eval-mode pass over the clean
  data (fresh shuffle, batch size 256, last partial batch dropped) assigns
  each mini-batch to the nearest current centroid and moves every centroid
  with members toward its mini-batch mean at the fixed rate 1/101, once per
  mini-batch (code: ``dcn_module.py``, ``_BRB_DCN_Module.fit``, the "Update
  Assignments and Centroids" loop over ``trainloader``; ``update_centroids``
  passes ``reinit_lost_clusters=False`` positionally into ``center_lr`` of
  ``_compute_centroids_mb``, so the counts, started at 100, never change and
  ``per_center_lr = 1/101``). BRB's reclustering sets the centroids and does
  not touch the rate. ``"eq7"``: Eq. 7 after every optimizer step, on the
  clean view's embedding after the step, with running counts that start at 1
  after every (re)clustering (the k-means centroid counts as one sample).
* Last partial mini-batch, ``drop_last=True``: dropped in every clustering
  epoch and in DCN's pass (code: ``src/datasets/augmentation_dataloader.py``,
  ``get_dataloader_with_augmentation``, ``shuffle=True, drop_last=True``).
  Pretraining keeps it (code: ``src/datasets/dataset_init.py``,
  ``_get_train_eval_loader``, no ``drop_last``), so pretrained networks are
  unchanged. ``False``: trained on.
* Gradient clipping at 500, ``clip="autoencoder"``: over the autoencoder's
  parameters only, DEC/IDEC centroids excluded (code: ``dec_module.py`` and
  ``dcn_module.py``, ``fit``, ``clip_grad_norm_(autoencoder.parameters(), 500)``).
  ``"all"``: centroids included in the clipped norm.
* Affine augmentation, ``interpolation="nearest"``: nearest-pixel sampling
  (code: ``augmentation_dataloader.py`` builds ``v2.RandomAffine(degrees=(-16,
  16), translate=(0.1, 0.1), shear=(-8, 8), fill=0)`` without
  ``interpolation``: torchvision's default NEAREST). ``"bilinear"``: blends.
* BatchNorm, ``batch_norm=True`` in ``brb.dc`` (version 2): every run behind
  the published tables had it (the authors' grid runner,
  ``config/runner_config.py``, defaults to ``batch_norm=True`` and the table
  configs keep it), although Table 5's text says "BatchNorm False" (that value
  is a deviations row); it enters the pretrained network's cache key. With
  BatchNorm a network that was not pretrained is embedded in train mode for
  the first k-means and epoch 0's scores (``first_clustering``, the authors'
  ``src/training/ae.py`` never calls ``.eval()`` on it), IDEC and DCN pass
  both views as one batch (``_abstract_autoencoder.py``,
  ``reconstruction_loss``) and DEC passes them separately after a no-grad
  statistics pass (``dec_module.py``, ``_loss``; ``view_passes``). The
  library functions (:func:`new_model`, :func:`train_clustering`) keep
  BatchNorm off and eval mode by default; the run turns them on.
* Eq. 14: each view reconstructs itself; the two MSEs are averaged.
* "Recluster" and "Reset" baselines do not reset momentum (the authors'
  public configs set ``reset_momentum=False`` for them); BRB and its
  ablations do (``reset_momentum``).
* A subsample of the data (``subsample``) is the same for every seed (drawn
  with seed 0), so seeds vary only the network and the algorithm's draws.
"""
from dcutils.brb.augmentation import make_augmenter, setup_for
from dcutils.brb.contrastive_run import run_contrastive
from dcutils.brb.losses import (
    DCN_CENTROID_RATE,
    DCN_CENTROIDS,
    DCN_LOSS_MEANS,
    LOSS_WEIGHTS,
    METHODS,
    clustering_loss,
    dcn_centroid_pass,
    dcn_loss,
    dcn_minibatch_update,
    dcn_update_centroids,
    dec_cluster_loss,
    dec_loss,
    dec_soft_assignment,
    dec_target_distribution,
    reconstruction_loss,
)
from dcutils.brb.pretrain import pretrain_autoencoder, pretrained_autoencoder, pretrained_path
from dcutils.brb.run import run_dc
from dcutils.brb.steps import RECLUSTERS, RESETS, BRBStepInfo, brb_step, disentangled_step, noise_step
from dcutils.brb.train import (
    CLIPS,
    HISTORY_COLUMNS,
    INTERPOLATIONS,
    VARIANTS,
    ClusteringResult,
    clustering_augmenter,
    reset_epochs,
    train_clustering,
)

__all__ = [
    "METHODS", "VARIANTS", "RESETS", "RECLUSTERS", "LOSS_WEIGHTS", "HISTORY_COLUMNS",
    "dec_soft_assignment", "dec_target_distribution", "dec_loss", "dec_cluster_loss",
    "reconstruction_loss", "dcn_loss", "dcn_update_centroids", "dcn_minibatch_update", "dcn_centroid_pass",
    "clustering_loss", "DCN_LOSS_MEANS", "DCN_CENTROIDS", "DCN_CENTROID_RATE", "CLIPS", "INTERPOLATIONS",
    "BRBStepInfo", "brb_step", "noise_step", "disentangled_step",
    "pretrain_autoencoder", "pretrained_autoencoder", "pretrained_path",
    "ClusteringResult", "train_clustering", "reset_epochs", "run_dc", "setup_for", "make_augmenter",
    "clustering_augmenter", "run_contrastive",
]
