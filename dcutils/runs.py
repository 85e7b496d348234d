"""Runs: plain configs, the algorithm registry and the cached ``get_runs``.

A run is described by a :class:`RunConfig` (algorithm, data set, seed,
profile and the algorithm's parameters, defaults filled in). Running it calls
the registered algorithm, which returns a :class:`RunOutput` (per-epoch
history and final metrics). The result is cached under
``results/<profile>/<algorithm>/<dataset>/<run-id>.json.gz`` where the run id
hashes the config and the code hash of the algorithm's module (see
:func:`dcutils.cache.code_hash`). Notebooks share runs: the same config asked
for by two notebooks is computed once.

Registering an algorithm::

    @algorithm("idec", lr=1e-3, cluster_epochs=400)
    def run_idec(cfg: RunConfig, ctx: RunContext) -> RunOutput:
        ...

Asking for runs::

    configs = [RunConfig.make("idec", "usps", seed=s, profile="quick") for s in (0, 1)]
    runset = get_runs(configs)
    runset.finals()    # one row per run: config columns + final metrics
    runset.history()   # one row per (run, epoch)
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dcutils import cache, paths
from dcutils.profiles import check_profile

log = logging.getLogger("dcutils.runs")

Scalar = int | float | str | bool | None


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the run is stopped and nothing is cached."""


class UnknownAlgorithmError(KeyError):
    """No algorithm of that name is registered."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


# ----------------------------------------------------------------------------
# configs


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"run parameters must be plain literals, got {type(value).__name__}: {value!r}")


@dataclass(frozen=True)
class RunConfig:
    """A hashable description of one run.

    Build it with :meth:`make`, which checks the algorithm and parameter names
    and fills in the algorithm's defaults, so two configs that run the same
    computation are equal.
    """

    algorithm: str
    dataset: str
    seed: int
    profile: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, algorithm: str, dataset: str, seed: int = 0, profile: str = "quick", **params: Any) -> RunConfig:
        algo = get_algorithm(algorithm)
        check_profile(profile)
        unknown = sorted(set(params) - set(algo.defaults))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for algorithm {algorithm!r}. "
                f"Valid: {sorted(algo.defaults)}."
            )
        merged = {**algo.defaults, **params}
        frozen = tuple(sorted((k, _freeze(v)) for k, v in merged.items()))
        return cls(algorithm, str(dataset).lower(), int(seed), profile, frozen)

    def __getitem__(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"{self.algorithm} run has no parameter {name!r}; it has {[k for k, _ in self.params]}")

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def replace(self, **changes: Any) -> RunConfig:
        """A new config with some fields or parameters changed (validated again)."""
        fields = {"algorithm": self.algorithm, "dataset": self.dataset, "seed": self.seed, "profile": self.profile}
        params = dict(self.params)
        for key, value in changes.items():
            (fields if key in fields else params)[key] = value
        if fields["algorithm"] != self.algorithm:  # defaults of the old algorithm do not carry over
            params = {k: v for k, v in params.items() if k in changes}
        return RunConfig.make(**fields, **params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "dataset": self.dataset,
            "seed": self.seed,
            "profile": self.profile,
            "params": {k: v for k, v in self.params},
        }

    def run_id(self) -> str:
        """16 hex digits hashing the config and the algorithm's code."""
        algo = get_algorithm(self.algorithm)
        return cache.sha256_text(cache.canonical_json({"config": self.to_dict(), "code": algo.code_hash()}))[:16]

    def path(self) -> os.PathLike:
        """Where this run's record lives."""
        return paths.results_dir(self.profile) / self.algorithm / self.dataset / f"{self.run_id()}.json.gz"

    def label(self) -> str:
        return f"{self.algorithm} on {self.dataset} (seed {self.seed}, profile {self.profile})"


# ----------------------------------------------------------------------------
# algorithms


@dataclass
class RunOutput:
    """What an algorithm returns.

    Attributes
    ----------
    history : one row per epoch (or iteration); must have an ``epoch`` column.
    final : final metrics, e.g. ``{"acc": 0.84, "nmi": 0.8}`` (fractions).
    arrays : named arrays to keep (snapshots for histograms, 2-D embeddings).
    meta : anything else worth recording (timings, substitutions, notes).
    """

    history: pd.DataFrame
    final: dict[str, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Algorithm:
    name: str
    fn: Callable[[RunConfig, RunContext], RunOutput]
    defaults: Mapping[str, Any]
    module: str

    def code_hash(self) -> str:
        return cache.code_hash(self.module)


ALGORITHMS: dict[str, Algorithm] = {}


def algorithm(name: str, **defaults: Any) -> Callable:
    """Register ``fn(cfg, ctx) -> RunOutput`` as algorithm ``name`` with parameter defaults."""

    def register(fn: Callable[[RunConfig, RunContext], RunOutput]) -> Callable:
        ALGORITHMS[name] = Algorithm(name, fn, dict(defaults), fn.__module__)
        return fn

    return register


def _load_algorithms() -> None:
    import dcutils.algorithms  # noqa: F401  (registers the project's algorithms)


def get_algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        _load_algorithms()
    if name not in ALGORITHMS:
        raise UnknownAlgorithmError(f"unknown algorithm {name!r}. Registered: {sorted(ALGORITHMS)}.")
    return ALGORITHMS[name]


# ----------------------------------------------------------------------------
# running


def quiet() -> bool:
    """Progress bars are off under CI (``CI`` set) or with ``DCUTILS_QUIET=1``."""
    return bool(os.environ.get("CI")) or os.environ.get("DCUTILS_QUIET", "") not in ("", "0")


def progress(iterable: Iterable | None = None, **kwargs: Any):
    """A tqdm progress bar on stderr, silent under CI."""
    from tqdm import tqdm

    kwargs.setdefault("mininterval", 2.0)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, disable=quiet(), **kwargs)


def check_finite(value: float, what: str, cfg: RunConfig | None = None, epoch: int | None = None) -> float:
    """Return ``value`` or raise :class:`NonFiniteLossError` saying where it broke."""
    if not math.isfinite(value):
        where = f" at epoch {epoch}" if epoch is not None else ""
        run = f" in {cfg.label()}" if cfg is not None else ""
        raise NonFiniteLossError(
            f"{what} became {value}{where}{run}. Nothing was cached. "
            "Try a lower learning rate or check the input data for NaNs."
        )
    return value


@dataclass
class RunContext:
    """What a running algorithm gets besides its config."""

    cfg: RunConfig
    device: Any

    def progress(self, iterable: Iterable | None = None, **kwargs: Any):
        kwargs.setdefault("desc", self.cfg.label())
        kwargs.setdefault("leave", False)
        return progress(iterable, **kwargs)

    def check_finite(self, value: float, what: str = "loss", epoch: int | None = None) -> float:
        return check_finite(value, what, self.cfg, epoch)


@dataclass
class RunResult:
    """A finished run, fresh or from the cache."""

    config: RunConfig
    history: pd.DataFrame
    final: dict[str, float]
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    from_cache: bool


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
        "arrays": {k: {"dtype": str(np.asarray(v).dtype), "shape": list(np.shape(v)), "data": np.asarray(v).ravel().tolist()} for k, v in out.arrays.items()},
        "meta": out.meta,
    }


def _result(cfg: RunConfig, payload: dict[str, Any], from_cache: bool) -> RunResult:
    arrays = {
        k: np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in payload["arrays"].items()
    }
    final = {k: (math.nan if v is None else v) for k, v in payload["final"].items()}
    hist = payload["history"]
    history = pd.DataFrame(dict(zip(hist["columns"], hist["data"])), columns=hist["columns"])
    return RunResult(cfg, history, final, arrays, payload["meta"], from_cache)


def _header(cfg: RunConfig) -> dict[str, Any]:
    return {"config": cfg.to_dict(), "code_hash": get_algorithm(cfg.algorithm).code_hash()}


def load_cached(cfg: RunConfig) -> RunResult | None:
    """The cached result of ``cfg``, or None. A corrupt file is moved aside."""
    path = cfg.path()
    if not path.exists():
        return None
    try:
        record = cache.read_record(path, _header(cfg))
    except cache.CorruptCacheError as err:
        moved = cache.quarantine(path, str(err))
        warnings.warn(
            f"cache file for {cfg.label()} could not be trusted ({err}); moved it to {moved} "
            "and the run will be recomputed.",
            stacklevel=2,
        )
        return None
    return _result(cfg, record["payload"], from_cache=True)


def get_run(cfg: RunConfig, *, recompute: bool = False, device: Any = None) -> RunResult:
    """The result of ``cfg``: from the cache when present and sound, else computed and cached."""
    if not recompute:
        cached = load_cached(cfg)
        if cached is not None:
            return cached
    from dcutils.device import default_device

    ctx = RunContext(cfg, device if device is not None else default_device())
    started = time.perf_counter()
    out = get_algorithm(cfg.algorithm).fn(cfg, ctx)
    out.meta.setdefault("seconds", time.perf_counter() - started)
    out.meta.setdefault("device", str(ctx.device))
    payload = _payload(out)
    cache.write_record(cfg.path(), _header(cfg), payload)
    return _result(cfg, json.loads(cache.canonical_json(payload)), from_cache=False)


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
        """One row per run: config columns, then final metrics."""
        return pd.DataFrame([{**self._columns(r.config), **r.final} for r in self.results])

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
