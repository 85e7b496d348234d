"""BRB with a contrastive auxiliary task (brb.contrastive): losses by hand, resets, validation, a run, settings."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcutils import resets
from dcutils.brb import contrastive as bc
from dcutils.brb import contrastive_run as cr
from dcutils.brb import contrastive_settings as cs
from dcutils.core import RunConfig, RunContext, get_algorithm
from dcutils.resl.pretext import Splits

torch.set_num_threads(1)


def _net(seed: int = 0, width: float = 1 / 16, projector_width: int = 32) -> bc.ContrastiveNet:
    torch.manual_seed(seed)
    return bc.ContrastiveNet(1, width, (16, 8, 4), projector_width, 1)


def _params(net) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _changed(before: dict, net) -> set[str]:
    return {k for k, v in net.named_parameters() if not torch.equal(before[k], v.detach())}


def _splits(n_train: int = 40, n_test: int = 20, k: int = 4, side: int = 12, seed: int = 0) -> Splits:
    g = torch.Generator().manual_seed(seed)
    x_train, x_test = torch.rand(n_train, 1, side, side, generator=g), torch.rand(n_test, 1, side, side, generator=g)
    return Splits(x_train, torch.arange(n_train) % k, x_test, torch.arange(n_test) % k, torch.tensor([0.5]),
                  torch.tensor([0.3]), k, {})


# ------------------------------------------------------------------------------------ the network
def test_network_has_the_authors_head_and_projector_sizes():
    net = bc.ContrastiveNet(3, 1.0)  # paper sizes: ResNet18 512 -> 512-256-128 (BatchNorm), projector 128-2048-128
    assert [(m.in_features, m.out_features) for m in net.mlp_linears] == [(512, 512), (512, 256), (256, 128)]
    kinds = [type(m).__name__ for m in net.mlp]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    proj = [(m.in_features, m.out_features) for m in net.projector if isinstance(m, torch.nn.Linear)]
    assert proj == [(128, 2048), (2048, 128)] and not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.projector)
    net.eval()
    z = net.encode(torch.rand(2, 3, 32, 32))
    assert z.shape == (2, 128) and net.project(z).shape == (2, 128)
    assert torch.equal(net(torch.zeros(1, 3, 8, 8)), net.encode(torch.zeros(1, 3, 8, 8)))


# ------------------------------------------------------------------------------------ losses (Eq. 14-17)
def _hand_simclr() -> float:
    # h1 = [[1, 0], [0, 1]], h2 = [[1, 0], [1, 0]], tau = 0.5: logits are cos / 0.5 = 2 cos, self excluded.
    # view-1 anchors: [1,0] has pos cos 1, negs cos 0 (h1[1]) and 1 (h2[1]): -log(e^2 / (e^2 + 1 + e^2))
    #                 [0,1] has pos cos 0 (h2[1]), negs 0 and 0:            -log(1 / 3)
    # view-2 anchors: [1,0] (h2[0]) pos h1[0] cos 1, negs h1[1] 0, h2[1] 1:  -log(e^2 / (e^2 + 1 + e^2))
    #                 [1,0] (h2[1]) pos h1[1] cos 0, negs h1[0] 1, h2[0] 1:  -log(1 / (1 + 2 e^2))
    e2 = math.exp(2.0)
    a1, a2 = math.log((2 * e2 + 1) / e2), math.log(3.0)
    b1, b2 = math.log((2 * e2 + 1) / e2), math.log(1 + 2 * e2)
    return (a1 + a2) / 2 + (b1 + b2) / 2  # the authors' loss_a + loss_b (each a mean over its view's anchors)


def test_simclr_loss_is_the_authors_sum_of_both_views_by_hand():
    h1, h2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert float(bc.simclr_loss(h1, h2, 0.5)) == pytest.approx(_hand_simclr(), rel=1e-6)
    # projections are L2-normalised first: scaling rows changes nothing
    assert float(bc.simclr_loss(3 * h1, torch.tensor([[0.5, 0.0], [7.0, 0.0]]), 0.5)) == pytest.approx(
        _hand_simclr(), rel=1e-6)


def _hand_dec() -> float:
    # centroids (0,0), (2,0); view 2 z2 = (0,0), (2,0); view 1 z1 = (1,0), (2,0). Student-t q = 1/(1+d^2), normalised.
    q2 = np.array([[5 / 6, 1 / 6], [1 / 6, 5 / 6]])          # d^2 = 0, 4 and 4, 0
    f = q2.sum(0)                                              # (1, 1)
    p = q2 ** 2 / f
    p = p / p.sum(1, keepdims=True)                            # (25/26, 1/26), (1/26, 25/26)
    q1 = np.array([[1 / 2, 1 / 2], [1 / 6, 5 / 6]])           # d^2 = 1, 1 and 4, 0
    kl = lambda q: float(np.mean(np.sum(p * np.log(p / q), axis=1)))  # noqa: E731  KL(P||Q), mean over samples
    return 0.5 * (kl(q2) + kl(q1))                             # Eq. 15-16: P from view 2, both views' KL averaged


@pytest.mark.parametrize("method", ["dec", "idec", "dcn"])
def test_contrastive_cluster_losses_by_hand(method):
    mu = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    z1, z2 = torch.tensor([[1.0, 0.0], [2.0, 0.0]]), torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    h1, h2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    w = bc.AUTHORS["cluster_weight"][method]
    centroids = torch.nn.Parameter(mu.clone()) if method != "dcn" else mu.clone()
    total, clr, cluster, labels = (v.detach() for v in bc.contrastive_clustering_loss(
        method, z1, z2, centroids, h1, h2, temperature=0.5, cluster_weight=w))
    assert labels.tolist() == [0, 1]  # view 2's nearest centroids
    if method == "dcn":
        # Eq. 17 as the authors' code: mean over N x K entries of d^2 x one-hot, the two views averaged:
        # view 2 sits on its centroids (0); view 1: d^2 = 1 and 0 -> (1 + 0) / (2 * 2) = 0.25; mean 0.125
        assert float(cluster) == pytest.approx(0.125, rel=1e-6)
    else:
        assert float(cluster) == pytest.approx(_hand_dec(), rel=1e-5)
    if method == "dec":  # DEC has no auxiliary term
        assert float(clr) == 0.0 and float(total) == pytest.approx(w * float(cluster), rel=1e-6)
    else:
        assert float(clr) == pytest.approx(_hand_simclr(), rel=1e-6)
        assert float(total) == pytest.approx(_hand_simclr() + w * float(cluster), rel=1e-6)
    assert (w, method) in {(1.0, "dec"), (1.0, "idec"), (1e-4, "dcn")}  # the authors' cluster_loss_weight


def test_idec_and_dcn_need_the_projections():
    z = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="projections"):
        bc.contrastive_clustering_loss("idec", z, z, torch.ones(2, 2), cluster_weight=1.0)


def test_lr_warm_up_is_the_authors_linear_schedule():
    assert bc.lr_factor(0, 20, 0.01) == pytest.approx(0.01)
    assert bc.lr_factor(10, 20, 0.01) == pytest.approx(0.505)
    assert bc.lr_factor(20, 20, 0.01) == 1.0 and bc.lr_factor(500, 20, 0.01) == 1.0 and bc.lr_factor(0, 0, 0.01) == 1


# ------------------------------------------------------------------------------------ resets
def test_block_factors_follow_the_authors_step_and_cap():
    assert bc.block_factors("4", 0.7, 0.2) == {"layer4": 0.9}      # Table 7: block 4 at 0.9
    assert bc.block_factors("4+3", 0.7, 0.2) == {"layer4": 0.9}    # block 3 at 1.1 -> capped: not reset
    assert bc.block_factors("1+2", 0.7, 0.2) == {"layer2": 0.9}    # deepest named block first
    assert bc.block_factors("4+3", 0.7, 0.1) == {"layer4": 0.8, "layer3": 0.9}
    assert bc.block_factors("all", 0.7, 0.2) == {"all": 0.7} and bc.block_factors("none", 0.7, 0.2) == {}
    with pytest.raises(ValueError, match="reset_blocks"):
        bc.block_factors("2", 0.7, 0.2)


def _expected_blocks(choice: str) -> set[str]:
    return {"none": set(), "1": {"layer1"}, "4": {"layer4"}, "1+2": {"layer1", "layer2"},
            "4+3": {"layer4", "layer3"}, "all": {"conv1", "layer1", "layer2", "layer3", "layer4"}}[choice]


@pytest.mark.parametrize("reset_mlp", [True, False])
@pytest.mark.parametrize("choice", bc.RESET_BLOCKS)
def test_each_block_choice_changes_exactly_the_named_blocks(choice, reset_mlp):
    net = _net()
    before, buffers = _params(net), {k: v.clone() for k, v in net.named_buffers()}
    bc.soft_reset_network(net, reset_blocks=choice, reset_mlp=reset_mlp, reset_projector=False, alpha=0.7,
                          alpha_step=0.05, generator=torch.Generator().manual_seed(1))
    changed = _changed(before, net)
    backbone = {k for k in changed if k.startswith("backbone.")}
    convs = {k for k, p in net.named_parameters() if k.startswith("backbone.") and p.ndim == 4}
    named = {k for k in convs if k.split(".")[1] in _expected_blocks(choice)}
    assert backbone == named  # every convolution of the named blocks (shortcuts too), nothing else, no BatchNorm
    for block in _expected_blocks(choice) - {"conv1", "layer1"}:  # a strided block's shortcut convolution too
        assert f"backbone.{block}.0.shortcut.0.weight" in backbone
    mlp_changed = {k for k in changed if k.startswith("mlp.")}
    linears = [i for i, m in enumerate(net.mlp) if isinstance(m, torch.nn.Linear)]
    expected_mlp = {f"mlp.{i}.{p}" for i in linears[:-1] for p in ("weight", "bias")} if reset_mlp else set()
    assert mlp_changed == expected_mlp  # the embedding layer (last Linear) never
    assert not {k for k in changed if k.startswith("projector.")}
    assert all(torch.equal(buffers[k], v) for k, v in net.named_buffers())  # running statistics untouched


def test_block_four_is_a_soft_reset_at_point_nine():
    net = _net()
    before = _params(net)
    bc.soft_reset_network(net, reset_blocks="4", reset_mlp=False, reset_projector=False, alpha=0.7, alpha_step=0.2,
                          generator=torch.Generator().manual_seed(5))
    twin = _net()
    g = torch.Generator().manual_seed(5)
    for layer in resets.resettable_layers(twin.backbone.layer4):  # Eq. 1 with phi drawn in the same order
        phi_w, _ = resets.sample_initial_parameters(layer, generator=g)
        layer.weight.data = 0.9 * layer.weight.data + 0.1 * phi_w
    for (k, p), (_, q) in zip(net.named_parameters(), twin.named_parameters()):
        assert torch.allclose(p, q, atol=1e-7), k
    assert _changed(before, net) == {k for k, p in net.named_parameters() if k.startswith("backbone.layer4.")
                                     and p.ndim == 4}


def test_projector_reset_changes_every_projector_layer_at_alpha_and_nothing_else():
    net = _net()
    before = _params(net)
    done = bc.soft_reset_network(net, reset_blocks="none", reset_mlp=False, reset_projector=True, alpha=0.7,
                                 alpha_step=0.2, generator=torch.Generator().manual_seed(3))
    assert done == {"projector": 0.7}
    assert _changed(before, net) == {k for k in before if k.startswith("projector.")}
    g = torch.Generator().manual_seed(3)  # Eq. 1 by hand: theta' = 0.7 theta + 0.3 phi, phi drawn layer by layer
    twin = _net()
    linears = [i for i, m in enumerate(twin.projector) if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 2
    for i in linears:
        phi_w, phi_b = resets.sample_initial_parameters(twin.projector[i], generator=g)
        assert torch.allclose(net.projector[i].weight, 0.7 * twin.projector[i].weight + 0.3 * phi_w, atol=1e-7)
        assert torch.allclose(net.projector[i].bias, 0.7 * twin.projector[i].bias + 0.3 * phi_b, atol=1e-7)


@pytest.mark.parametrize("method", ["dec", "idec", "dcn"])
@pytest.mark.parametrize("reset_projector", [True, False])
def test_a_brb_step_in_the_loop_resets_the_projector_only_when_asked(reset_projector, method):
    s = _splits()
    net = _net()
    before = _params(net)
    res = bc.train_contrastive_clustering(
        net, s, method=method, brb=True, epochs=2, batch_size=8, lr=0.0, cluster_weight=1.0, reset_interval=1,
        reset_blocks="4", reset_mlp=True, reset_projector=reset_projector, n_init=2, warmup_epochs=0,
        generator=torch.Generator().manual_seed(0))
    assert res.brb_epochs == [1] and [r["brb"] for r in res.rows] == [False, False, True]
    changed = _changed(before, net)  # lr 0: only the BRB step moves parameters
    proj = {k for k in before if k.startswith("projector.")}
    assert (proj <= changed) if reset_projector else not (proj & changed)
    mlp = {k for k in changed if k.startswith("mlp.")}
    assert mlp == {"mlp.0.weight", "mlp.0.bias", "mlp.3.weight", "mlp.3.bias"}
    assert {k.split(".")[1] for k in changed if k.startswith("backbone.")} == {"layer4"}
    assert res.resets == ({"mlp": 0.7, "layer4": 0.9, "projector": 0.7} if reset_projector
                          else {"mlp": 0.7, "layer4": 0.9})
    assert res.centroids.shape == (4, 4) and res.labels_train.shape == (40,) and len(res.steps) == 1


# ------------------------------------------------------------------------------------ validation
def _cfg(**params) -> RunConfig:
    base = {"n_train": 60, "n_test": 30, "width": 1 / 16, "batch_size": 12, "mlp": [16, 8, 8], "projector_width": 16,
            "pretrain_epochs": 1, "cluster_epochs": 2, "reset_interval": 1, "warmup_epochs": 1, "kmeans_n_init": 2,
            "sl_warmup_epochs": 1, "sl_epochs": 1, "sl_batch": 30, "threshold": 0.2, "precision": "fp32",
            "pretrain_seed": 0}
    return RunConfig.make("brb.contrastive", "fmnist", 0, "smoke", **{**base, **params})


@pytest.mark.parametrize("params, match", [
    ({"reset_blocks": "2"}, "reset_blocks"), ({"reset_blocks": "4,3"}, "reset_blocks"),
    ({"method": "kmeans"}, "method"), ({"alpha": 1.5}, "alpha"), ({"batch_size": 1}, "batch_size"),
    ({"batch_size": 0}, "batch_size"), ({"pseudo_label_bn": "batch"}, "pseudo_label_bn"),
    ({"brb": "yes"}, "brb"), ({"reset_mlp": 1}, "reset_mlp"), ({"lr": -1.0}, "lr"), ({"width": 0.0}, "width"),
    ({"mlp": [16, 0]}, "mlp"), ({"warmup_epochs": -1}, "warmup_epochs"), ({"pretrain_seed": -2}, "pretrain_seed"),
    ({"precision": "fp8"}, "precision"), ({"threshold": 2.0}, "threshold"),
])
def test_invalid_parameters_are_rejected_with_their_name(params, match):
    with pytest.raises(ValueError, match=match):
        cr.check_config(_cfg(**params))


def test_validation_names_the_data_and_the_unknown_parameter():
    with pytest.raises(ValueError, match="brb.contrastive runs on"):
        cr.check_config(RunConfig.make("brb.contrastive", "usps", 0, "smoke"))
    with pytest.raises(ValueError, match="unknown parameter"):
        RunConfig.make("brb.contrastive", "fmnist", 0, "smoke", reset_convlayers="4")
    assert cr.check_config(_cfg(method="dcn")) == {"lr": 1e-2, "cluster_weight": 1e-4}
    assert cr.check_config(_cfg(method="idec", lr=5e-4)) == {"lr": 5e-4, "cluster_weight": 1.0}


# ------------------------------------------------------------------------------------ the registered run
def test_smoke_run_records_history_health_and_shares_pretraining(results):
    algo = get_algorithm("brb.contrastive")
    cfg = _cfg(method="dcn", brb=True)
    out = algo.fn(cfg, RunContext(cfg, torch.device("cpu")))
    h = out.history
    assert list(h.columns) == list(cr.HISTORY_COLUMNS)
    cl, sl = h[h["stage"] == "cluster"], h[h["stage"] == "selflabel"]
    assert cl["epoch"].tolist() == [0, 1, 2] and sl["epoch"].tolist() == [0, 1]
    assert cl["brb"].tolist() == [False, False, True] and out.meta["brb_epochs"] == [1]
    assert h["min_cluster_share"].between(0, 1).all() and h["empty_clusters"].notna().all()
    assert cl["steps"].tolist() == [0, 5, 10]  # 60 images, batch 12: 5 steps per epoch
    health = out.meta["health"]
    assert isinstance(health["flagged"], bool) and isinstance(health["reasons"], list)
    assert health["flagged"] == bool(health["reasons"]) and "unconfident_clusters_start" in health
    assert {"contrastive_loss", "cluster_loss", "sl_loss"} >= set(health["loss_growth"])
    for key in ("acc", "acc_pretrain", "acc_cluster", "acc_selflabel", "head_agreement", "brb_overhead"):
        assert 0 <= out.final[key] <= 1 or key == "brb_overhead", key
    assert out.final["acc"] == out.final["acc_selflabel"] and out.final["acc_cluster"] == cl["acc"].iloc[-1]
    assert out.final["acc_pretrain"] == cl["acc"].iloc[0]
    assert out.meta["resets"] == {"mlp": 0.7, "layer4": 0.9}  # the projector is not reset by default (the configs)
    assert not out.meta["pretraining"]["from_cache"]
    assert len(list((results / "pretrained" / "fmnist").glob("brbclr-*.pt"))) == 1
    # the plain run of the same seed starts from the same (cached) network; self-labeling changes no clustering row
    plain = algo.fn(cfg.replace(brb=False, self_labeling=False), RunContext(cfg, torch.device("cpu")))
    assert plain.meta["pretraining"]["from_cache"] and plain.meta["pretraining"]["key"] == out.meta["pretraining"][
        "key"]
    assert plain.history["acc"].iloc[0] == cl["acc"].iloc[0] and not plain.history["brb"].any()
    assert set(plain.history["stage"]) == {"cluster"} and math.isnan(plain.final["acc_selflabel"])
    again = algo.fn(cfg.replace(self_labeling=False), RunContext(cfg, torch.device("cpu")))
    cols = ["epoch", "acc", "nmi", "ari", "loss", "contrastive_loss", "cluster_loss", "lr", "brb", "steps",
            "min_cluster_share", "empty_clusters"]
    np.testing.assert_array_equal(again.history[cols].astype(float).to_numpy(), cl[cols].astype(float).to_numpy())


# ------------------------------------------------------------------------------------ settings
def test_quick_protocol_meets_the_brb_floors_and_tab17_shares_tab01():
    d = cs.design("quick")
    assert d["steps_between_brb"] >= 440 and d["brb_steps"] >= 8 and d["steps_after_last_brb"] >= 440
    assert cs.item_configs("brb/tab17", "quick") == cs.item_configs("brb/tab01", "quick") == cs.item_configs(
        "brb/tab16", "quick")
    main = cs.main_configs("quick")
    assert len(main) == 3 * 2 * 3 and {c["method"] for c in main} == {"dec", "idec", "dcn"}
    assert all(c["self_labeling"] and c["n_train"] == 3000 and c["n_test"] == 2000 and c["width"] == 0.125
               for c in main)
    tab11 = cs.item_configs("brb/tab11", "quick")
    shared = [c for c in tab11 if c in set(main)]
    assert len(tab11) == 9 and len(shared) == 3 and all(c["reset_blocks"] == "4" for c in shared)
    assert {c["reset_blocks"] for c in tab11} == {"none", "4", "all"}
    assert d["distinct_runs"] == 24  # 18 main + tab11: none and all, 3 seeds each (the projector row: paper)
    assert not any(c["reset_projector"] for c in tab11)
    assert any(c["reset_projector"] for c in cs.item_configs("brb/tab11", "paper"))
    paper = cs.main_configs("paper")
    assert {c.seed for c in paper} == set(bc.AUTHORS["seeds"]) and {c.dataset for c in paper} == {"cifar10",
                                                                                                   "cifar100-20"}
    assert all(c["batch_size"] == 512 and c["cluster_epochs"] == 1000 and c["pretrain_epochs"] == 1000 for c in paper)
    with pytest.raises(ValueError, match="unknown contrastive item"):
        cs.item_configs("brb/tab07", "quick")


def test_every_profile_builds_valid_configs():
    for profile in ("smoke", "quick", "paper"):
        for item in cs.ITEMS:
            for c in cs.item_configs(item, profile):
                assert cr.check_config(c)["lr"] == bc.AUTHORS["cluster_lr"][c["method"]]
