"""Runs: the cached ``get_runs`` over every registered algorithm of the project.

A run is described by a :class:`~dcutils.core.RunConfig` (algorithm, data
set, seed, profile, the algorithm's parameters with defaults filled in, and
the fingerprint of the data the profile pins). Running it calls the
registered algorithm, which returns a :class:`~dcutils.core.RunOutput`. The
result is cached under ``results/<profile>/<algorithm>/<dataset>/<key>.json.gz``
where the key (:meth:`RunConfig.key`) hashes the config and the algorithm's
declared version, **not** its source: editing a docstring, a plot or a
settings description keeps every cached run; a change of behaviour bumps the
version (the golden check, ``tests/test_golden.py``, fails when numbers
change without a bump). Every record also carries the environment that
produced it (:func:`dcutils.environment.describe`: torch / numpy /
scikit-learn versions, CPU or GPU, threads, precision), which is not part of
the key.

Importing this module registers every algorithm of the project (it imports
the training packages), so ``RunConfig.make`` knows them all.

Asking for runs::

    configs = [items.config("brb.dc", "usps", seed=s, profile="quick") for s in (0, 1)]
    runset = get_runs(configs)
    runset.finals()    # one row per run: config columns + final metrics
    runset.history()   # one row per (run, epoch)
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The training packages register their algorithms on import.
import dcutils.brb  # noqa: F401
import dcutils.rdc  # noqa: F401
import dcutils.resl  # noqa: F401
from dcutils import cache, environment, health, paths
from dcutils.core import (  # noqa: F401  (re-exported: the names notebooks and tests use)
    ALGORITHMS,
    Algorithm,
    NonFiniteLossError,
    RunConfig,
    RunContext,
    RunOutput,
    UnknownAlgorithmError,
    algorithm,
    check_finite,
    get_algorithm,
    progress,
    quiet,
)
from dcutils.device import default_device
from dcutils.profiles import SettingsError

#: Precision recorded for algorithms without a ``precision`` parameter (fp32 everywhere).
PRECISION = "fp32"


class DataMismatchError(RuntimeError):
    """The data a run loaded are not the data its profile pins (another file, another split)."""


def record_path(cfg: RunConfig) -> Path:
    """Where the record of ``cfg`` lives: ``results/<profile>/<algorithm>/<dataset>/<key>.json.gz``."""
    return paths.results_dir(cfg.profile) / cfg.algorithm / cfg.dataset / f"{cfg.key()}.json.gz"


# ----------------------------------------------------------------------------
# running


@dataclass
class RunResult:
    """A finished run, fresh or from the cache."""

    config: RunConfig
    history: pd.DataFrame
    final: dict[str, float]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    from_cache: bool
    environment: dict[str, Any]


def _payload(out: RunOutput) -> dict[str, Any]:
    if not isinstance(out, RunOutput):
        raise TypeError(f"an algorithm must return RunOutput, got {type(out).__name__}")
    if "epoch" not in out.history.columns:
        raise ValueError("RunOutput.history needs an 'epoch' column")
    return {
        # columns and rows as lists: canonical JSON sorts dict keys, lists keep the column order
        "history": {"columns": [str(c) for c in out.history.columns],
                    "data": [list(col) for col in zip(*out.history.itertuples(index=False))] if len(out.history)
                    else [[] for _ in out.history.columns]},
        "final": {k: (None if v is None else float(v)) for k, v in out.final.items()},
        "arrays": {k: {"dtype": str(np.asarray(v).dtype), "shape": list(np.shape(v)),
                       "data": np.asarray(v).ravel().tolist()} for k, v in out.arrays.items()},
        "meta": out.meta,
    }


def _result(cfg: RunConfig, payload: dict[str, Any], from_cache: bool,
            environment: dict[str, Any] | None = None) -> RunResult:
    arrays = {
        k: np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in payload["arrays"].items()
    }
    final = {k: (math.nan if v is None else v) for k, v in payload["final"].items()}
    hist = payload["history"]
    history = pd.DataFrame(dict(zip(hist["columns"], hist["data"])), columns=hist["columns"])
    return RunResult(cfg, history, final, arrays, payload["meta"], from_cache, environment or {})


def expected_header(cfg: RunConfig) -> dict[str, Any]:
    """Header fields a record of ``cfg`` must carry."""
    return {"config": cfg.to_dict(), "version": cfg.version()}


def load_cached(cfg: RunConfig) -> RunResult | None:
    """The cached result of ``cfg``, or None. A corrupt file is moved aside."""
    path = record_path(cfg)
    if not path.exists():
        return None
    try:
        record = cache.read_record(path, expected_header(cfg))
    except cache.CorruptCacheError as err:
        moved = cache.quarantine(path, str(err))
        warnings.warn(
            f"cache file for {cfg.label()} could not be trusted ({err}); moved it to {moved} "
            "and the run will be recomputed.",
            stacklevel=2,
        )
        return None
    return _result(cfg, record["payload"], from_cache=True, environment=record["header"].get("environment"))


def get_run(cfg: RunConfig, *, recompute: bool = False, device: Any = None) -> RunResult:
    """The result of ``cfg``: from the cache when present and sound, else computed and cached.

    Raises
    ------
    NonFiniteLossError when a loss diverges; DataMismatchError when the data
    loaded are not the ones the config pins. Nothing is cached then.
    """
    if not recompute:
        cached = load_cached(cfg)
        if cached is not None:
            return cached
    ctx = RunContext(cfg, device if device is not None else default_device())
    started, started_cpu = time.perf_counter(), time.process_time()
    out = get_algorithm(cfg.algorithm).fn(cfg, ctx)
    _check_data(cfg, out)
    return _store(cfg, out, ctx, time.perf_counter() - started, time.process_time() - started_cpu)


def _store(cfg: RunConfig, out: RunOutput, ctx: RunContext, seconds: float, cpu_seconds: float) -> RunResult:
    """Write the record of ``cfg`` (its output, timings, device and environment) and return its result."""
    out.meta.setdefault("seconds", seconds)
    # the CPU time of this process (all its threads): what the run cost in core-seconds, however loaded the
    # machine was (wall-clock ``seconds`` grows with the load; this does not, beyond cache sharing)
    out.meta.setdefault("cpu_seconds", cpu_seconds)
    out.meta.setdefault("device", str(ctx.device))
    payload = _payload(out)
    env = environment.describe(ctx.device, precision=str(cfg.get("precision", PRECISION)))
    cache.write_record(record_path(cfg), {**expected_header(cfg), "environment": env}, payload)
    return _result(cfg, json.loads(cache.canonical_json(payload)), from_cache=False, environment=env)


# ----------------------------------------------------------------------------
# stacked groups (issue 25)

#: Group size of ``stack_groups`` when none is asked for, per device type: a GPU trains up to ten runs of
#: one shape together (``make bench`` section 5 measures what that buys); on a CPU stacking does not pay
#: (the same benchmark: 0.8-1.0x per run on the 2-core CPU), so every run trains alone.
AUTO_STACK = {"cuda": 10, "cpu": 1}


def auto_stack(device: Any = None) -> int:
    """:data:`AUTO_STACK` for ``device`` (default: the device runs use here)."""
    kind = getattr(device if device is not None else default_device(), "type", str(device))
    return AUTO_STACK.get(kind, 1)


def stack_size(value: str | int | None = None, device: Any = None) -> int:
    """The most runs a job trains together: ``value`` (default ``$DCUTILS_STACK``, else ``"auto"``) as a
    positive int, or for ``"auto"`` :func:`auto_stack` of ``device``; anything else raises SettingsError."""
    value = os.environ.get("DCUTILS_STACK") or "auto" if value is None else value
    if str(value) == "auto":
        return auto_stack(device)
    n = int(value) if str(value).isdigit() else 0
    if n < 1:
        raise SettingsError(f"--stack (DCUTILS_STACK) takes a positive number of runs or 'auto', got {value!r}")
    return n


def stack_key(cfg: RunConfig) -> tuple | None:
    """What a run must share with others to train in one group with them, or None when it trains alone.

    None unless its algorithm registers a group computation (:func:`dcutils.core.stacks`) and its
    ``stack_key`` accepts the config; else the algorithm, profile, version and that key.
    """
    alg = get_algorithm(cfg.algorithm)
    if alg.group is None or alg.stack_key is None:
        return None
    key = alg.stack_key(cfg)
    return None if key is None else (cfg.algorithm, cfg.profile, cfg.version(), key)


def stack_groups(configs: Sequence[RunConfig], size: int) -> list[list[int]]:
    """Positions of ``configs`` cut into units computed together, each unit in the configs' order.

    Configs with one :func:`stack_key` (not None) form units of at most ``size``, in the order they come;
    every other config is a unit alone; ``size`` 1 gives every config alone. Units are ordered by their
    first member, so a queue sorted longest first stays so.
    """
    if size < 1:
        raise ValueError(f"a group holds at least one run, got size {size}")
    units: list[list[int]] = []
    open_units: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        key = stack_key(cfg) if size > 1 else None
        if key is None:
            units.append([i])
            continue
        unit = open_units.get(key)
        if unit is None or len(unit) >= size:
            unit = open_units[key] = []
            units.append(unit)
        unit.append(i)
    return units


def get_run_group(configs: Sequence[RunConfig], *, device: Any = None) -> list[RunResult]:
    """Compute ``configs`` together (one :func:`stack_key`) and cache each run's own record.

    The algorithm's group computation (:func:`dcutils.core.stacks`) trains them as one stacked model;
    every record is the one its config would get alone up to floating-point reordering, with
    ``meta["stacked"]`` = the group's size and members' keys, and the group's time split evenly
    (``meta["seconds"]``, ``meta["cpu_seconds"]``). Nothing is cached when the group raises.
    A single config is computed alone (:func:`get_run`).
    """
    configs = list(configs)
    if len(configs) == 1:
        return [get_run(configs[0], recompute=True, device=device)]
    keys = {stack_key(c) for c in configs}
    if len(keys) != 1 or None in keys:
        raise ValueError("these configs do not stack (their algorithm has no group computation, or they differ in "
                         f"what a group shares): {[c.label() for c in configs]}")
    dev = device if device is not None else default_device()
    ctxs = [RunContext(c, dev) for c in configs]
    started, started_cpu = time.perf_counter(), time.process_time()
    outs = get_algorithm(configs[0].algorithm).group(configs, ctxs)
    if len(outs) != len(configs):
        raise ValueError(f"{configs[0].algorithm}'s group computation returned {len(outs)} outputs for "
                         f"{len(configs)} configs")
    for cfg, out in zip(configs, outs):
        _check_data(cfg, out)
    share, cpu_share = ((time.perf_counter() - started) / len(configs), (time.process_time() - started_cpu)
                        / len(configs))
    members = [c.key() for c in configs]
    results = []
    for cfg, out, ctx in zip(configs, outs, ctxs):
        out.meta["stacked"] = {"size": len(configs), "members": members}
        results.append(_store(cfg, out, ctx, share, cpu_share))
    return results


def _check_data(cfg: RunConfig, out: RunOutput) -> None:
    used = out.meta.get("data_fingerprint")
    if cfg.data_fingerprint and used != cfg.data_fingerprint:
        raise DataMismatchError(
            f"{cfg.label()}: the data loaded here have fingerprint {used!r}, but profile {cfg.profile!r} pins "
            f"{cfg.data_fingerprint!r} for {cfg.dataset!r} (other files or another split in the data folders "
            f"{[str(p) for p in paths.data_dirs()]}). Nothing was cached. Point DCUTILS_DATA at the files the "
            "profile names (README, Data), or use the paper profile for the full sets."
        )


@dataclass
class RunSet(Sequence):
    """Results of several runs with tidy-table views for plotting."""

    results: list[RunResult]

    def __getitem__(self, i):  # type: ignore[override]
        return self.results[i]

    def __len__(self) -> int:
        return len(self.results)

    @staticmethod
    def _columns(cfg: RunConfig) -> dict[str, Any]:
        cols = {"algorithm": cfg.algorithm, "dataset": cfg.dataset, "seed": cfg.seed}
        cols.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.params})
        return cols

    def finals(self) -> pd.DataFrame:
        """One row per run: config columns, final metrics, then ``flagged``: the record's health assessment flags
        the run (``meta["health"]``, :func:`dcutils.health.is_flagged`; False without an assessment)."""
        return pd.DataFrame([{**self._columns(r.config), **r.final, "flagged": health.is_flagged(r.meta)}
                             for r in self.results])

    def history(self) -> pd.DataFrame:
        """One row per (run, epoch): config columns, then the history's columns."""
        frames = []
        for r in self.results:
            frame = r.history.copy()
            for key, value in self._columns(r.config).items():
                frame[key] = [value] * len(frame) if isinstance(value, list) else value
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def seeds(self) -> list[int]:
        return sorted({r.config.seed for r in self.results})

    def datasets(self) -> list[str]:
        return sorted({r.config.dataset for r in self.results})


def get_runs(configs: Iterable[RunConfig], *, recompute: bool = False) -> RunSet:
    """Results of ``configs`` in order (duplicates computed once), with a progress bar."""
    configs = list(configs)
    unique = list(dict.fromkeys(configs))
    done: dict[RunConfig, RunResult] = {}
    for cfg in progress(unique, desc="runs", unit="run"):
        done[cfg] = get_run(cfg, recompute=recompute)
    return RunSet([done[c] for c in configs])
