"""VaDE (Jiang et al. 2017) as R-DC runs it: a Gaussian-mixture VAE around the shared pretrained autoencoder.

:class:`VaDE`
    The pretrained encoder gives the posterior mean, a new linear head the
    log-variance; the prior is a diagonal Gaussian mixture initialised by EM
    on the pretrained codes (:func:`dcutils.kmeans.gmm_em`).
:func:`train_vade`
    VaDE's training phase (negative ELBO, Eq. 12) and its cluster labels.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dcutils import kmeans as km
from dcutils import models
from dcutils.rdc import inputs
from dcutils.rdc.evaluation import PHASE_VADE, EpochLogger
from dcutils.timing import Stopwatch

__all__ = ["VaDE", "train_vade"]


class VaDE(nn.Module):
    """VaDE's encoder / prior around the pretrained autoencoder.

    The pretrained encoder gives the posterior mean ``mu(x)``; a new linear
    head on its last hidden layer gives ``log sigma^2(x)`` (weights 0, bias
    ``logvar_init``, so training starts from the pretrained codes with small
    noise). The prior is a Gaussian mixture with diagonal covariances,
    initialised from a GMM (EM) fitted to the pretrained codes, as in VaDE.
    """

    def __init__(self, model: models.FeedForwardAutoencoder, weights: Tensor, means: Tensor, variances: Tensor,
                 logvar_init: float):
        super().__init__()
        self.model = model
        self.logvar_head = nn.Linear(model.embedding_layer.in_features, model.embedding_dim)
        nn.init.zeros_(self.logvar_head.weight)
        nn.init.constant_(self.logvar_head.bias, float(logvar_init))
        dev = means.device
        self.logvar_head.to(dev)
        self.pi_logits = nn.Parameter(weights.clamp_min(1e-6).log().to(dev).clone())
        self.mu_c = nn.Parameter(means.detach().clone())
        self.logvar_c = nn.Parameter(variances.clamp_min(1e-6).log().detach().clone())

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.model.encoder[:-1](self.model._flatten(x))
        return self.model.encoder[-1](h), self.logvar_head(h)

    def responsibilities(self, z: Tensor) -> Tensor:
        """``gamma_ic = p(c | z_i)`` under the mixture prior, shape (N, K)."""
        var_c = self.logvar_c.exp()
        log_pzc = -0.5 * (self.logvar_c.unsqueeze(0) + (z.unsqueeze(1) - self.mu_c.unsqueeze(0)).pow(2)
                          / var_c.unsqueeze(0)).sum(dim=2)
        return torch.softmax(F.log_softmax(self.pi_logits, dim=0).unsqueeze(0) + log_pzc, dim=1)

    def loss(self, x_input: Tensor, x_target: Tensor, generator: torch.Generator) -> Tensor:
        """Negative ELBO per sample (Jiang et al. 2017, Eq. 12) with a unit-variance Gaussian decoder."""
        # the mixture terms in fp32 under bf16 autocast too (no-ops in fp32): only the networks' matmuls go bf16
        mu, logvar = (t.float() for t in self.posterior(x_input))
        eps = torch.randn(mu.shape, generator=generator).to(device=mu.device, dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        recon = 0.5 * (self.model.decode(z).float() - x_target.reshape(x_target.shape[0], -1)).pow(2).sum(dim=1)
        gamma = self.responsibilities(z)
        var_c = self.logvar_c.exp().unsqueeze(0)
        kl_z = 0.5 * (gamma * (self.logvar_c.unsqueeze(0) + logvar.exp().unsqueeze(1) / var_c
                               + (mu.unsqueeze(1) - self.mu_c.unsqueeze(0)).pow(2) / var_c).sum(dim=2)).sum(dim=1)
        log_pi = F.log_softmax(self.pi_logits, dim=0).unsqueeze(0)
        kl_c = (gamma * (gamma.clamp_min(1e-10).log() - log_pi)).sum(dim=1)
        entropy = -0.5 * (1.0 + logvar).sum(dim=1)
        return (recon + kl_z + kl_c + entropy).mean()

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.responsibilities(models.embed(self.model, x)).argmax(dim=1)


def train_vade(model: models.FeedForwardAutoencoder, x: Tensor, n_clusters: int, *, epochs: int, batch_size: int,
               lr: float, logvar_init: float, use_augment: bool, generator: torch.Generator,
               log: EpochLogger | Callable, seed: int, progress: Callable = lambda it: it,
               training: inputs.Training = inputs.FP32) -> dict[str, Any]:
    """VaDE's training phase from the pretrained autoencoder (the encoder mean is ``model.encode``).

    Returns
    -------
    dict with ``iterations``, ``stopped``, ``labels`` (argmax of the mixture
    responsibilities at the posterior means, LongTensor (N,)) and
    ``init_seconds`` (the GMM fit that initialises the prior).
    """
    clock = Stopwatch(x.device)
    z0 = models.embed(model, x)
    gmm = km.gmm_em(z0, n_clusters, covariance_type="diag", n_init=1, generator=int(seed))
    vade = VaDE(model, gmm.weights, gmm.centroids, gmm.covariances, logvar_init)
    init_seconds = clock.seconds()
    opt = training.adam(vade.parameters(), lr)
    labels = vade.predict(x)
    step = 0
    log(model, PHASE_VADE, 0, 0, math.nan, labels=labels)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            xb = x[idx]
            vade.train()
            with training.autocast(x.device):
                loss = vade.loss(inputs.augment(xb, use_augment, generator), xb, generator)
            value = inputs.optimizer_step(opt, loss, "VaDE loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
            inputs.probe(log, model, step, lambda: vade.predict(x))
        if inputs.logged(log, epoch, epoch == epochs):  # the labels of a row the logger keeps, only
            labels = vade.predict(x)
            log(model, PHASE_VADE, epoch, step, total / max(count, 1), labels=labels, last=epoch == epochs)
    return {"iterations": step, "stopped": "max epochs", "labels": labels, "init_seconds": init_seconds}
