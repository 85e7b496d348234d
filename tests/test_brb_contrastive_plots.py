"""BRB's contrastive items: registered settings and run lists, Table 1's numbers, the tables, paired verdicts and
findings whose numbers are all cited (on fabricated runs: nothing here trains)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dcutils import catalog, experiments, findings, paper_data
from dcutils.brb import contrastive as bc
from dcutils.brb import contrastive_plots as cp
from dcutils.brb import contrastive_settings as cs
from dcutils.experiments import notebook_settings
from dcutils.hparams import BRB_CONTRASTIVE
from dcutils.profiles import SettingsError
from dcutils.runs import RunResult, RunSet

ITEMS = list(cs.ITEMS)


# ------------------------------------------------------------------------------------ registration
@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
@pytest.mark.parametrize("item", ITEMS)
def test_registered_run_lists_are_the_settings_modules(item, profile):
    s = notebook_settings(item, profile, {})
    assert experiments.configs_for(s) == cs.item_configs(item, profile)
    assert item not in experiments.items_awaiting_runs()  # their quick records are committed


def test_overrides_reach_the_runs_and_subsample_is_refused():
    one = experiments.configs_for(notebook_settings("brb/tab01", "quick", {"seeds": [0]}))
    assert len(one) == 6 and {c.seed for c in one} == {0}
    short = experiments.configs_for(notebook_settings("brb/tab17", "quick", {"cluster_epochs": 8}))
    assert {c["cluster_epochs"] for c in short} == {8}
    rows = experiments.configs_for(notebook_settings("brb/tab11", "quick", {"tab11_rows": [["1", False]]}))
    assert {(c["reset_blocks"], c["reset_mlp"], c["self_labeling"]) for c in rows} == {("1", False, False)}
    with pytest.raises(SettingsError, match="subsample"):
        experiments.configs_for(notebook_settings("brb/tab01", "quick", {"subsample": 500}))


def test_items_have_their_quick_runs_and_name_the_substitute_data():
    for item in ITEMS:
        status = catalog.get_item(item).status
        assert not catalog.awaits_quick_runs(status)
        assert status.startswith("partial: FMNIST substitutes") or "FMNIST (3,000" in status
        assert catalog.get_item(item).notebook.exists()


# ------------------------------------------------------------------------------------ the paper's numbers
def test_table_1_is_complete_and_agrees_with_what_the_text_kept():
    t = paper_data.brb_contrastive()
    assert len(t) == 7 * 2 * 3 + 6 + 2 + 6 and not t.duplicated(["row", "dataset", "metric"]).any()
    v = t.set_index(["row", "dataset", "metric"])["value"]
    # ../shared/papers/brb.txt, Table 1: the rows its extraction kept
    assert (v["IDEC", "cifar10", "acc"], v["IDEC", "cifar100-20", "ari"]) == (88.30, 36.79)
    assert (v["DCN", "cifar10", "nmi"], v["DCN", "cifar100-20", "acc"]) == (81.02, 53.27)
    assert (v["SCAN", "cifar100-20", "nmi"], v["GCC", "cifar10", "acc"]) == (48.6, 90.1)
    # the text: "BRB consistently improves performance for IDEC and DCN [...], DEC [...] for CIFAR10 by more than 2%"
    for m in ("idec", "dcn"):
        for d in ("cifar10", "cifar100-20"):
            assert v[f"{m.upper()}+BRB", d, "acc"] > v[m.upper(), d, "acc"]
    assert v["DEC+BRB", "cifar10", "acc"] - v["DEC", "cifar10", "acc"] > 2


def test_table_7_reads_the_objects_the_run_uses():
    assert bc.AUTHORS["cluster_lr"] == {k.lower(): v for k, v in BRB_CONTRASTIVE.cluster_lr}
    assert bc.AUTHORS["pretrain_weight_decay"] == BRB_CONTRASTIVE.pretrain_weight_decay
    factors = bc.block_factors("4", BRB_CONTRASTIVE.alpha_mlp, bc.AUTHORS["alpha_step"])
    assert list(factors.values()) == pytest.approx([BRB_CONTRASTIVE.alpha_resnet_block4])
    table = cp.hyperparameter_table()
    assert "Table 7" in set(table["source"])
    values = dict(zip(table["parameter"], table["value"]))
    assert values["Reset projector"] == "False"  # the authors' configs (Appendix E's text: True, a deviation)
    assert values["Seeds"] == ", ".join(map(str, bc.AUTHORS["seeds"]))
    assert values["Confidence threshold"] == "0.99" and values["α, ResNet block 4"] == "0.9"
    found = findings.make("brb/tab07", "quick", "x", **cp.hyperparameter_findings(table))
    assert found.verdict == findings.NOT_TESTABLE


# ------------------------------------------------------------------------------------ tables and verdicts
def _runset(item: str, effect: dict, *, flag: tuple = (), noise: float = 0.002,
            overrides: dict | None = None) -> tuple[RunSet, object]:
    """Fabricated records for the item's quick configs (3 seeds; ``overrides`` of its settings): ACC = 50 % +
    ``effect[(method, brb)]`` (or ``effect[reset_blocks]``) + seed noise (sd ``noise``); self-labeling adds 5
    points; the seed-1 runs matching ``flag`` are flagged."""
    s = notebook_settings(item, "quick", {"seeds": [0, 1, 2], **(overrides or {})})
    rng = np.random.default_rng(0)
    out = []
    for cfg in experiments.configs_for(s):
        key = cfg["reset_blocks"] if item == "brb/tab11" else (cfg["method"], cfg["brb"])
        base = 0.5 + effect.get(key, 0.0) + 0.01 * cfg.seed + rng.normal(0, noise)
        final = {f"{m}_{stage}": base + d for m in ("acc", "nmi", "ari")
                 for stage, d in (("pretrain", -0.2), ("cluster", 0.0), ("selflabel", 0.05))}
        final.update(acc=final["acc_selflabel"], nmi=final["nmi_selflabel"], ari=final["ari_selflabel"],
                     acc_selflabel_best=final["acc_selflabel"] + 0.01)
        sick = key in flag and cfg.seed == 1
        meta = {"health": {"flagged": sick, "reasons": ["smallest cluster below 1%"] if sick else []}}
        out.append(RunResult(cfg, pd.DataFrame({"epoch": [0]}), final, {}, meta, True, {}))
    return RunSet(out), s


def test_brb_ahead_everywhere_reproduces_table_1_with_every_number_cited():
    runset, s = _runset("brb/tab01", {(m, True): 0.03 for m in cs.METHODS}, flag=(("dcn", True),))
    comp = cp.comparisons(runset, s)
    acc = comp[comp["comparison"].str.contains("ACC after")]
    assert len(acc) == 3 and set(acc["verdict"]) == {"ahead"} and set(acc["reproduces"]) == {findings.REPRODUCES}
    assert acc["mean"].to_numpy() == pytest.approx([3.0] * 3, abs=0.5)
    dec = acc[acc["comparison"].str.startswith("DEC+BRB")].iloc[0]
    assert dec["paper CIFAR10"] == pytest.approx(90.57 - 88.29) and dec["paper CIFAR100-20"] == pytest.approx(0.30)
    dcn = acc[acc["comparison"].str.startswith("DCN+BRB")].iloc[0]
    assert dcn["flagged"] == 1 and dcn["note"] == "rests on 1 of 3 pairs with a flagged run"
    assert set(comp.loc[comp["sign"] == 0, "reproduces"]) == {"shown, not judged"}
    found = findings.make("brb/tab01", "quick", "x", **cp.item_findings(runset, s))  # refuses uncited numbers
    assert found.verdict == findings.REPRODUCES and "FMNIST in place of CIFAR10 and CIFAR100-20" in found.reason
    assert "⚠" in found.text and "seed 1: smallest cluster below 1%" in found.text
    table = cp.results_table(runset, s)
    ours = table[(table["dataset"] == "FMNIST") & (table["row"] == "DCN+BRB")]
    assert set(ours["flagged"]) == {1} and (ours["seeds"] == 3).all() and ours["paper"].isna().all()
    cifar = table[table["dataset"] == "CIFAR10"]
    assert cifar["reproduced"].isna().all() and (cifar["data"] == "not run at quick (paper profile)").all()
    wide = cp.wide_view(table)
    assert "⚠" in wide.loc["DCN+BRB", "FMNIST ACC, after self-labeling"]
    assert wide.loc["DEC", "CIFAR10 ACC, after self-labeling"] == "— / 88.29"
    assert cp.substitute_note(s).startswith("Data: FMNIST (3,000 / 2,000 balanced train / test images) substitutes")
    assert "substitute for CIFAR10 and CIFAR100-20" in cp.provenance(s).line()


def test_brb_behind_does_not_reproduce_and_a_tie_is_inconclusive():
    behind, s = _runset("brb/tab17", {(m, True): -0.03 for m in cs.METHODS})
    found = findings.make("brb/tab17", "quick", "x", **cp.item_findings(behind, s))
    assert found.verdict == findings.DOES_NOT_REPRODUCE
    tie, s = _runset("brb/tab17", {}, noise=0.0)
    comp = cp.comparisons(tie, s)
    assert set(comp["verdict"]) == {"inconclusive"} and comp[[c for c in comp if c.startswith("paper ")]].isna().all(
        axis=None)
    assert findings.make("brb/tab17", "quick", "x", **cp.item_findings(tie, s)).verdict == findings.INCONCLUSIVE


def test_table_16_judges_self_labeling_against_the_clustering_it_starts_from():
    runset, s = _runset("brb/tab16", {(m, True): 0.03 for m in cs.METHODS})
    comp = cp.comparisons(runset, s)
    sl = comp[comp["comparison"].str.contains("after − before self-labeling")]
    assert len(sl) == 6 and sl["mean"].to_numpy() == pytest.approx([5.0] * 6)
    assert findings.make("brb/tab16", "quick", "x", **cp.item_findings(runset, s)).verdict == findings.REPRODUCES
    table = cp.results_table(runset, s, stages=("pretrain", "cluster", "selflabel", "selflabel_best"), metrics=("acc",))
    assert set(table["stage"]) == {"pretrain", "cluster", "selflabel", "selflabel_best"}


def test_table_11_block_four_against_the_other_rows():
    """Quick's rows (none, 4, all with the MLP reset) judged against block 4; the projector deviation, left to the
    paper profile at quick (and run at smoke), is paired with block 4 and shown, not judged, where it is run."""
    quick, _ = _runset("brb/tab11", {"4": 0.04, "all": -0.05})
    assert not any(r.config["reset_projector"] for r in quick)
    assert len(cp.comparisons(quick, _)) == 3
    rows = [["none", True], ["4", True], ["all", True], ["4", True, True]]
    runset, s = _runset("brb/tab11", {"4": 0.04, "all": -0.05}, overrides={"tab11_rows": rows})
    comp = cp.comparisons(runset, s)
    assert list(comp["comparison"].str.split(",").str[0]) == [
        "block 4 + MLP reset − no block + MLP reset", "block 4 + MLP reset − all blocks + MLP reset",
        "all blocks + MLP reset − no block + MLP reset",
        "block 4 + MLP reset + projector reset − block 4 + MLP reset"]
    assert list(comp["reproduces"]) == [findings.REPRODUCES] * 3 + ["shown, not judged"]
    assert list(cp.block_table(runset, s)["acc"]) == pytest.approx([51.0, 55.0, 46.0, 55.0], abs=0.5)
    found = findings.make("brb/tab11", "quick", "x", **cp.item_findings(runset, s))
    assert found.verdict == findings.REPRODUCES and "blocks 4+3 + MLP reset" in found.text  # left to the paper
    assert "substitute for CIFAR10 ·" in cp.provenance(s).line()


def test_no_runs_is_not_testable():
    s = notebook_settings("brb/tab01", "quick", {})
    found = findings.make("brb/tab01", "quick", "x", **cp.item_findings(RunSet([]), s))
    assert found.verdict == findings.NOT_TESTABLE and "left to the paper profile" in found.reason


def test_the_projector_deviation_row_is_its_own_run_paired_with_block_4_and_not_judged():
    """tab11's fourth row resets the projector too (Appendix E's text; the configs and our default do not): its
    runs differ from the block-4 row's only in reset_projector, the table keeps the two apart, and the paired
    check is shown, not judged. Quick leaves the row to the paper profile (its 75 minutes); smoke and paper run it."""
    assert ("4", True, True) not in cs.tab11_rows(notebook_settings("brb/tab11", "quick"))
    settings = notebook_settings("brb/tab11", "smoke", {"seeds": [0, 1]})
    rows = cs.tab11_rows(settings)
    assert ("4", True, True) in rows and ("4", True, False) in rows
    configs = experiments.configs_for(settings)
    proj = [c for c in configs if c["reset_projector"]]
    assert len(proj) == len(settings["seeds"]) and all(c["reset_blocks"] == "4" and c["reset_mlp"] for c in proj)
    plain4 = {c.seed: c for c in configs if c["reset_blocks"] == "4" and not c["reset_projector"]}
    for c in proj:
        differs = {k for k, v in c.params if dict(plain4[c.seed].params).get(k) != v}
        assert differs == {"reset_projector", "self_labeling"}  # the block-4 row is tab01's run, which self-labels
    deviation = [c for c in cp.checks(settings) if "projector" in c.label]
    assert len(deviation) == 1 and deviation[0].sign == 0
    assert deviation[0].a["reset_projector"] and not deviation[0].b["reset_projector"]
    with pytest.raises(SettingsError, match="tab11 row"):
        cs.tab11_rows({"tab11_rows": [["4"]]})
