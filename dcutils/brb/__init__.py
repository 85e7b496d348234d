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
        for xb in batches:
            total, recon, cluster = brb.clustering_loss("idec", model, xb, centroids, xb_aug)
            ...

Pieces (all run on the device of their input tensors)
------------------------------------------------------
Losses (Appendix B.1 Eq. 3-7; augmentation-consistent Eq. 14-17):
:func:`dec_soft_assignment` (Eq. 3), :func:`dec_target_distribution`
(Eq. 4), :func:`dec_loss` (KL(P||Q), Eq. 5), :func:`dec_cluster_loss`
(Eq. 15-16), :func:`reconstruction_loss` (Eq. 14), :func:`dcn_loss`
(Eq. 6 / 17), :func:`dcn_update_centroids` (Eq. 7), and
:func:`clustering_loss` combining them with the paper's weights
(:data:`LOSS_WEIGHTS`, from :mod:`dcutils.hparams`).

BRB steps: :func:`brb_step` (Algorithm 1: soft reset of the encoder except
its embedding layer, k-means reclustering on the clean embedded subsample,
zeroed Adam moments of the DEC/IDEC centroids) with ablation switches
(``reset="soft" | "perturb" | "gaussian" | None``, ``recluster="kmeans" |
"kmeans++" | "kmedoids" | "em" | "own" | None``, ``reset_embedding``,
``reset_momentum``); siblings :func:`noise_step` (Eq. 18) and
:func:`disentangled_step` (Algorithm 2).

Training: :func:`pretrain_autoencoder`, :func:`pretrained_autoencoder`
(cached under ``results/pretrained``), :func:`train_clustering`, and the
registered run ``brb.dc``.

Modules (training layer: they import only :mod:`dcutils.core` and the primitives)
----------------------------------------------------------------------------------
``losses``        DEC / IDEC / DCN losses and DCN's centroid update
``steps``         the BRB step and its ablations
``pretrain``      reconstruction pretraining and its cache
``augmentation``  the clustering phase's batched augmentation per data set
``train``         the clustering loop
``run``           the registered run ``brb.dc``

Above them (import the run cache and settings; not re-exported here):
``settings`` (items' settings and run lists) and ``plots`` (tables and figures).

Choices where the paper is silent (stated so they can be checked)
-----------------------------------------------------------------
* DCN cluster counts start at 1 after every (re)clustering (the k-means
  centroid counts as one sample in the running mean of Eq. 7).
* DCN centroid update (Eq. 7) uses the clean view's embedding after the
  network step, as the paper's order ("first update the network, then
  assign, then update the centres") says.
* Eq. 14: each view reconstructs itself; the two MSEs are averaged.
* "Recluster" and "Reset" baselines do not reset momentum (the authors'
  public configs set ``reset_momentum=False`` for them); BRB and its
  ablations do (``reset_momentum``).
* A subsample of the data (``subsample``) is the same for every seed (drawn
  with seed 0), so seeds vary only the network and the algorithm's draws.
"""
from dcutils.brb.augmentation import make_augmenter, setup_for
from dcutils.brb.losses import (
    LOSS_WEIGHTS,
    METHODS,
    clustering_loss,
    dcn_loss,
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
from dcutils.brb.train import HISTORY_COLUMNS, VARIANTS, ClusteringResult, reset_epochs, train_clustering

__all__ = [
    "METHODS", "VARIANTS", "RESETS", "RECLUSTERS", "LOSS_WEIGHTS", "HISTORY_COLUMNS",
    "dec_soft_assignment", "dec_target_distribution", "dec_loss", "dec_cluster_loss",
    "reconstruction_loss", "dcn_loss", "dcn_update_centroids", "clustering_loss",
    "BRBStepInfo", "brb_step", "noise_step", "disentangled_step",
    "pretrain_autoencoder", "pretrained_autoencoder", "pretrained_path",
    "ClusteringResult", "train_clustering", "reset_epochs", "run_dc", "setup_for", "make_augmenter",
]
