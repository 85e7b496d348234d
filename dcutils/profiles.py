"""Profiles and the settings a notebook runs with.

A *profile* sets how much compute a notebook spends:

``smoke``
    Seconds per notebook on 2 CPU cores. Proves the code path; numbers mean
    nothing. nbval runs every notebook at this profile in CI.
``quick``
    Every notebook on a 2-core CPU in about an hour altogether: fewer seeds,
    fewer epochs (reset interval scaled alike), subsamples. ``figures/``
    holds this profile's outputs.
``paper``
    The papers' protocols (e.g. BRB: 250 + 400 epochs, 10 seeds), for a GPU.

Outputs of ``quick`` and ``paper`` go to ``figures/``; ``smoke`` outputs go to
``build/smoke/figures/`` so that tests never overwrite real results.

A notebook's ``parameters`` cell holds two plain literals::

    profile = "quick"   # smoke | quick | paper
    overrides = {}      # e.g. {"seeds": [0, 1]}

and calls :func:`notebook_settings`, which merges the profile's base values,
the item's own per-profile values (registered with :func:`register_item`) and
the overrides. The environment variable ``DCUTILS_PROFILE`` replaces the
notebook's stored profile (that is how nbval runs ``smoke``). An unknown
profile, item or override name raises :class:`SettingsError`; nothing is
silently ignored.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PROFILE_ENV = "DCUTILS_PROFILE"

#: Base values every item starts from, per profile.
BASE: dict[str, dict[str, Any]] = {
    "smoke": {
        "seeds": [0],
        "subsample": 600,
        "pretrain_epochs": 2,
        "cluster_epochs": 4,
        "reset_interval": 2,
        "recluster_subsample": 10_000,
    },
    "quick": {
        "seeds": [0, 1, 2],
        "subsample": 3_000,
        "pretrain_epochs": 40,
        "cluster_epochs": 60,
        "reset_interval": 10,
        "recluster_subsample": 10_000,
    },
    "paper": {
        "seeds": list(range(10)),
        "subsample": None,
        "pretrain_epochs": 250,
        "cluster_epochs": 400,
        "reset_interval": 20,
        "recluster_subsample": 10_000,
    },
}

PROFILES: dict[str, str] = {
    "smoke": "seconds per notebook on 2 CPU cores; proves the code path, numbers mean nothing",
    "quick": "all notebooks on a 2-core CPU in about an hour; what figures/ holds",
    "paper": "the papers' protocols, for a GPU",
}

_ITEMS: dict[str, dict[str, dict[str, Any]]] = {}


class SettingsError(ValueError):
    """An unknown profile, item or parameter name, or a value of the wrong type."""


def check_profile(profile: str) -> str:
    """Return ``profile`` if it names a profile, else raise :class:`SettingsError`."""
    if profile not in PROFILES:
        valid = ", ".join(f"{p!r} ({d})" for p, d in PROFILES.items())
        raise SettingsError(f"unknown profile {profile!r}. Valid profiles: {valid}.")
    return profile


def active_profile(stored: str) -> tuple[str, str]:
    """The profile to use and where it came from.

    ``$DCUTILS_PROFILE`` wins over the notebook's stored value.

    Returns
    -------
    (profile, source) where source is ``"DCUTILS_PROFILE"`` or ``"notebook"``.
    """
    env = os.environ.get(PROFILE_ENV, "").strip()
    if env:
        return check_profile(env), PROFILE_ENV
    return check_profile(stored), "notebook"


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


def registered_items() -> list[str]:
    """Items with their own settings."""
    _load_experiments()
    return sorted(_ITEMS)


def _load_experiments() -> None:
    # The experiment modules register their items on import.
    import dcutils.experiments  # noqa: F401


def _compatible(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


@dataclass(frozen=True)
class Settings(Mapping):
    """Resolved settings of one notebook: read-only, attribute or key access.

    Attributes
    ----------
    item : the catalog id, e.g. ``"brb/fig01"``
    profile : the profile in force
    source : where the profile came from (``"notebook"`` or ``"DCUTILS_PROFILE"``)
    overrides : the names the notebook overrode
    """

    item: str
    profile: str
    source: str
    values: Mapping[str, Any]
    overrides: tuple[str, ...] = field(default=())

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(f"settings of {self.item!r} have no {name!r}; they have {sorted(values)}")

    @property
    def seeds(self) -> list[int]:
        return list(self.values.get("seeds", []))

    def describe(self) -> str:
        """A Markdown paragraph stating the profile, seeds and other values."""
        lines = [f"**Profile `{self.profile}`** ({PROFILES[self.profile]}; set by {self.source})."]
        if self.values:
            lines.append("")
        for key, value in self.values.items():
            mark = " (overridden)" if key in self.overrides else ""
            lines.append(f"- `{key}` = {value!r}{mark}")
        return "\n".join(lines)


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
    from dcutils import catalog

    kind = catalog.get_item(item).kind  # raises for an unknown item
    profile, source = active_profile(profile)
    _load_experiments()
    # Runs' base values (seeds, epochs, ...) apply to items computed from runs;
    # config tables start empty and take only their own values.
    values: dict[str, Any] = dict(BASE[profile]) if kind == "data" else {}
    values.update(_ITEMS.get(item, {}).get(profile, {}))
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise SettingsError(
            f"unknown parameter(s) {unknown} for {item} at profile {profile!r}. "
            f"Valid names: {sorted(values)}."
        )
    for key, value in overrides.items():
        if not _compatible(values[key], value):
            raise SettingsError(
                f"parameter {key!r} of {item} expects a value like {values[key]!r}, got {value!r}"
            )
        values[key] = value
    return Settings(item, profile, source, MappingProxyType(values), tuple(sorted(overrides)))
