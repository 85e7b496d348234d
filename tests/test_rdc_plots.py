"""R-DC tables from runs (dcutils.rdc_plots) and the paper's numbers (dcutils.paper_numbers)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from dcutils import paper_numbers, rdc_plots as rp
from dcutils.experiments import rdc as exp
from dcutils.profiles import notebook_settings
from dcutils.runs import RunConfig, RunResult, RunSet

TABLE_SETS = ["cifar10", "fmnist", "vesselmnist3d", "pneumoniamnist", "breastmnist", "bloodmnist"]


def test_paper_tables_3_to_5_are_complete_and_quoted_values_match_the_catalog():
    for d in TABLE_SETS:
        for m in rp.PAPER_METHODS:
            acc, f1_macro, f1_micro = paper_numbers.RDC_CLUSTERING[(d, m)]
            assert 0 < acc < 100 and 0 < f1_macro < 100 and 0 < f1_micro < 100
    # FIGURES.md, tab03-tab05
    assert paper_numbers.RDC_CLUSTERING[("fmnist", "R-DC")] == (66.6, 65.7, 66.6)
    assert paper_numbers.RDC_CLUSTERING[("cifar10", "DynAE")] == (56.9, 55.6, 56.9)
    assert paper_numbers.RDC_CLUSTERING[("vesselmnist3d", "R-DC")] == (88.2, 46.9, 88.2)
    assert paper_numbers.RDC_CLUSTERING[("pneumoniamnist", "R-DC")] == (86.7, 83.4, 86.7)
    assert paper_numbers.RDC_CLUSTERING[("bloodmnist", "R-DC")] == (59.1, 55.6, 59.1)
    # Table 8's P1+P2 is R-DC: equal to Tables 3/5 except PneumoniaMNIST (86.5 vs 86.7 as printed)
    for d in ("fmnist", "bloodmnist", "breastmnist"):
        assert paper_numbers.RDC_ABLATION[(d, "P1+P2")] == paper_numbers.RDC_CLUSTERING[(d, "R-DC")]
    assert paper_numbers.RDC_ABLATION[("pneumoniamnist", "P1+P2")][0] == 86.5
    # Table 6 as in the catalog: R-DC 425 / 237 / 199, DEC 107 / 57 / 50
    assert [paper_numbers.RDC_RUNTIME[(d, "R-DC")] for d in ("fmnist", "vesselmnist3d", "pneumoniamnist")] == [425, 237, 199]
    assert [paper_numbers.RDC_RUNTIME[(d, "DEC")] for d in ("fmnist", "vesselmnist3d", "pneumoniamnist")] == [107, 57, 50]


def _run(method: str, seed: int, acc: float, patience: int = 5, **final) -> RunResult:
    cfg = RunConfig.make("rdc.method", "fmnist", seed=seed, profile="smoke", method=method, patience=patience,
                         subsample=600, cluster_epochs=2)
    values = {"acc": acc, "f1_macro": acc - 0.01, "f1_micro": acc, "acc_pretrained": 0.5, "iterations": 6.0,
              "seconds_pretrain": 10.0, "seconds_cluster": 4.0, **final}
    return RunResult(cfg, pd.DataFrame({"epoch": [0]}), values, {}, {}, True)


def test_clustering_table_puts_paper_and_runs_side_by_side(monkeypatch):
    monkeypatch.setattr(exp, "available", lambda d: d == "fmnist")
    settings = notebook_settings("rdc/tab03", "quick")
    runs = RunSet([_run("rdc", 0, 0.60), _run("rdc", 1, 0.62), _run("dec", 0, 0.50),
                   _run("rdc", 0, 0.10, patience=exp.NO_STOP_PATIENCE)])
    t = rp.clustering_table(runs, settings)
    assert len(t) == 2 * 10 * 3  # CIFAR10 and FMNIST, ten methods, three metrics
    assert list(t["Method"].iloc[:30:3]) == rp.PAPER_METHODS  # the paper's order
    row = t[(t["Dataset"] == "FMNIST") & (t["Method"] == "R-DC") & (t["Metric"] == "ACC")].iloc[0]
    assert row["Paper"] == 66.6 and row["Reproduced"] == pytest.approx(61.0)  # the no-stop diagnostic is left out
    assert row["± SE"] == pytest.approx(1.0) and row["Seeds"] == 2
    assert row["Difference"] == pytest.approx(61.0 - 66.6)
    cc = t[(t["Dataset"] == "FMNIST") & (t["Method"] == "CC")].iloc[0]
    assert cc["Seeds"] == 0 and math.isnan(cc["Reproduced"]) and "paper, not rerun" in cc["Note"]
    cifar = t[t["Dataset"] == "CIFAR10"]
    assert (cifar["Seeds"] == 0).all() and cifar["Note"].str.contains("not available").all()
    assert "points above it" in rp.verdict_methods(t, "fmnist", "quick", others=("DEC",))


def test_ablation_table_maps_phases_to_methods(monkeypatch):
    monkeypatch.setattr(exp, "available", lambda d: d == "fmnist")
    settings = notebook_settings("rdc/tab08", "quick")
    runs = RunSet([_run("ae_kmeans", 0, 0.55), _run("rdc", 0, 0.57), _run("dec", 0, 0.53), _run("p1p2p3", 0, 0.54)])
    t = rp.ablation_table(runs, settings)
    acc = t[(t["Dataset"] == "FMNIST") & (t["Metric"] == "ACC")].set_index("Method")
    assert list(acc.index) == list(rp.ABLATION)
    assert acc.loc["P1", "Reproduced"] == pytest.approx(55.0) and acc.loc["P1+P2+P3", "Paper"] == 63.8
    assert (t[t["Dataset"] != "FMNIST"]["Seeds"] == 0).all()


def test_runtime_table_takes_one_kmeans_out_of_the_per_iteration_cost(monkeypatch):
    monkeypatch.setattr(exp, "available", lambda d: d == "fmnist")
    settings = notebook_settings("rdc/tab06", "smoke")  # cluster_epochs 2, subsample 600: budget 2 * 3 = 6
    runs = RunSet([_run("ae_kmeans", 0, 0.5, iterations=0.0, seconds_cluster=1.0),
                   _run("dec", 0, 0.5, iterations=3.0, seconds_cluster=4.0)])
    t = rp.runtime_table(runs, settings).set_index("Method")
    assert t.loc["AE + k-means", "Ours (s)"] == pytest.approx(11.0)
    # DEC: 10 s pretraining + 1 s k-means + (4 - 1) / 3 s per iteration * 6 iterations
    assert t.loc["DEC", "Ours (s)"] == pytest.approx(17.0)
    assert t.loc["DEC", "ms / clustering iteration"] == pytest.approx(1000.0)
    assert t.loc["PSSC", "Seeds"] == 0 and t.loc["PSSC", "Paper (s)"] == 1530


def test_hyperparameter_table_counts_what_the_code_runs():
    t = rp.hyperparameter_table().set_index("Method")
    assert t.loc["R-DC", "Hyperparameters (ours)"] == 4 and t.loc["R-DC", "Hyperparameters (paper)"] == 4
    assert "beta" in t.loc["R-DC", "Ours: which"]
    assert "not rerun" in t.loc["CC", "Ours: which"]


def test_dataset_labels_name_subsamples_and_test_splits():
    assert rp.dataset_label("fmnist", 5000) == "FMNIST (subsample 5,000 of 70,000)"
    assert rp.dataset_label("mnist", 3000, "test") == "MNIST (test split only, 10,000 of 70,000; subsample 3,000 of 10,000)"
    assert rp.dataset_label("fmnist", None) == "FMNIST"
