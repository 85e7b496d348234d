"""Compute every run the notebooks will ask for, once, before any notebook plots.

The compute step of ``make figures`` (as in showyourwork, compute and plot
are separate): collect the run configs of every registered item at a
profile, drop duplicates (items share runs) and those already cached, and run
the rest on an executor (:mod:`dcutils.executors`). The notebooks then find
every run in the cache and only plot.

Usage::

    python -m dcutils.compute --profile quick --jobs 2          # everything, 2 local worker processes
    python -m dcutils.compute --profile paper --executor slurm  # everything, as one SLURM job array
    python -m dcutils.compute --profile quick --item brb/tab13  # one item's runs
    python -m dcutils.compute --profile quick --list            # what would run
    python -m dcutils.compute --profile quick --prune           # delete records no notebook asks for
    python -m dcutils.status --profile quick                    # done / running / failed / missing per notebook

Executors (``--executor``, default ``pool``, or ``$DCUTILS_EXECUTOR``):
``inprocess``; ``pool``, ``--jobs`` local worker processes (1: in this
process; on a CPU each gets ``cores // jobs`` torch threads); ``slurm``, every
missing run as a task of one SLURM job array through submitit (partition,
GPUs, time limit, array size from ``slurm.toml`` or ``DCUTILS_SLURM_*``, see
:mod:`dcutils.executors`), logs under ``results/<profile>/.jobs/``;
``submitit-local``, the same through submitit's local executor.

Stacked groups (``--stack``, default ``auto``, or ``$DCUTILS_STACK``): runs
that share the shape of their training (``brb.dc``: the seeds and variants of
one cell, :func:`dcutils.runs.stack_key`) go to one job, up to ``--stack`` at a
time, and train as one stacked model (:mod:`dcutils.stacking`); each still
gets its own record. ``auto`` stacks up to 10 on a GPU and none on a CPU,
where ``make bench`` (section 5) measures no gain.

Results meet in the cache through atomic writes. A job holds the record's
lock while it computes and looks in the cache again first, so no run is
computed twice, whoever else asks for it; workers that need the same
pretrained network wait for each other too. A run that fails (a NaN loss, a
missing data set, a pre-empted or killed job) is reported at the end with its
error and its log file; the other runs still finish and are cached, the
command exits non-zero, and running it again computes only what is missing.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from dcutils import catalog, executors, paths, runs, verify
from dcutils.brb.settings import PRECISION_CHECK
from dcutils.device import default_device
from dcutils.experiments import configs_for_profile, items_with_runs  # noqa: F401  (re-exported)
from dcutils.profiles import PROFILES, SettingsError


def pending(configs: Iterable[runs.RunConfig]) -> list[runs.RunConfig]:
    """The configs whose result is not (soundly) cached yet."""
    return [c for c in configs if runs.load_cached(c) is None]


def stale_records(profile: str) -> list:
    """Run records under ``results/<profile>/`` that no item asks for with the current code (old code, old settings)."""
    wanted = {runs.record_path(c) for c in configs_for_profile(profile)}
    root = paths.results_dir(profile)
    return sorted(p for p in root.rglob("*.json.gz") if p not in wanted) if root.is_dir() else []


def _cost(c: runs.RunConfig) -> float:
    """A run's size for ordering: its optimizer steps when its algorithm estimates them, else epochs × samples."""
    steps = runs.get_algorithm(c.algorithm).steps
    if steps is not None:
        try:
            return float(steps(c))
        except Exception:  # noqa: BLE001 - an estimate only orders the queue
            pass
    epochs = float(c.get("cluster_epochs", 1) or 1) + float(c.get("pretrain_epochs", 0) or 0) * 0.3
    return epochs * float(c.get("subsample") or 10_000)


def _order(configs: list[runs.RunConfig]) -> list[runs.RunConfig]:
    """Longest first, so parallel workers finish together."""
    return sorted(configs, key=lambda c: -_cost(c))


def compute(profile: str, items: Iterable[str] | None = None, jobs: int = 1,
            executor: str | executors.Executor = "pool", stack: int | None = None) -> list[executors.Outcome]:
    """Run every missing config of ``items`` at ``profile``; return the failures.

    Parameters
    ----------
    profile, items : what to run (default: every item with runs)
    jobs : worker processes of the ``"pool"`` executor (1: in this process)
    executor : a name of :data:`dcutils.executors.NAMES` or an :class:`~dcutils.executors.Executor`
    stack : the most runs a job trains together as one stacked model (runs of one
        :func:`dcutils.runs.stack_key`); default :func:`dcutils.runs.stack_size` (``$DCUTILS_STACK``, else 10 on
        a GPU and 1 on a CPU).
        Ignored when ``executor`` is an executor object (it has its own).

    Returns
    -------
    The :class:`~dcutils.executors.Outcome` of each run that failed (``.config``,
    ``.error``, ``.log`` / ``.details``); the others are in the cache.
    """
    stack = runs.stack_size(stack)
    if isinstance(executor, str) and executor != "pool":
        executor = executors.make(executor, stack=stack)  # before looking at the cache: a missing SLURM is said at once
    todo = _order(pending(configs_for_profile(profile, items)))
    if not todo:
        print(f"all runs of profile {profile!r} are cached", file=sys.stderr)
        return []
    if isinstance(executor, str):  # the pool: no more workers than runs, one = this process
        executor = executors.make(executor, jobs=max(1, min(int(jobs), len(todo))), stack=stack)
    grouped = f", up to {executor.stack} run(s) trained together" if executor.stack > 1 else ""
    print(f"computing {len(todo)} run(s) at profile {profile!r} on {executor.describe()}{grouped}", file=sys.stderr)
    bar = runs.progress(total=len(todo), desc=f"runs ({profile})", unit="run")
    try:
        outcomes = executor.submit_all(todo, on_done=lambda _: bar.update())
    finally:
        bar.close()
    return [o for o in outcomes if not o.ok]


def notebook_item(path: str | Path) -> str:
    """The catalog key (``brb/fig01``) of a notebook ``notebooks/<paper>/<stem>.ipynb``."""
    path = Path(path)
    for item in [*catalog.ITEMS, *catalog.EXTRAS]:
        if item.paper == path.parent.name and item.stem == path.stem:
            return item.key
    raise SettingsError(f"{path} is no notebook of the catalog (notebooks/<paper>/<id>-<slug>.ipynb); "
                        "`make help` lists how to build one")


def report_failures(failures: Iterable[executors.Outcome], file=None) -> None:
    """``FAILED <run>: <error>`` and where to read more (the job's log, else the ``.failed`` marker)."""
    file = file or sys.stderr
    for out in failures:
        print(f"FAILED {out.config.label()}: {out.error}", file=file)
        print(f"    {'log' if out.log else 'details'}: {out.details}", file=file)


def auto_jobs() -> int:
    """Workers for ``--jobs auto``: 1 when runs use a GPU, else one per CPU core (at most 8)."""
    return 1 if default_device().type == "cuda" else max(1, min(os.cpu_count() or 1, 8))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("DCUTILS_PROFILE") or "quick", choices=sorted(PROFILES))
    parser.add_argument("--item", action="append", help="catalog id like brb/tab13 (repeatable; default: all)")
    parser.add_argument("--notebook", action="append", metavar="PATH",
                        help="a notebook (notebooks/<paper>/<stem>.ipynb): its item's runs only (repeatable; a "
                        "notebook whose item has no runs computes nothing)")
    parser.add_argument("--executor", default=os.environ.get("DCUTILS_EXECUTOR") or "pool",
                        choices=executors.NAMES,
                        help="where runs are computed: inprocess, pool (local worker processes, --jobs), slurm (a "
                        "SLURM job array; settings in slurm.toml or DCUTILS_SLURM_*), submitit-local (submitit's "
                        "local executor); default pool")
    parser.add_argument("--jobs", default="1", help="worker processes of the pool executor, or 'auto': 1 on a GPU, "
                        "else one per CPU core, at most 8 (default 1: in this process)")
    parser.add_argument("--stack", default=os.environ.get("DCUTILS_STACK") or "auto",
                        help="the most runs one job trains together as a stacked model (runs of one shape: the "
                        "seeds and variants of a BRB cell), or 'auto': 10 on a GPU, 1 (every run alone) on a CPU, "
                        "where stacking does not pay (make bench, section 5)")
    parser.add_argument("--list", action="store_true", help="print the pending runs and exit")
    parser.add_argument("--prune", action="store_true",
                        help="delete the profile's run records that no notebook asks for with the current code")
    parser.add_argument("--verify", type=int, metavar="N",
                        help="recompute N randomly chosen committed records in a throw-away cache and report their "
                        "drift against the seed-to-seed standard error of their cell")
    parser.add_argument("--verify-seed", type=int, default=0, help="seed of --verify's random choice (default 0)")
    parser.add_argument("--precision-check", metavar="PRECISION", choices=("fp32", "bf16"),
                        help="recompute the BRB cells of brb.settings.PRECISION_CHECK in PRECISION in a throw-away "
                        "cache and compare their paired verdicts with the committed records'")
    args = parser.parse_args(argv)
    try:
        stack = runs.stack_size(args.stack)
        if args.notebook:
            wanted = [notebook_item(p) for p in args.notebook]
            with_runs = set(items_with_runs())
            args.item = [*(args.item or []), *(i for i in wanted if i in with_runs)]
            if not args.item:
                print(f"{', '.join(wanted)}: no runs to compute", file=sys.stderr)
                return 0
        if args.precision_check:
            jobs = auto_jobs() if args.jobs == "auto" else int(args.jobs)
            table = verify.precision_check(args.profile, "brb/tab13", PRECISION_CHECK, precision=args.precision_check,
                                           jobs=jobs)
            print(f"recomputed on: {verify.machine()}")
            print(table.round(2).to_string(index=False))
            return 0
        if args.verify:
            drifts = verify.verify(args.profile, args.verify, args.verify_seed)
            with pd.option_context("display.width", 200, "display.max_colwidth", 60):
                print(f"recomputed on: {verify.machine()}")
                print(verify.report(drifts).to_string(index=False))
            return 0
        if args.prune:
            stale = stale_records(args.profile)
            for path in stale:
                path.unlink()
                print(f"removed {path}")
            print(f"{len(stale)} stale record(s) removed at profile {args.profile!r}", file=sys.stderr)
            return 0
        if args.list:
            configs = configs_for_profile(args.profile, args.item)
            todo = pending(configs)
            for cfg in todo:
                print(cfg.label(), dict(cfg.params))
            print(f"{len(todo)} of {len(configs)} run(s) pending at profile {args.profile!r}", file=sys.stderr)
            return 0
        jobs = (auto_jobs() if args.jobs == "auto" else int(args.jobs)) if args.executor == "pool" else 1
        failures = compute(args.profile, args.item, jobs, executor=args.executor, stack=stack)
    except (SettingsError, executors.ExecutorError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report_failures(failures)
    if failures:
        print(f"{len(failures)} run(s) failed; `make runs` again computes only what is missing "
              f"(`make status` shows what is done)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
