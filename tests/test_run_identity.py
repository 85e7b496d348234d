"""Run identity survives refactoring; committed records serve every machine, with or without the data.

A run's key is its config (the profile's pinned data fingerprint included) and its algorithm's declared
version, not its source: editing a docstring keeps every cached record, and a change of behaviour without a
version bump is caught by the golden check.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dcutils import golden, paths, runs
from dcutils.brb import settings as brb_settings
from dcutils.experiments import (
    configs_for,
    configs_for_profile,
    items_awaiting_runs,
    items_with_records,
    notebook_settings,
)

#: Every quick run of the items marked computed (a run shared with an item still awaiting its runs included).
QUICK_CONFIGS = configs_for_profile("quick", items_with_records())

LIST_MISSING = (
    "from dcutils import runs; from dcutils.experiments import configs_for_profile, items_with_records; "
    "cs = configs_for_profile('quick', items_with_records()); "
    "print(len(cs), sum(runs.load_cached(c) is None for c in cs))"
)


def test_every_quick_run_has_its_committed_record():
    missing = [c.label() for c in QUICK_CONFIGS if runs.load_cached(c) is None]
    assert QUICK_CONFIGS and missing == []


def test_every_committed_quick_record_is_one_a_notebook_asks_for():
    """Records of old code or old settings are pruned, not kept: no table can read them, and a reader of
    ``results/quick/`` (or a check of the committed runs' losses) would take them for current results."""
    from dcutils.compute import stale_records

    root = paths.results_dir("quick")
    listed = subprocess.run(["git", "ls-files", "-z", "."], cwd=root, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: which records are committed is unknown")
    committed = {root / f for f in listed.stdout.split("\0") if f}  # a researcher's own quick runs are not checked
    stale = [str(p.relative_to(root)) for p in stale_records("quick") if p in committed]
    assert stale == [], (f"{len(stale)} committed quick record(s) no notebook asks for, e.g. {stale[:3]}: "
                         "remove them with `python -m dcutils.compute --profile quick --prune` "
                         "(git history keeps them)")


def test_an_item_marked_as_awaiting_its_quick_runs_does_miss_some():
    """The status "partial: quick runs not computed yet" must go once the records are committed."""
    for item in items_awaiting_runs():
        cs = configs_for(notebook_settings(item, "quick"))
        assert any(runs.load_cached(c) is None for c in cs), f"{item}: every quick record exists; update its status"


def _edit_docstring(path: Path) -> None:
    text = path.read_text()
    start = text.index('"""') + 3
    path.write_text(text[:start] + "Edited: a sentence a reader added. " + text[start:])


def test_editing_docstrings_of_run_and_settings_modules_keeps_every_record(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(paths.ROOT / "dcutils", copy / "dcutils", ignore=shutil.ignore_patterns("__pycache__"))
    for rel in ("brb/run.py", "brb/settings.py", "brb/train.py", "rdc/method.py", "rdc/settings.py", "profiles.py",
                "runs.py", "core.py"):
        _edit_docstring(copy / "dcutils" / rel)
    env = {**os.environ, "PYTHONPATH": str(copy), "DCUTILS_RESULTS": str(paths.results_root()),
           "DCUTILS_QUIET": "1"}
    out = subprocess.run([sys.executable, "-c", LIST_MISSING], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    total, missing = map(int, out.stdout.split()[-2:])
    assert (total, missing) == (len(QUICK_CONFIGS), 0)
    assert "Edited: a sentence" in (copy / "dcutils" / "brb" / "run.py").read_text()


def test_changing_a_loss_without_a_version_bump_fails_the_golden_check(monkeypatch):
    from dcutils.brb import losses

    assert golden.check("brb.dc", only=["dcn"]) == []  # the probe as committed
    original = losses.dcn_loss
    monkeypatch.setattr(losses, "dcn_loss", lambda *a, **k: 1.5 * original(*a, **k))  # a "harmless" rescale
    problems = golden.check("brb.dc", only=["dcn"])
    assert problems and "bump its version" in problems[0] and "cluster_loss" in "\n".join(problems)


def test_a_bumped_version_asks_for_new_golden_numbers(monkeypatch):
    algo = runs.ALGORITHMS["brb.dc"]
    monkeypatch.setitem(runs.ALGORITHMS, "brb.dc", runs.Algorithm(algo.name, algo.fn, algo.defaults,
                                                                  algo.version + 1, algo.module, algo.steps))
    problems = golden.check("brb.dc")
    assert len(problems) == 1 and "regenerate it" in problems[0]


#: The notebook the redraw test runs: brb Table 13 (every quick data set of the main grid), or, while records are
#: recomputed after a version bump (the item's status awaits quick runs), the first of the others that has them.
REDRAW_CANDIDATES = ("brb/tab13", "resl/tab01", "rdc/tab03", "brb/algo1")


def test_a_notebook_redraws_from_committed_records_without_any_data(tmp_path, monkeypatch):
    """A fresh clone with no data on disk and no network: the notebook's table comes back from the committed
    records alone, equal to the committed table (its stamp aside)."""
    from dcutils import catalog
    from dcutils.execute import execute

    item = next(i for i in REDRAW_CANDIDATES if i not in items_awaiting_runs())
    entry = catalog.get_item(item)
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("DCUTILS_DATA", str(empty))
    monkeypatch.setenv("DCUTILS_DOWNLOAD_DIR", str(empty))
    monkeypatch.setenv("DCUTILS_OFFLINE", "1")
    monkeypatch.setenv("DCUTILS_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("DCUTILS_QUIET", "1")
    execute(entry.notebook, "quick", {}, output=tmp_path / "redrawn.ipynb", timeout=600)
    # the findings (verdict, reason and every cited number) and, for a table, its CSV come back as committed
    found = json.loads((tmp_path / "figures" / entry.paper / entry.findings_file.name).read_text())
    kept = json.loads(entry.findings_file.read_text())
    assert {k: found[k] for k in ("verdict", "reason", "values", "text")} == {
        k: kept[k] for k in ("verdict", "reason", "values", "text")}
    csv = f"{entry.stem}.csv"
    if (paths.FIGURES / entry.paper / csv).exists():
        redrawn = (tmp_path / "figures" / entry.paper / csv).read_text().splitlines()
        committed = (paths.FIGURES / entry.paper / csv).read_text().splitlines()
        assert [ln for ln in redrawn if not ln.startswith("#")] == [ln for ln in committed if not ln.startswith("#")]
    if item == "brb/tab13":
        table = pd.read_csv(tmp_path / "figures" / "brb" / csv, comment="#")
        ran = table.dropna(subset=["reproduced"])
        quick = brb_settings.GRID["quick"]
        assert set(ran["dataset"]) == {"USPS", "OPTDIGITS"}
        # the rows quick runs (plain and +BRB each) and its extra cells, from committed records alone
        assert len(ran) == 2 * sum(len(r) for r in quick["rows"].values()) + sum(
            len(c) for c in quick["extra_cells"].values())
        assert (table["data"].str.startswith("cell left to the paper profile") == table["reproduced"].isna()).all()


@pytest.mark.parametrize("name", sorted(golden.PROBES))
def test_golden_numbers_hold(name):
    assert golden.check(name) == []


@pytest.mark.parametrize("name", sorted(golden.PROBES))
def test_every_probe_has_golden_numbers(name):
    # a probe missing from the golden file would run and be compared with nothing
    assert set(golden.load(name)["probes"]) == set(golden.PROBES[name])


def test_every_committed_self_labeling_run_starts_with_every_cluster_confident():
    """ReSL at quick: a cluster without a confident image at the start gets no pseudo-label and can only shrink,
    so quick's threshold is chosen so that none is (issue 22); the committed records must show it."""
    found = [runs.load_cached(c) for c in QUICK_CONFIGS if c.algorithm == "resl.selflabel"]
    if not found:  # then every resl item with runs must say it awaits them
        resl_items = [i for i in items_with_records() + items_awaiting_runs() if i.startswith("resl/")]
        assert resl_items and set(resl_items) <= set(items_awaiting_runs())
        return
    starts = {r.config.label(): int(r.history["unconfident_clusters"].iloc[0]) for r in found}
    assert all(n == 0 for n in starts.values()), {k: n for k, n in starts.items() if n}
