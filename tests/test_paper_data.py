from dcutils.paper_data import brb_variants


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
