import pandas as pd
import pytest

from dcutils import paper_data
from dcutils.paper_data import brb_variants
from dcutils.rdc import plots as rp


def test_brb_tables_13_to_15_are_complete():
    t = brb_variants()
    assert len(t) == 3 * 3 * 4 * 2 * 6
    assert not t.duplicated(["metric", "method", "variant", "pretrain", "dataset"]).any()
    assert set(t["variant"]) == {"plain", "brb", "recluster", "reset"}
    assert t["mean"].between(0, 100).all() and (t["se"] >= 0).all()


def test_values_quoted_in_the_catalog():
    t = brb_variants().set_index(["metric", "method", "variant", "pretrain", "dataset"])["mean"]
    # FIGURES.md, fig01: Table 13 USPS, IDEC 66.67, IDEC+Recluster 74.49, IDEC+BRB 84.50 (no pretraining)
    assert t[("acc", "idec", "plain", False, "usps")] == 66.67
    assert t[("acc", "idec", "recluster", False, "usps")] == 74.49
    assert t[("acc", "idec", "brb", False, "usps")] == 84.50


# ----------------------------------------------------------------------------
# R-DC

RDC_TABLES = {
    # loader: (columns, key columns, rows)
    "rdc_clustering": (["table", "dataset", "method", "acc", "f1_macro", "f1_micro"], ["dataset", "method"], 6 * 10),
    "rdc_runtime": (["dataset", "method", "seconds"], ["dataset", "method"], 3 * 10),
    "rdc_ablation": (["dataset", "phases", "acc", "f1_macro", "f1_micro"], ["dataset", "phases"], 4 * 4),
    "rdc_hyperparameters": (["method", "count"], ["method"], 10),
    "rdc_datasets": (["dataset", "samples", "classes"], ["dataset"], 6),
    "rdc_figures": (["key", "value", "source"], ["key"], 1),
}
TABLE_SETS = ["cifar10", "fmnist", "vesselmnist3d", "pneumoniamnist", "breastmnist", "bloodmnist"]


@pytest.mark.parametrize("loader", sorted(RDC_TABLES))
def test_rdc_loaders_return_the_documented_columns_once_per_key(loader):
    columns, keys, n = RDC_TABLES[loader]
    t = getattr(paper_data, loader)()
    assert isinstance(t, pd.DataFrame) and list(t.columns) == columns
    assert len(t) == n
    assert not t.duplicated(keys).any()
    assert not t.isna().any().any()
    assert getattr(paper_data, loader)() is t  # cached like brb_variants


def test_rdc_tables_cover_the_papers_grid():
    t = paper_data.rdc_clustering()
    for d in TABLE_SETS:
        assert list(t.loc[t["dataset"] == d, "method"]) == rp.PAPER_METHODS  # the paper's order
    assert dict(t.groupby("dataset")["table"].first()) == {"cifar10": 3, "fmnist": 3, "vesselmnist3d": 4,
                                                           "pneumoniamnist": 4, "breastmnist": 5, "bloodmnist": 5}
    for metric in ("acc", "f1_macro", "f1_micro"):
        assert t[metric].between(0, 100, inclusive="neither").all()
    runtime = paper_data.rdc_runtime()
    assert set(runtime["dataset"]) == {"fmnist", "vesselmnist3d", "pneumoniamnist"}
    assert set(runtime["method"]) == set(rp.PAPER_METHODS) and runtime["seconds"].dtype.kind == "i"
    ablation = paper_data.rdc_ablation()
    assert set(ablation["dataset"]) == {"fmnist", "pneumoniamnist", "bloodmnist", "breastmnist"}
    assert set(ablation["phases"]) == set(rp.ABLATION)
    assert list(paper_data.rdc_hyperparameters()["method"]) == rp.PAPER_METHODS
    assert list(paper_data.rdc_datasets()["dataset"]) == rp.RDC_TABLE1


def test_rdc_values_quoted_in_the_catalog():
    t = paper_data.rdc_clustering().set_index(["dataset", "method"])[["acc", "f1_macro", "f1_micro"]]

    def row(d, m):
        return tuple(t.loc[(d, m)])

    # FIGURES.md, tab03-tab05
    assert row("fmnist", "R-DC") == (66.6, 65.7, 66.6)
    assert row("cifar10", "DynAE") == (56.9, 55.6, 56.9)
    assert row("vesselmnist3d", "R-DC") == (88.2, 46.9, 88.2)
    assert row("pneumoniamnist", "R-DC") == (86.7, 83.4, 86.7)
    assert row("bloodmnist", "R-DC") == (59.1, 55.6, 59.1)
    # DDC-UCO's F1 micro differs from its ACC as printed
    assert row("fmnist", "DDC-UCO") == (49.9, 44.2, 31.4)
    assert row("bloodmnist", "DDC-UCO")[2] == 26.4
    # Table 8's P1+P2 is R-DC: equal to Tables 3/5 except PneumoniaMNIST (86.5 vs 86.7 as printed)
    ablation = paper_data.rdc_ablation().set_index(["dataset", "phases"])[["acc", "f1_macro", "f1_micro"]]
    for d in ("fmnist", "bloodmnist", "breastmnist"):
        assert tuple(ablation.loc[(d, "P1+P2")]) == row(d, "R-DC")
    assert ablation.loc[("pneumoniamnist", "P1+P2"), "acc"] == 86.5
    # Table 6 as in the catalog: R-DC 425 / 237 / 199, DEC 107 / 57 / 50
    runtime = paper_data.rdc_runtime().set_index(["dataset", "method"])["seconds"]
    table6 = ("fmnist", "vesselmnist3d", "pneumoniamnist")
    assert [runtime[(d, "R-DC")] for d in table6] == [425, 237, 199]
    assert [runtime[(d, "DEC")] for d in table6] == [107, 57, 50]
    assert paper_data.rdc_hyperparameters().set_index("method")["count"]["R-DC"] == 4
    datasets = paper_data.rdc_datasets().set_index("dataset")
    assert tuple(datasets.loc["fmnist"]) == (70_000, 10) and tuple(datasets.loc["breastmnist"]) == (780, 3)
    # Figure 12: both start phase 2 at 55.8 %
    assert paper_data.rdc_figure_value("fig12_start_acc") == 55.8
    with pytest.raises(KeyError):
        paper_data.rdc_figure_value("fig99")


def test_every_csv_cites_its_source():
    for path in sorted(paper_data.HERE.glob("*.csv")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), path.name
