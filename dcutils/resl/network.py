"""SCAN's networks for ReSL: a ResNet18 with the CIFAR stem, the clustering model and the SimCLR head.

ReSL (Section 2, Appendix A.1, Table 3 "MODEL") uses SCAN's pipeline on a ResNet18: a backbone
g_phi : R^D -> R^d, a clustering head h_theta : R^d -> Delta^{C-1} (one linear layer, softmax
applied by the losses) and, for the SimCLR pretext stage, a projection head MLP d-d-128 whose
output is L2-normalised.

The CIFAR stem (SCAN's ``resnet_cifar``): a 3x3 convolution with stride 1 and no max-pool, so
small images keep their resolution into the first stage. ``width`` scales every stage's channels
(64, 128, 256, 512) -> (64w, 128w, 256w, 512w), rounded, at least 1; ``in_channels`` takes
Fashion-MNIST's single channel. On a (N, 1, 28, 28) batch the stages see 28, 14, 7, 4 pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BasicBlock", "ResNet18", "resnet18", "ClusteringModel", "ContrastiveModel", "stage_channels"]


def stage_channels(width: float) -> tuple[int, int, int, int]:
    """Channels of the four ResNet18 stages at a width multiplier: ``round(c * width)``, at least 1."""
    if not width > 0:
        raise ValueError(f"width must be positive (1.0 is the standard ResNet18), got {width}")
    return tuple(max(1, int(round(c * width))) for c in (64, 128, 256, 512))  # type: ignore[return-value]


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 conv + BN, identity or 1x1-conv + BN shortcut, ReLU after the sum.

    Shapes: (N, in_planes, H, W) -> (N, planes, ceil(H / stride), ceil(W / stride)).
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet18 (BasicBlock, [2, 2, 2, 2]) with the CIFAR stem; returns pooled features.

    Parameters
    ----------
    in_channels : int, default 3
        Image channels (1 for Fashion-MNIST).
    width : float, default 1.0
        Channel multiplier; the first stage has ``round(64 * width)`` channels.

    Shapes
    ------
    input (N, in_channels, H, W) -> output (N, out_dim), ``out_dim = round(512 * width)``.
    """

    def __init__(self, in_channels: int = 3, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, c4 = stage_channels(width)
        self.in_channels, self.width = int(in_channels), float(width)
        self.conv1 = nn.Conv2d(in_channels, c1, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        planes = c1
        stages = []
        for channels, stride in ((c1, 1), (c2, 2), (c3, 2), (c4, 2)):
            blocks = [BasicBlock(planes, channels, stride), BasicBlock(channels, channels, 1)]
            planes = channels
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_dim = c4

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # CIFAR stem: no max-pool
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, width={self.width}, out_dim={self.out_dim}"


def resnet18(in_channels: int = 3, width: float = 1.0) -> ResNet18:
    """:class:`ResNet18` with the CIFAR stem (SCAN's ``resnet18`` for CIFAR/STL)."""
    return ResNet18(in_channels=in_channels, width=width)


class ClusteringModel(nn.Module):
    """f_eta = h_theta o g_phi: backbone and linear clustering head(s); returns logits.

    Parameters
    ----------
    backbone : nn.Module with an ``out_dim`` attribute (features (N, d))
    n_clusters : int, C
    heads : int, default 1
        SCAN trains several heads in its clustering stage and keeps the best; ReSL uses one.

    Attributes
    ----------
    backbone : g_phi
    heads : nn.ModuleList of ``heads`` clustering heads h_theta, each ``nn.Linear(d, C)`` (PyTorch's
        default initialisation, as in SCAN). Reset strategies act on this list.

    Returns (forward)
    -----------------
    Tensor (N, C) of logits when ``heads == 1``; (heads, N, C) otherwise. Probabilities
    q = softmax(logits) are taken by the losses.
    """

    def __init__(self, backbone: nn.Module, n_clusters: int, heads: int = 1) -> None:
        super().__init__()
        if heads < 1 or n_clusters < 1:
            raise ValueError(f"need at least one head and one cluster, got heads={heads}, n_clusters={n_clusters}")
        self.backbone = backbone
        self.n_clusters = int(n_clusters)
        dim = int(backbone.out_dim)
        self.heads = nn.ModuleList(nn.Linear(dim, n_clusters) for _ in range(heads))

    def features(self, x: Tensor) -> Tensor:
        """z = g_phi(x), shape (N, d)."""
        return self.backbone(x)

    def head_logits(self, z: Tensor) -> Tensor:
        """Logits of the heads on features z (N, d): (N, C) for one head, else (heads, N, C)."""
        if len(self.heads) == 1:
            return self.heads[0](z)
        return torch.stack([h(z) for h in self.heads])

    def forward(self, x: Tensor) -> Tensor:
        return self.head_logits(self.backbone(x))


class ContrastiveModel(nn.Module):
    """SimCLR pretext model: backbone + projection MLP d-d-features_dim, L2-normalised output.

    SCAN's ``ContrastiveModel`` with the MLP head: Linear(d, d), ReLU, Linear(d, 128), where
    ``d = backbone.out_dim`` (512 * width). Output shape (N, features_dim), unit rows.
    """

    def __init__(self, backbone: nn.Module, features_dim: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        dim = int(backbone.out_dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, features_dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.head(self.backbone(x)), dim=1)
