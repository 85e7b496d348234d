"""The clustering phases R-DC compares against, on its shared pretrained autoencoder: DEC, IDEC and DynAE.

:func:`train_dec`
    DEC (Xie et al. 2016; ``recon_weight=0``) or IDEC (Guo et al. 2017;
    ``recon_weight=1``, ``cluster_weight=0.1``): KL(P || Q) with the Student-t
    soft assignment and target distribution of :mod:`dcutils.dec`, P
    recomputed on the whole data every ``refresh_every`` mini-batches.
:func:`dynae_targets`, :func:`dynae_loss`, :func:`train_dynae`
    DynAE's dynamic loss (Mrabah et al. 2020): decoded k-means centroids as
    targets for confident samples, reconstruction for the rest, and the
    latent pull of confident codes.
:class:`DynAESchedule`, :data:`DYNAE_RULES`, :func:`dynae_confidence`, :func:`embedded_centroids`,
:func:`dynae_schedule_loss`
    DynAE's own confidence rule, targets and loss, as in the authors' code (below).

VaDE has its own module (:mod:`dcutils.rdc.vade`).

DynAE: ``dynae_rule`` (default ``"fixed_gap"``, dcutils so far)
----------------------------------------------------------------
``"fixed_gap"``: a sample is confident when the gap between its two largest
Student-t soft assignments to the k-means centroids is at least
``dynae_threshold`` (0.1, fixed); the centroids are refreshed by one k-means
run from the current ones every ``refresh_every`` mini-batches; the loss is
``construction_weight * mse(g(f(x)), target) + pull_weight * pull`` with the
decoded centroid (current decoder) as the target of confident samples and
the input for the others, the pull only on confident codes.

``"authors"``: DynAE as the R-DC authors run it, ``DynAE.train_dynAE`` in
the file ``DynAE`` of ``Amalsalem/Rethinking-DC`` (lines 862-1003, with
``generate_supervisory_signals`` lines 165-183, ``generate_centers`` lines
4591-4600, ``generate_unconflicted_data_index`` lines 4613-4632,
``loss_dynAE`` lines 248-255):

- centres are *embedded centroids*: k-means on all codes (``n_init=10``),
  then the real code nearest to each k-means centre; their images are
  decoded once, when the centres are made, and kept until the next time;
- with ``q`` the Student-t assignment (``alpha=1``) to those centres, a
  sample is confident when ``q_max > beta1`` **and** ``q_max - q_2nd > beta2``
  (both strict);
- per mini-batch, from the clean batch's codes (no gradient): a confident
  sample's targets are its centre's code and image, another sample's are its
  own code and its input; the loss on the augmented batch is
  ``pull_weight * mse(f(x_aug), code target) + construction_weight *
  mse(g(f(x_aug)), image target)``; the authors' weights are 1 and
  ``gamma=100`` (``DynAE.__init__``, line 361), i.e. ``pull_weight=1,
  construction_weight=100`` (these two run parameters are shared with R-DC's
  phase 2, where the authors use the same loss);
- every ``validate_interval=140`` iterations (``refresh_every``), counting
  from iteration 0, the number of *conflicted* (not confident) samples of
  the whole data set, ``nb_conf``, is compared with the previous count
  (``N`` before the first): when ``nb_conf >= nb_conf_prev`` the thresholds
  loosen, ``beta1 -= delta_kappa / K``, ``beta2 -= delta_kappa / K``, then
  ``delta_kappa = 0.3 * kappa``, ``kappa = delta_kappa``, and the centres are
  made again (lines 913-921); training stops when ``nb_conf / N < tol``
  (lines 954-956);
- constants (lines 862, 893-894, 900, 902): ``kappa=3``, ``beta1=0``,
  ``beta2=0.3``, ``delta_kappa = 0.3 * kappa = 0.9``, ``tol=0.01``, and a
  ``first_time`` flag that lets the thresholds loosen **once** (to
  ``beta1 = -0.09``, ``beta2 = 0.21`` for K = 10). With ``beta1 = 0`` only the
  gap matters.

``"original"``: the same loop with the constants of Mrabah et al.'s own code
(``nairouz/DynAE``, ``DynAE/DynAE.py``, ``train_dynAE``): ``beta1, beta2 =
generate_beta(kappa, K) = (kappa / K, kappa / (2 K))`` = (0.3, 0.15) for
K = 10, and no ``first_time`` flag, so the thresholds loosen at every
validation where the conflicted count did not fall (decrements
0.09, 0.09, 0.027, 0.0081, ... for K = 10). The R-DC authors' file carries
that call commented out (line 892) and replaced by the constants above.

With ``stop="budget"`` the ``tol`` rule is only recorded (``rule_fired_at``);
``"fixed_gap"`` has no stopping rule. The authors' file also holds
``train_dynAE_New`` (lines 682-857: alternating batches against 40
over-clustering centres, ``beta2 = 0.01``) and per-data-set variants; they are
not implemented.
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
from dcutils.dec import kl_loss, soft_assignment, target_distribution
from dcutils.rdc import inputs
from dcutils.rdc.evaluation import PHASE_DEC, PHASE_DYNAE, EpochLogger, kmeans_fit

__all__ = ["DYNAE_RULES", "DynAESchedule", "dynae_confidence", "embedded_centroids", "dynae_schedule_loss",
           "dynae_targets", "dynae_loss", "train_dec", "train_dynae"]

#: The confidence rules of ``train_dynae`` and their constants (see the module doc):
#: ``beta1`` / ``beta2`` the initial thresholds (None: ``kappa / K`` and ``kappa / (2 K)``,
#: DynAE's ``generate_beta``), ``kappa`` and ``decay`` of the loosening schedule,
#: ``max_loosenings`` (None: unlimited), ``tol`` the stopping share of conflicted samples.
DYNAE_RULES: dict[str, dict[str, Any]] = {
    "fixed_gap": {},
    "authors": {"beta1": 0.0, "beta2": 0.3, "kappa": 3.0, "decay": 0.3, "max_loosenings": 1, "tol": 0.01},
    "original": {"beta1": None, "beta2": None, "kappa": 3.0, "decay": 0.3, "max_loosenings": None, "tol": 0.01},
}


# ----------------------------------------------------------------------------
# DynAE's dynamic loss (Mrabah et al. 2020)


@torch.no_grad()
def dynae_targets(model: nn.Module, x: Tensor, centroids: Tensor, labels: Tensor, confident: Tensor) -> Tensor:
    """Decoder targets of DynAE: the decoded centroid ``g(mu_{c_i})`` for confident samples, ``x_i`` otherwise.

    Parameters
    ----------
    x : Tensor, shape (N, ...)
    centroids : Tensor, shape (K, k_latent)
    labels : LongTensor, shape (N,)
        Cluster of each sample.
    confident : BoolTensor, shape (N,)

    Returns
    -------
    Tensor, shape (N, d), detached.
    """
    n = x.shape[0]
    flat = x.reshape(n, -1)
    decoded = model.decode(centroids[labels]).reshape(n, -1).to(flat.dtype)
    return torch.where(confident.reshape(n, 1), decoded, flat)


def dynae_loss(model: nn.Module, x: Tensor, centroids: Tensor, labels: Tensor, confident: Tensor,
               *, x_input: Tensor | None = None, lam: float = 1.0,
               construction_weight: float = 1.0) -> tuple[Tensor, dict[str, float]]:
    """DynAE's loss on a mini-batch (``dynae_rule="fixed_gap"``): construction toward
    :func:`dynae_targets`, weighted by ``construction_weight``, plus the latent pull of
    confident codes toward their centroid, weighted by ``lam``.

    Returns
    -------
    loss (scalar Tensor), parts (``construction``, ``pull`` as 0-d detached tensors).
    """
    target = dynae_targets(model, x, centroids, labels, confident)
    z = model.encode(x if x_input is None else x_input)
    x_hat = model.decode(z)
    construction = (x_hat - target).pow(2).mean()
    pull = ((z - centroids[labels].detach()).pow(2).mean(dim=1) * confident.to(z.dtype)).mean()
    loss = construction + lam * pull if construction_weight == 1.0 else construction_weight * construction + lam * pull
    return loss, {"construction": construction.detach(), "pull": pull.detach()}


# ----------------------------------------------------------------------------
# DynAE's own confidence rule (the authors' code)


@torch.no_grad()
def embedded_centroids(z: Tensor, centroids: Tensor) -> Tensor:
    """The real code nearest to each centroid (DynAE's ``generate_centers``), shape (K, k)."""
    d = torch.cdist(centroids.to(z.dtype), z, compute_mode="donot_use_mm_for_euclid_dist")
    return z[d.argmin(dim=1)].clone()


@torch.no_grad()
def dynae_confidence(z: Tensor, centers: Tensor, beta1: float, beta2: float) -> tuple[Tensor, Tensor]:
    """DynAE's confident samples: ``q_max > beta1`` and ``q_max - q_2nd > beta2`` (both strict).

    ``q`` is the Student-t assignment (``alpha=1``) of ``z`` to ``centers``
    (DynAE's ``q_mat``). Returns the labels (argmax of ``q``) and the
    confident mask.
    """
    q = soft_assignment(z, centers)
    top = q.topk(2, dim=1).values if q.shape[1] > 1 else torch.cat([q, torch.zeros_like(q)], dim=1)
    return q.argmax(dim=1), (top[:, 0] > beta1) & ((top[:, 0] - top[:, 1]) > beta2)


def dynae_schedule_loss(model: nn.Module, x: Tensor, centres: Tensor, centre_images: Tensor, beta1: float,
                        beta2: float, *, x_input: Tensor | None = None, lam: float = 1.0,
                        construction_weight: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
    """DynAE's loss with its own rule on a mini-batch (``generate_supervisory_signals`` + ``loss_dynAE``).

    From the clean batch's codes (no gradient, eval mode) the confident rows
    (:func:`dynae_confidence`) get their centre's code and stored image as
    targets, the others their own clean code and their input; then
    ``lam * mean (f(x_input) - code target)^2 + construction_weight * mean
    (g(f(x_input)) - image target)^2`` (the authors: ``lam=1``,
    ``construction_weight=100``).

    Returns
    -------
    loss, parts (``latent``, ``image``, ``confident_share`` as 0-d detached tensors)
    """
    flat = x.reshape(x.shape[0], -1)
    z_clean = models.embed(model, x)
    lab, conf = dynae_confidence(z_clean, centres, beta1, beta2)
    code_target = torch.where(conf.unsqueeze(1), centres[lab].to(z_clean.dtype), z_clean)
    image_target = torch.where(conf.unsqueeze(1), centre_images[lab].to(flat.dtype), flat)
    model.train()
    z = model.encode(x if x_input is None else x_input)
    x_hat = model.decode(z)
    latent = (z - code_target).pow(2).mean()
    image = (x_hat - image_target).pow(2).mean()
    return lam * latent + construction_weight * image, {"latent": latent.detach(), "image": image.detach(),
                                                       "confident_share": conf.float().mean()}


class DynAESchedule:
    """DynAE's two thresholds and how they loosen (module doc; constants in :data:`DYNAE_RULES`).

    Parameters
    ----------
    rule : "authors" or "original"
    n_clusters : K, the denominator of the decrements

    Attributes
    ----------
    beta1, beta2 : the current thresholds
    loosenings : how many times they loosened
    """

    def __init__(self, rule: str, n_clusters: int):
        if rule not in DYNAE_RULES or rule == "fixed_gap":
            raise ValueError(f"DynAESchedule needs rule 'authors' or 'original', got {rule!r}")
        c = DYNAE_RULES[rule]
        self.k = int(n_clusters)
        self.kappa = float(c["kappa"])
        self.decay = float(c["decay"])
        self.beta1 = self.kappa / self.k if c["beta1"] is None else float(c["beta1"])
        self.beta2 = self.kappa / (2 * self.k) if c["beta2"] is None else float(c["beta2"])
        self.delta_kappa = self.decay * self.kappa
        self.max_loosenings = c["max_loosenings"]
        self.tol = float(c["tol"])
        self.loosenings = 0

    def observe(self, n_conflicted: int, n_conflicted_prev: int) -> bool:
        """One validation: loosen when the conflicted count did not fall (and loosening is still allowed).

        Returns True when the thresholds loosened (the centres are then made again).
        """
        if n_conflicted < n_conflicted_prev:
            return False
        if self.max_loosenings is not None and self.loosenings >= self.max_loosenings:
            return False
        self.beta1 -= self.delta_kappa / self.k
        self.beta2 -= self.delta_kappa / self.k
        self.delta_kappa = self.decay * self.kappa
        self.kappa = self.delta_kappa
        self.loosenings += 1
        return True


# ----------------------------------------------------------------------------
# clustering loops


def train_dec(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int, lr: float,
              recon_weight: float, cluster_weight: float, refresh_every: int, tol: float, use_augment: bool,
              generator: torch.Generator, log: EpochLogger | Callable, phase: str = PHASE_DEC,
              progress: Callable = lambda it: it, stop: str = "core_ratio",
              training: inputs.Training = inputs.FP32) -> dict[str, Any]:
    """DEC (``recon_weight=0``) or IDEC (``recon_weight=1, cluster_weight=0.1``).

    The target distribution P is recomputed on the whole data every
    ``refresh_every`` mini-batches; training stops when fewer than ``tol`` of
    the labels changed between two refreshes (DEC's rule) or after ``epochs``.
    With ``stop="budget"`` it runs all ``epochs``; the rule is only recorded.

    Returns
    -------
    dict with ``iterations``, ``stopped``, ``labels`` (final, LongTensor (N,)),
    ``rule_fired_at`` (iteration at which DEC's rule first said stop, or None).
    """
    mu = nn.Parameter(centroids.detach().clone())
    opt = training.adam([*model.parameters(), mu], lr)

    @torch.no_grad()
    def assign() -> tuple[Tensor, Tensor]:
        q = soft_assignment(models.embed(model, x), mu)
        return target_distribution(q), q.argmax(dim=1)

    p, labels = assign()
    step, stopped, fired = 0, "max epochs" if stop == "core_ratio" else "budget", None
    log(model, phase, 0, 0, math.nan, labels=labels)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                p, new = assign()
                changed = float((new != labels).float().mean())
                labels = new
                if changed < tol and fired is None:
                    fired = step
                    if stop == "core_ratio":
                        stopped = "label change < tol"
                        break
            xb = x[idx]
            model.train()
            with training.autocast(x.device):
                z = model.encode(inputs.augment(xb, use_augment, generator))
                q = soft_assignment(z.float(), mu)
                loss = cluster_weight * kl_loss(q, p[idx])
                if recon_weight > 0:
                    loss = loss + recon_weight * F.mse_loss(model.decode(z).float(), xb.reshape(xb.shape[0], -1))
            value = inputs.optimizer_step(opt, loss, f"{phase} loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
            inputs.probe(log, model, step, lambda: assign()[1])
        early = stopped == "label change < tol"
        last = epoch == epochs or early
        if inputs.logged(log, epoch, last):  # the labels of a row the logger keeps, only
            log(model, phase, epoch, step, total / max(count, 1), labels=assign()[1], last=last)
        if early:
            break
    _, labels = assign()
    return {"iterations": step, "stopped": stopped, "labels": labels, "rule_fired_at": fired}


def train_dynae(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int, lr: float,
                threshold: float, lam: float, refresh_every: int, use_augment: bool, generator: torch.Generator,
                log: EpochLogger | Callable, progress: Callable = lambda it: it, construction_weight: float = 1.0,
                rule: str = "fixed_gap", stop: str = "core_ratio", kmeans_n_init: int = 5,
                seed: int = 0, training: inputs.Training = inputs.FP32) -> dict[str, Any]:
    """DynAE's clustering phase: decoded-centroid construction for confident samples.

    ``rule="fixed_gap"`` (default): at every refresh the centroids are
    updated by one k-means run started from the current ones, and the
    confident set is recomputed: samples whose two largest soft assignments
    differ by at least ``threshold``. ``rule="authors"`` / ``"original"``:
    DynAE's own schedule (module doc; ``threshold`` unused; ``kmeans_n_init``
    and ``seed`` make the centres again when the thresholds loosen).
    ``lam`` weights the latent term, ``construction_weight`` the image term.

    Returns
    -------
    dict with ``iterations``, ``stopped`` and ``labels`` (LongTensor (N,));
    with the authors' rules also ``rule_fired_at`` and ``schedule`` (one dict
    per validation: ``iteration``, ``beta1``, ``beta2``, ``n_conflicted``,
    ``loosened``).
    """
    if rule not in DYNAE_RULES:
        raise ValueError(f"dynae_rule must be one of {tuple(DYNAE_RULES)}, got {rule!r}")
    if rule != "fixed_gap":
        return _train_dynae_scheduled(model, x, centroids, epochs=epochs, batch_size=batch_size, lr=lr, lam=lam,
                                      construction_weight=construction_weight, refresh_every=refresh_every,
                                      use_augment=use_augment, generator=generator, log=log, progress=progress,
                                      rule=rule, stop=stop, kmeans_n_init=kmeans_n_init, seed=seed,
                                      training=training)
    opt = training.adam(model.parameters(), lr)
    mu = centroids.detach().clone()

    @torch.no_grad()
    def refresh(mu: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z = models.embed(model, x)
        mu = km.kmeans(z, mu.shape[0], init=mu, max_iter=20).centroids
        q = soft_assignment(z, mu)
        top = q.topk(2, dim=1).values
        return mu, q.argmax(dim=1), (top[:, 0] - top[:, 1]) >= threshold

    mu, labels, confident = refresh(mu)
    step = 0
    log(model, PHASE_DYNAE, 0, 0, math.nan, labels=labels, confident_share=float(confident.float().mean()))
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                mu, labels, confident = refresh(mu)
            xb = x[idx]
            model.train()
            with training.autocast(x.device):
                loss, _ = dynae_loss(model, xb, mu, labels[idx], confident[idx],
                                     x_input=inputs.augment(xb, use_augment, generator), lam=lam,
                                     **({} if construction_weight == 1.0 else
                                        {"construction_weight": construction_weight}))
            value = inputs.optimizer_step(opt, loss, "DynAE loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
            inputs.probe(log, model, step, lambda mu=mu: soft_assignment(models.embed(model, x), mu).argmax(dim=1))
        mu, labels, confident = refresh(mu)
        log(model, PHASE_DYNAE, epoch, step, total / max(count, 1), labels=labels,
            confident_share=float(confident.float().mean()), last=epoch == epochs)
    return {"iterations": step, "stopped": "max epochs", "labels": labels}


def _train_dynae_scheduled(model: nn.Module, x: Tensor, centroids: Tensor, *, epochs: int, batch_size: int,
                           lr: float, lam: float, construction_weight: float, refresh_every: int, use_augment: bool,
                           generator: torch.Generator, log: EpochLogger | Callable, progress: Callable, rule: str,
                           stop: str, kmeans_n_init: int, seed: int,
                           training: inputs.Training = inputs.FP32) -> dict[str, Any]:
    """DynAE with its own thresholds and embedded centroids (``rule`` "authors" or "original"; module doc)."""
    n, k = x.shape[0], centroids.shape[0]
    sched = DynAESchedule(rule, k)
    opt = training.adam(model.parameters(), lr)

    @torch.no_grad()
    def make_centres(z: Tensor, mu: Tensor) -> tuple[Tensor, Tensor]:
        emb = embedded_centroids(z, mu)
        was_training = model.training
        model.eval()
        try:
            img = model.decode(emb).reshape(k, -1)
        finally:
            model.train(was_training)
        return emb, img

    centres, centre_imgs = make_centres(models.embed(model, x), centroids.detach())
    schedule: list[dict[str, Any]] = []
    prev = n
    step, stopped, fired = 0, "max epochs" if stop == "core_ratio" else "budget", None

    def validate() -> bool:
        """DynAE's validation: count conflicted samples, maybe loosen and remake the centres; True = stop."""
        nonlocal centres, centre_imgs, prev, fired, stopped
        z = models.embed(model, x)
        _, confident = dynae_confidence(z, centres, sched.beta1, sched.beta2)
        n_conf = int(n - int(confident.sum()))
        loosened = sched.observe(n_conf, prev)
        if loosened:
            centres, centre_imgs = make_centres(z, kmeans_fit(z, k, kmeans_n_init, seed).centroids)
        prev = n_conf
        schedule.append({"iteration": step, "beta1": sched.beta1, "beta2": sched.beta2, "n_conflicted": n_conf,
                         "loosened": loosened})
        if n_conf / n < sched.tol and fired is None:
            fired = step
            if stop == "core_ratio":
                stopped = "conflicted share < tol"
                return True
        return False

    def state() -> tuple[Tensor, float]:
        labels, confident = dynae_confidence(models.embed(model, x), centres, sched.beta1, sched.beta2)
        return labels, float(confident.float().mean())

    labels, share = state()
    log(model, PHASE_DYNAE, 0, 0, math.nan, labels=labels, confident_share=share)
    early = False
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step % refresh_every == 0 and validate():
                early = True
                break
            xb = x[idx]
            with training.autocast(x.device):
                loss, _ = dynae_schedule_loss(model, xb, centres, centre_imgs, sched.beta1, sched.beta2,
                                              x_input=inputs.augment(xb, use_augment, generator), lam=lam,
                                              construction_weight=construction_weight)
            value = inputs.optimizer_step(opt, loss, "DynAE loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
            inputs.probe(log, model, step, lambda: state()[0])
        last = epoch == epochs or early
        if inputs.logged(log, epoch, last):  # the labels of a row the logger keeps, only
            labels, share = state()
            log(model, PHASE_DYNAE, epoch, step, total / max(count, 1), labels=labels, confident_share=share,
                last=last)
        if early:
            break
    labels, _ = state()
    return {"iterations": step, "stopped": stopped, "labels": labels, "rule_fired_at": fired, "schedule": schedule}
