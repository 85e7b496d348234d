"""Registration of the catalog items' settings and run lists, and run configs on a profile's data.

Each paper's ``settings`` module (``dcutils.brb.settings``, ...) declares,
for the items that need them, the values each profile uses
(:func:`register_item`) and a function building the item's run configs from
its settings (:func:`run_list`). :mod:`dcutils.experiments` imports every
paper's settings and resolves a notebook's settings and runs; this module only
holds the registries, so the settings modules import it and nothing imports
them back.

Configs are built with :func:`config`, which fills in the split and the data
fingerprint the profile pins (:data:`dcutils.profiles.DATA`), so a run's key
names exactly which images it used.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dcutils.core import RunConfig, get_algorithm
from dcutils.profiles import DATA, PROFILES, DataSpec, SettingsError, check_profile, data_spec

__all__ = ["register_item", "run_list", "item_values", "run_list_of", "items_with_runs", "data_spec", "DataSpec",
           "config", "NotInProfileError"]

_ITEMS: dict[str, dict[str, dict[str, Any]]] = {}
_RUN_LISTS: dict[str, Callable] = {}


class NotInProfileError(SettingsError):
    """A run asked for a data set its profile does not pin."""


def register_item(item: str, per_profile: Mapping[str, Mapping[str, Any]]) -> None:
    """Declare an item's own settings (``"brb/fig01"``) for each profile.

    Every profile must be given, with the same keys, so a name valid at one
    profile is valid at all.
    """
    missing = set(PROFILES) - set(per_profile)
    extra = set(per_profile) - set(PROFILES)
    if missing or extra:
        raise SettingsError(
            f"item {item!r} must give settings for exactly {sorted(PROFILES)}; "
            f"missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    keys = {p: set(v) for p, v in per_profile.items()}
    if len({frozenset(k) for k in keys.values()}) != 1:
        raise SettingsError(f"item {item!r} declares different keys per profile: {keys}")
    _ITEMS[item] = {p: dict(v) for p, v in per_profile.items()}


def item_values(item: str, profile: str) -> dict[str, Any]:
    """The values ``item`` registered for ``profile`` (empty when it registered none)."""
    return dict(_ITEMS.get(item, {}).get(profile, {}))


def registered_items() -> list[str]:
    """Items with their own settings."""
    return sorted(_ITEMS)


def run_list(item: str) -> Callable:
    """Register ``fn(settings) -> list[RunConfig]`` as the runs behind ``item``."""

    def register(fn: Callable) -> Callable:
        _RUN_LISTS[item] = fn
        return fn

    return register


def run_list_of(item: str) -> Callable:
    """The run-list function of ``item``; KeyError when it has none (a config table needs no runs)."""
    if item not in _RUN_LISTS:
        raise KeyError(f"{item} has no runs registered (a config table needs none)")
    return _RUN_LISTS[item]


def items_with_runs() -> list[str]:
    """Items that registered a run list."""
    return sorted(_RUN_LISTS)


def config(algorithm: str, dataset: str, seed: int, profile: str, **params: Any) -> RunConfig:
    """A run config on the data ``profile`` pins for ``dataset``.

    The split (for algorithms with a ``split`` parameter, unless given) and
    the data fingerprint come from :func:`dcutils.profiles.data_spec`.

    Raises
    ------
    NotInProfileError when the profile does not pin ``dataset``.
    """
    check_profile(profile)
    spec = data_spec(profile, dataset)
    if spec is None:
        raise NotInProfileError(
            f"profile {profile!r} does not run {dataset!r}; it pins "
            f"{sorted(_pinned(profile))}. Use the paper profile for the papers' other data sets."
        )
    if "split" in get_algorithm(algorithm).defaults:
        params.setdefault("split", spec.split)
    return RunConfig.make(algorithm, spec.name, seed=seed, profile=profile, data_fingerprint=spec.fingerprint,
                          **params)


def _pinned(profile: str) -> list[str]:
    return list(DATA[profile])
