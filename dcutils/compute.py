"""Compute every run the notebooks will ask for, once, before any notebook plots.

The compute step of ``make figures`` (as in showyourwork, compute and plot
are separate): collect the run configs of every registered item at a
profile, drop duplicates (items share runs) and those already cached, and run
the rest, in parallel worker processes when ``--jobs`` > 1. The notebooks
then find every run in the cache and only plot.

Usage::

    python -m dcutils.compute --profile quick --jobs 2          # everything
    python -m dcutils.compute --profile quick --item brb/tab13  # one item's runs
    python -m dcutils.compute --profile quick --list            # what would run
    python -m dcutils.compute --profile quick --prune           # delete records no notebook asks for

On a CPU, ``--jobs`` workers share the cores (each gets ``cores // jobs``
torch threads). Workers that need the same pretrained network wait for each
other (:func:`dcutils.cache.file_lock`), so it is trained once. A run that
fails (a NaN loss, a missing data set) is reported at the end with its error;
the other runs still finish and are cached, and the command exits non-zero.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from dcutils import experiments, runs
from dcutils.profiles import PROFILES, SettingsError, check_profile, notebook_settings, registered_items


def items_with_runs(selected: Iterable[str] | None = None) -> list[str]:
    """Catalog items that have a run list (all of them, or the ``selected`` ones, checked)."""
    registered_items()  # loads the experiment modules
    known = sorted(experiments._RUN_LISTS)
    if selected is None:
        return known
    selected = list(selected)
    unknown = [i for i in selected if i not in known]
    if unknown:
        raise SettingsError(f"no runs are registered for {unknown}; items with runs: {', '.join(known)}")
    return selected


def configs_for_profile(profile: str, items: Iterable[str] | None = None) -> list[runs.RunConfig]:
    """Unique run configs behind ``items`` (default: every item with runs) at ``profile``, in item order."""
    check_profile(profile)
    configs: list[runs.RunConfig] = []
    for item in items_with_runs(items):
        configs.extend(experiments.configs_for(notebook_settings(item, profile, {})))
    return list(dict.fromkeys(configs))


def pending(configs: Iterable[runs.RunConfig]) -> list[runs.RunConfig]:
    """The configs whose result is not (soundly) cached yet."""
    return [c for c in configs if runs.load_cached(c) is None]


def stale_records(profile: str) -> list:
    """Run records under ``results/<profile>/`` that no item asks for with the current code (old code, old settings)."""
    from dcutils import paths

    wanted = {c.path() for c in configs_for_profile(profile)}
    root = paths.results_dir(profile)
    return sorted(p for p in root.rglob("*.json.gz") if p not in wanted) if root.is_dir() else []


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
    os.environ["DCUTILS_QUIET"] = "1"  # one progress bar, the parent's


def _run_one(cfg: runs.RunConfig) -> tuple[runs.RunConfig, float, str | None]:
    started = time.perf_counter()
    try:
        runs.get_run(cfg)
    except Exception as err:  # noqa: BLE001 - reported with the run's name, the others go on
        return cfg, time.perf_counter() - started, f"{type(err).__name__}: {err}"
    return cfg, time.perf_counter() - started, None


def _order(configs: list[runs.RunConfig]) -> list[runs.RunConfig]:
    """Longest first (more epochs, more data), so parallel workers finish together."""
    def cost(c: runs.RunConfig) -> float:
        epochs = float(c.get("cluster_epochs", 1) or 1) + float(c.get("pretrain_epochs", 0) or 0) * 0.3
        size = c.get("subsample") or 10_000
        return -epochs * float(size)

    return sorted(configs, key=cost)


def compute(profile: str, items: Iterable[str] | None = None, jobs: int = 1) -> list[tuple[runs.RunConfig, str]]:
    """Run every missing config of ``items`` at ``profile``; return the failures ``(config, error)``."""
    todo = _order(pending(configs_for_profile(profile, items)))
    if not todo:
        print(f"all runs of profile {profile!r} are cached", file=sys.stderr)
        return []
    jobs = max(1, min(int(jobs), len(todo)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    print(f"computing {len(todo)} run(s) at profile {profile!r} with {jobs} worker(s) × {threads} thread(s)",
          file=sys.stderr)
    failures: list[tuple[runs.RunConfig, str]] = []
    bar = runs.progress(total=len(todo), desc=f"runs ({profile})", unit="run")
    if jobs == 1:
        for cfg, _, err in map(_run_one, todo):
            bar.update()
            if err:
                failures.append((cfg, err))
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_worker_init,
                                 initargs=(threads,)) as pool:
            for fut in as_completed([pool.submit(_run_one, c) for c in todo]):
                cfg, _, err = fut.result()
                bar.update()
                if err:
                    failures.append((cfg, err))
    bar.close()
    _warn_if_code_changed(todo)
    return failures


def _warn_if_code_changed(configs: list[runs.RunConfig]) -> None:
    """Warn when the source of a computed algorithm changed while it ran.

    Run ids hash the code as it was when the computation started; records
    written after an edit carry the old hash, so notebooks would not find them
    and would compute the runs again.
    """
    from dcutils import cache

    names = sorted({c.algorithm for c in configs})
    before = {n: runs.get_algorithm(n).code_hash() for n in names}
    cache.code_hash.cache_clear()
    changed = [n for n in names if runs.get_algorithm(n).code_hash() != before[n]]
    if changed:
        print(f"warning: the code of {', '.join(changed)} changed while computing; the records just written "
              "belong to the old code and will not be used. Run the compute step again.", file=sys.stderr)


def auto_jobs() -> int:
    """Workers for ``--jobs auto``: 1 when runs use a GPU, else one per CPU core (at most 8)."""
    from dcutils.device import default_device

    return 1 if default_device().type == "cuda" else max(1, min(os.cpu_count() or 1, 8))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("DCUTILS_PROFILE") or "quick", choices=sorted(PROFILES))
    parser.add_argument("--item", action="append", help="catalog id like brb/tab13 (repeatable; default: all)")
    parser.add_argument("--jobs", default="1", help="parallel worker processes, or 'auto': 1 on a GPU, else one "
                        "per CPU core, at most 8 (default 1)")
    parser.add_argument("--list", action="store_true", help="print the pending runs and exit")
    parser.add_argument("--prune", action="store_true",
                        help="delete the profile's run records that no notebook asks for with the current code")
    args = parser.parse_args(argv)
    try:
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
        failures = compute(args.profile, args.item, auto_jobs() if args.jobs == "auto" else int(args.jobs))
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for cfg, err in failures:
        print(f"FAILED {cfg.label()}: {err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
