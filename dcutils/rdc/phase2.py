"""R-DC phase 2: the proximity-level self-supervision loop (Eq. 3-15) and its network cache.

:func:`train_proximity`
    Phase 2 on a pretrained autoencoder: targets of
    :func:`dcutils.rdc.proximity.compute_targets` refreshed every
    ``refresh_every`` mini-batches, :func:`dcutils.rdc.proximity.proximity_loss`
    with Adam, stopped by :func:`dcutils.rdc.proximity.core_ratio_stopped`.
:func:`run_phase2`
    Phase 2 of an ``rdc.method`` run, loaded from or saved to the network
    cache (``results/pretrained/<dataset>/<key>.pt``) so that the methods
    ``"rdc"`` and ``"p1p2p3"`` share one phase 2. The key holds
    :data:`PHASE2_VERSION`, the pretrained network's key (which holds
    :data:`dcutils.rdc.pretrain.PRETRAIN_VERSION` and the data fingerprint),
    the phase-2 parameters (:data:`PHASE2_PARAMS`, and those of
    :data:`PHASE2_OPTIONS` that differ from their defaults, so networks
    cached before the options existed keep their keys), beta / gamma, the
    data set, the seed and the data fingerprint.

Options following the authors' code (defaults: dcutils' own behaviour)
-----------------------------------------------------------------------
``construction_weight``, ``lam`` (pull), ``neighbours_include_self``,
``gamma_mode`` / ``gamma_quantile``, ``border_target`` and
``core_image_targets`` are those of :mod:`dcutils.rdc.proximity` (facts and
line numbers there). The defaults anchor the targets: border points
reconstruct their input (``border_target="input"``, Eq. 12) and the decoded
core targets are made once per refresh (``core_image_targets="per_refresh"``);
the authors' self-referential targets (``"own_code"``, ``"per_iteration"``)
diverge (the proximity module doc has the numbers). Besides:

- ``refresh_every`` (default 5 in ``rdc.method``): the authors recompute
  neighbours and targets every ``validate_interval=140`` iterations
  (``DynAE.train_second_phase``, signature line 1005, test line 1098); the
  paper says every iteration (1).
- ``stop`` (default ``"core_ratio"``): stop when the core ratio has not grown
  for ``patience`` refreshes (our reading of Eq. 15, the paper text). The
  authors' phase 2 has no stopping rule at all: it runs ``maxiter``
  iterations (``range(int(maxiter))``, line 1097, no ``break`` in the
  function). ``"budget"`` runs exactly ``epochs`` epochs; the rule is still
  evaluated and the iteration at which it would first have stopped is
  returned (``rule_fired_at``), as a diagnostic.
- Per refresh :func:`train_proximity` records the core ratio, the gamma used,
  the share of the core points' neighbours the filter removed and, when the
  true labels are given, the core points' neighbour purity before and after
  the filter (``refreshes``). The authors log the same counts per
  validation (``trueN``/``FalseN``/``trueAF``/``FalseAF``, lines 1198-1256;
  their purity compares ``y[i]`` with ``y[indices[i, j]]`` for ``j = 0..3``,
  i.e. with the point itself and without the 4th neighbour, an index slip we
  do not copy).
- The authors keep the checkpoint of the best ACC seen, chosen with the true
  labels (lines 1337-1344); dcutils never does: the run ends with the last
  network (``rdc.method`` reports the best-over-run ACC separately, labelled
  as chosen with the labels).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from dcutils import cache, models
from dcutils.core import RunConfig, RunContext
from dcutils.rdc import inputs, proximity
from dcutils.rdc.evaluation import PHASE_PROXIMITY, EpochLogger
from dcutils.rdc.pretrain import load_net, net_path, rows_from_columns, rows_to_columns

__all__ = ["PHASE2_VERSION", "PHASE2_PARAMS", "PHASE2_OPTIONS", "STOP_RULES", "train_proximity", "run_phase2"]

#: Version of the phase-2 networks in the cache. Bump it whenever a change
#: alters the numbers phase 2 produces (the proximity targets and loss, the
#: loop, its logging); cached phase-2 networks of the old version are then no
#: longer found and are trained again. (A change of phase 1 changes the
#: pretrained key and so reaches this cache without a bump here.)
PHASE2_VERSION = 2  # 2: the health columns in the history rows (recon_mse, code_rms, decoder_rms, cluster sizes)

#: The ``rdc.method`` parameters that determine phase 2 (part of its cache key).
PHASE2_PARAMS = ("cluster_epochs", "batch_size", "cluster_lr", "beta", "gamma", "n_neighbours", "pull_weight",
                 "refresh_every", "patience", "augment", "kmeans_n_init", "cluster_log_every")

#: ``rdc.method`` parameters that determine phase 2 and joined later, with
#: their defaults: they enter the cache key only when they differ from these,
#: so the networks cached before them keep their keys.
PHASE2_OPTIONS = {"construction_weight": 1.0, "neighbours_include_self": False, "gamma_mode": "absolute",
                  "gamma_quantile": 0.75, "border_target": "input", "core_image_targets": "per_refresh",
                  "stop": "core_ratio", "best_acc_every": 0,
                  "lid_estimator": "global90", "precision": "fp32", "fused_adam": False}

#: How a clustering phase ends: its own rule ("core_ratio": R-DC's core ratio,
#: DEC's label change, DynAE's conflicted share) or a fixed budget of epochs
#: ("budget"; the rule is only recorded).
STOP_RULES = ("core_ratio", "budget")


def train_proximity(model: nn.Module, x: Tensor, *, epochs: int, batch_size: int, lr: float, beta: float,
                    gamma: float, m: int, lam: float, refresh_every: int, patience: int, use_augment: bool,
                    generator: torch.Generator, log: EpochLogger | Callable,
                    progress: Callable = lambda it: it, construction_weight: float = 1.0,
                    neighbours_include_self: bool = False, gamma_mode: str = "absolute",
                    gamma_quantile: float = 0.75, border_target: str = "input",
                    core_image_targets: str = "per_refresh", stop: str = "core_ratio",
                    y: Tensor | None = None, training: inputs.Training = inputs.FP32) -> dict[str, Any]:
    """R-DC phase 2 (Eq. 3-15): proximity-level self-supervision with refreshed targets.

    Targets (:func:`dcutils.rdc.proximity.compute_targets` on the whole embedding)
    are recomputed every ``refresh_every`` mini-batches; training stops when
    :func:`dcutils.rdc.proximity.core_ratio_stopped` says the core ratio stopped
    growing for ``patience`` refreshes (``stop="core_ratio"``), or after
    ``epochs`` epochs. The keyword options after ``progress`` are described in
    the module doc; their defaults are dcutils' own (border points reconstruct
    their input, decoded targets made once per refresh and held fixed until
    the next). ``y`` (true labels, optional) is used only to record the
    neighbour purity per refresh.

    Returns
    -------
    dict with ``iterations``, ``stopped`` (``"core ratio"``, ``"max epochs"``
    or ``"budget"``), ``core_ratios`` (the ratio at every refresh, the first
    before training), ``rule_fired_at`` (the iteration at which the core-ratio
    rule first said stop, or None) and ``refreshes`` (one dict per refresh:
    ``iteration``, ``core_ratio``, ``gamma``, ``removed_share``,
    ``purity_initial``, ``purity_filtered``; purities NaN without ``y``).
    """
    if stop not in STOP_RULES:
        raise ValueError(f"stop must be one of {STOP_RULES}, got {stop!r}")
    if core_image_targets not in proximity.CORE_IMAGE_TARGETS:
        raise ValueError(f"core_image_targets must be one of {proximity.CORE_IMAGE_TARGETS}, "
                         f"got {core_image_targets!r}")
    if border_target not in proximity.BORDER_TARGETS:
        raise ValueError(f"border_target must be one of {proximity.BORDER_TARGETS}, got {border_target!r}")
    options = {}
    if neighbours_include_self:
        options["neighbours_include_self"] = True
    if gamma_mode != "absolute":
        options.update(gamma_mode=gamma_mode, gamma_quantile=gamma_quantile)
    refreshes: list[dict[str, Any]] = []

    def refresh(step: int) -> proximity.ProximityTargets:
        t = proximity.compute_targets(models.embed(model, x), m, beta, gamma, **options)
        row = {"iteration": step, "core_ratio": float(t.core_ratio), "gamma": float(t.gamma_used),
               "removed_share": float(t.removed_share), "purity_initial": math.nan, "purity_filtered": math.nan}
        if y is not None:
            p = proximity.neighbour_purity(t.idx, t.reliable, y, core=t.core)
            row.update(purity_initial=p["initial"], purity_filtered=p["filtered"])
        refreshes.append(row)
        if core_image_targets == "per_refresh":  # decoded now, fixed until the next refresh
            t = proximity.decode_targets(model, t, border_target)
        return t

    opt = training.adam(model.parameters(), lr)
    targets = refresh(0)
    ratios = [targets.core_ratio]
    step, stopped, fired = 0, "max epochs" if stop == "core_ratio" else "budget", None
    log(model, PHASE_PROXIMITY, 0, 0, math.nan, core_ratio=targets.core_ratio)
    for epoch in progress(range(1, epochs + 1)):
        total, count = 0.0, 0
        for idx in inputs.batches(x.shape[0], batch_size, generator, x.device):
            if step > 0 and step % refresh_every == 0:
                targets = refresh(step)
                ratios.append(targets.core_ratio)
                if fired is None and proximity.core_ratio_stopped(ratios, patience=patience):
                    fired = step
                    if stop == "core_ratio":
                        stopped = "core ratio"
                        break
            xb = x[idx]
            model.train()
            with training.autocast(x.device):
                loss, _ = proximity.proximity_loss(model, xb, targets.subset(idx), lam,
                                                   x_input=inputs.augment(xb, use_augment, generator),
                                                   **({} if construction_weight == 1.0 and border_target == "input"
                                                      else {"construction_weight": construction_weight,
                                                            "border_target": border_target}))
            value = inputs.optimizer_step(opt, loss, "R-DC phase-2 loss", epoch)
            total += value * idx.numel()
            count += idx.numel()
            step += 1
            inputs.probe(log, model, step)
        early = stopped == "core ratio"
        log(model, PHASE_PROXIMITY, epoch, step, total / max(count, 1), core_ratio=targets.core_ratio,
            last=epoch == epochs or early)
        if early:
            break
    return {"iterations": step, "stopped": stopped, "core_ratios": ratios, "rule_fired_at": fired,
            "refreshes": refreshes}


def run_phase2(cfg: RunConfig, ctx: RunContext, model: nn.Module, x: Tensor, log: EpochLogger, beta: float,
               gamma: float, pre_key: str, generator: torch.Generator,
               data_fingerprint: str | None = None) -> tuple[list[dict], dict[str, Any]]:
    """R-DC phase 2 from the pretrained ``model`` (in place); cached so ``rdc`` and ``p1p2p3`` share it.

    Parameters
    ----------
    pre_key : the key of the pretrained network (:func:`dcutils.rdc.pretrain.pretrained_acai`)
    data_fingerprint : the loaded data's fingerprint; None uses ``cfg.data_fingerprint``

    Returns
    -------
    history rows of phase 2 (taken out of ``log.rows``), info dict (``iterations``,
    ``stopped``, ``core_ratios``, ``phase2_from_cache``, ``probes``: the logger's ACC probes of phase 2,
    :meth:`dcutils.rdc.evaluation.EpochLogger.probe`, stored with the network).
    """
    fingerprint = cfg.data_fingerprint if data_fingerprint is None else data_fingerprint
    params = {k: cfg[k] for k in PHASE2_PARAMS}
    params.update({k: cfg.get(k, d) for k, d in PHASE2_OPTIONS.items() if cfg.get(k, d) != d})
    key_obj = {"kind": "rdc-phase2", "version": PHASE2_VERSION, "dataset": cfg.dataset, "seed": cfg.seed,
               "data_fingerprint": fingerprint or "", "pretrained": pre_key,
               "params": params, "beta_gamma": [beta, gamma]}
    path, _ = net_path(cfg.dataset, key_obj)
    with cache.file_lock(path):  # "rdc" and "p1p2p3" workers share one phase 2
        return _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path)


def _load_or_train_phase2(cfg, ctx, model, x, log, beta, gamma, generator, path):
    stored = load_net(path)
    if stored is not None:
        model.load_state_dict(stored["state"])
        fired = stored.get("rule_fired_at")
        info = {"iterations": int(stored["iterations"]), "stopped": str(stored["stopped"]),
                "core_ratios": [float(v) for v in stored["core_ratios"]], "phase2_from_cache": True,
                "rule_fired_at": None if fired is None else int(fired),
                "refreshes": list(stored.get("refreshes", [])),  # networks cached before these were recorded: []
                "probes": list(stored.get("probes", []))}
        return rows_from_columns(stored["history"]), info
    start, start_probes = len(log.rows), len(getattr(log, "probes", []))
    options = {k: cfg.get(k, d) for k, d in PHASE2_OPTIONS.items()
               if k not in ("lid_estimator", "precision", "fused_adam", "best_acc_every")}
    options["training"] = inputs.Training(cfg.get("precision", "fp32"), bool(cfg.get("fused_adam", False)))
    info = train_proximity(model, x, epochs=cfg["cluster_epochs"], batch_size=cfg["batch_size"],
                           lr=cfg["cluster_lr"], beta=beta, gamma=gamma, m=cfg["n_neighbours"],
                           lam=cfg["pull_weight"], refresh_every=cfg["refresh_every"], patience=cfg["patience"],
                           use_augment=cfg["augment"], generator=generator, log=log, progress=ctx.progress,
                           y=log.y, **options)
    rows = log.rows[start:]
    del log.rows[start:]
    probes = list(getattr(log, "probes", [])[start_probes:])  # kept with the network, as the rows are
    if hasattr(log, "probes"):
        del log.probes[start_probes:]
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cache.save_tensors(path, {"state": state, "history": rows_to_columns(rows), "iterations": info["iterations"],
                              "stopped": info["stopped"], "core_ratios": info["core_ratios"],
                              "rule_fired_at": info["rule_fired_at"], "refreshes": info["refreshes"],
                              "probes": probes})
    return rows, {**info, "phase2_from_cache": False, "probes": probes}
