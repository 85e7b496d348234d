"""Golden numbers: a guard against changing an algorithm's behaviour without bumping its version.

A run's cache key holds its algorithm's declared version, not its source, so
a change of behaviour must come with a version bump (``@algorithm(...,
version=N)``), or cached records computed by the old code would be reused.
This module runs every registered algorithm on tiny fixed-seed probes
(:data:`PROBES`: scikit-learn's bundled digits and the synthetic curves, a few
optimizer steps, one thread) and compares the continuous numbers they produce
(losses, distances, intrinsic dimensions) with the values committed in
``tests/golden/<algorithm>.json``:

- same version, numbers within :data:`RTOL` / :data:`ATOL`: fine;
- same version, numbers moved: the change altered behaviour: bump the version
  (then regenerate the golden file) or undo the change;
- version bumped: regenerate the golden file (``python -m dcutils.golden --update``,
  ``make golden``), commit it with the change.

The probes are short (2-3 epochs on 128-200 samples), so float differences
between machines stay far below the tolerance. Discrete metrics (ACC, NMI,
...) are not compared: a single flipped sample would move them.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from dcutils import paths
from dcutils.core import ALGORITHMS, RunConfig, RunContext, get_algorithm
from dcutils.runs import PRECISION  # noqa: F401  (importing runs registers every algorithm)

__all__ = ["PROBES", "RTOL", "ATOL", "GOLDEN_DIR", "probe_values", "compute", "load", "compare", "update"]

#: Relative and absolute tolerance of the comparison.
RTOL, ATOL = 1e-3, 1e-6
GOLDEN_DIR = paths.ROOT / "tests" / "golden"

_BRB = dict(variant="brb", subsample=128, pretrain_epochs=2, cluster_epochs=3, reset_interval=1, batch_size=32,
            metrics_subsample=None, split="test")
_RDC = dict(subsample=200, pretrain_epochs=2, cluster_epochs=2, beta=0.6, gamma=0.6, geometry_sample=100,
            kmeans_n_init=2, preprocess="raw")
_PARADIGM = dict(subsample=200, pretrain_epochs=2, cluster_epochs=2, geometry_sample=100, kmeans_n_init=2,
                 preprocess="raw", split="test")
_RESL = dict(n_train=60, n_test=30, width=1 / 32, simclr_epochs=1, simclr_batch=32, scan_epochs=1, scan_batch=32,
             n_neighbours=5, sl_epochs=2, sl_batch=30, threshold=0.0, every=1, alpha=0.5, momentum=0.5)
#: brb.contrastive: 60 FMNIST training images, a ResNet18 at width 1/16 with a small head, one SimCLR epoch shared by
#: the probes (pretrain_seed 0), two clustering epochs with a BRB step after the first, one self-labeling epoch.
_CLR = dict(n_train=60, n_test=30, width=1 / 16, batch_size=12, mlp=(16, 8, 8), projector_width=16, pretrain_epochs=1,
            pretrain_seed=0, cluster_epochs=2, reset_interval=1, warmup_epochs=1, kmeans_n_init=2, sl_warmup_epochs=1,
            sl_epochs=1, sl_batch=30, threshold=0.2, precision="fp32")

#: Per algorithm: probe name -> (data set, parameters). Seed 0, profile smoke.
PROBES: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "brb.dc": {**{m: ("optdigits", {**_BRB, "method": m}) for m in ("dec", "idec", "dcn")},
               # the ablation options of BRB's analysis (Figures 10-13 and 19, Tables 9-12, 18-19)
               **{f"dec_{k}": ("optdigits", {**_BRB, "method": "dec", **extra}) for k, extra in {
                   "disentangled": {"variant": "disentangled"}, "noise": {"variant": "noise"},
                   "perturb_only": {"variant": "perturb_only"}, "gaussian": {"variant": "gaussian"},
                   "embedding_reset": {"reset_embedding": True}, "no_momentum_reset": {"reset_momentum": False},
                   "em": {"recluster": "em"}, "kmeanspp": {"recluster": "kmeans++"},
                   "own": {"recluster": "own"}, "recluster_subsample": {"recluster_subsample": 64},
                   "2d_four_classes": {"embedding_dim": 2, "classes": [0, 1, 2, 3], "subsample": None,
                                       "record_embedding": True},
                   # version 2 (issue 20): no pretraining (train-mode first clustering) and the text's choices
                   "scratch": {"pretrain": False}, "scratch_eval_first": {"pretrain": False,
                                                                           "first_clustering": "eval"},
                   "no_batch_norm": {"batch_norm": False}, "joint_views": {"view_passes": "joint"}}.items()},
               "idec_scratch": ("optdigits", {**_BRB, "method": "idec", "pretrain": False})},
    "rdc.method": {m: ("optdigits", {**_RDC, "method": m})
                   for m in ("ae_kmeans", "dec", "idec", "dynae", "rdc", "vade", "p1p2p3")},
    "rdc.twist": {m: ("curved4", {"method": m, "n_per_cluster": 30, "pretrain_epochs": 3, "cluster_epochs": 2})
                  for m in ("dec", "rdc")},
    "rdc.paradigm": {p: ("optdigits", {**_PARADIGM, "pretext": p}) for p in ("reconstruction", "contrastive")},
    "resl.selflabel": {**{s: ("fmnist", {**_RESL, "strategy": s}) for s in ("none", "sp", "ht")},
                       # version 2: the pseudo-label pass in eval mode
                       "none_bn_eval": ("fmnist", {**_RESL, "strategy": "none", "pseudo_label_bn": "eval"})},
    "brb.contrastive": {**{m: ("fmnist", {**_CLR, "method": m}) for m in ("dec", "idec", "dcn")},
                        # Table 11's block choices and the plain run without self-labeling (Table 17's reading)
                        "dcn_all_blocks": ("fmnist", {**_CLR, "method": "dcn", "reset_blocks": "all"}),
                        "dcn_no_mlp_reset": ("fmnist", {**_CLR, "method": "dcn", "reset_mlp": False}),
                        "idec_plain": ("fmnist", {**_CLR, "method": "idec", "brb": False, "self_labeling": False})},
}

#: Columns (and final keys) compared: continuous quantities, matched by substring.
_CONTINUOUS = ("loss", "intra_cd", "inter_cd", "silhouette", "flatness", "lid", "id")


def _continuous(name: str) -> bool:
    return name == "id" or any(c in name for c in _CONTINUOUS if c != "id")


def _clean(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def probe_values(algorithm: str, dataset: str, params: dict[str, Any]) -> dict[str, list[float | None]]:
    """The continuous numbers of one tiny run: history columns and final values, by name."""
    cfg = RunConfig.make(algorithm, dataset, seed=0, profile="smoke", **params)
    out = get_algorithm(algorithm).fn(cfg, RunContext(cfg, torch.device("cpu")))
    values: dict[str, list[float | None]] = {}
    for col in out.history.columns:
        if _continuous(str(col)) and out.history[col].dtype.kind in "fi" and "second" not in str(col):
            values[f"history.{col}"] = [_clean(v) for v in out.history[col]]
    for key, v in out.final.items():
        if _continuous(key) and "second" not in key:
            values[f"final.{key}"] = [_clean(v)]
    return values


def compute(algorithm: str, only: Iterable[str] | None = None) -> dict[str, Any]:
    """Run the probes of ``algorithm`` (all, or the ``only`` ones; 1 thread, a throw-away cache): its golden record."""
    threads = torch.get_num_threads()
    old = os.environ.get("DCUTILS_RESULTS")
    try:
        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["DCUTILS_RESULTS"] = tmp  # pretrained networks are trained, not taken from the cache
            probes = {name: probe_values(algorithm, ds, params) for name, (ds, params) in PROBES[algorithm].items()
                      if only is None or name in only}
    finally:
        torch.set_num_threads(threads)
        if old is None:
            os.environ.pop("DCUTILS_RESULTS", None)
        else:
            os.environ["DCUTILS_RESULTS"] = old
    return {"algorithm": algorithm, "version": get_algorithm(algorithm).version, "torch": torch.__version__,
            "probes": probes}


def path(algorithm: str) -> Path:
    return GOLDEN_DIR / f"{algorithm}.json"


def load(algorithm: str) -> dict[str, Any] | None:
    """The committed golden record of ``algorithm``, or None."""
    p = path(algorithm)
    return json.loads(p.read_text()) if p.is_file() else None


def compare(golden: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Differences beyond the tolerance, one line each (empty: equal)."""
    problems = []
    for probe, values in golden["probes"].items():
        now = current["probes"].get(probe)
        if now is None:
            problems.append(f"probe {probe!r} is gone")
            continue
        for key, ref in values.items():
            got = now.get(key)
            if got is None or len(got) != len(ref):
                problems.append(f"{probe}: {key} has {None if got is None else len(got)} values, golden {len(ref)}")
                continue
            for i, (a, b) in enumerate(zip(got, ref)):
                if (a is None) != (b is None) or (a is not None and not math.isclose(a, b, rel_tol=RTOL,
                                                                                     abs_tol=ATOL)):
                    problems.append(f"{probe}: {key}[{i}] = {a}, golden {b}")
                    break
    return problems


def check(algorithm: str, only: Iterable[str] | None = None) -> list[str]:
    """What is wrong with ``algorithm``'s golden numbers now (empty list: all good).

    ``only``: check these probes alone (default: every probe of the golden file).
    """
    golden = load(algorithm)
    version = get_algorithm(algorithm).version
    if golden is None:
        return [f"no golden file {path(algorithm)}; create it with `python -m dcutils.golden --update {algorithm}`"]
    if golden["version"] != version:
        return [f"{algorithm} is at version {version} but its golden file holds version {golden['version']}: "
                f"regenerate it with `python -m dcutils.golden --update {algorithm}` and commit it"]
    if only is not None:
        golden = {**golden, "probes": {k: v for k, v in golden["probes"].items() if k in only}}
    problems = compare(golden, compute(algorithm, only))
    if problems:
        problems.insert(0, f"{algorithm} (version {version}) now computes other numbers than its golden file. "
                           "If the change is meant, bump its version in @algorithm(...) and regenerate the golden "
                           "file; cached records of the old version are then recomputed.")
    return problems


def update(algorithms: Iterable[str]) -> None:
    """Recompute and write the golden files of ``algorithms``."""
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in algorithms:
        record = compute(name)
        path(name).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path(name)} (version {record['version']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("algorithms", nargs="*", help="default: every registered algorithm with probes")
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    names = args.algorithms or sorted(set(ALGORITHMS) & set(PROBES))
    if args.update:
        update(names)
        return 0
    bad = 0
    for name in names:
        problems = check(name)
        print(f"{name}: " + ("ok" if not problems else "\n  ".join(problems)))
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
