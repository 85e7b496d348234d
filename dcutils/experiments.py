"""Notebook settings and runs of every catalog item: the layer the notebooks and the compute step call.

Each paper's ``settings`` module registers, for the items that need them,
their values per profile and their run lists (:mod:`dcutils.items`); this
module imports all of them, so a notebook makes two calls::

    settings = experiments.notebook_settings("brb/tab13", profile, overrides)
    runset = experiments.runs_for(settings)

and the compute step (:mod:`dcutils.compute`) collects every item's configs
with :func:`configs_for_profile`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd

import dcutils.brb.analysis_settings  # noqa: F401  (registration)
import dcutils.brb.contrastive_settings  # noqa: F401
import dcutils.brb.settings  # noqa: F401  (registration)
import dcutils.rdc.settings  # noqa: F401
import dcutils.resl.settings  # noqa: F401
from dcutils import catalog, items
from dcutils.core import RunConfig
from dcutils.profiles import BASE, Settings, SettingsError, active_profile, check_profile, compatible, data_spec
from dcutils.runs import RunSet, get_runs

__all__ = ["notebook_settings", "configs_for", "runs_for", "items_with_runs", "configs_for_profile",
           "registered_items", "data_report", "items_awaiting_runs", "items_with_records"]


def registered_items() -> list[str]:
    """Items with their own settings."""
    return items.registered_items()


def notebook_settings(item: str, profile: str, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Resolve the settings of catalog item ``item`` at ``profile``.

    Parameters
    ----------
    item : catalog id ``"<paper>/<id>"``, e.g. ``"brb/tab05"``.
    profile : the notebook's stored profile; ``$DCUTILS_PROFILE`` replaces it.
    overrides : values replacing the profile's; every key must be a known name.

    Raises
    ------
    SettingsError
        unknown profile, unknown override name, or a value of the wrong type.
    """
    kind = catalog.get_item(item).kind  # raises for an unknown item
    profile, source = active_profile(profile)
    # Runs' base values (seeds, epochs, ...) apply to items computed from runs;
    # config tables start empty and take only their own values.
    values: dict[str, Any] = dict(BASE[profile]) if kind == "data" else {}
    values.update(items.item_values(item, profile))
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise SettingsError(
            f"unknown parameter(s) {unknown} for {item} at profile {profile!r}. "
            f"Valid names: {sorted(values)}."
        )
    for key, value in overrides.items():
        if not compatible(values[key], value):
            raise SettingsError(
                f"parameter {key!r} of {item} expects a value like {values[key]!r}, got {value!r}"
            )
        values[key] = value
    return Settings(item, profile, source, MappingProxyType(values), tuple(sorted(overrides)))


def configs_for(settings: Settings) -> list[RunConfig]:
    """The run configs behind ``settings.item`` at its profile."""
    return list(items.run_list_of(settings.item)(settings))


def runs_for(settings: Settings, *, recompute: bool = False) -> RunSet:
    """Computed-or-cached results of the runs behind ``settings.item``."""
    return get_runs(configs_for(settings), recompute=recompute)


def items_with_runs(selected: Iterable[str] | None = None) -> list[str]:
    """Catalog items that have a run list (all of them, or the ``selected`` ones, checked)."""
    known = items.items_with_runs()
    if selected is None:
        return known
    selected = list(selected)
    unknown = [i for i in selected if i not in known]
    if unknown:
        raise SettingsError(f"no runs are registered for {unknown}; items with runs: {', '.join(known)}")
    return selected


def configs_for_profile(profile: str, selected: Iterable[str] | None = None) -> list[RunConfig]:
    """Unique run configs behind ``selected`` items (default: all with runs) at ``profile``, in item order."""
    check_profile(profile)
    configs: list[RunConfig] = []
    for item in items_with_runs(selected):
        configs.extend(configs_for(notebook_settings(item, profile, {})))
    return list(dict.fromkeys(configs))


def items_awaiting_runs() -> list[str]:
    """Items with a run list whose catalog status says their quick runs are not computed yet
    (:func:`dcutils.catalog.awaits_quick_runs`): their records may be missing."""
    return [i for i in items.items_with_runs() if catalog.awaits_quick_runs(catalog.get_item(i).status)]


def items_with_records() -> list[str]:
    """Items with a run list whose quick records must all be committed (every other item with runs)."""
    waiting = set(items_awaiting_runs())
    return [i for i in items.items_with_runs() if i not in waiting]


def data_report(names: Iterable[str], profile: str, subsample: int | None = None) -> pd.DataFrame:
    """One row per data set: what ``profile`` runs on (from its definition; nothing is loaded)."""
    rows = []
    for name in names:
        spec = data_spec(profile, name)
        if spec is None:
            rows.append({"dataset": name, "used as": "—", "split": "—", "samples": "—",
                         "status": f"not run at {profile} (paper profile)"})
        else:
            rows.append({"dataset": spec.display, "used as": spec.label(subsample), "split": spec.split,
                         "samples": f"{spec.n:,}" if spec.n else "generated",
                         "status": spec.note or "as in the paper"})
    return pd.DataFrame(rows)
