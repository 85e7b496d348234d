"""Shared fixtures: an isolated results folder and the offline data beside the repo."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never try the network and never read the developer's profile choice."""
    monkeypatch.setenv("DCUTILS_OFFLINE", "1")
    monkeypatch.delenv("DCUTILS_PROFILE", raising=False)
    if "DCUTILS_DATA" not in os.environ and SHARED_DATA.is_dir():
        monkeypatch.setenv("DCUTILS_DATA", str(SHARED_DATA))


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """A fresh, empty run cache."""
    root = tmp_path / "results"
    monkeypatch.setenv("DCUTILS_RESULTS", str(root))
    return root


@pytest.fixture
def figures(tmp_path, monkeypatch) -> Path:
    """A fresh output folder instead of figures/."""
    root = tmp_path / "figures"
    monkeypatch.setenv("DCUTILS_FIGURES", str(root))
    return root
