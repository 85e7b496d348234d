"""BRB's analysis items (issue 13): quick design at the floors, sharing with the main grid, claims and verdicts."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dcutils import brb, experiments, findings, profiles
from dcutils.brb import analysis_plots as ap
from dcutils.brb import analysis_settings as an
from dcutils.experiments import notebook_settings
from dcutils.runs import RunResult, RunSet

#: USPS digits 0-3 (Figure 13's classes at quick): 1,553 + 1,269 + 929 + 824 images.
USPS_0_3 = 4_575


def _n(c) -> int:
    if c["classes"] is not None:
        assert list(c["classes"]) == an.FIG13_CLASSES
        return USPS_0_3
    return profiles.data_spec("quick", c.dataset).n


def test_every_quick_analysis_run_meets_the_floors():
    """Every sample, 250 pretraining epochs, >= 440 optimizer steps between BRB steps, 8 BRB steps, 3 paired
    seeds per cell, bf16 like the main grid."""
    for item in an.ITEMS:
        s = notebook_settings(item, "quick", {})
        assert s.seeds == [0, 1, 2]
        for c in experiments.configs_for(s):
            assert c["subsample"] is None and c["pretrain_epochs"] == 250 and c["precision"] == "bf16", (item, c)
            if c["variant"] != "none":
                assert c["reset_interval"] * (_n(c) // c["batch_size"]) >= 440, (item, c)
                assert len(brb.reset_epochs(c["cluster_epochs"], c["reset_interval"])) == 8, (item, c)


def test_figure13_protocol_follows_from_its_class_count():
    assert an.FIG13_QUICK_PROTOCOL == {"reset_interval": math.ceil(440 / (USPS_0_3 // 256)),
                                       "cluster_epochs": 9 * math.ceil(440 / (USPS_0_3 // 256))}


def test_usps_class_count_of_figure13():
    from dcutils.data import load_dataset  # the data may be absent on a fresh clone

    try:
        data = load_dataset("usps", split="all")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"USPS not available: {err}")
    assert len(brb.run.select_classes(data, an.FIG13_CLASSES)) == USPS_0_3


def _designed(item: str, profile: str = "quick"):
    """``item``'s settings with its designed quick cells, also for an item quick leaves out (over the budget)."""
    over = profile == "quick" and item in an.OVER_BUDGET
    return notebook_settings(item, profile, {"cells": an.DESIGNED_QUICK_CELLS[item]} if over else {})


def test_cells_without_parameters_are_the_main_grids_runs_and_quick_adds_21_of_the_designed_42():
    main_items = [i for i in experiments.items_with_runs() if i not in [*an.ITEMS, "brb/tab04"]]
    main = set(experiments.configs_for_profile("quick", main_items))
    new: set = set()
    run: set = set()
    for item in an.ITEMS:
        s = _designed(item)
        ran = notebook_settings(item, "quick", {})
        assert bool(ran["cells"]) == (item not in an.OVER_BUDGET)
        for c in s["cells"]:
            cfgs = {an.cell_config(s, c, seed) for seed in s.seeds}
            if not c["params"] and c["variant"] in ("none", "brb") and c["dataset"] == "optdigits":
                assert cfgs <= main, (item, c["label"])  # shared with the main grid: one record
            new |= cfgs - main
            if ran["cells"]:
                run |= cfgs - main
        if item in an.OVER_BUDGET:  # left out at quick, named as such, still exercised at smoke
            assert "5-hour budget" in ran["left_out"] and notebook_settings(item, "smoke", {})["cells"]
    assert len(new) == 42  # the design of the settings' docstring
    assert len(run) == 21  # what quick runs within brb's 5-hour budget (README)
    tab04 = experiments.configs_for(notebook_settings("brb/tab04", "quick", {}))
    assert set(tab04) <= main and len(tab04) == 81  # 24 OPTDIGITS cells + 3 USPS, 3 seeds each


def test_paper_profile_runs_the_papers_grids():
    fig09 = notebook_settings("brb/fig09", "paper", {})
    cells = fig09["cells"]
    assert len(cells) == 2 * 3 * 4 * 4 * 4 and fig09.seeds == [0, 1, 2, 3, 4]
    assert {(c["params"]["lr"], c["params"]["reset_interval"], c["params"]["alpha"]) for c in cells} == {
        (lr, t, a) for lr in an.PAPER_LRS for t in an.PAPER_INTERVALS for a in an.PAPER_ALPHAS}
    cfg = an.cell_config(fig09, cells[0], 0)
    assert cfg["cluster_epochs"] == 400 and cfg["precision"] == "fp32"
    tab09 = notebook_settings("brb/tab09", "paper", {})
    assert sorted({c["params"]["recluster_subsample"] for c in tab09["cells"]}) == [700, 7000, 17500, 35000, 70000]
    assert {c["method"] for c in notebook_settings("brb/fig19", "paper", {})["cells"]} == {"dcn"}


# ---------------------------------------------------------------------------- claims and verdicts


def _runset(item: str, acc: dict[str, list[float]], profile: str = "quick",
            flagged: tuple = ()) -> tuple[RunSet, object]:
    """Fake finished runs of ``item``'s cells with the given final ACC per label and seed; the runs in ``flagged``
    ((label, seed) pairs) carry a health assessment that flags them."""
    s = _designed(item, profile)
    results = []
    for c in s["cells"]:
        for seed in s.seeds:
            value = acc[c["label"]][seed]
            h = pd.DataFrame({"epoch": [0, 1, 2], "brb": [False, True, False], "cl_change": [np.nan, 5.0, 1.0],
                              "epoch_seconds": [0.0, 1.0, 1.0], "t_reset": 0.0, "t_embed": 0.0, "t_cluster": 0.1,
                              "t_momentum": 0.0, "brb_seconds": [0.0, 0.1, 0.0], "acc": value})
            sick = (c["label"], seed) in flagged
            meta = {"seconds": 60.0, "health": {"flagged": sick, "reasons": ["collapsed"] if sick else []}}
            results.append(RunResult(an.cell_config(s, c, seed), h, {"acc": value, "nmi": value, "ari": value}, {},
                                     meta, True, {}))
    return RunSet(results), s


def _check_text(found: dict, item: str) -> None:
    findings.make(item, "quick", "x", found["verdict"], found["reason"], found["values"], found["text"])


def test_paired_seeds_decide_the_verdict_against_the_paper():
    behind = {"plain": [0.6] * 3, "BRB": [0.90, 0.88, 0.92], "Disentangled": [0.70, 0.71, 0.69],
              "Noise": [0.75, 0.74, 0.78]}
    runset, s = _runset("brb/fig10", behind)
    comp = ap.comparisons(runset, s)
    acc = comp[[ap.ITEM_COMPARISONS["brb/fig10"][i].metric == "acc" for i in comp["claim"]]]
    assert list(acc["verdict"]) == ["behind", "behind"] and list(acc["reproduces"]) == ["reproduces"] * 2
    assert acc["mean"].iloc[0] == pytest.approx(-20.0) and acc["pairs"].iloc[0] == 3
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/fig10")
    assert "**reproduces**" in found["text"]
    ahead = {**behind, "Disentangled": [0.95, 0.93, 0.96], "Noise": [0.97, 0.95, 0.97]}
    runset, s = _runset("brb/fig10", ahead)
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/fig10")
    assert "does not reproduce" in found["text"]
    assert found["verdict"] in (findings.DOES_NOT_REPRODUCE, findings.INCONCLUSIVE)


def test_a_comparison_resting_on_a_flagged_run_says_so():
    acc = {"plain": [0.6] * 3, "BRB": [0.90, 0.88, 0.92], "Disentangled": [0.70, 0.71, 0.69],
           "Noise": [0.75, 0.74, 0.78]}
    runset, s = _runset("brb/fig10", acc, flagged=(("Noise", 2),))
    comp = ap.comparisons(runset, s)
    labels = [ap.ITEM_COMPARISONS["brb/fig10"][i].label() for i in comp["claim"]]
    noise = comp[["Noise" in lab for lab in labels]]
    assert len(noise) and (noise["flagged"] == 1).all()
    assert (noise["note"] == "rests on 1 of 3 pairs with a flagged run").all()
    assert (comp[["Noise" not in lab for lab in labels]]["flagged"] == 0).all()
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/fig10")
    assert "rests on 1 of these pairs with a run flagged unhealthy" in found["text"]
    assert "rest on a run flagged unhealthy" in found["reason"]
    healthy, s = _runset("brb/fig10", acc)
    assert "flagged" not in ap.ablation_findings(healthy, s, ("acc",))["reason"]


def test_a_claim_without_direction_is_shown_not_judged_and_left_out_rows_are_named():
    runset, s = _runset("brb/tab09", {"100 %": [0.9, 0.8, 0.85], "10 %": [0.88, 0.81, 0.84]})
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/tab09")
    assert found["verdict"] == findings.NOT_TESTABLE and "nothing is judged" in found["text"]
    runset, s = _runset("brb/fig08", {"BRB": [0.9] * 3, "lr 5e-3": [0.8] * 3, "alpha 0.6": [0.7] * 3})
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/fig08")  # the MNIST claim is not judged on OPTDIGITS
    assert found["verdict"] == findings.NOT_TESTABLE and "MNIST" in found["text"]


def test_component_and_runtime_findings_cite_every_number():
    runset, s = _runset("brb/tab10", {"k-means": [0.9] * 3, "k-means++ init": [0.8] * 3, "EM": [0.85] * 3})
    found = ap.component_findings(runset, s)
    _check_text(found, "brb/tab10")
    table = ap.runtime_table(runset)
    assert table.set_index("dataset").loc["OPTDIGITS", "minutes per run (here)"] == pytest.approx(1.0)
    _check_text(ap.runtime_findings(table, notebook_settings("brb/tab04", "quick", {})), "brb/tab04")


def test_embedding_findings_and_figure_from_a_recorded_step():
    s = _designed("brb/fig13")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 2)).astype(np.float32)
    arrays = {"embedding_before": z, "embedding_after": z + 0.5, "centroids_before": z[:4].copy(),
              "centroids_after": z[:4] + 0.5, "labels_true": np.repeat(np.arange(4), 50).astype(np.int16)}
    cfg = an.cell_config(s, s["cells"][0], 0)
    run = RunResult(cfg, pd.DataFrame({"epoch": [0]}), {"acc": 0.5}, arrays, {"ratio_epoch": 26}, True, {})
    # a translation moves everything together: no sample changes cluster, ACC unchanged
    stats = ap._step_change(run)
    assert stats["changed"] == pytest.approx(0.0) and stats["acc_before"] == pytest.approx(stats["acc_after"])
    found = ap.embedding_findings(RunSet([run]), s)
    _check_text(found, "brb/fig13")
    assert found["verdict"] == findings.NOT_TESTABLE
    fig = ap.plot_embedding(run)
    assert len(fig.axes) == 2


def test_sensitivity_figure_draws_one_panel_per_interval_and_a_bar_per_lr_and_alpha():
    runset, s = _runset("brb/fig09", {"BRB": [0.9] * 3, "lr 5e-3": [0.8] * 3, "alpha 0.6": [0.7] * 3})
    fig = ap.plot_sensitivity(runset, s)
    assert len(fig.axes) == 1  # quick: one data set, T at the floor
    bars = [p for p in fig.axes[0].patches if p.get_height() != 0]  # seaborn keeps empty (lr, α) slots at 0
    assert sorted(round(b.get_height(), 6) for b in bars) == [70.0, 80.0, 90.0]


def test_embedding_figure_keeps_each_cells_colour_across_the_step():
    from types import SimpleNamespace
    rng = np.random.default_rng(0)
    before = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])
    after = before[[2, 0, 3, 1]] + 0.1  # k-means renumbered the centroids at the step, and moved them a little
    z = np.concatenate([c + rng.normal(scale=0.3, size=(20, 2)) for c in before])
    run = SimpleNamespace(arrays={"embedding_before": z, "embedding_after": z + 0.1, "centroids_before": before,
                                  "centroids_after": after, "labels_true": np.repeat(np.arange(4), 20)},
                          meta={"ratio_epoch": 3}, config=SimpleNamespace(seed=0))
    fig = ap.plot_embedding(run)
    drawn = [[c.get_offsets() for c in ax.collections if c.get_label() == "centroid"][0] for ax in fig.axes[:2]]
    np.testing.assert_allclose(drawn[1], drawn[0] + 0.1)  # centroid i of the after panel is the old centroid i


def test_ablation_bars_come_with_the_paired_differences_of_the_items_claims():
    runset, s = _runset("brb/fig11", {"BRB": [0.90, 0.88, 0.92], "BRB + embedding reset": [0.89, 0.87, 0.90]})
    fig = ap.plot_cells(runset, s, ["acc", "nmi"])
    paired = fig.axes[-1]  # one row at quick: ACC bars, NMI bars, the paired differences
    assert len(fig.axes) == 3 and paired.get_xlabel() == "paired difference (points)"
    assert [t.get_text() for t in paired.get_yticklabels()] == ["BRB + embedding reset − BRB\nACC"]  # one line
    assert sorted(np.round(paired.lines[0].get_xdata(), 6)) == [-2.0, -1.0, -1.0]  # per seed, in points


def test_coinciding_curves_are_measured_named_and_explain_the_hidden_line():
    acc = {"plain": [0.6, 0.6, 0.6], "BRB": [0.9, 0.88, 0.92], "Disentangled": [0.6, 0.71, 0.69],
           "Noise": [0.75, 0.74, 0.78]}
    runset, s = _runset("brb/fig10", acc)
    same = ap.coinciding(runset, s, "acc")
    assert list(same["labels"]) == ["plain, Disentangled"] and list(same["seed"]) == [0]
    reason = ap.identical_ok(s, runset)
    assert reason and "plain, Disentangled" in reason and "same ACC" in reason
    found = ap.ablation_findings(runset, s, ("acc",))
    _check_text(found, "brb/fig10")  # every number of the new paragraph is cited
    assert "**Coinciding curves.**" in found["text"]
    apart, s = _runset("brb/fig10", {**acc, "Disentangled": [0.65, 0.71, 0.69]})
    assert ap.coinciding(apart, s).empty
    reason = ap.identical_ok(s, apart)  # the fake runs share one CL change curve: named, and ACC no longer
    assert "same CL change" in reason and "same ACC" not in reason
    assert ap.identical_ok(s) is None  # without the runs the figure check stays strict


def test_an_item_quick_leaves_out_says_so_in_its_figure_and_findings():
    empty = RunSet([])
    for item, figure in (("brb/fig19", lambda s: ap.plot_cells(empty, s, ["acc"])),
                         ("brb/fig10", lambda s: ap.plot_cell_curves(empty, s, ["acc"])),
                         ("brb/fig13", lambda s: ap.embedding_figure(empty, s))):
        s = notebook_settings(item, "quick", {"cells": []})
        texts = [t.get_text() for ax in figure(s).axes for t in ax.texts]
        assert any("no cell runs at profile quick" in t for t in texts), item
    s = notebook_settings("brb/fig19", "quick", {})
    found = ap.ablation_findings(empty, s, ("acc",))
    _check_text(found, "brb/fig19")
    assert found["verdict"] == findings.NOT_TESTABLE and "5-hour budget" in found["text"]
    s = notebook_settings("brb/fig13", "quick", {})
    assert "no cell runs at profile quick" in ap.embedding_findings(empty, s)["reason"]
