"""Feed-forward autoencoders used by the three papers, and batched embedding.

The autoencoder is the one shared by BRB (Appendix E, Tables 5-6:
``d-1024-512-256-K``, K = number of clusters = embedding size) and R-DC
(Section 4.1.3: ``d-500-500-2000-10``): fully connected layers, ReLU between
layers, no activation on the embedding (bottleneck) layer and a linear output
layer, decoder mirroring the encoder. Every layer keeps PyTorch's default
initialisation (``nn.Linear``: weights U(+-1/sqrt(fan_in)), from
``kaiming_uniform_(a=sqrt(5))``). Note that BRB's soft reset draws its fresh
weights from the wider ``kaiming_uniform_`` with default arguments,
U(+-sqrt(6/fan_in)), as the authors' code does (see :mod:`dcutils.resets`).

Public API
----------
FeedForwardAutoencoder   the model: ``encode``, ``decode``, ``forward``
brb_autoencoder          d-1024-512-256-K (BRB)
rdc_autoencoder          d-500-500-2000-10 (R-DC)
linear_autoencoder       the 2-D "linear two-layer" autoencoder of R-DC fig02/fig16
embed                    encode a whole data set in batches, eval mode, no grad
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "FeedForwardAutoencoder",
    "brb_autoencoder",
    "rdc_autoencoder",
    "linear_autoencoder",
    "embed",
]

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "tanh": nn.Tanh}


def _make_activation(name: str | None) -> nn.Module | None:
    if name is None:
        return None
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; use one of {sorted(_ACTIVATIONS)} or None for none"
        ) from None


def _mlp(dims: Sequence[int], *, batch_norm: bool, activation: str | None) -> nn.Sequential:
    """Linear layers ``dims[0] -> ... -> dims[-1]``; [BatchNorm1d,] activation between
    layers, nothing after the last one."""
    layers: list[nn.Module] = []
    n_linear = len(dims) - 1
    for i in range(n_linear):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < n_linear - 1:
            if batch_norm:
                layers.append(nn.BatchNorm1d(dims[i + 1]))
            act = _make_activation(activation)
            if act is not None:
                layers.append(act)
    return nn.Sequential(*layers)


class FeedForwardAutoencoder(nn.Module):
    """Fully connected autoencoder with a symmetric decoder.

    Parameters
    ----------
    dims : sequence of int
        ``[d, h1, ..., h_m, embedding_dim]``: input size, hidden sizes and the
        embedding (latent) size; at least two entries. The decoder uses the
        reversed sequence.
    batch_norm : bool, default False
        Insert ``BatchNorm1d`` after every hidden Linear layer (before its
        activation) in encoder and decoder; never after the embedding or the
        output layer. BRB's autoencoder experiments use no BatchNorm.
    activation : {"relu", "leaky_relu", "elu", "tanh"} or None, default "relu"
        Nonlinearity between layers; ``None`` makes the network affine.

    Attributes
    ----------
    encoder : nn.Sequential
        ``d -> ... -> embedding_dim``; the last module is the embedding Linear
        layer (no activation after it).
    decoder : nn.Sequential
        ``embedding_dim -> ... -> d``; linear output.
    dims : tuple of int
        The ``dims`` given.

    Notes
    -----
    Inputs of shape ``(N, C, H, W)`` (or any ``(N, ...)``) are flattened to
    ``(N, d)``; ``decode`` always returns the flat ``(N, d)`` reconstruction.
    All layers keep PyTorch's default initialisation.
    """

    def __init__(
        self,
        dims: Sequence[int],
        *,
        batch_norm: bool = False,
        activation: str | None = "relu",
    ) -> None:
        super().__init__()
        dims = tuple(int(d) for d in dims)
        if len(dims) < 2:
            raise ValueError(
                f"dims must list at least the input and embedding sizes, got {dims}; "
                "e.g. [784, 500, 10]"
            )
        if any(d < 1 for d in dims):
            raise ValueError(f"all layer sizes must be positive, got {dims}")
        _make_activation(activation)  # validate the name even for single-layer networks
        self.dims = dims
        self.batch_norm = bool(batch_norm)
        self.activation = activation
        self.encoder = _mlp(dims, batch_norm=batch_norm, activation=activation)
        self.decoder = _mlp(dims[::-1], batch_norm=batch_norm, activation=activation)

    # ------------------------------------------------------------------ shapes
    @property
    def input_dim(self) -> int:
        """Size ``d`` of a flattened input sample."""
        return self.dims[0]

    @property
    def embedding_dim(self) -> int:
        """Size of the embedding (latent) space."""
        return self.dims[-1]

    @property
    def encoder_linears(self) -> list[nn.Linear]:
        """The encoder's Linear layers, input side first."""
        return [m for m in self.encoder if isinstance(m, nn.Linear)]

    @property
    def decoder_linears(self) -> list[nn.Linear]:
        """The decoder's Linear layers, embedding side first."""
        return [m for m in self.decoder if isinstance(m, nn.Linear)]

    @property
    def embedding_layer(self) -> nn.Linear:
        """The last Linear layer of the encoder (outputs the embedding)."""
        return self.encoder_linears[-1]

    # ----------------------------------------------------------------- forward
    def _flatten(self, x: Tensor) -> Tensor:
        if x.dim() < 2:
            raise ValueError(
                f"expected a batch of shape (N, d) or (N, C, H, W), got shape {tuple(x.shape)}; "
                "add a batch dimension with x.unsqueeze(0)"
            )
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"input has {x.shape[1]} features per sample but the autoencoder expects "
                f"{self.input_dim} (dims={self.dims})"
            )
        return x

    def encode(self, x: Tensor) -> Tensor:
        """Embed a batch.

        Parameters
        ----------
        x : Tensor, shape (N, d) or (N, C, H, W) with C*H*W = d

        Returns
        -------
        z : Tensor, shape (N, embedding_dim)
        """
        return self.encoder(self._flatten(x))

    def decode(self, z: Tensor) -> Tensor:
        """Reconstruct from embeddings.

        Parameters
        ----------
        z : Tensor, shape (N, embedding_dim)

        Returns
        -------
        x_hat : Tensor, shape (N, d)
        """
        if z.dim() != 2 or z.shape[1] != self.embedding_dim:
            raise ValueError(
                f"expected embeddings of shape (N, {self.embedding_dim}), got {tuple(z.shape)}"
            )
        return self.decoder(z)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Encode and decode.

        Returns
        -------
        z : Tensor, shape (N, embedding_dim)
        x_hat : Tensor, shape (N, d)
            Flat reconstruction; compare with ``x.reshape(N, -1)``.
        """
        z = self.encode(x)
        return z, self.decoder(z)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, batch_norm={self.batch_norm}, activation={self.activation!r}"


def brb_autoencoder(input_dim: int, n_clusters: int, batch_norm: bool = False,
                    embedding_dim: int | None = None) -> FeedForwardAutoencoder:
    """BRB's autoencoder ``d-1024-512-256-K`` (Appendix E, Tables 5-6).

    Parameters
    ----------
    input_dim : int
        Flattened input size d (784 for 28x28 grayscale, 3072 for 32x32 RGB).
    n_clusters : int
        K, the number of clusters, which is also the embedding size.
    batch_norm : bool, default False
        The paper's autoencoder experiments use no BatchNorm.
    embedding_dim : int, optional
        Embedding size when it is not K (Figure 13: 2 for a drawable embedding).
    """
    dim = n_clusters if embedding_dim is None else int(embedding_dim)
    return FeedForwardAutoencoder([input_dim, 1024, 512, 256, dim], batch_norm=batch_norm)


def rdc_autoencoder(input_dim: int, latent_dim: int = 10) -> FeedForwardAutoencoder:
    """R-DC's autoencoder ``d-500-500-2000-10`` (Section 4.1.3): ReLU everywhere
    except the bottleneck and the output layer."""
    return FeedForwardAutoencoder([input_dim, 500, 500, 2000, latent_dim])


def linear_autoencoder(
    input_dim: int = 2,
    latent_dim: int = 2,
    hidden: int = 16,
    activation: str | None = None,
) -> FeedForwardAutoencoder:
    """The "linear two-layer auto-encoder" of R-DC Figures 2 and 16.

    Encoder ``input_dim -> hidden -> latent_dim`` (two Linear layers), decoder
    mirrored, **no nonlinearity by default**: R-DC Section 1.2.1 calls the
    model "linear two-layer" and Section 4.2.2 "linear two-layer fully-connected",
    which we read literally. The whole network is then affine, so after
    reconstruction pretraining the 2-D latent space is an affine copy of the
    four curved clusters, and any later change (DEC flattening clusters onto
    each other, R-DC keeping them apart) is visible directly in the latent plot.

    The paper gives no hidden width; ``hidden=16`` is our choice (for an affine
    network it only changes the parametrisation, not what the model can
    express). Pass ``activation="relu"`` for a nonlinear reading of "two-layer".
    """
    return FeedForwardAutoencoder([input_dim, hidden, latent_dim], activation=activation)


def _model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


@torch.no_grad()
def embed(model: nn.Module, x: Tensor, batch_size: int = 4096, train_mode: bool = False) -> Tensor:
    """Embed a whole data set in batches, without gradients, in eval mode unless ``train_mode``.

    Used for reclustering and metrics on all data. The model's train/eval mode
    is restored afterwards, so this is safe to call inside a training loop.

    ``train_mode=True`` embeds as a network that was never put in eval mode
    does: BatchNorm normalises each batch of ``batch_size`` consecutive
    samples (data order) with that batch's statistics and updates its running
    statistics once per batch. BRB's authors embed this way before the first
    k-means of a run without pretraining (their ``encode_batchwise`` on a
    fresh network, batches of 256). A last batch of a single sample is
    joined to the one before it (BatchNorm cannot normalise one sample).

    Parameters
    ----------
    model : nn.Module
        Anything with an ``encode`` method (e.g. :class:`FeedForwardAutoencoder`);
        otherwise ``model(x)`` must return the embedding.
    x : Tensor, shape (N, ...)
        May live on another device than the model (e.g. the full data set on
        the CPU); each batch is moved to the model's device.
    batch_size : int, default 4096
    train_mode : bool, default False

    Returns
    -------
    z : Tensor, shape (N, embedding_dim), on the model's device
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    device = _model_device(model) or x.device
    encode = model.encode if hasattr(model, "encode") else model
    was_training = model.training
    model.train(train_mode)
    starts = list(range(0, x.shape[0], batch_size))
    if train_mode and len(starts) > 1 and x.shape[0] - starts[-1] == 1:
        starts.pop()
    ends = [*starts[1:], x.shape[0]]
    try:
        parts = [encode(x[a:b].to(device)) for a, b in zip(starts, ends)]
    finally:
        model.train(was_training)
    if not parts:
        raise ValueError("x is empty: nothing to embed")
    return torch.cat(parts)
