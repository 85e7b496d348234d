"""R-DC tables from runs (dcutils.rdc.plots) next to the paper's numbers (dcutils.paper_data; checked in
test_paper_data)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from dcutils import findings, items, paper_data
from dcutils.experiments import notebook_settings
from dcutils.rdc import plots as rp
from dcutils.runs import RunConfig, RunResult, RunSet

#: The meta an rdc.method run records about its data (FMNIST, subsample of 600).
META = {"dataset": "FMNIST", "split": "all", "n_samples": 600, "data_fingerprint": "fp",
        "subsample": {"n": 600, "of": 70_000, "seed": 0, "method": "uniform without replacement"}}


def _run(method: str, seed: int, acc: float, patience: int = 5, **final) -> RunResult:
    cfg = RunConfig.make("rdc.method", "fmnist", seed=seed, profile="smoke", method=method, patience=patience,
                         subsample=600, cluster_epochs=2)
    values = {"acc": acc, "f1_macro": acc - 0.01, "f1_micro": acc, "acc_pretrained": 0.5, "iterations": 6.0,
              "seconds_pretrain": 10.0, "seconds_cluster": 4.0, "acc_kmeans": acc, "f1_macro_kmeans": acc - 0.01,
              "f1_micro_kmeans": acc, **final}
    return RunResult(config=cfg, history=pd.DataFrame({"epoch": [0]}), final=values, arrays={}, meta=dict(META),
                     from_cache=True, environment={})


def test_clustering_table_puts_paper_and_runs_side_by_side():
    settings = notebook_settings("rdc/tab03", "quick")
    runs = RunSet([_run("rdc", 0, 0.60), _run("rdc", 1, 0.62), _run("dec", 0, 0.50)])
    t = rp.clustering_table(runs, settings)
    assert len(t) == 2 * 10 * 3  # CIFAR10 and FMNIST, ten methods, three metrics
    assert list(t["Method"].iloc[:30:3]) == rp.PAPER_METHODS  # the paper's order
    row = t[(t["Dataset"] == "FMNIST") & (t["Method"] == "R-DC") & (t["Metric"] == "ACC")].iloc[0]
    assert row["Paper"] == 66.6 and row["Reproduced"] == pytest.approx(61.0)
    assert row["± SE"] == pytest.approx(1.0) and row["Seeds"] == 2
    assert row["Difference"] == pytest.approx(61.0 - 66.6)
    cc = t[(t["Dataset"] == "FMNIST") & (t["Method"] == "CC")].iloc[0]
    assert cc["Seeds"] == 0 and math.isnan(cc["Reproduced"]) and "paper, not rerun" in cc["Note"]
    cifar = t[t["Dataset"] == "CIFAR10"]
    # quick does not pin CIFAR10: its cells keep the paper's values, with the reason
    assert (cifar["Seeds"] == 0).all() and (cifar["Note"] == "not run at quick (paper profile only)").all()
    assert cifar[cifar["Metric"] == "ACC"].set_index("Method").loc["R-DC", "Paper"] == \
        paper_data.rdc_clustering().set_index(["dataset", "method"]).loc[("cifar10", "R-DC"), "acc"]
    assert rp.missing_text(settings).startswith("Not run at profile `quick` (paper profile only): CIFAR10.")
    assert "points above it" in rp.verdict_methods(t, "fmnist", "quick", others=("DEC",))


def test_ablation_table_maps_phases_to_methods():
    settings = notebook_settings("rdc/tab08", "quick")
    runs = RunSet([_run("ae_kmeans", 0, 0.55), _run("rdc", 0, 0.57), _run("dec", 0, 0.53), _run("p1p2p3", 0, 0.54)])
    t = rp.ablation_table(runs, settings)
    acc = t[(t["Dataset"] == "FMNIST") & (t["Metric"] == "ACC")].set_index("Method")
    assert list(acc.index) == list(rp.ABLATION)
    assert acc.loc["P1", "Reproduced"] == pytest.approx(55.0) and acc.loc["P1+P2+P3", "Paper"] == 63.8
    assert (t[t["Dataset"] != "FMNIST"]["Seeds"] == 0).all()


def test_runtime_table_takes_one_kmeans_out_of_the_per_iteration_cost():
    settings = notebook_settings("rdc/tab06", "smoke")  # cluster_epochs 2, subsample 600: budget 2 * 3 = 6
    runs = RunSet([_run("ae_kmeans", 0, 0.5, iterations=0.0, seconds_cluster=1.0),
                   _run("dec", 0, 0.5, iterations=3.0, seconds_cluster=4.0)])
    t = rp.runtime_table(runs, settings).set_index("Method")
    assert t.loc["AE + k-means", "Ours (s)"] == pytest.approx(11.0)
    # DEC: 10 s pretraining + 1 s k-means + (4 - 1) / 3 s per iteration * 6 iterations
    assert t.loc["DEC", "Ours (s)"] == pytest.approx(17.0)
    assert t.loc["DEC", "ms / clustering iteration"] == pytest.approx(1000.0)
    assert t.loc["PSSC", "Seeds"] == 0 and t.loc["PSSC", "Paper (s)"] == 1530
    # the budget counts the samples the runs recorded, not the subsample parameter
    small = RunSet([_run("ae_kmeans", 0, 0.5, iterations=0.0, seconds_cluster=1.0),
                    _run("dec", 0, 0.5, iterations=3.0, seconds_cluster=4.0)])
    for r in small:
        r.meta["n_samples"] = 300  # 300 samples in batches of 256: 2 per epoch, 4 iterations
    assert rp.runtime_table(small, settings).set_index("Method").loc["DEC", "Ours (s)"] == pytest.approx(15.0)


def test_hyperparameter_table_counts_what_the_code_runs():
    t = rp.hyperparameter_table().set_index("Method")
    assert t.loc["R-DC", "Hyperparameters (ours)"] == 4 and t.loc["R-DC", "Hyperparameters (paper)"] == 4
    assert "beta" in t.loc["R-DC", "Ours: which"]
    assert "not rerun" in t.loc["CC", "Ours: which"]


def test_dataset_labels_come_from_the_records_and_the_profile():
    fmnist = {"dataset": "FMNIST", "split": "all", "n_samples": 5000,
              "subsample": {"n": 5000, "of": 70_000, "seed": 0, "method": "uniform without replacement"}}
    assert rp.dataset_label(fmnist, items.data_spec("quick", "fmnist")) == "FMNIST (subsample 5,000 of 70,000)"
    mnist = {"dataset": "MNIST", "split": "test", "n_samples": 3000, "subsample": {"n": 3000, "of": 10_000}}
    assert rp.dataset_label(mnist, items.data_spec("quick", "mnist")) == \
        "MNIST (test split only, 10,000 of 70,000; subsample 3,000 of 10,000)"
    assert rp.dataset_label(mnist) == "MNIST (test split only; subsample 3,000 of 10,000)"  # the record alone
    whole = {"dataset": "FMNIST", "split": "all", "n_samples": 70_000,
             "subsample": {"n": 70_000, "of": 70_000, "seed": 0, "method": "none: all kept"}}
    assert rp.dataset_label(whole) == rp.dataset_label({"dataset": "FMNIST", "subsample": None}) == "FMNIST"
    runs = RunSet([_run("rdc", 0, 0.6)])
    assert rp.run_datasets(runs, notebook_settings("rdc/tab03", "smoke")) == ["FMNIST (subsample 600 of 70,000)"]


def test_dataset_table_reads_the_catalog_and_the_profile_without_loading(monkeypatch):
    def no_loading(*a, **k):
        raise AssertionError("the data set table must not load data")

    monkeypatch.setattr("dcutils.data.load_dataset", no_loading)
    t = rp.dataset_table("quick").set_index("Dataset")
    assert list(t.index) == ["PneumoniaMNIST", "BreastMNIST", "BloodMNIST", "VesselMNIST3D", "CIFAR10", "FMNIST"]
    assert t.loc["FMNIST", "Status"] == "as in the paper" and t.loc["FMNIST", "Samples (profile)"] == 70_000
    assert t.loc["CIFAR10", "Status"] == "not run at quick (paper profile only)"
    assert math.isnan(t.loc["CIFAR10", "Samples (profile)"]) and t.loc["CIFAR10", "Samples (paper)"] == 60_000
    assert (rp.dataset_table("paper")["Status"] == "as in the paper").all()


# --- findings: verdicts computed from the runs ------------------------------------------------------------------


def test_a_paired_claim_behind_the_paper_does_not_reproduce():
    settings = notebook_settings("rdc/tab03", "quick")
    # R-DC below every baseline on each of three paired seeds: behind beyond 2 SE, the paper has it ahead
    runs = RunSet([_run(m, s, acc + 0.01 * s) for s in range(3)
                   for m, acc in (("rdc", 0.40), ("dec", 0.55), ("idec", 0.56), ("ae_kmeans", 0.54))])
    out = rp.table_findings(runs, settings, ["fmnist", "cifar10"])
    assert out["verdict"] == "does not reproduce"
    assert "best baseline (IDEC)" in out["reason"] and "behind" in out["reason"]
    found = findings.make("rdc/tab03", "quick", "x", **out)  # every number of the text is a value
    assert found.values["paired/fmnist/R-DC − best baseline (IDEC)"] == pytest.approx(-16.0)


def test_a_paired_claim_ahead_reproduces_and_noise_is_inconclusive():
    settings = notebook_settings("rdc/tab08", "quick")
    ahead = RunSet([_run(m, s, acc + 0.01 * s) for s in range(3) for m, acc in (("rdc", 0.66), ("ae_kmeans", 0.56))])
    assert rp.table_findings(ahead, settings, ["fmnist"], ablation=True)["verdict"] == "reproduces"
    noisy = RunSet([_run("rdc", 0, 0.70), _run("rdc", 1, 0.50), _run("rdc", 2, 0.62),
                    _run("ae_kmeans", 0, 0.56), _run("ae_kmeans", 1, 0.57), _run("ae_kmeans", 2, 0.58)])
    assert rp.table_findings(noisy, settings, ["fmnist"], ablation=True)["verdict"] == "inconclusive"


def test_tables_without_runs_are_not_testable_and_say_why():
    settings = notebook_settings("rdc/tab04", "quick")
    out = rp.table_findings(RunSet([]), settings, ["vesselmnist3d", "pneumoniamnist"])
    assert out["verdict"] == "not testable here" and "not run at profile quick" in out["reason"]


def test_one_seed_is_inconclusive_unless_the_opposite_by_the_wide_margin():
    assert rp.seed_check([0.5], +1, 2.0)[0] == "inconclusive"  # in the claim's direction, but one seed
    assert rp.seed_check([-1.5], +1, 2.0)[0] == "inconclusive"  # against it, within the margin
    assert rp.seed_check([-2.5], +1, 2.0)[0] == "does not reproduce"  # against it by more than the margin
    assert rp.seed_check([1.0, 1.1, 0.9], +1, 2.0)[0] == "reproduces"
    assert rp.seed_check([1.0, 1.1, 0.9], -1, 2.0)[0] == "does not reproduce"


def test_spread_rule_for_robustness():
    cite = rp.Cite()
    one = pd.DataFrame({"mean": [50.0, 60.0], "se": [0.0, 0.0], "n": [1, 1]})
    assert rp._spread_verdict(one, cite, "a", "grid")[0] == "inconclusive"  # 10 points, one seed
    wide = pd.DataFrame({"mean": [40.0, 60.0], "se": [0.0, 0.0], "n": [1, 1]})
    assert rp._spread_verdict(wide, rp.Cite(), "a", "grid")[0] == "does not reproduce"  # 20 > 3 x 5 points
    tight = pd.DataFrame({"mean": [55.0, 56.0], "se": [0.5, 0.5], "n": [3, 3]})
    assert rp._spread_verdict(tight, rp.Cite(), "a", "grid")[0] == "reproduces"


def test_overall_verdict_needs_a_majority_and_no_contradiction():
    assert rp.overall_verdict([]) == "not testable here"
    assert rp.overall_verdict(["reproduces", "inconclusive"]) == "inconclusive"
    assert rp.overall_verdict(["reproduces", "reproduces", "inconclusive"]) == "reproduces"
    assert rp.overall_verdict(["reproduces", "does not reproduce", "reproduces"]) == "inconclusive"
    assert rp.overall_verdict(["does not reproduce", "inconclusive"]) == "does not reproduce"


def test_text_functions_work_without_cite_and_record_with_it():
    settings = notebook_settings("rdc/tab03", "quick")
    runs = RunSet([_run(m, s, 0.5 + 0.01 * s) for s in range(2) for m in ("rdc", "dec")])
    claims = rp.paired_claims(runs, "fmnist")
    plain = rp.claims_text(claims, "fmnist", "quick")
    cite = rp.Cite()
    assert rp.claims_text(claims, "fmnist", "quick", cite) == plain
    assert findings.unchecked_numbers(plain, cite.values) == []
    assert rp.verdict_methods(rp.clustering_table(runs, settings), "fmnist", "quick")


def test_paired_claims_under_one_kmeans_readout():
    """R-DC's own readout is k-means; DEC's own is its clusters. Under readout='kmeans' every method is read by the
    same k-means on its codes (acc_kmeans), which can reverse the comparison."""
    runs = RunSet([_run("rdc", s, 0.60 + 0.01 * s, acc_kmeans=0.60 + 0.01 * s) for s in range(3)]
                  + [_run("dec", s, 0.55 + 0.01 * s, acc_kmeans=0.65 + 0.01 * s) for s in range(3)])
    own = rp.paired_claims(runs, "fmnist").set_index("comparison")
    km = rp.paired_claims(runs, "fmnist", readout="kmeans").set_index("comparison")
    assert own.loc["R-DC − DEC", "ours"] == pytest.approx(5.0) and own.loc["R-DC − DEC", "verdict"] == "ahead"
    assert km.loc["R-DC − DEC", "ours"] == pytest.approx(-5.0) and km.loc["R-DC − DEC", "verdict"] == "behind"
    no_column = _run("rdc", 0, 0.6)
    del no_column.final["acc_kmeans"]
    assert rp.paired_claims(RunSet([no_column]), "fmnist", readout="kmeans").empty  # records without the readout
    with pytest.raises(ValueError, match="readout"):
        rp.paired_claims(runs, "fmnist", readout="best")


def _sick(result: RunResult, reason: str = "P2 recon mse grew to 300x its start (limit 10x)") -> RunResult:
    result.meta["health"] = {"flagged": True, "reasons": [reason]}
    return result


def test_a_flagged_run_is_named_in_the_findings_the_table_and_the_paired_claim():
    """A run its health check flags (dcutils.health) never carries a verdict silently: the reason counts it, the
    text names it with the check's reason, its table cell carries ⚠ and the paired claim says how many pairs
    rest on it. Without a flagged run none of that appears."""
    settings = notebook_settings("rdc/tab03", "quick")
    healthy = [_run(m, s, acc + 0.01 * s) for s in range(3) for m, acc in (("rdc", 0.66), ("dec", 0.56))]
    clean = rp.table_findings(RunSet(healthy), settings, ["fmnist"])
    assert "flagged" not in clean["reason"] and "flagged" not in clean["text"]
    runs = RunSet([_sick(r) if (r.config["method"], r.config.seed) == ("dec", 1) else r for r in healthy])
    out = rp.table_findings(runs, settings, ["fmnist"])
    assert "1 of 6 runs flagged unhealthy" in out["reason"] and "rests on 1 of 3 pairs" in out["reason"]
    assert "DEC, seed 1: P2 recon mse grew to 300x" in out["text"]
    assert findings.make("rdc/tab03", "quick", "x", **out).values["health/flagged runs"] == 1
    claim = rp.paired_claims(runs, "fmnist", readout="kmeans").set_index("comparison")
    assert claim.loc["R-DC − DEC", "flagged"] == 1
    table = rp.clustering_table(runs, settings)
    dec = table[(table["Dataset"] == "FMNIST") & (table["Method"] == "DEC") & (table["Metric"] == "ACC")].iloc[0]
    rdc = table[(table["Dataset"] == "FMNIST") & (table["Method"] == "R-DC") & (table["Metric"] == "ACC")].iloc[0]
    assert dec["Flagged"] == 1 and "1 of 3 runs flagged unhealthy" in dec["Note"]
    assert rdc["Flagged"] == 0 and rdc["Note"] == ""
    wide = rp.wide(table).set_index("Method (paper / ours)")
    assert wide.loc["DEC", "FMNIST"].endswith("⚠") and not wide.loc["R-DC", "FMNIST"].endswith("⚠")
    stops = rp.stopping_table(runs).set_index("method")
    assert stops.loc["DEC", "flagged"] == 1 and stops.loc["R-DC", "flagged"] == 0


def test_quick_figure17_runs_the_cross_through_table2_and_says_which_cells_it_leaves_to_paper():
    """Quick runs each of β and γ moved alone from Table 2's (0.6, 0.6); the figure leaves the corners blank and
    says why, the text counts them; smoke and paper run the whole product of their axes."""
    from dcutils.rdc import settings as rs

    quick = notebook_settings("rdc/fig17", "quick")
    cells = rs.sensitivity_cells(quick)
    assert (0.6, 0.6) in cells and len(cells) == 5
    assert all(b == 0.6 or g == 0.6 for b, g in cells)  # one parameter moved at a time
    assert len(rs.sensitivity_cells(notebook_settings("rdc/fig17", "paper"))) == 25
    with pytest.raises(ValueError, match=r"not on the grid"):
        rs.sensitivity_cells(notebook_settings("rdc/fig17", "quick", {"cells": [[0.5, 0.6]]}))

    def run(b, g, acc):
        cfg = RunConfig.make("rdc.method", "fmnist", seed=0, profile="quick", method="rdc", beta=b, gamma=g,
                             gamma_mode="absolute", subsample=600, cluster_epochs=2)
        final = {"acc": acc, "f1_macro": acc, "f1_micro": acc, "acc_pretrained": 0.5, "acc_kmeans": acc,
                 "f1_macro_kmeans": acc, "f1_micro_kmeans": acc}
        return RunResult(config=cfg, history=pd.DataFrame({"epoch": [0]}), final=final, arrays={},
                         meta={**META, "core_ratios": [0.9]}, from_cache=True, environment={})

    runset = RunSet([run(b, g, 0.5 + 0.01 * i) for i, (b, g) in enumerate(cells)])
    fig = rp.sensitivity_figure(runset)
    assert any("blank: a cell not run at this profile" in t.get_text() for t in fig.texts)
    text = rp.sensitivity_verdict(runset, "quick")
    assert "The grid's other 4 cells" in text and "left to the paper profile" in text
    full = RunSet([run(b, g, 0.5) for b in (0.1, 0.9) for g in (0.1, 1.2)])
    assert "left to the paper profile" not in rp.sensitivity_verdict(full, "smoke")
    assert not any("blank" in t.get_text() for t in rp.sensitivity_figure(full).texts)
