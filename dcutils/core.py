"""What a training algorithm sees: run configs, context, output, registration and the NaN check.

This is the leaf of the package: it imports nothing from ``dcutils``. Training
code (``dcutils.brb``, ``dcutils.rdc``, ...) imports it and the primitives
(data, models, resets, k-means, augmentation, metrics); caching, settings,
run lists and plots live in layers above and import downwards only.

Run identity
------------
A run is a :class:`RunConfig`: algorithm, data set, seed, profile, the
algorithm's parameters (defaults filled in) and the fingerprint of the data it
runs on (:func:`dcutils.data.fingerprint`). Its key (:meth:`RunConfig.key`)
hashes that config and the algorithm's declared **version**, not its source
text: editing a docstring, a plot or a settings description keeps every cached
run, while a change of behaviour must bump the version in
:func:`algorithm`. A golden check (``tests/test_golden.py``, values in
``tests/golden/``) fails when an algorithm's numbers change and its version did
not.

Registering an algorithm::

    @algorithm("idec", version=1, lr=1e-3, cluster_epochs=400)
    def run_idec(cfg: RunConfig, ctx: RunContext) -> RunOutput:
        ...

The registry fills when the module defining the algorithm is imported;
:mod:`dcutils.runs` imports every training module of the project.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PROFILE_NAMES", "NonFiniteLossError", "UnknownAlgorithmError", "check_finite", "quiet", "progress",
    "canonical_json", "sha256_text", "RunConfig", "RunOutput", "RunContext", "Algorithm", "ALGORITHMS",
    "algorithm", "get_algorithm", "stacks",
]

#: The profiles a run can belong to (described in :mod:`dcutils.profiles`).
PROFILE_NAMES = ("smoke", "quick", "paper")


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the run is stopped and nothing is cached."""


class UnknownAlgorithmError(KeyError):
    """No algorithm of that name is registered."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def check_finite(value: float, what: str, where: RunConfig | str | None = None, epoch: int | None = None) -> float:
    """Return ``value`` or raise :class:`NonFiniteLossError` saying where it broke.

    Parameters
    ----------
    value : the number to check (a Python float)
    what : what it is, e.g. ``"cluster loss"``
    where : the run (its label is used) or a free text, optional
    epoch : the epoch or iteration, optional
    """
    value = float(value)
    if not math.isfinite(value):
        at = f" at epoch {epoch}" if epoch is not None else ""
        run = f" in {where.label()}" if isinstance(where, RunConfig) else (f" {where}" if where else "")
        raise NonFiniteLossError(
            f"{what} became {value}{at}{run}. Nothing was cached. "
            "Try a lower learning rate or check the input data for NaNs."
        )
    return value


def quiet() -> bool:
    """Progress bars are off under CI (``CI`` set) or with ``DCUTILS_QUIET=1``."""
    return bool(os.environ.get("CI")) or os.environ.get("DCUTILS_QUIET", "") not in ("", "0")


def progress(iterable: Iterable | None = None, **kwargs: Any):
    """A tqdm progress bar on stderr, silent under CI."""
    from tqdm import tqdm

    kwargs.setdefault("mininterval", 2.0)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, disable=quiet(), **kwargs)


# ----------------------------------------------------------------------------
# hashing


def _json_default(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return list(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a run record")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------
# configs


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"run parameters must be plain literals, got {type(value).__name__}: {value!r}")


@dataclass(frozen=True)
class RunConfig:
    """A hashable description of one run.

    Build it with :meth:`make`, which checks the algorithm, profile and
    parameter names and fills in the algorithm's defaults, so two configs that
    run the same computation are equal.

    Attributes
    ----------
    algorithm, dataset, seed, profile : what runs where
    params : sorted ``(name, value)`` pairs, every parameter of the algorithm
    data_fingerprint : :func:`dcutils.data.fingerprint` of the data set's split
        the profile pins (``""`` = not pinned: the run records what it loaded)
    """

    algorithm: str
    dataset: str
    seed: int
    profile: str
    params: tuple[tuple[str, Any], ...] = ()
    data_fingerprint: str = ""

    @classmethod
    def make(cls, algorithm: str, dataset: str, seed: int = 0, profile: str = "quick", *,
             data_fingerprint: str = "", **params: Any) -> RunConfig:
        algo = get_algorithm(algorithm)
        if profile not in PROFILE_NAMES:
            raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILE_NAMES)}")
        unknown = sorted(set(params) - set(algo.defaults))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for algorithm {algorithm!r}. "
                f"Valid: {sorted(algo.defaults)}."
            )
        merged = {**algo.defaults, **params}
        frozen = tuple(sorted((k, _freeze(v)) for k, v in merged.items()))
        return cls(algorithm, str(dataset).lower(), int(seed), profile, frozen, str(data_fingerprint or ""))

    def __getitem__(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"{self.algorithm} run has no parameter {name!r}; it has {[k for k, _ in self.params]}")

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def replace(self, **changes: Any) -> RunConfig:
        """A new config with some fields or parameters changed (validated again)."""
        fields = {"algorithm": self.algorithm, "dataset": self.dataset, "seed": self.seed, "profile": self.profile,
                  "data_fingerprint": self.data_fingerprint}
        params = dict(self.params)
        for key, value in changes.items():
            (fields if key in fields else params)[key] = value
        if fields["algorithm"] != self.algorithm:  # defaults of the old algorithm do not carry over
            params = {k: v for k, v in params.items() if k in changes}
        return RunConfig.make(**fields, **params)

    def to_dict(self) -> dict[str, Any]:
        """The config as stored in a record and hashed into its key.

        Parameters the algorithm declared as ``added_later`` are left out while they hold their default, so
        adding a parameter keeps every existing record's key and header; any other value is written.
        """
        later = get_algorithm(self.algorithm).added_later
        return {
            "algorithm": self.algorithm,
            "dataset": self.dataset,
            "seed": self.seed,
            "profile": self.profile,
            "params": {k: v for k, v in self.params if not (k in later and v == _freeze(later[k]))},
            "data_fingerprint": self.data_fingerprint,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """The config :meth:`to_dict` wrote (validated against the registered algorithm)."""
        return cls.make(d["algorithm"], d["dataset"], d["seed"], d["profile"],
                        data_fingerprint=d.get("data_fingerprint", ""), **d.get("params", {}))

    def version(self) -> int:
        """The declared version of this run's algorithm."""
        return get_algorithm(self.algorithm).version

    def key(self) -> str:
        """16 hex digits identifying the run: its config and its algorithm's declared version."""
        return sha256_text(canonical_json({"config": self.to_dict(), "version": self.version()}))[:16]

    def label(self) -> str:
        return f"{self.algorithm} on {self.dataset} (seed {self.seed}, profile {self.profile})"


# ----------------------------------------------------------------------------
# what an algorithm gets and returns


@dataclass
class RunOutput:
    """What an algorithm returns.

    Attributes
    ----------
    history : one row per epoch (or iteration); must have an ``epoch`` column.
    final : final metrics, e.g. ``{"acc": 0.84, "nmi": 0.8}`` (fractions).
    arrays : named arrays to keep (snapshots for histograms, 2-D embeddings).
    meta : anything else worth recording (timings, the data's display name and
        fingerprint under ``"data_fingerprint"``, substitutions, notes).
    """

    history: pd.DataFrame
    final: dict[str, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """What a running algorithm gets besides its config: the device, progress bars, NaN checks."""

    cfg: RunConfig
    device: Any

    def progress(self, iterable: Iterable | None = None, **kwargs: Any):
        kwargs.setdefault("desc", self.cfg.label())
        kwargs.setdefault("leave", False)
        return progress(iterable, **kwargs)

    def check_finite(self, value: float, what: str = "loss", epoch: int | None = None) -> float:
        return check_finite(value, what, self.cfg, epoch)


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm.

    Attributes
    ----------
    name : e.g. ``"brb.dc"``
    fn : ``fn(cfg, ctx) -> RunOutput``
    defaults : every parameter and its default
    version : bumped whenever the algorithm's numbers change
    module : the module defining ``fn``
    steps : optional ``steps(cfg) -> int``, the optimizer steps a run takes
        (for compute estimates)
    added_later : parameters added after records existed, with their defaults
        (also in ``defaults``): a config leaves them out of its stored form and
        key while they hold that default (:meth:`RunConfig.to_dict`)
    group : optional ``group(cfgs, ctxs) -> list[RunOutput]``, computing several runs together (a stacked
        model, :mod:`dcutils.stacking`); registered with :func:`stacks`
    stack_key : optional ``stack_key(cfg) -> hashable | None``: runs with one key (not None) may form a group
    """

    name: str
    fn: Callable[[RunConfig, RunContext], RunOutput]
    defaults: Mapping[str, Any]
    version: int
    module: str
    steps: Callable[[RunConfig], int] | None = None
    added_later: Mapping[str, Any] = field(default_factory=dict)
    group: Callable[[list[RunConfig], list[RunContext]], list[RunOutput]] | None = None
    stack_key: Callable[[RunConfig], Hashable | None] | None = None


ALGORITHMS: dict[str, Algorithm] = {}


def algorithm(name: str, *, version: int, steps: Callable[[RunConfig], int] | None = None,
              added_later: Mapping[str, Any] | None = None, **defaults: Any) -> Callable:
    """Register ``fn(cfg, ctx) -> RunOutput`` as algorithm ``name``.

    Parameters
    ----------
    name : the algorithm's name in configs and the cache
    version : positive int; bump it whenever a change alters the numbers a run
        produces (the golden check enforces this)
    steps : optional estimate of a config's optimizer steps
    added_later : parameters added once records of this version existed, each with the default that
        computes what the records computed; they join ``defaults``, and a config holding that default
        keeps the key it had before the parameter existed (no version bump, no recomputation). A
        parameter whose default changes what a run computes cannot be added this way: bump the version.
    **defaults : every parameter with its default value
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"algorithm {name!r}: version must be a positive int, got {version!r}")

    later = dict(added_later or {})
    clash = sorted(set(later) & set(defaults))
    if clash:
        raise ValueError(f"algorithm {name!r}: {clash} given both as defaults and as added_later")

    def register(fn: Callable[[RunConfig, RunContext], RunOutput]) -> Callable:
        ALGORITHMS[name] = Algorithm(name, fn, {**defaults, **later}, version, fn.__module__, steps, later)
        return fn

    return register


def stacks(name: str, *, key: Callable[[RunConfig], Hashable | None]) -> Callable:
    """Register ``fn(cfgs, ctxs) -> list[RunOutput]`` as the group computation of algorithm ``name``.

    ``fn`` computes several configs of ``name`` together and returns one output per config, each what the
    config's own run returns up to floating-point reordering. Configs with one ``key(cfg)`` (None: never
    grouped) can form a group; :func:`dcutils.runs.stack_groups` forms them, :func:`dcutils.runs.get_run_group`
    computes one.
    """
    def register(fn: Callable[[list[RunConfig], list[RunContext]], list[RunOutput]]) -> Callable:
        ALGORITHMS[name] = replace(get_algorithm(name), group=fn, stack_key=key)
        return fn

    return register


def get_algorithm(name: str) -> Algorithm:
    """The registered algorithm ``name``; raises :class:`UnknownAlgorithmError` naming the registered ones."""
    if name not in ALGORITHMS:
        raise UnknownAlgorithmError(
            f"unknown algorithm {name!r}. Registered: {sorted(ALGORITHMS)}. "
            "The project's algorithms register when dcutils.runs is imported."
        )
    return ALGORITHMS[name]
