"""Profiles and the settings a notebook runs with.

A *profile* sets how much compute a notebook spends:

``smoke``
    Seconds per notebook on 2 CPU cores. Proves the code path; numbers mean
    nothing. nbval runs every notebook at this profile in CI.
``quick``
    Every notebook on a 2-core CPU. A protocol is designed in optimizer
    steps: each paper's settings module states floors (BRB: >= 440 steps
    between BRB steps, 8 BRB steps, 3 paired seeds, every sample) and quick
    shows fewer cells rather than a protocol too short to test the claim,
    naming the cells it left to ``paper``. ``figures/`` holds its outputs.
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

A profile's data are part of its definition (:data:`DATA`), not of the
machine: ``quick`` pins the same splits everywhere (MNIST's 10,000-image test
split, scikit-learn's 1,797 OPTDIGITS images, all of USPS and Fashion-MNIST),
each with the fingerprint of its images (:func:`dcutils.data.fingerprint`), so
its committed run records serve every machine; ``paper`` names the papers'
full sets, downloaded where the network allows or a clear error.

This module holds the definitions only; item registration lives in
:mod:`dcutils.items` and :func:`notebook_settings` in
:mod:`dcutils.experiments`, which sees every paper's items.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dcutils.core import PROFILE_NAMES
from dcutils.data import DATASETS, canonical_name

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
    "quick": ("every notebook on a 2-core CPU: protocols in optimizer steps, fewer cells rather than shorter "
              "runs; what figures/ holds"),
    "paper": "the papers' protocols, for a GPU",
}
assert tuple(PROFILES) == PROFILE_NAMES


@dataclass(frozen=True)
class DataSpec:
    """The data a profile pins for one data set.

    Attributes
    ----------
    name : canonical key in :data:`dcutils.data.DATASETS` (``"mnist"``)
    split : ``"all"``, ``"train"`` or ``"test"``
    n : samples of that split
    fingerprint : :func:`dcutils.data.fingerprint` of the split's images and
        labels; ``""`` where the profile does not pin the exact files (paper)
    note : how it differs from the paper's data (``""`` = as in the paper)
    """

    name: str
    split: str
    n: int | None
    fingerprint: str = ""
    note: str = ""

    @property
    def display(self) -> str:
        return DATASETS[self.name].display

    @property
    def substitute(self) -> bool:
        return bool(self.note)

    def label(self, subsample: int | None = None) -> str:
        """How figures and stamps name it, e.g. ``"MNIST (test split only, 10,000 of 70,000; subsample 2,000)"``."""
        parts = [self.note] if self.note else []
        if subsample and (self.n is None or subsample < self.n):
            parts.append(f"subsample {subsample:,}")
        return self.display + (f" ({'; '.join(parts)})" if parts else "")


def _spec(name: str, split: str, n: int | None, fingerprint: str = "", note: str = "") -> DataSpec:
    return DataSpec(name, split, n, fingerprint, note)


#: What smoke and quick run on, on every machine (the files beside the repository, ``../shared/data``,
#: and scikit-learn's bundled digits). Fingerprints: :func:`dcutils.data.fingerprint` of the raw split.
_PINNED: dict[str, DataSpec] = {
    "usps": _spec("usps", "all", 9_298, "425c8d786fe18041"),
    "optdigits": _spec("optdigits", "test", 1_797, "425996b3b5844d0e",
                       "scikit-learn's 1,797 images (UCI test part) of 5,620"),
    "mnist": _spec("mnist", "test", 10_000, "c44e4387f9ccf9ab", "test split only, 10,000 of 70,000"),
    "fmnist": _spec("fmnist", "all", 70_000, "58b658b428c6afa7"),
    "curved4": _spec("curved4", "all", None),
}

#: The papers' data sets, at their full size; nothing pinned (downloaded where the network allows).
_FULL: dict[str, DataSpec] = {
    key: _spec(key, "all", DATASETS[key].paper_samples)
    for key in ("mnist", "usps", "optdigits", "fmnist", "kmnist", "gtsrb5", "cifar10", "cifar100-20", "cifar100",
                "stl10", "pneumoniamnist", "breastmnist", "bloodmnist", "vesselmnist3d", "curved4")
}

#: The data each profile runs on: smoke and quick the same pinned splits, paper the full sets.
DATA: dict[str, dict[str, DataSpec]] = {"smoke": _PINNED, "quick": _PINNED, "paper": _FULL}


def data_spec(profile: str, name: str) -> DataSpec | None:
    """The data ``profile`` pins for data set ``name``, or None when the profile does not run it."""
    check_profile(profile)
    return DATA[profile].get(canonical_name(name))


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


def compatible(default: Any, value: Any) -> bool:
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
