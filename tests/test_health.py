"""Run health (dcutils.health): the flags a run records about its own failure."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from dcutils import brb, health
from dcutils.health import cluster_sizes
from dcutils.models import brb_autoencoder


def _history(shares, losses=None, empty=None) -> pd.DataFrame:
    n = len(shares)
    return pd.DataFrame({"epoch": range(n), "min_cluster_share": shares,
                         "empty_clusters": empty if empty is not None else [0] * n,
                         "cluster_loss": losses if losses is not None else [math.nan] + [1.0] * (n - 1)})


def test_cluster_sizes_by_hand():
    assert cluster_sizes(np.array([0, 0, 1, 3, 3, 3]), 4) == {"min_cluster_share": 0.0, "empty_clusters": 1}
    assert cluster_sizes(np.array([0, 1, 1, 0]), 2) == {"min_cluster_share": 0.5, "empty_clusters": 0}
    assert cluster_sizes(torch.tensor([2, 2, 0]), 3) == {"min_cluster_share": 0.0, "empty_clusters": 1}
    from dcutils.brb import train as brb_train  # brb's loop imports it from dcutils.health and re-exports it

    assert brb_train.cluster_sizes is cluster_sizes


def test_small_cluster_rule_fires_above_ten_percent_of_the_epochs_only():
    # 20 epochs: 2 below 1 % (10 %) is within the limit, 3 (15 %) is not
    ok = _history([0.1] * 18 + [0.005] * 2)
    bad = _history([0.1] * 17 + [0.005] * 3)
    assert not health.assess(ok)["flagged"]
    out = health.assess(bad)
    assert out["flagged"] and out["small_cluster_epochs"] == pytest.approx(0.15)
    assert "smallest cluster below 1%" in out["reasons"][0] and "15%" in out["reasons"][0]
    assert out["min_cluster_share"] == 0.005 and out["final_min_cluster_share"] == 0.005


def test_loss_rule_compares_with_the_first_epoch():
    n = 21  # row 0 before training, then 20 epochs
    rising = [math.nan, 3e-4] + [0.2] * (n - 2)  # DEC's KL from scratch: near 0, then clusters form
    out = health.assess(_history([0.1] * n, rising))
    assert out["flagged"] and out["loss_growth"]["cluster_loss"] == pytest.approx(0.2 / 3e-4)
    # such a loss is left out by the caller (brb.dc checks no KL)
    assert not health.assess(_history([0.1] * n, rising), loss_columns=())["flagged"]
    diverging = [math.nan, 1.0, 1.0] + [1.0 * 2 ** i for i in range(n - 3)]
    out = health.assess(_history([0.1] * n, diverging))
    assert out["flagged"] and "cluster loss grew to" in out["reasons"][0]
    assert out["loss_growth"]["cluster_loss"] == pytest.approx(2 ** (n - 4))
    # a column not asked for is not checked
    assert not health.assess(_history([0.1] * n, diverging), loss_columns=())["flagged"]


def test_flag_helpers_name_the_reason_and_mark_the_cell():
    flagged = {"health": health.assess(_history([0.0] * 10))}
    fine = {"health": health.assess(_history([0.2] * 10))}
    assert health.is_flagged(flagged) and not health.is_flagged(fine) and not health.is_flagged({})
    assert health.assess(_history([0.0] * 10))["reasons"][0].startswith("smallest cluster below 1%")
    assert health.flag_mark(True) and health.flag_mark(False) == ""
    with pytest.raises(TypeError, match="DataFrame"):
        health.assess({"min_cluster_share": [0.1]})


def _blobs(n_per: int = 40):
    g = torch.Generator().manual_seed(0)
    protos = torch.randn(4, 1, 8, 8, generator=g) * 2
    y = torch.arange(4).repeat_interleave(n_per)
    x = protos[y] + 0.4 * torch.randn(len(y), 1, 8, 8, generator=g)
    return ((x - x.mean()) / x.std()).contiguous(), y


def _dec_health(pretrain_epochs: int) -> dict:
    x, y = _blobs()
    torch.manual_seed(0)
    model = brb_autoencoder(64, 4)
    if pretrain_epochs:
        brb.pretrain_autoencoder(model, x, epochs=pretrain_epochs, batch_size=32,
                                 generator=torch.Generator().manual_seed(0))
    r = brb.train_clustering(model, x, y, method="dec", variant="none", cluster_epochs=10, batch_size=32,
                             augment=False, metrics_subsample=None, generator=torch.Generator().manual_seed(0))
    assert {"min_cluster_share", "empty_clusters"} <= set(r.history.columns)
    return health.assess(r.history, loss_columns=brb.run.HEALTH_LOSSES["dec"])


def test_a_run_built_to_collapse_is_flagged_and_a_healthy_one_is_not():
    """DEC on four separated blobs: from a random network every sample soon sits in one or two clusters (the
    collapse BRB's paper reports for DEC without pretraining); after 20 epochs of pretraining all four stay."""
    collapsed = _dec_health(pretrain_epochs=0)
    assert collapsed["flagged"] and collapsed["max_empty_clusters"] >= 1
    assert "smallest cluster below 1%" in collapsed["reasons"][0]
    healthy = _dec_health(pretrain_epochs=20)
    assert not healthy["flagged"] and healthy["reasons"] == []
    assert healthy["min_cluster_share"] > 0.2 and healthy["max_empty_clusters"] == 0


def _selflabel_history(unconfident) -> pd.DataFrame:
    n = len(unconfident)
    return pd.DataFrame({"epoch": range(n), "min_cluster_share": [0.08] * n, "empty_clusters": [0] * n,
                         "loss": [math.nan] + [0.2] * (n - 1), "unconfident_clusters": unconfident})


def test_unconfident_cluster_rule_fires_when_a_run_starts_or_ends_with_one():
    healthy = _selflabel_history([0, 0, 1, 0])  # one in between: not flagged
    out = health.assess(healthy, unconfident_column="unconfident_clusters")
    assert not out["flagged"] and out["unconfident_clusters_start"] == 0 and out["unconfident_clusters_end"] == 0
    starts = health.assess(_selflabel_history([3, 1, 0, 0]), unconfident_column="unconfident_clusters")
    assert starts["flagged"] and starts["unconfident_clusters_start"] == 3
    assert starts["reasons"] == ["starts with 3 clusters without a confident sample (no pseudo-label: it can only "
                                 "shrink)"]
    both = health.assess(_selflabel_history([1, 2, 2]), unconfident_column="unconfident_clusters")
    assert [r.split(" with")[0] for r in both["reasons"]] == ["starts", "ends"] and "1 cluster without" in \
        both["reasons"][0]
    # the rule applies only when asked for (other papers' histories have no such column)
    assert not health.assess(_selflabel_history([3, 3]))["flagged"]
    assert "unconfident_clusters_start" not in health.assess(_selflabel_history([3, 3]))
    # a missing column or NaN rows: not flagged, NaN counts
    rule = health.unconfident_clusters(_selflabel_history([math.nan, math.nan]))
    assert rule["reasons"] == [] and math.isnan(rule["unconfident_clusters_start"])
    assert health.unconfident_clusters(pd.DataFrame({"epoch": [0]}))["reasons"] == []
