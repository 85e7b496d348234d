"""Per-item settings and run lists, one module per paper.

Each module registers, for the catalog items that need them, the values each
profile uses (:func:`dcutils.profiles.register_item`) and a function building
the item's run configs from its settings, so that a notebook makes one call::

    runset = experiments.runs_for(settings)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from dcutils.profiles import Settings

_RUN_LISTS: dict[str, Callable] = {}


def run_list(item: str) -> Callable:
    """Register ``fn(settings) -> list[RunConfig]`` as the runs behind ``item``."""

    def register(fn: Callable) -> Callable:
        _RUN_LISTS[item] = fn
        return fn

    return register


def configs_for(settings: Settings) -> list:
    """The run configs behind ``settings.item`` at its profile."""
    if settings.item not in _RUN_LISTS:
        raise KeyError(f"{settings.item} has no runs registered (a config table needs none)")
    return _RUN_LISTS[settings.item](settings)


def runs_for(settings: Settings, *, recompute: bool = False):
    """Computed-or-cached results of the runs behind ``settings.item``."""
    from dcutils.runs import get_runs

    return get_runs(configs_for(settings), recompute=recompute)


@dataclass(frozen=True)
class DataChoice:
    """Which split of a data set the runs use here, or why it is missing.

    ``split`` is None when the data set is missing; ``status`` is
    ``"loaded"``, ``"substitute: <what>"`` or ``"missing"``; ``note`` says
    what was found or searched.
    """

    name: str
    display: str
    split: str | None
    status: str
    note: str

    @property
    def available(self) -> bool:
        return self.split is not None

    @property
    def substitute(self) -> bool:
        return self.status.startswith("substitute")

    def label(self, subsample: int | None = None) -> str:
        """How figures and stamps name it, e.g. ``"MNIST (test split only, 10,000 of 70,000; subsample 2,000)"``."""
        parts = [self.status.removeprefix("substitute: ")] if self.substitute else []
        if subsample:
            parts.append(f"subsample {subsample:,}")
        return self.display + (f" ({'; '.join(parts)})" if parts else "")


@lru_cache(maxsize=None)
def resolve_data(name: str, split: str = "all") -> DataChoice:
    """The split of ``name`` that runs can use on this machine.

    ``split`` when it loads (downloading it where the network allows); else
    the test split alone, marked as a substitute (MNIST here); else missing,
    with the loader's reason. Loads the data once per process to find out.
    """
    from dcutils.data import DATASETS, DatasetNotFoundError, canonical_name, load_dataset

    key = canonical_name(name)
    spec = DATASETS[key]
    try:
        try:
            data = load_dataset(key, split=split, preprocess="raw")
            chosen, status = split, "loaded"
        except DatasetNotFoundError as exc:
            if split != "all" or "test" not in exc.found_splits:
                raise
            data = load_dataset(key, split="test", preprocess="raw")
            chosen, status = "test", f"substitute: test split only, {len(data):,} of {spec.paper_samples:,}"
    except DatasetNotFoundError as exc:
        return DataChoice(key, spec.display, None, "missing", exc.reason)
    if data.info.get("substitute"):
        status = f"substitute: {data.info.get('substitute_what') or data.info.get('note')}"
    return DataChoice(key, spec.display, chosen, status, str(data.info.get("note") or ""))


def data_report(names: Iterable[str], subsample: int | None = None) -> pd.DataFrame:
    """One row per data set: what the runs use here (``dataset``, ``split``, ``status``, ``note``)."""
    rows = []
    for name in names:
        c = resolve_data(name)
        rows.append({"dataset": c.display, "key": c.name, "used as": c.label(subsample) if c.available else "—",
                     "split": c.split or "—", "status": c.status, "note": c.note})
    return pd.DataFrame(rows)


from dcutils.experiments import brb, rdc, resl  # noqa: E402,F401  (registration)
