"""Every location the project reads or writes.

All paths are absolute and derived from this file's location (or from
environment variables), so notebooks, tests and ``make`` behave the same from
any working directory.

Environment variables
---------------------
DCUTILS_DATA
    Colon-separated directories searched first for data sets.
DCUTILS_DOWNLOAD_DIR
    Where loaders download missing data sets (default ``<repo>/data``).
DCUTILS_RESULTS
    Root of the run cache (default ``<repo>/results``).
"""
from __future__ import annotations

import os
from pathlib import Path

#: Repository root (the folder holding ``dcutils/``, ``notebooks/``, ...).
ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dcutils"
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"
BUILD = ROOT / "build"
#: Repository-local data directory (git-ignored), searched after DCUTILS_DATA.
LOCAL_DATA = ROOT / "data"
#: System-wide data set locations, searched after the repository's own.
SYSTEM_DATA = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))
#: The catalog and paper texts that sit beside the repository, when present.
SHARED = ROOT.parent / "shared"

PAPERS = ("brb", "resl", "rdc")


def results_root() -> Path:
    """Root of the run cache: ``$DCUTILS_RESULTS`` or ``<repo>/results``."""
    env = os.environ.get("DCUTILS_RESULTS")
    return Path(env).expanduser().resolve() if env else ROOT / "results"


def results_dir(profile: str) -> Path:
    """Cache directory of one profile, ``results/<profile>/``."""
    return results_root() / profile


def data_dirs() -> list[Path]:
    """Directories searched for data sets, in order.

    ``$DCUTILS_DATA`` (colon-separated), then ``<repo>/data`` (and
    ``$DCUTILS_DOWNLOAD_DIR`` when set), then the system locations in
    :data:`SYSTEM_DATA`.
    """
    dirs = [Path(p).expanduser() for p in os.environ.get("DCUTILS_DATA", "").split(os.pathsep) if p]
    dirs.append(LOCAL_DATA)
    if download_dir() != LOCAL_DATA:
        dirs.append(download_dir())
    dirs.extend(SYSTEM_DATA)
    return dirs


def download_dir() -> Path:
    """Where loaders download data sets: ``$DCUTILS_DOWNLOAD_DIR`` or ``<repo>/data``."""
    env = os.environ.get("DCUTILS_DOWNLOAD_DIR")
    return Path(env).expanduser().resolve() if env else LOCAL_DATA


def figure_dir(paper: str, profile: str = "quick") -> Path:
    """Output folder of one paper (created on demand).

    ``figures/<paper>/`` for the ``quick`` and ``paper`` profiles;
    ``build/<profile>/figures/<paper>/`` for any other (``smoke``), so test
    runs never overwrite real results. ``$DCUTILS_FIGURES`` replaces the root.
    """
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; expected one of {', '.join(PAPERS)}")
    env = os.environ.get("DCUTILS_FIGURES")
    if env:
        root = Path(env).expanduser().resolve()
    else:
        root = FIGURES if profile in ("quick", "paper") else BUILD / profile / "figures"
    path = root / paper
    path.mkdir(parents=True, exist_ok=True)
    return path
