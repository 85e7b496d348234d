"""The compute step: every item's runs, deduplicated, cached ones skipped, failures reported."""
import math

import pandas as pd
import pytest

from dcutils import compute, items
from dcutils.profiles import SettingsError
from dcutils.runs import RunConfig, RunOutput, algorithm, load_cached, record_path

DONE: list[RunConfig] = []


@algorithm("test.compute", version=1, fail=False)
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
    monkeypatch.setattr(items, "_RUN_LISTS", lists)
    return a, b, bad


def test_items_share_runs_and_each_is_computed_once(results, two_items):
    a, b, bad = two_items
    assert compute.configs_for_profile("smoke") == [a, b, bad]
    failures = compute.compute("smoke", ["brb/fig01"])
    assert failures == [] and sorted(DONE, key=lambda c: c.seed) == [a, b]
    assert compute.pending(compute.configs_for_profile("smoke")) == [bad]
    DONE.clear()
    failures = compute.compute("smoke")  # the cached runs are skipped, the failing one is reported
    assert DONE == [bad] and [o.config for o in failures] == [bad]
    assert "NonFiniteLossError" in failures[0].error and load_cached(bad) is None
    assert failures[0].details.is_file()  # no job log in this process: the .failed marker, with the traceback


def test_main_exits_nonzero_on_a_failed_run_and_lists_pending(results, two_items, capsys):
    assert compute.main(["--profile", "smoke", "--list"]) == 0
    assert "3 of 3 run(s) pending" in capsys.readouterr().err
    assert compute.main(["--profile", "smoke", "--executor", "inprocess"]) == 1
    err = capsys.readouterr().err
    assert "FAILED test.compute on usps (seed 2" in err and "details: " in err and ".failed" in err


def test_unknown_item_is_an_error(two_items):
    with pytest.raises(SettingsError, match="no runs are registered for \\['brb/fig99'\\]"):
        compute.configs_for_profile("smoke", ["brb/fig99"])


def test_unknown_executor_is_an_error(two_items, capsys):
    with pytest.raises(SystemExit):
        compute.main(["--profile", "smoke", "--executor", "cloud"])
    assert "invalid choice: 'cloud'" in capsys.readouterr().err


def test_prune_removes_only_records_no_item_asks_for(results, two_items):
    a, b, _ = two_items
    compute.compute("smoke", ["brb/fig01"])
    orphan = RunConfig.make("test.compute", "usps", seed=9, profile="smoke")
    compute.runs.get_run(orphan)
    assert compute.stale_records("smoke") == [record_path(orphan)]
    assert compute.main(["--profile", "smoke", "--prune"]) == 0
    assert not record_path(orphan).exists() and record_path(a).exists() and record_path(b).exists()


def test_a_notebook_names_its_item_and_computes_only_its_runs(results, capsys, monkeypatch):
    assert compute.notebook_item("notebooks/brb/fig01-reclustering-barrier.ipynb") == "brb/fig01"
    assert compute.notebook_item("notebooks/brb/deviations.ipynb") == "brb/deviations"
    assert compute.notebook_item("notebooks/rdc/tab03-cifar10-fmnist.ipynb") == "rdc/tab03"
    with pytest.raises(SettingsError, match="no notebook of the catalog"):
        compute.notebook_item("notebooks/brb/fig99-nothing.ipynb")
    asked = []
    monkeypatch.setattr(compute, "compute",
                        lambda profile, items, jobs, executor, stack=None: asked.append(items) or [])
    tab05 = "notebooks/brb/tab05-hyperparameters-grayscale.ipynb"
    assert compute.main(["--profile", "smoke", "--notebook", tab05]) == 0
    assert asked == [] and "no runs to compute" in capsys.readouterr().err
    assert compute.main(["--profile", "smoke", "--notebook", "notebooks/brb/fig01-reclustering-barrier.ipynb"]) == 0
    assert asked == [["brb/fig01"]]


def test_make_builds_one_notebook_with_its_own_runs_only():
    import subprocess

    from dcutils import paths

    out = subprocess.run(["make", "-n", "build/paper/brb/fig01-reclustering-barrier.ipynb", "PROFILE=paper"],
                         cwd=paths.ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    computes = [ln for ln in out.stdout.splitlines() if "dcutils.compute" in ln]
    assert computes and all("--notebook notebooks/brb/fig01-reclustering-barrier.ipynb" in ln for ln in computes)
    assert "dcutils.execute notebooks/brb/fig01-reclustering-barrier.ipynb" in out.stdout
