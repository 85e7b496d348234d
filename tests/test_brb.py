"""BRB training (dcutils.brb): losses, the BRB step, augmentation, the cached brb.dc run and the shared grid."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcutils import brb, experiments, kmeans, profiles, resets
from dcutils.brb import settings as brb_exp
from dcutils.data import Dataset
from dcutils.experiments import notebook_settings
from dcutils.models import brb_autoencoder, embed
from dcutils.runs import NonFiniteLossError, RunConfig, get_run, load_cached

K = 4


def _blobs(n_per: int = 40, seed: int = 0) -> Dataset:
    """4 classes of 1x8x8 'images': a prototype per class plus noise, z-scored like the loaders do."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(K, 1, 8, 8, generator=g) * 2
    y = torch.arange(K).repeat_interleave(n_per)
    x = protos[y] + 0.4 * torch.randn(len(y), 1, 8, 8, generator=g)
    x = (x - x.mean()) / x.std()
    return Dataset(x=x.contiguous(), y=y, name="toy",
                   info={"n_classes": K, "display_name": "toy", "channel_mean": [0.0], "channel_std": [1.0]})


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(brb.run, "_load", lambda name, split, subsample, device: _blobs())


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return brb_autoencoder(64, K)


# ---------------------------------------------------------------------------- losses


def test_soft_assignment_is_students_t_eq3():
    z, mu = torch.randn(5, 3), torch.randn(K, 3)
    q = brb.dec_soft_assignment(z, mu)
    num = 1.0 / (1.0 + ((z[:, None] - mu[None]) ** 2).sum(2))
    torch.testing.assert_close(q, num / num.sum(1, keepdim=True))


def test_target_distribution_eq4_sharpens_and_is_detached():
    q = torch.softmax(torch.randn(20, K), 1).requires_grad_()
    p = brb.dec_target_distribution(q)
    w = q.detach() ** 2 / q.detach().sum(0)
    torch.testing.assert_close(p, w / w.sum(1, keepdim=True))
    assert not p.requires_grad
    # sharper than q: the largest entry of each row grows
    assert bool((p.max(1).values >= q.detach().max(1).values - 1e-6).all())


def test_dcn_centroid_update_equals_the_per_sample_running_mean_eq7():
    g = torch.Generator().manual_seed(1)
    c, z = torch.randn(K, 3, generator=g), torch.randn(30, 3, generator=g)
    labels = torch.randint(0, K - 1, (30,), generator=g)  # cluster K-1 stays empty
    counts = torch.tensor([1.0, 3.0, 2.0, 5.0])
    new_c, new_n = brb.dcn_update_centroids(c, counts, z, labels)
    ref_c, ref_n = c.clone(), counts.clone()
    for zi, j in zip(z, labels):  # Eq. 7, one sample at a time
        ref_n[j] += 1
        ref_c[j] -= (ref_c[j] - zi) / ref_n[j]
    torch.testing.assert_close(new_c, ref_c)
    torch.testing.assert_close(new_n, ref_n)
    torch.testing.assert_close(new_c[K - 1], c[K - 1])


@pytest.mark.parametrize("method, weights", [("dec", (0.0, 1.0)), ("idec", (1.0, 0.1)), ("dcn", (1.0, 0.025))])
def test_clustering_loss_uses_table5_weights(method, weights):
    model, x = _model(), _blobs().x[:32]
    c = embed(model, x)[:K].clone()
    total, recon, cluster, labels = brb.clustering_loss(method, model, x, c)
    total, recon, cluster = (float(t.detach()) for t in (total, recon, cluster))
    assert math.isclose(total, weights[0] * recon + weights[1] * cluster, rel_tol=1e-5)
    assert labels.shape == (32,)
    if method == "dec":
        assert recon == 0.0


# ---------------------------------------------------------------------------- the BRB step


def _setup(method: str):
    data = _blobs()
    model = _model()
    x = data.x
    c0 = embed(model, x)[torch.tensor([0, 40, 80, 120])].clone()
    centroids = torch.nn.Parameter(c0.clone()) if method != "dcn" else c0.clone()
    params = [*model.parameters()] + ([centroids] if method != "dcn" else [])
    opt = torch.optim.Adam(params, lr=1e-3)
    total, *_ = brb.clustering_loss(method, model, x, centroids)
    total.backward()
    opt.step()  # Adam now holds moments for every parameter
    return data, model, centroids, opt


def test_one_brb_step_changes_embedding_and_assignments_and_nothing_else():
    data, model, centroids, opt = _setup("idec")
    x = data.x
    before = {k: v.clone() for k, v in model.state_dict().items()}
    z_before = embed(model, x)
    labels_before = kmeans.assign(z_before, centroids.detach())
    info = brb.brb_step(model, centroids, opt, x, alpha=0.8, method="idec", generator=torch.Generator().manual_seed(0))
    z_after = embed(model, x)
    labels_after = kmeans.assign(z_after, centroids.detach())
    assert not torch.allclose(z_before, z_after), "the soft reset must change the embedding"
    assert not torch.equal(labels_before, labels_after), "reclustering must change some assignments"
    reset = {id(p) for layer in resets.brb_reset_layers(model) for p in layer.parameters()}
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        assert changed == (id(p) in reset), f"{name}: changed={changed}"
    assert not any("decoder" in n for n, p in model.named_parameters() if id(p) in reset)
    # momentum reset: the centroids' Adam moments are zero, the network's are not
    assert float(opt.state[centroids]["exp_avg"].abs().sum()) == 0.0
    assert float(opt.state[centroids]["exp_avg_sq"].abs().sum()) == 0.0
    assert float(opt.state[model.encoder[0].weight]["exp_avg"].abs().sum()) > 0
    assert info.ratio_before.shape == info.ratio_after.shape == (len(x),)
    assert info.total == pytest.approx(info.t_reset + info.t_embed + info.t_cluster + info.t_momentum)


def test_recluster_only_keeps_the_network_and_dcn_counts_restart():
    data, model, centroids, opt = _setup("dcn")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    counts = torch.full((K,), 7.0)
    old = centroids.clone()
    brb.brb_step(model, centroids, opt, data.x, method="dcn", reset=None, counts=counts,
                 generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not torch.equal(old, centroids)
    assert torch.equal(counts, torch.ones(K))


def test_disentangled_step_leaves_the_model_alone():
    data, model, centroids, opt = _setup("dec")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    old = centroids.detach().clone()
    brb.disentangled_step(model, centroids, opt, data.x, method="dec", generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not torch.equal(old, centroids.detach())


def test_step_validates_its_arguments():
    data, model, centroids, opt = _setup("idec")
    with pytest.raises(ValueError, match="alpha"):
        brb.brb_step(model, centroids, opt, data.x, alpha=1.5)
    with pytest.raises(ValueError, match="fewer than K"):
        brb.brb_step(model, centroids, opt, data.x[:2])
    with pytest.raises(ValueError, match="recluster"):
        brb.brb_step(model, centroids, opt, data.x, recluster="dbscan")


def test_reset_epochs_follow_the_paper():
    assert brb.reset_epochs(400, 20) == list(range(20, 400, 20)) and len(brb.reset_epochs(400, 20)) == 19
    with pytest.raises(ValueError):
        brb.reset_epochs(10, 0)


# ---------------------------------------------------------------------------- augmentation


def test_grayscale_augmenter_moves_in_the_zscored_black_background():
    x = torch.zeros(6, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0  # a bright square on black, in [0, 1]
    mean, std = float(x.mean()), float(x.std())
    data = Dataset(x=(x - mean) / std, y=torch.zeros(6, dtype=torch.long), name="usps",
                   info={"n_classes": 1, "channel_mean": [mean], "channel_std": [std]})
    aug = brb.make_augmenter(data)
    out = aug(data.x, torch.Generator().manual_seed(0))
    assert out.shape == data.x.shape
    assert not torch.allclose(out, data.x)
    corners = out[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    torch.testing.assert_close(corners, torch.full_like(corners, -mean / std), atol=1e-4, rtol=0)
    again = aug(data.x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_gtsrb_gets_the_colour_augmentation_of_table6():
    assert brb.setup_for("gtsrb5").color is not None and brb.setup_for("usps").affine is not None
    x = torch.rand(8, 3, 32, 32)
    mean, std = x.mean((0, 2, 3)), x.std((0, 2, 3))
    data = Dataset(x=(x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), y=torch.zeros(8, dtype=torch.long),
                   name="gtsrb5", info={"n_classes": 5, "channel_mean": mean.tolist(), "channel_std": std.tolist()})
    out = brb.make_augmenter(data)(data.x, torch.Generator().manual_seed(0))
    assert out.shape == data.x.shape
    unit = out * std.view(1, 3, 1, 1) + mean.view(1, 3, 1, 1)
    assert float(unit.min()) >= -1e-4 and float(unit.max()) <= 1 + 1e-4  # came from [0, 1] images


# ---------------------------------------------------------------------------- the registered run


TINY = dict(pretrain_epochs=2, cluster_epochs=4, reset_interval=2, subsample=None, batch_size=64,
            metrics_subsample=None, kmeans_n_init=2)


def test_variants_share_one_pretrained_network_and_cache(results, toy, monkeypatch):
    calls = []
    real = brb.pretrain_autoencoder
    monkeypatch.setattr(brb.pretrain, "pretrain_autoencoder", lambda *a, **k: calls.append(1) or real(*a, **k))
    cfgs = [RunConfig.make("brb.dc", "toy", seed=0, profile="smoke", method=m, variant=v, **TINY)
            for m in ("dec", "dcn") for v in ("none", "brb")]
    out = [get_run(c) for c in cfgs]
    assert len(calls) == 1, "every variant of a data set and seed starts from the same pretrained network"
    assert len({r.history.loc[0, "acc"] for r in out}) == 1, "same network, same initial k-means"
    for r in out:
        assert list(r.history.columns) == list(brb.HISTORY_COLUMNS)
        assert r.history["epoch"].tolist() == list(range(5))
        assert load_cached(r.config) is not None
    brb_run = out[1]
    assert brb_run.meta["brb_epochs"] == [2] and brb_run.history["brb"].sum() == 1
    assert 0 <= brb_run.final["brb_overhead"] < 1 and "ratio_before" in brb_run.arrays
    assert math.isnan(out[0].history["t_reset"].iloc[1:].replace(0.0, np.nan).max())  # no steps in the plain run


def test_nan_loss_stops_the_run_and_caches_nothing(results, toy):
    # an absurd learning rate blows the weights up: the loss becomes inf / NaN in the first epoch
    cfg = RunConfig.make("brb.dc", "toy", seed=0, profile="smoke", method="idec", variant="none",
                         **{**TINY, "pretrain": False, "lr": 1e30})
    with pytest.raises(NonFiniteLossError, match="epoch 1"):
        get_run(cfg)
    assert load_cached(cfg) is None


# ---------------------------------------------------------------------------- the shared grid


def test_grid_items_share_runs_on_the_profiles_data():
    tab13 = set(experiments.configs_for(notebook_settings("brb/tab13", "quick", {})))
    quick = brb_exp.GRID["quick"]
    assert len(tab13) == 24 * len(quick["datasets"]) * len(quick["seeds"])
    for item in ("brb/fig01", "brb/fig04", "brb/fig05", "brb/fig07", "brb/headline"):
        assert set(experiments.configs_for(notebook_settings(item, "quick", {}))) <= tab13, item
    mnist = next(c for c in tab13 if c.dataset == "mnist")
    assert mnist["split"] == "test" and mnist.data_fingerprint == profiles.data_spec("quick", "mnist").fingerprint


def test_an_item_about_a_data_set_quick_does_not_run_names_its_substitute():
    fig02 = notebook_settings("brb/fig02", "quick", {})  # GTSRB in the paper
    assert profiles.data_spec("quick", "gtsrb5") is None
    assert brb_exp.grid_datasets(fig02) == [fig02["substitute"]] == ["usps"]
    label = profiles.data_spec("quick", "mnist").label(2_000)
    assert label == "MNIST (test split only, 10,000 of 70,000; subsample 2,000)"
