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


# --- Skip policy: a skip must not hide a failure -------------------------------------------------
# A skipped test fails the run unless its reason is on this allow-list: tests that need a GPU are
# the only ones allowed to skip (the CI machine and the 2-core developer machines have none).
# Everything else a test needs (data, the catalog, a module) is beside the repository or installed,
# so its absence is a failure to fix, not a skip. Matching is case-sensitive.
ALLOWED_SKIP_PREFIXES = ("GPU",)  # reason starts with it, e.g. "GPU only"
ALLOWED_SKIP_SUBSTRINGS = ("CUDA",)  # reason contains it, e.g. "needs a CUDA GPU"

_disallowed_skips: list[tuple[str, str]] = []


def _skip_reason(report) -> str:
    """The reason given to pytest.skip / skipif / importorskip, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def skip_allowed(reason: str) -> bool:
    return reason.startswith(ALLOWED_SKIP_PREFIXES) or any(s in reason for s in ALLOWED_SKIP_SUBSTRINGS)


def _check_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not skip_allowed(reason):
            _disallowed_skips.append((report.nodeid, reason))


def pytest_sessionstart(session):
    _disallowed_skips.clear()


def pytest_runtest_logreport(report):
    _check_skip(report)


def pytest_collectreport(report):
    _check_skip(report)  # a whole module skipped (pytest.skip(..., allow_module_level=True), importorskip)


def pytest_sessionfinish(session, exitstatus):
    if _disallowed_skips and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _disallowed_skips:
        terminalreporter.section("skips not on the allow-list (tests/conftest.py): the run fails", sep="=", red=True)
        for nodeid, reason in _disallowed_skips:
            terminalreporter.line(f"{nodeid}: {reason}", red=True)
