"""ReSL: reset-based self-labeling on SCAN's pipeline (SimCLR -> SCAN -> self-labeling).

*ReSL: Enhancing Deep Clustering through Reset-based Self-Labeling*, Sections 2 and 4,
Algorithm 1, Appendices A and C. The training primitives:

- :mod:`~dcutils.resl.network`: ResNet18 with the CIFAR stem (``width``, ``in_channels``),
  :class:`ClusteringModel` (backbone + linear head(s), logits), :class:`ContrastiveModel`
  (SimCLR projection d-d-128).
- :mod:`~dcutils.resl.losses`: :func:`nt_xent`, :func:`scan_loss`, :func:`self_label_loss`.
- :mod:`~dcutils.resl.strategies`: :class:`ResetStrategy` and :class:`NoReset`,
  :class:`ShrinkPerturb` (SP, SP*), :class:`HareTortoise` (HT), :class:`PlasticityInjection`.
- :mod:`~dcutils.resl.mining`: :func:`mine_neighbours`, :func:`neighbour_accuracy`.
- :mod:`~dcutils.resl.augment`: SCAN's strong augmentation and SimCLR's views, batched on the device.
- :mod:`~dcutils.resl.pretext`: SimCLR, neighbour mining and SCAN; :func:`base_network`, the cached
  SimCLR + SCAN network every self-labeling run starts from; :func:`load_splits`.
- :mod:`~dcutils.resl.selflabel`: :func:`self_label`, the self-labeling loop with a strategy and its
  per-epoch history.
- :mod:`~dcutils.resl.method`: the registered run ``resl.selflabel`` (:func:`run_selflabel`).

``dcutils.resl.settings`` and ``dcutils.resl.plots`` (upper layers) are imported by name.
"""
from dcutils.resl.augment import simclr_augment, strong_augment
from dcutils.resl.losses import entropy, nt_xent, scan_loss, self_label_loss
from dcutils.resl.method import STRATEGIES, make_run_strategy, run_selflabel
from dcutils.resl.mining import mine_neighbours, neighbour_accuracy
from dcutils.resl.network import BasicBlock, ClusteringModel, ContrastiveModel, ResNet18, resnet18, stage_channels
from dcutils.resl.pretext import base_network, load_splits
from dcutils.resl.selflabel import self_label
from dcutils.resl.strategies import (
    HareTortoise,
    InjectedHead,
    NoReset,
    PlasticityInjection,
    ResetStrategy,
    ShrinkPerturb,
    fresh_parameters,
    head_of,
    make_strategy,
    reset_due,
    shrink_perturb,
)

__all__ = [
    "BasicBlock", "ResNet18", "resnet18", "stage_channels", "ClusteringModel", "ContrastiveModel",
    "nt_xent", "scan_loss", "entropy", "self_label_loss",
    "ResetStrategy", "NoReset", "ShrinkPerturb", "HareTortoise", "PlasticityInjection", "InjectedHead",
    "reset_due", "fresh_parameters", "shrink_perturb", "head_of", "make_strategy",
    "mine_neighbours", "neighbour_accuracy", "simclr_augment", "strong_augment", "base_network", "load_splits",
    "self_label", "STRATEGIES", "make_run_strategy", "run_selflabel",
]
