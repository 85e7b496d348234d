"""The compute step: every item's runs, deduplicated, cached ones skipped, failures reported."""
import math

import pandas as pd
import pytest

from dcutils import compute, experiments
from dcutils.profiles import SettingsError
from dcutils.runs import RunConfig, RunOutput, algorithm, load_cached

DONE: list[RunConfig] = []


@algorithm("test.compute", fail=False)
def _toy(cfg, ctx):
    DONE.append(cfg)
    if cfg["fail"]:
        ctx.check_finite(math.nan, "loss", 1)
    return RunOutput(pd.DataFrame({"epoch": [0]}), {"acc": 0.5})


@pytest.fixture
def two_items(monkeypatch):
    DONE.clear()
    a = RunConfig.make("test.compute", "usps", seed=0, profile="smoke")
    b = RunConfig.make("test.compute", "usps", seed=1, profile="smoke")
    bad = RunConfig.make("test.compute", "usps", seed=2, profile="smoke", fail=True)
    lists = {"brb/fig01": lambda s: [a, b], "brb/fig04": lambda s: [b, a, bad]}
    monkeypatch.setattr(experiments, "_RUN_LISTS", lists)
    return a, b, bad


def test_items_share_runs_and_each_is_computed_once(results, two_items):
    a, b, bad = two_items
    assert compute.configs_for_profile("smoke") == [a, b, bad]
    failures = compute.compute("smoke", ["brb/fig01"])
    assert failures == [] and DONE == [a, b]
    assert compute.pending(compute.configs_for_profile("smoke")) == [bad]
    DONE.clear()
    failures = compute.compute("smoke")  # the cached runs are skipped, the failing one is reported
    assert DONE == [bad] and [c for c, _ in failures] == [bad]
    assert "NonFiniteLossError" in failures[0][1] and load_cached(bad) is None


def test_main_exits_nonzero_on_a_failed_run_and_lists_pending(results, two_items, capsys):
    assert compute.main(["--profile", "smoke", "--list"]) == 0
    assert "3 of 3 run(s) pending" in capsys.readouterr().err
    assert compute.main(["--profile", "smoke"]) == 1
    assert "FAILED test.compute on usps (seed 2" in capsys.readouterr().err


def test_unknown_item_is_an_error(two_items):
    with pytest.raises(SettingsError, match="no runs are registered for \\['brb/fig99'\\]"):
        compute.configs_for_profile("smoke", ["brb/fig99"])


def test_an_edit_during_the_compute_step_is_reported(two_items, capsys, monkeypatch):
    hashes = iter(["before", "after"])
    alg = compute.runs.get_algorithm("test.compute")
    monkeypatch.setattr(type(alg), "code_hash", lambda self: next(hashes))
    compute._warn_if_code_changed([two_items[0]])
    assert "code of test.compute changed while computing" in capsys.readouterr().err


def test_no_warning_when_the_code_stayed_the_same(two_items, capsys):
    compute._warn_if_code_changed([two_items[0]])
    assert "changed" not in capsys.readouterr().err


def test_prune_removes_only_records_no_item_asks_for(results, two_items):
    a, b, _ = two_items
    compute.compute("smoke", ["brb/fig01"])
    orphan = compute.runs.RunConfig.make("test.compute", "usps", seed=9, profile="smoke")
    compute.runs.get_run(orphan)
    assert compute.stale_records("smoke") == [orphan.path()]
    assert compute.main(["--profile", "smoke", "--prune"]) == 0
    assert not orphan.path().exists() and a.path().exists() and b.path().exists()
