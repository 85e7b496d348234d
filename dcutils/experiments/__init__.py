"""Per-item settings and run lists, one module per paper.

Each module registers, for the catalog items that need them, the values each
profile uses (:func:`dcutils.profiles.register_item`) and a function building
the item's run configs from its settings, so that a notebook makes one call::

    runset = experiments.runs_for(settings)
"""
from __future__ import annotations

from collections.abc import Callable

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


from dcutils.experiments import brb, rdc, resl  # noqa: E402,F401  (registration)
