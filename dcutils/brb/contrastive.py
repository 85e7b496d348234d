"""BRB with a contrastive auxiliary task: the network, its resets, the losses, the views, the clustering loop.

*Breaking the Reclustering Barrier* (Miklautz et al., ICLR 2025), Section 6 scenario 3, Appendix E
(Eq. 14-17, E.1, E.7) and Table 7; Tables 1, 11, 16 and 17. The registered run is ``brb.contrastive``
(:mod:`dcutils.brb.contrastive_run`); this module holds its pieces.

The network (:class:`ContrastiveNet`)
-------------------------------------
ReSL's ResNet18 with the CIFAR stem and a width multiplier (:func:`dcutils.resl.network.resnet18`: the
authors' ``ResNetEncoder`` also has a 3x3 stride-1 stem and a 1x1 max-pool, i.e. none), then the MLP
head, whose output is the embedding the centroids live in, then the SimCLR projector on the embedding.
Sizes from the authors' code: ``src/training/ae_init.py``, ``initialize_autoencoder``, gives
``model_type="feedforward_medium"`` the layers ``[d, 512, 256, embedding_dim]`` with ``d`` replaced by the
ResNet's output (512 for ResNet18) and ``embedding_dim=128`` (``config/contrastive/cifar10_brb.py``);
``FullyConnectedBlock`` (``src/deep/autoencoders/_abstract_autoencoder.py``) puts BatchNorm1d and ReLU
after every Linear but the last (``batch_norm=True``, ``activation_fn="relu"``). So the head is
d-512-256-128 with BatchNorm, not -512-256-K: Table 7's "-512-256-" lost its ends in extraction and the
embedding is 128-dimensional, not K. The projector (``determine_projector_layers``):
``[embedding_dim] + [projector_layer_size] * projector_depth + [embedding_dim]`` = 128-2048-128 with ReLU
between, no BatchNorm, biases (``projector_depth=1``, ``projector_layer_size=2048``). Grayscale images
keep one channel and their 28 px (the authors would repeat them to 3 channels at 32 px for a ResNet).

BRB's soft reset here (:func:`soft_reset_network`, :data:`RESET_BLOCKS`)
-------------------------------------------------------------------------
As the authors' ``src/deep/soft_reset.py`` (``soft_reset``) does with ``reset_convlayers="4"``,
``reset_interpolation_factor=0.7``, ``reset_interpolation_factor_step=0.2`` (``config/contrastive/*_brb.py``):
the MLP's Linear layers except the embedding layer at alpha = 0.7; the named ResNet blocks, deepest first,
at ``min(1, alpha + (r + 1) * step)`` for the r-th of them (so block 4 alone at 0.9, Table 7's "ResNet
Block 4 reset factor"), a block whose factor reaches 1 is left alone; ``"all"`` (their
``reset_convlayers=True``) resets every convolution of the ResNet, stem included, at alpha itself.
BatchNorm is never reset (``reset_batchnorm=False``). Every convolution of a block is reset, its
shortcut's included. The initial distribution is :mod:`dcutils.resets`' (Kaiming uniform, the authors').

With the published step 0.2 the two-block choices reduce to one block: "4+3" resets block 4 at 0.9 and
block 3 at 1.1, capped to 1 (no reset), and "1+2" resets block 2 at 0.9 and block 1 not at all; Table 11's
rows cannot have been run that way unless they equal the one-block rows, which the text does not say.
Table 11's last row, "4,3,2,1", is read as ``"all"``: the text calls it "resetting all ResNet blocks"
with "a large drop in performance", while the string "4,3,2,1" at step 0.2 would reset block 4 alone.

**The projector**: Appendix E says "we reset the projector network for contrastive learning with each
weight reset of BRB"; the authors' code can (``reset_projector=True``: every projector Linear layer at
alpha) but their contrastive configs leave ``BRBArgs.reset_projector`` at its default False
(``config/brb_config.py``). The runs behind the published tables are the reference, so ``brb.contrastive``
defaults to False; ``reset_projector=True`` (soft reset at alpha, as their code would do it) is the text's
value, a named deviation to run both ways and pair (issue 23).

The losses (Eq. 14-17 with the contrastive task, :func:`contrastive_clustering_loss`)
--------------------------------------------------------------------------------------
Both views are augmented (``augment_both_views=True``; Appendix E: "we only use augmented samples during
pretraining and deep clustering"); view 2 plays the "original" x of Eq. 15-17: DEC/IDEC's target P and
DCN's assignments come from it, and each cluster loss is the mean over both views. The contrastive loss is
the authors' ``SimclrLoss`` (``src/deep/autoencoders/simclr_loss.py``): the sum of the two views'
cross-entropies, i.e. twice SimCLR's NT-Xent averaged over the 2N anchors (:func:`simclr_loss`), on the
L2-normalised projections, temperature 0.5. Weights (``cluster_loss_weight``, ``data_reg_loss_weight``):

* DEC: ``w_c * L_DEC`` with w_c = 1; no contrastive term (``BRB_DEC`` sets ``use_reconstruction_loss=False``;
  the paper's Section 2: DEC does not use the auxiliary loss). As the authors' ``dec_module.py``
  (``_loss``), one no-grad pass over both views updates BatchNorm's running statistics (and gives the
  logged contrastive loss), then view 1 and view 2 are encoded separately.
* IDEC: ``L_clr + w_c * L_DEC`` with w_c = 1; both views encoded as one batch.
* DCN: ``L_clr + w_c * L_DCN`` with w_c = 1e-4, L_DCN the mean over N x K entries (``dcn_module.py``).

L_DEC is KL(P || Q) as :func:`dcutils.brb.losses.dec_cluster_loss` computes it; the authors' value is the
cross-entropy ``-sum p log q``, larger by the entropy of P (no gradient), so their logged numbers differ.

Training (:func:`dcutils.brb.contrastive_pretrain.pretrain_simclr`, :func:`train_contrastive_clustering`)
--------------------------------------------------------------------------------------------------------
Pretraining (:mod:`dcutils.brb.contrastive_pretrain`, cached): SimCLR on two augmented views per image (Table
7's colour pipeline, :func:`contrastive_view`), AdamW at lr 3e-3, weight decay 1e-4 on weight matrices only,
no schedule, gradient norm clipped at 500 (sources there). Clustering: Adam (weight decay 0), lr 1e-3 / 3e-3 /
1e-2 for DEC / IDEC / DCN, the authors' ``scheduler_name="linear"``: torch's ``LinearLR`` from 0.01 x lr to
lr, stepped per epoch over ``scheduler_total_epochs`` = 20 epochs (the default; the configs'
``scheduler_warmup_epochs=10`` is not read by the "linear" scheduler), not restarted by BRB; gradient norm of
the network clipped at 500; k-means (n_init 10) on the clean embedded training images first and at every BRB
step (on at most 10,000 of them, drawn at random as ``brb.dc`` draws them; the authors' ``encode_batchwise``
takes the first 10,000 of the unshuffled loader); DCN's centroids move once per epoch
(:func:`dcutils.brb.losses.dcn_minibatch_update` at rate 1/101 over the shuffled second view, as
``dcn_module.py``). Every epoch is scored on the evaluation split (clean images, eval mode, fp32).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import metrics, precision, resets
from dcutils.augment import color_augment
from dcutils.brb.losses import (
    METHODS,
    check_choice,
    dcn_loss,
    dcn_minibatch_update,
    dec_cluster_loss,
)
from dcutils.brb.steps import BRBStepInfo, brb_step
from dcutils.core import NonFiniteLossError
from dcutils.health import cluster_sizes
from dcutils.hparams import BRB_CONTRASTIVE as SETUP
from dcutils.resl.augment import normalize
from dcutils.resl.losses import nt_xent
from dcutils.resl.network import resnet18
from dcutils.resl.pretext import Splits, batches, embed
from dcutils.timing import Stopwatch

__all__ = ["AUTHORS", "RESET_BLOCKS", "CLUSTER_COLUMNS", "ContrastiveNet", "block_factors", "reset_plan",
           "soft_reset_network", "simclr_loss", "contrastive_clustering_loss", "contrastive_view", "views",
           "lr_factor", "check_loss", "ContrastiveResult", "train_contrastive_clustering"]

#: Values of the authors' contrastive configs (``config/contrastive/cifar10_brb.py``, ``cifar100_20_brb.py``,
#: their baselines, and ``config/optimizer_config.py`` for defaults they rely on) that Table 7 lost in
#: extraction or does not state; the rest comes from :data:`dcutils.hparams.BRB_CONTRASTIVE`.
AUTHORS: dict[str, Any] = {
    "seeds": (214, 148, 820, 400, 40, 805, 111, 491, 215, 513),
    "pretrain_lr": 3e-3,
    "pretrain_weight_decay": SETUP.pretrain_weight_decay,  # Table 7 states it: one copy, in dcutils.hparams
    "cluster_lr": {name.lower(): lr for name, lr in SETUP.cluster_lr},  # Table 7's 1e-3 / 3e-3 / 1e-2
    "cluster_weight": {"dec": 1.0, "idec": 1.0, "dcn": 1e-4},
    "contrastive_weight": 1.0,
    "warmup_epochs": 20,      # LinearLR total_iters = DCOptimizerArgs.scheduler_total_epochs (default 20)
    "warmup_start": 0.01,     # scheduler_start_factor
    "alpha_step": 0.2,        # reset_interpolation_factor_step
    "reset_blocks": "4",      # reset_convlayers
    "recluster_subsample": 10_000,
    "kmeans_n_init": 10,      # src/deep/_clustering_utils.py, run_clustering: KMeans(n_init=10)
    "grad_clip": 500.0,
}

#: ``reset_blocks`` choices (Table 11's rows): none, one block, two blocks, every convolution of the ResNet.
RESET_BLOCKS = ("none", "1", "4", "1+2", "4+3", "all")

#: Columns of the clustering stage's history rows (row 0: the initial k-means on the pretrained network).
CLUSTER_COLUMNS = ("stage", "epoch", "acc", "nmi", "ari", "cl_change", "loss", "contrastive_loss", "cluster_loss",
                   "lr", "brb", "t_reset", "t_embed", "t_cluster", "t_momentum", "brb_seconds", "epoch_seconds",
                   "steps", "min_cluster_share", "empty_clusters")

class ContrastiveNet(nn.Module):
    """ResNet18 (CIFAR stem, ``width``) -> MLP head (BatchNorm) -> embedding; SimCLR projector on the embedding.

    Parameters
    ----------
    in_channels : int (1 for Fashion-MNIST, 3 for CIFAR)
    width : float, the ResNet's channel multiplier (1 = ResNet18; its output has ``round(512 * width)`` features)
    mlp : hidden sizes and embedding size of the head, the authors' ``feedforward_medium`` (512, 256, 128)
    projector_width, projector_depth : the projector's hidden size and number of hidden layers (2048, 1);
        depth 0 = no projector (the loss on the embedding itself)

    Shapes: ``encode``: (N, C, H, W) -> (N, mlp[-1]); ``project``: (N, mlp[-1]) -> (N, mlp[-1]);
    ``forward`` = ``encode`` (so :func:`dcutils.resl.pretext.embed` embeds with it).
    """

    def __init__(self, in_channels: int, width: float, mlp: tuple[int, ...] = SETUP.mlp[1:],
                 projector_width: int = SETUP.projector[1], projector_depth: int = 1) -> None:
        super().__init__()
        if len(mlp) < 1 or any(int(m) < 1 for m in mlp):
            raise ValueError(f"mlp must list at least the embedding size, positive ints, got {mlp}")
        if projector_depth < 0 or projector_width < 1:
            raise ValueError(f"projector_depth must be >= 0 and projector_width >= 1, got {projector_depth}, "
                             f"{projector_width}")
        self.backbone = resnet18(in_channels, width)
        dims = [int(self.backbone.out_dim), *map(int, mlp)]
        layers: list[nn.Module] = []
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers += [nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        emb = dims[-1]
        pdims = [emb, *[int(projector_width)] * int(projector_depth), emb]
        proj: list[nn.Module] = []
        if projector_depth > 0:
            for i in range(len(pdims) - 1):
                proj.append(nn.Linear(pdims[i], pdims[i + 1]))
                if i < len(pdims) - 2:
                    proj.append(nn.ReLU())
        self.projector = nn.Sequential(*proj)  # empty Sequential = identity
        self.embedding_dim = emb

    @property
    def mlp_linears(self) -> list[nn.Linear]:
        """The head's Linear layers, input side first (the last one outputs the embedding)."""
        return [m for m in self.mlp if isinstance(m, nn.Linear)]

    def encode(self, x: Tensor) -> Tensor:
        return self.mlp(self.backbone(x))

    def project(self, z: Tensor) -> Tensor:
        return self.projector(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)


# ------------------------------------------------------------------------------------------- resets
def block_factors(reset_blocks: str, alpha: float, step: float) -> dict[str, float]:
    """ResNet blocks a BRB step resets and their interpolation factors (module docstring).

    ``{"layer4": 0.9}`` for ``"4"`` at alpha 0.7, step 0.2; ``{"all": alpha}`` for ``"all"``; ``{}`` for
    ``"none"``. A block whose factor reaches 1 (no reset) is left out.
    """
    check_choice("reset_blocks", reset_blocks, RESET_BLOCKS)
    if reset_blocks == "none":
        return {}
    if reset_blocks == "all":
        return {"all": float(alpha)}
    out: dict[str, float] = {}
    for rank, block in enumerate(sorted((int(b) for b in reset_blocks.split("+")), reverse=True)):
        factor = round(float(alpha) + (rank + 1) * float(step), 10)
        if factor < 1.0:
            out[f"layer{block}"] = factor
    return out


def reset_plan(net: ContrastiveNet, *, reset_blocks: str, reset_mlp: bool, reset_projector: bool, alpha: float,
               alpha_step: float) -> list[tuple[str, list[nn.Module], float]]:
    """(group, its Linear/Conv layers, factor) in the authors' order: MLP, ResNet blocks (deepest first), projector."""
    plan: list[tuple[str, list[nn.Module], float]] = []
    if reset_mlp:
        plan.append(("mlp", net.mlp_linears[:-1], float(alpha)))  # the embedding layer is never reset
    for name, factor in block_factors(reset_blocks, alpha, alpha_step).items():
        module = net.backbone if name == "all" else getattr(net.backbone, name)
        plan.append((name, resets.resettable_layers(module), factor))
    if reset_projector:
        plan.append(("projector", resets.resettable_layers(net.projector), float(alpha)))
    return [(name, layers, f) for name, layers, f in plan if layers]


def soft_reset_network(net: ContrastiveNet, *, reset_blocks: str, reset_mlp: bool, reset_projector: bool,
                       alpha: float, alpha_step: float, generator: torch.Generator | None = None) -> dict[str, float]:
    """BRB's soft reset (Eq. 1) of ``net`` in place, group by group (:func:`reset_plan`); returns {group: factor}."""
    done: dict[str, float] = {}
    for name, layers, factor in reset_plan(net, reset_blocks=reset_blocks, reset_mlp=reset_mlp,
                                           reset_projector=reset_projector, alpha=alpha, alpha_step=alpha_step):
        resets.soft_reset(layers, factor, generator=generator)
        done[name] = factor
    return done


# ------------------------------------------------------------------------------------------- losses
def simclr_loss(h1: Tensor, h2: Tensor, temperature: float = SETUP.temperature) -> Tensor:
    """The authors' ``SimclrLoss``: ``CE_view1 + CE_view2`` = 2 x NT-Xent over the 2N anchors (fp32).

    Row i of ``h1`` and ``h2`` (N, D) are the projections of two views of image i; they are L2-normalised;
    each anchor's positive is its other view, its negatives the other 2N - 2 projections.
    """
    return 2.0 * nt_xent(h1, h2, temperature)


def contrastive_clustering_loss(method: str, z1: Tensor, z2: Tensor, centroids: Tensor, h1: Tensor | None = None,
                                h2: Tensor | None = None, *, temperature: float = SETUP.temperature,
                                cluster_weight: float, contrastive_weight: float = 1.0
                                ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One mini-batch's loss of contrastive DEC / IDEC / DCN (Eq. 14-17 with SimCLR as the auxiliary task).

    Parameters
    ----------
    method : {"dec", "idec", "dcn"}
    z1, z2 : Tensor (N, D), embeddings of view 1 and of view 2 (view 2 gives P, resp. DCN's assignments)
    centroids : Tensor (K, D) (a Parameter for DEC / IDEC, a plain tensor for DCN)
    h1, h2 : Tensor (N, P), projections of the two views (IDEC, DCN; DEC ignores them)
    temperature : SimCLR's temperature (0.5)
    cluster_weight, contrastive_weight : w_c (DEC 1, IDEC 1, DCN 1e-4) and the contrastive weight (1)

    Returns
    -------
    total : ``contrastive_weight * L_clr + cluster_weight * L_cluster`` (DEC: no L_clr)
    contrastive : L_clr (zero for DEC), cluster : the cluster loss, labels : (N,) view 2's nearest centroids
    """
    check_choice("method", method, METHODS)
    labels = km.assign(z2.detach().float(), centroids.detach().float())
    if method == "dcn":
        cluster = dcn_loss(z2, centroids.detach(), labels, z1, dcn_loss_mean="entries")
    else:
        cluster = dec_cluster_loss(z2, centroids, z1)
    if method == "dec":
        contrastive = cluster.new_zeros(())
        total = cluster_weight * cluster
    else:
        if h1 is None or h2 is None:
            raise ValueError(f"{method} needs the projections h1 and h2 of both views")
        contrastive = simclr_loss(h1, h2, temperature)
        total = contrastive_weight * contrastive + cluster_weight * cluster
    return total, contrastive, cluster, labels


# ------------------------------------------------------------------------------------------- views
def contrastive_view(x: Tensor, s: Splits, generator: torch.Generator | None) -> Tensor:
    """Table 7's augmentation of images in [0, 1], normalised: RandomResizedCrop(side, 0.08-1), ColorJitter
    (0.4, 0.4, 0.2, 0.1) p 0.8, RandomGrayscale 0.2, flip, RandomSolarize(0.5) p 0.2 (the authors'
    ``augmentation_dataloader.py``; on one channel saturation, hue and grayscale do nothing); side = the
    image's (the authors' ``crop_size=32`` on CIFAR)."""
    c = SETUP.color
    out = color_augment(x, size=int(x.shape[-1]), scale=c.crop_scale, brightness=c.jitter[0], contrast=c.jitter[1],
                        saturation=c.jitter[2], hue=c.jitter[3], jitter_p=c.jitter_p, grayscale_p=c.grayscale_p,
                        flip_p=c.hflip_p, solarize_p=c.solarize_p, solarize_threshold=0.5, generator=generator)
    return normalize(out, s.mean, s.std)


def views(xb: Tensor, s: Splits, generator: torch.Generator, both: bool) -> tuple[Tensor, Tensor]:
    v1 = contrastive_view(xb, s, generator)
    v2 = contrastive_view(xb, s, generator) if both else normalize(xb, s.mean, s.std)
    return v1, v2


def lr_factor(epoch: int, warmup_epochs: int, start: float) -> float:
    """The authors' "linear" schedule during 0-based ``epoch``: ``start + (1 - start) * min(epoch, W) / W``."""
    if warmup_epochs <= 0:
        return 1.0
    return float(start + (1.0 - start) * min(epoch, warmup_epochs) / warmup_epochs)


def check_loss(value: float, what: str, epoch: int) -> float:
    """``value``, or :class:`~dcutils.core.NonFiniteLossError` naming the loss and the epoch."""
    if not math.isfinite(value):
        raise NonFiniteLossError(f"{what} became {value} at epoch {epoch}. Nothing was cached. "
                                 "Try a lower learning rate.")
    return value


# ------------------------------------------------------------------------------------------- clustering
@dataclass
class ContrastiveResult:
    """What :func:`train_contrastive_clustering` returns.

    rows : history rows (:data:`CLUSTER_COLUMNS`; row 0 = initial k-means), centroids : (K, D) at the end,
    labels_train : (N_train,) nearest-centroid labels of the clean training images at the end,
    steps : the BRB steps' :class:`~dcutils.brb.steps.BRBStepInfo`, resets : {group: factor} of a BRB step,
    brb_epochs : 0-based epochs at whose start a BRB step ran.
    """

    rows: list[dict[str, Any]]
    centroids: Tensor
    labels_train: Tensor
    steps: list[BRBStepInfo] = field(default_factory=list)
    resets: dict[str, float] = field(default_factory=dict)
    brb_epochs: list[int] = field(default_factory=list)


def _scores(net: ContrastiveNet, s: Splits, centroids: Tensor, previous: np.ndarray | None
            ) -> tuple[dict[str, float], np.ndarray]:
    z = embed(net, s.x_test, s.mean, s.std)
    labels = km.assign(z, centroids.detach().float().to(z.device)).cpu().numpy()
    y = s.y_test.cpu().numpy()
    sc = metrics.clustering_scores(y, labels)
    row = {"acc": sc["acc"], "nmi": sc["nmi"], "ari": sc["ari"], **cluster_sizes(labels, centroids.shape[0]),
           "cl_change": math.nan if previous is None else metrics.cluster_label_change(previous, labels)}
    return row, labels


def _encode_views(method: str, net: ContrastiveNet, v1: Tensor, v2: Tensor, temperature: float
                  ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """z1, z2, h1, h2 and (DEC) the logged contrastive loss, the views passed as the authors' code passes them."""
    b = v1.shape[0]
    if method == "dec":
        with torch.no_grad():  # dec_module.py, _loss: autoencoder.loss(batch) under inference_mode
            h = net.project(net.encode(torch.cat([v1, v2])))
            logged = simclr_loss(h[:b], h[b:], temperature)
        return net.encode(v1), net.encode(v2), None, None, logged
    z = net.encode(torch.cat([v1, v2]))
    h = net.project(z)
    return z[:b], z[b:], h[:b], h[b:], None


@torch.no_grad()
def _dcn_pass(net: ContrastiveNet, s: Splits, centroids: Tensor, batch_size: int, generator: torch.Generator,
              both: bool, prec: str) -> None:
    """DCN's per-epoch centroid pass (``dcn_module.py``, ``fit``): eval mode, the training loader's second view."""
    net.eval()
    dev = s.x_train.device
    for idx in batches(s.x_train.shape[0], batch_size, generator, dev, drop_last=True):
        xb = s.x_train[idx]
        v2 = contrastive_view(xb, s, generator) if both else normalize(xb, s.mean, s.std)
        with precision.autocast(dev, prec):
            z = net.encode(v2).float()
        c = centroids.detach()
        centroids.copy_(dcn_minibatch_update(c, z, km.assign(z, c)))


def train_contrastive_clustering(
    net: ContrastiveNet, s: Splits, *, method: str, brb: bool, epochs: int, batch_size: int, lr: float,
    cluster_weight: float, contrastive_weight: float = 1.0, temperature: float = SETUP.temperature,
    reset_interval: int = SETUP.reset_interval, reset_blocks: str = "4", reset_mlp: bool = True,
    reset_projector: bool = False, alpha: float = SETUP.alpha_mlp, alpha_step: float = AUTHORS["alpha_step"],
    reset_momentum: bool = True, recluster_subsample: int = AUTHORS["recluster_subsample"],
    n_init: int = AUTHORS["kmeans_n_init"], warmup_epochs: int = AUTHORS["warmup_epochs"],
    warmup_start: float = AUTHORS["warmup_start"], grad_clip: float = AUTHORS["grad_clip"],
    both_views: bool = True, prec: str = "fp32", fused: bool = True, generator: torch.Generator,
    progress: Callable = lambda it: it,
) -> ContrastiveResult:
    """Contrastive DEC / IDEC / DCN on ``s``'s training images, with BRB every ``reset_interval`` epochs.

    Trains ``net`` in place (module docstring). BRB steps run at the start of epochs T, 2T, ... < ``epochs``:
    :func:`soft_reset_network`, then :func:`dcutils.brb.steps.brb_step` without its own reset (k-means on the
    clean embedded subsample, the centroids replaced, DEC/IDEC's centroid moments zeroed when
    ``reset_momentum``). Returns a :class:`ContrastiveResult`.
    """
    check_choice("method", method, METHODS)
    dev = s.x_train.device
    n, k = s.x_train.shape[0], int(s.n_classes)
    clock = Stopwatch(dev)
    z_train = embed(net, s.x_train, s.mean, s.std)
    init = km.kmeans(z_train, k, n_init=n_init, generator=generator)
    if method == "dcn":
        centroids: Tensor = init.centroids.clone().float()
        params = list(net.parameters())
    else:
        centroids = nn.Parameter(init.centroids.clone().float())
        params = [*net.parameters(), centroids]
    opt = precision.adam(params, lr=lr, betas=SETUP.betas, weight_decay=0.0, fused=None if fused else False)
    clipped = list(net.parameters())
    row, labels = _scores(net, s, centroids, None)
    empty = BRBStepInfo().times()
    rows = [{"stage": "cluster", "epoch": 0, **row, "loss": math.nan, "contrastive_loss": math.nan,
             "cluster_loss": math.nan, "lr": math.nan, "brb": False, **empty, "epoch_seconds": 0.0, "steps": 0}]
    brb_at = list(range(reset_interval, epochs, reset_interval)) if brb else []
    result = ContrastiveResult(rows, centroids, torch.empty(0, dtype=torch.long))
    steps = 0
    for epoch in progress(range(epochs)):
        times = empty
        if epoch in brb_at:
            t0 = clock.now()
            result.resets = soft_reset_network(net, reset_blocks=reset_blocks, reset_mlp=reset_mlp,
                                               reset_projector=reset_projector, alpha=alpha, alpha_step=alpha_step,
                                               generator=generator)
            t_reset = clock.now() - t0
            idx = km.subsample_indices(n, recluster_subsample, generator, device=dev)
            info = brb_step(net, centroids, opt if method != "dcn" else None,
                            normalize(s.x_train[idx], s.mean, s.std), method=method, reset=None,
                            recluster="kmeans", reset_momentum=reset_momentum, n_init=n_init, record=False,
                            generator=generator)
            info.t_reset = t_reset
            result.steps.append(info)
            result.brb_epochs.append(epoch)
            times = info.times()
        factor = lr_factor(epoch, warmup_epochs, warmup_start)
        for g in opt.param_groups:
            g["lr"] = lr * factor
        net.train()
        t0 = clock.now()
        sums = torch.zeros(3, device=dev)
        count = 0
        for idx in batches(n, batch_size, generator, dev, drop_last=True):
            v1, v2 = views(s.x_train[idx], s, generator, both_views)
            with precision.autocast(dev, prec):
                z1, z2, h1, h2, logged = _encode_views(method, net, v1, v2, temperature)
                total, clr, cl, _ = contrastive_clustering_loss(
                    method, z1, z2, centroids, h1, h2, temperature=temperature, cluster_weight=cluster_weight,
                    contrastive_weight=contrastive_weight)
            opt.zero_grad(set_to_none=True)
            total.backward()
            nn.utils.clip_grad_norm_(clipped, grad_clip)
            opt.step()
            sums += torch.stack([total.detach().float(), (logged if logged is not None else clr).detach().float(),
                                 cl.detach().float()]) * idx.numel()
            count += idx.numel()
            steps += 1
        if method == "dcn":
            _dcn_pass(net, s, centroids, batch_size, generator, both_views, prec)
        seconds = clock.now() - t0
        loss, clr_mean, cl_mean = (float(v) / max(count, 1) for v in sums)
        for value, what in ((loss, "loss"), (clr_mean, "contrastive loss"), (cl_mean, "cluster loss")):
            check_loss(value, what, epoch + 1)
        row, labels = _scores(net, s, centroids, labels)
        rows.append({"stage": "cluster", "epoch": epoch + 1, **row, "loss": loss, "contrastive_loss": clr_mean,
                     "cluster_loss": cl_mean, "lr": lr * factor, "brb": epoch in brb_at, **times,
                     "epoch_seconds": float(seconds), "steps": steps})
    net.eval()
    z_train = embed(net, s.x_train, s.mean, s.std)
    result.labels_train = km.assign(z_train, centroids.detach().float())
    result.centroids = centroids.detach().clone()
    return result
