"""Recompute committed run records and report how far they drift, against the seed-to-seed spread.

``python -m dcutils.compute --profile quick --verify 5`` picks five committed
records at random (``--verify-seed`` fixes the draw), recomputes each in a
throw-away cache (pretrained networks included, so the whole pipeline runs
again) and prints, per record, the committed and the recomputed final ACC,
their difference, and the standard error of that cell over its seeds (the
same config with other seeds, from the committed records). A drift well inside
one SE is platform noise; a drift of several SE, or on a machine and software
identical to the record's (its ``environment``), points at a bug or an
unversioned change.

What is bitwise reproducible: the same record on the same machine, software
(torch, numpy, scikit-learn) and thread count. Across CPUs, thread counts or
BLAS builds, float reductions run in another order; over hundreds of optimizer
steps and k-means restarts the runs diverge like different seeds would.

So each record is recomputed under its own conditions: in a fresh worker
process with the record's thread count (``environment["threads"]``; pool
workers run one thread each, this process may run more) and its precision (a
config parameter). What still differs between the record's environment and
the recomputation's (CPU, torch, numpy, scikit-learn, threads, device) is
reported as such (:attr:`Drift.conditions`), so "bitwise: no" under "same
conditions" means a real change of behaviour.
"""
from __future__ import annotations

import math
import os
import random
import re
import tempfile
from dataclasses import dataclass

import pandas as pd

from dcutils import claims, environment, executors, runs
from dcutils.core import RunConfig
from dcutils.experiments import configs_for, configs_for_profile, notebook_settings

__all__ = ["Drift", "CONDITIONS", "committed", "cell_se", "verify", "recompute", "report", "precision_check"]

#: Final metric compared, per algorithm (``acc`` where the algorithm has it).
METRIC = "acc"

#: Environment fields that decide bitwise reproducibility (:attr:`Drift.conditions`).
CONDITIONS = ("cpu", "device", "threads", "torch", "numpy", "scikit-learn")


@dataclass
class Drift:
    """One recomputed record."""

    config: RunConfig
    committed: float
    recomputed: float
    se: float
    n_seeds: int
    identical: bool
    environment_then: dict
    environment_now: dict

    @property
    def conditions(self) -> list[str]:
        """What differs between the record's environment and the recomputation's (``[]``: the same)."""
        return [f"{k} {self.environment_then.get(k)} vs {self.environment_now.get(k)}" for k in CONDITIONS
                if self.environment_then.get(k) != self.environment_now.get(k)]

    @property
    def drift(self) -> float:
        return self.recomputed - self.committed

    @property
    def ratio(self) -> float:
        return abs(self.drift) / self.se if self.se > 0 else math.inf if self.drift else 0.0


def committed(profile: str) -> list[RunConfig]:
    """The configs of ``profile`` whose records are in the cache and sound."""
    return [c for c in configs_for_profile(profile) if runs.load_cached(c) is not None]


def cell_se(cfg: RunConfig, pool: list[RunConfig], metric: str = METRIC) -> tuple[float, int]:
    """Standard error over seeds of ``cfg``'s cell (same config, any seed) from the cached records."""
    same = [c for c in pool if c.replace(seed=cfg.seed) == cfg]
    values = [runs.load_cached(c).final.get(metric, math.nan) for c in same]
    _, se, k = claims.mean_se(values)
    return (se if k >= 2 else math.nan), k


def verify(profile: str, n: int, seed: int = 0) -> list[Drift]:
    """Recompute ``n`` randomly chosen committed records of ``profile`` in a temporary cache."""
    pool = committed(profile)
    if not pool:
        raise RuntimeError(f"no committed records at profile {profile!r} to verify")
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    before = {c: runs.load_cached(c) for c in chosen}
    ses = {c: cell_se(c, pool) for c in chosen}
    out: list[Drift] = []
    old = os.environ.get("DCUTILS_RESULTS")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DCUTILS_RESULTS"] = tmp
        try:
            for cfg in chosen:
                then = before[cfg]
                now = recompute(cfg, then.environment.get("threads"))
                identical = _same_numbers(then, now)
                se, k = ses[cfg]
                out.append(Drift(cfg, then.final.get(METRIC, math.nan), now.final.get(METRIC, math.nan), se, k,
                                 identical, then.environment, now.environment))
        finally:
            if old is None:
                os.environ.pop("DCUTILS_RESULTS", None)
            else:
                os.environ["DCUTILS_RESULTS"] = old
    return out


def recompute(cfg: RunConfig, threads: int | None) -> runs.RunResult:
    """``cfg`` computed again, in a fresh worker process with ``threads`` torch threads (None: this machine's
    default), into the current cache (``DCUTILS_RESULTS``)."""
    (outcome,) = executors.ProcessPool(1, threads=threads).submit_all([cfg])
    result = runs.load_cached(cfg) if outcome.ok else None
    if result is None:
        raise RuntimeError(f"recomputing {cfg.label()} failed: {outcome.error}")
    return result


#: Wall-clock quantities differ on every run; "bitwise" compares everything else.
_TIMING = re.compile(r"^t_|seconds|overhead")


def _same_numbers(a: runs.RunResult, b: runs.RunResult) -> bool:
    """Whether two results agree exactly in every history column and final value except wall-clock times."""
    cols = [c for c in a.history.columns if not _TIMING.search(c)]
    if list(a.history.columns) != list(b.history.columns) or not a.history[cols].equals(b.history[cols]):
        return False
    return _untimed(a.final) == _untimed(b.final)


def _untimed(final: dict) -> dict:
    return {k: v for k, v in final.items() if not _TIMING.search(k)}


def _cell(cfg: RunConfig) -> str:
    keys = [k for k in ("method", "variant", "pretrain", "pretext") if k in dict(cfg.params)]
    return f"{cfg.algorithm} {cfg.dataset} " + " ".join(f"{k}={cfg[k]}" for k in keys) + f" seed {cfg.seed}"


def report(drifts: list[Drift]) -> pd.DataFrame:
    """One row per recomputed record: committed and recomputed ACC (%), drift, cell SE and drift / SE."""
    return pd.DataFrame([{
        "run": _cell(d.config),
        "committed": round(100 * d.committed, 2),
        "recomputed": round(100 * d.recomputed, 2),
        "drift": round(100 * d.drift, 2),
        "cell SE": round(100 * d.se, 2) if math.isfinite(d.se) else math.nan,
        "seeds": d.n_seeds,
        "|drift| / SE": round(d.ratio, 2) if math.isfinite(d.ratio) else math.inf,
        "bitwise": "yes" if d.identical else "no",
        "conditions": "; ".join(d.conditions) or "same",
        "recorded on": (d.environment_then.get("cpu") or "—") if d.environment_then.get("recorded", True)
        else "not recorded",
    } for d in drifts])


def machine() -> str:
    """This machine in one line (for the report's header)."""
    env = environment.describe()
    return (f"{env.get('cpu')}, {env.get('cpu_count')} cores, {env.get('threads')} threads, torch {env.get('torch')}, "
            f"numpy {env.get('numpy')}, scikit-learn {env.get('scikit-learn', env.get('sklearn'))}")


# ---------------------------------------------------------------- precision check


def precision_check(profile: str, item: str, cells: list[tuple[str, str, bool]], *, precision: str = "fp32",
                    jobs: int = 1, baseline: str = "none", variant: str = "brb",
                    metric: str = METRIC) -> pd.DataFrame:
    """Recompute ``cells`` of ``item`` (``(dataset, method, pretrain)``, plain and ``variant``, every seed) in
    ``precision`` in a throw-away cache, and compare the paired verdict (variant − baseline, at 2 SE) with the
    committed records'.

    Returns one row per (cell, precision): paired mean and SE (points), pairs, verdict, and whether the
    verdicts of the two precisions agree.
    """
    wanted = {(d, m, bool(p)) for d, m, p in cells}
    configs = [c for c in configs_for(notebook_settings(item, profile, {}))
               if (c.dataset, c["method"], bool(c["pretrain"])) in wanted and c["variant"] in (baseline, variant)]
    have = {c: runs.load_cached(c) for c in configs}
    missing = [c.label() for c, r in have.items() if r is None]
    if missing:
        raise RuntimeError(f"compute the committed runs first (`make runs`); missing: {missing}")
    other = [c.replace(precision=precision) for c in configs]
    old = os.environ.get("DCUTILS_RESULTS")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DCUTILS_RESULTS"] = tmp
        try:
            bar = runs.progress(total=len(other), desc=f"recomputing in {precision}", unit="run")
            try:
                outcomes = executors.make("pool", jobs).submit_all(other, on_done=lambda _: bar.update())
            finally:
                bar.close()
            failed = [o for o in outcomes if not o.ok]
            if failed:
                raise RuntimeError(f"{len(failed)} recomputation(s) failed: {failed[0].error}")
            again = {c: runs.load_cached(o) for c, o in zip(configs, other)}
        finally:
            if old is None:
                os.environ.pop("DCUTILS_RESULTS", None)
            else:
                os.environ["DCUTILS_RESULTS"] = old
    rows = []
    for d, m, p in cells:
        verdicts = []
        for label, results in ((configs[0]["precision"], have), (precision, again)):
            seeds = {v: pd.Series({c.seed: results[c].final[metric] for c in configs
                                   if (c.dataset, c["method"], bool(c["pretrain"]), c["variant"]) == (d, m, p, v)})
                     for v in (variant, baseline)}
            stat = claims.paired(seeds[variant], seeds[baseline])
            verdicts.append(stat["verdict"])
            rows.append({"cell": f"{m.upper()} {'with' if p else 'without'} pretraining, {d}", "precision": label,
                         "paired": stat["mean"], "paired_se": stat["se"], "pairs": stat["n"],
                         "verdict": stat["verdict"]})
        for r in rows[-2:]:
            r["same verdict"] = verdicts[0] == verdicts[1]
    return pd.DataFrame(rows)
