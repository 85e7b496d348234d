"""BRB training (dcutils.brb): losses, the BRB step, augmentation, the cached brb.dc run and the shared grid."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcutils import brb, data, experiments, kmeans, profiles, resets
from dcutils.brb import settings as brb_exp
from dcutils.data import Dataset, load_dataset
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
    g = torch.Generator().manual_seed(0)
    q = torch.softmax(torch.randn(20, K, generator=g), 1).requires_grad_()
    p = brb.dec_target_distribution(q)
    w = q.detach() ** 2 / q.detach().sum(0)
    torch.testing.assert_close(p, w / w.sum(1, keepdim=True))
    assert not p.requires_grad
    # sharper than q where the clusters are equally frequent (equal column sums: every row is a cyclic shift
    # of one distribution, each shift equally often), so Eq. 4 is q² renormalised: each row's largest entry grows
    base = torch.softmax(torch.randn(K, generator=g), 0)
    balanced = torch.stack([base.roll(i % K) for i in range(4 * K)])
    sharp = brb.dec_target_distribution(balanced)
    assert bool((sharp.max(1).values > balanced.max(1).values).all())


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


# ------------------------------------------------------------------ the authors' code where the text is silent


def test_dcn_loss_is_a_mean_over_n_times_k_entries_by_hand():
    # 3 samples, K = 2; squared distances to the assigned centroid: 0, 1, 2 (sum 3)
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    c = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    assert float(brb.dcn_loss(z, c, labels)) == pytest.approx(3 / 6)  # default: the authors' N x K entries
    assert float(brb.dcn_loss(z, c, labels, dcn_loss_mean="entries")) == pytest.approx(3 / 6)
    assert float(brb.dcn_loss(z, c, labels, dcn_loss_mean="samples")) == pytest.approx(3 / 3)
    # second view z + (1, 0): distances 1, 2, 1 (sum 4) to the clean view's centroids; the views are averaged
    z_aug = z + torch.tensor([1.0, 0.0])
    assert float(brb.dcn_loss(z, c, labels, z_aug)) == pytest.approx((3 / 6 + 4 / 6) / 2)
    assert float(brb.dcn_loss(z, c, labels, z_aug, dcn_loss_mean="samples")) == pytest.approx((3 / 3 + 4 / 3) / 2)
    with pytest.raises(ValueError, match="dcn_loss_mean"):
        brb.dcn_loss(z, c, labels, dcn_loss_mean="batch")


def test_clustering_loss_defaults_to_the_authors_dcn_normalisation():
    model, x = _model(), _blobs().x[:32]
    c = embed(model, x)[:K].clone()
    x_aug = x.flip(-1)
    _, _, authors, _ = brb.clustering_loss("dcn", model, x, c, x_aug)
    _, _, per_sample, _ = brb.clustering_loss("dcn", model, x, c, x_aug, dcn_loss_mean="samples")
    assert float(authors.detach()) == pytest.approx(float(per_sample.detach()) / K, rel=1e-6)


class _Linear(torch.nn.Module):
    """encode(x) = x @ W, recording the mode it was called in."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)
        self.modes = []

    def encode(self, x):
        self.modes.append(self.training)
        return x @ self.w


def _pass_by_hand(x, w, c0, perm, batch_size, drop_last):
    """The authors' pass in numpy: per mini-batch, nearest centroid, c_j <- (100 c_j + batch mean_j) / 101."""
    x, w, c = x.double().numpy(), w.double().numpy(), c0.double().numpy().copy()
    stop = len(perm) - len(perm) % batch_size if drop_last else len(perm)
    for s in range(0, stop, batch_size):
        z = x[perm[s : s + batch_size]] @ w
        labels = ((z[:, None, :] - c[None]) ** 2).sum(2).argmin(1)
        for j in range(len(c)):
            if (labels == j).any():
                c[j] = (100 * c[j] + z[labels == j].mean(0)) / 101
    return c


def test_dcn_centroid_pass_moves_centroids_toward_minibatch_means_at_rate_1_101():
    g = torch.Generator().manual_seed(3)
    x, w = 10 * torch.randn(7, 2, generator=g), torch.tensor([[1.0, 0.5], [-0.5, 2.0]])
    c0 = torch.tensor([[-10.0, -10.0], [10.0, 10.0]])
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(11)).numpy()
    model = _Linear(w)
    model.train()
    got = brb.dcn_centroid_pass(model, x, c0.clone(), batch_size=3, generator=torch.Generator().manual_seed(11))
    expected = _pass_by_hand(x, w, c0, perm, 3, drop_last=True)  # batches of 3, 3; the 7th sample is dropped
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=1e-5)
    assert model.modes == [False, False] and model.training, "eval mode during the pass, train mode after"
    # the other readings give other centroids, so the comparison above can fail
    assert not np.allclose(expected, _pass_by_hand(x, w, c0, perm, 3, drop_last=False), rtol=1e-5)
    per_sample, n = c0.double().numpy().copy(), np.full(2, 100.0)  # Eq. 7 per sample from count 100
    for zi in x.double().numpy()[perm[:6]] @ w.double().numpy():
        j = ((zi - per_sample) ** 2).sum(1).argmin()
        n[j] += 1
        per_sample[j] += (zi - per_sample[j]) / n[j]
    assert not np.allclose(expected, per_sample, rtol=1e-5)
    full = brb.dcn_centroid_pass(_Linear(w), x, c0.clone(), batch_size=3, drop_last=False,
                                 generator=torch.Generator().manual_seed(11))
    np.testing.assert_allclose(full.double().numpy(), _pass_by_hand(x, w, c0, perm, 3, drop_last=False), rtol=1e-5)


def _spy_losses(monkeypatch, record):
    real = brb.train.clustering_loss

    def spy(method, model, x, centroids, *a, **k):
        record.append((x.shape[0], centroids.detach().clone()))
        return real(method, model, x, centroids, *a, **k)

    monkeypatch.setattr(brb.train, "clustering_loss", spy)


def _train(x, y, **kw):
    kw = {"variant": "none", "cluster_epochs": 1, "augment": False, "metrics_subsample": None, "n_init": 1,
          "generator": torch.Generator().manual_seed(0), **kw}
    return brb.train_clustering(_model(), x, y, **kw)


def test_dcn_centroids_move_once_per_epoch_not_after_each_step(monkeypatch):
    data = _blobs()
    passes, eq7, seen = [], [], []
    real_pass, real_eq7 = brb.train.dcn_centroid_pass, brb.train.dcn_update_centroids
    monkeypatch.setattr(brb.train, "dcn_centroid_pass", lambda *a, **k: passes.append(k) or real_pass(*a, **k))
    monkeypatch.setattr(brb.train, "dcn_update_centroids", lambda *a, **k: eq7.append(1) or real_eq7(*a, **k))
    _spy_losses(monkeypatch, seen)
    _train(data.x, data.y, method="dcn", cluster_epochs=2, batch_size=64)  # 160 samples: 2 steps per epoch
    assert len(passes) == 2 and eq7 == [] and all(k["batch_size"] == 64 and k["drop_last"] for k in passes)
    for epoch in (0, 1):  # the steps of an epoch see the same centroids; the pass between epochs moves them
        assert torch.equal(seen[2 * epoch][1], seen[2 * epoch + 1][1])
    assert not torch.equal(seen[1][1], seen[2][1])
    passes.clear()
    _train(data.x, data.y, method="dcn", cluster_epochs=2, batch_size=64, dcn_centroids="eq7")
    assert passes == [] and len(eq7) == 4


def test_drop_last_trains_on_full_minibatches_only(monkeypatch):
    data = _blobs()
    x, y = data.x[: 2 * 32 + 3], data.y[: 2 * 32 + 3]
    rows = []
    _spy_losses(monkeypatch, rows)
    _train(x, y, method="idec", batch_size=32)
    assert [r for r, _ in rows] == [32, 32], "N = 2 * batch + 3: exactly two optimizer steps"
    rows.clear()
    _train(x, y, method="idec", batch_size=32, drop_last=False)
    assert [r for r, _ in rows] == [32, 32, 3]
    with pytest.raises(ValueError, match="drop_last"):
        _train(x, y, method="idec", batch_size=100)
    cfg = RunConfig.make("brb.dc", "toy", seed=0, profile="smoke", pretrain=False, subsample=67, batch_size=32,
                         cluster_epochs=3, drop_last=True)
    assert brb.run.estimate_steps(cfg) == 2 * 3 and brb.run.estimate_steps(cfg.replace(drop_last=False)) == 3 * 3


@pytest.mark.parametrize("clip", ["autoencoder", "all"])
def test_gradient_clipping_acts_on_the_autoencoder_only(monkeypatch, clip):
    """A loss whose gradient is 1000 per entry: AE norm >> 500, centroid norm 1000 * sqrt(K * D) = 4000."""
    data, seen, after = _blobs(), {}, []

    def huge(method, model, x, centroids, *a, **k):
        seen.update(model=model, centroids=centroids)
        total = 1e3 * sum(p.sum() for p in model.parameters()) + 1e3 * centroids.sum()
        zero = total.new_zeros(())
        return total, zero, zero, torch.zeros(x.shape[0], dtype=torch.long)

    real = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *a, **k):
        parameters = list(parameters)
        out = real(parameters, max_norm, *a, **k)
        ae = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in seen["model"].parameters()]))
        c = seen["centroids"]
        after.append((max_norm, float(ae), float(c.grad.norm()), any(p is c for p in parameters)))
        return out

    monkeypatch.setattr(brb.train, "clustering_loss", huge)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    _train(data.x, data.y, method="dec", batch_size=80, clip=clip)
    assert len(after) == 2
    for max_norm, ae, cen, centroids_clipped in after:
        assert max_norm == 500
        if clip == "autoencoder":
            assert not centroids_clipped
            assert ae == pytest.approx(500, rel=1e-3) and cen == pytest.approx(4000, rel=1e-4)
        else:
            assert centroids_clipped
            assert math.hypot(ae, cen) == pytest.approx(500, rel=1e-3) and cen < 500


def test_the_brb_augmenter_uses_nearest_interpolation():
    x = torch.zeros(6, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    mean, std = float(x.mean()), float(x.std())
    data = Dataset(x=(x - mean) / std, y=torch.zeros(6, dtype=torch.long), name="usps",
                   info={"n_classes": 1, "channel_mean": [mean], "channel_std": [std]})
    allowed = torch.cat([data.x.unique(), torch.tensor([-mean / std])])
    near = brb.clustering_augmenter(data)(data.x, torch.Generator().manual_seed(0))
    assert torch.isin(near, allowed).all() and not torch.equal(near, data.x)
    blended = brb.clustering_augmenter(data, "bilinear")(data.x, torch.Generator().manual_seed(0))
    assert not torch.isin(blended, allowed).all()


def test_library_and_brb_dc_defaults_are_the_authors_code():
    import inspect

    from dcutils.core import get_algorithm

    authors = {"dcn_loss_mean": "entries", "dcn_centroids": "epoch_pass", "drop_last": True, "clip": "autoencoder",
               "interpolation": "nearest"}
    algo = get_algorithm("brb.dc")
    assert {k: algo.defaults[k] for k in authors} == authors
    # the runs behind the tables (issue 20): the grid runner's BatchNorm, the authors' first clustering and views
    assert algo.defaults["batch_norm"] is True
    assert algo.defaults["first_clustering"] == "authors" and algo.defaults["view_passes"] == "authors"
    assert algo.version == 2
    assert algo.defaults["precision"] == "fp32" and algo.defaults["fused_adam"] is True
    train = inspect.signature(brb.train_clustering).parameters
    assert {k: train[k].default for k in authors} == authors
    assert inspect.signature(brb.clustering_loss).parameters["dcn_loss_mean"].default == "entries"
    assert inspect.signature(brb.dcn_loss).parameters["dcn_loss_mean"].default == "entries"
    # a config names every parameter: the earlier defaults are a different config, not a changed one
    old = RunConfig.make("brb.dc", "usps", seed=0, profile="quick", dcn_loss_mean="samples")
    assert old["dcn_loss_mean"] == "samples" and old.key() != RunConfig.make("brb.dc", "usps", seed=0,
                                                                             profile="quick").key()


def test_batch_norm_option_builds_batchnorm_and_keeps_the_default_cache_key():
    data = _blobs()
    base = {"epochs": 2, "lr": 1e-3, "batch_size": 64}
    path = brb.pretrained_path("toy", data, 0, base)
    from dcutils import cache  # no batch_norm entry in the key unless it is on

    ident = {"dataset": "toy", "split": None, "subsample": None, "n": len(data), "seed": 0,
             "params": {**base, "precision": "fp32", "fused_adam": True}, "fingerprint": None,
             "version": brb.pretrain.PRETRAIN_VERSION}
    assert path.stem == cache.sha256_text(cache.canonical_json(ident))[:16]
    assert brb.pretrained_path("toy", data, 0, {**base, "batch_norm": False}) == path
    assert brb.pretrained_path("toy", data, 0, {**base, "batch_norm": True}) != path
    bn = brb.pretrain.new_model(data, 0, "cpu", batch_norm=True)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in bn.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in brb.pretrain.new_model(data, 0, "cpu").modules())
    # view_passes="joint": both views go through the encoder as one batch (the authors' IDEC / DCN concatenation)
    x, x_aug = data.x[:16], data.x[16:32]
    c = embed(bn, x)[:K].clone()
    bn.train()
    _, _, cluster, _ = brb.clustering_loss("dec", bn, x, c, x_aug, view_passes="joint")
    z_aug, z = bn.encode(torch.cat([x_aug, x])).split([16, 16])
    assert float(cluster.detach()) == pytest.approx(float(brb.dec_cluster_loss(z, c, z_aug).detach()), rel=1e-6)


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


def test_the_run_passes_every_fidelity_switch_on(results, toy, monkeypatch):
    other = {"dcn_loss_mean": "samples", "dcn_centroids": "eq7", "drop_last": False, "clip": "all",
             "interpolation": "bilinear"}
    got = {}
    real_train, real_aug = brb.run.train_clustering, brb.run.clustering_augmenter
    monkeypatch.setattr(brb.run, "clustering_augmenter",
                        lambda data, how: got.update(augmenter=how) or real_aug(data, how))

    def spy(model, *a, **k):
        got.update(k, batch_norm=brb.losses.has_batch_norm(model))
        return real_train(model, *a, **k)

    monkeypatch.setattr(brb.run, "train_clustering", spy)
    cfg = RunConfig.make("brb.dc", "toy", seed=0, profile="smoke", method="dcn", variant="none",
                         **{**TINY, "pretrain": False, "cluster_epochs": 1, "batch_norm": True, **other})
    get_run(cfg)
    assert {k: got[k] for k in other} == other and got["augmenter"] == "bilinear" and got["batch_norm"] is True


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
    rows = sum(len(r) for r in quick["rows"].values())
    extra = sum(len(c) for c in quick["extra_cells"].values())
    assert len(tab13) == (2 * rows + extra) * len(quick["seeds"])
    for item in ("brb/algo1", "brb/fig01", "brb/fig04", "brb/fig05", "brb/fig07", "brb/fig16", "brb/headline"):
        configs = set(experiments.configs_for(notebook_settings(item, "quick", {})))
        assert configs and configs <= tab13, item
    opt = next(c for c in tab13 if c.dataset == "optdigits")
    spec = profiles.data_spec("quick", "optdigits")
    assert opt["split"] == spec.split == "test" and opt.data_fingerprint == spec.fingerprint


def test_every_quick_cell_meets_the_floors_of_issue_9():
    """Every sample, 250 pretraining epochs, >= 440 optimizer steps between BRB steps, >= 8 BRB steps, >= 3
    paired seeds; fig01 at the paper's USPS spacing (T = 20) for >= 180 epochs."""
    configs = experiments.configs_for(notebook_settings("brb/tab13", "quick", {}))
    cells: dict[tuple, set] = {}
    for c in configs:
        n = profiles.data_spec("quick", c.dataset).n
        assert c["subsample"] is None and c["pretrain_epochs"] == 250 and c["drop_last"]
        assert c["reset_interval"] * (n // c["batch_size"]) >= 440, c
        assert len(brb.reset_epochs(c["cluster_epochs"], c["reset_interval"])) >= 8, c
        cells.setdefault((c.dataset, c["method"], c["pretrain"], c["variant"]), set()).add(c.seed)
    assert cells and all(len(seeds) >= 3 for seeds in cells.values())
    for (d, m, p, _) in cells:  # plain and +BRB together, so every cell is paired
        assert (d, m, p, "none") in cells and (d, m, p, "brb") in cells
    assert {m for (_, m, _, _) in cells} == {"dec", "idec", "dcn"}
    assert {p for (_, _, p, _) in cells} == {False, True}
    fig01 = experiments.configs_for(notebook_settings("brb/fig01", "quick", {}))
    assert {c["variant"] for c in fig01} == {"none", "recluster", "brb"}
    assert all(c.dataset == "usps" and c["reset_interval"] == 20 and c["cluster_epochs"] >= 180 for c in fig01)


def test_protocol_in_optimizer_steps_meets_its_floors():
    """With cluster_epochs / reset_interval None the protocol follows from floors in optimizer steps."""
    s = notebook_settings("brb/tab13", "quick", {})
    assert s.cluster_epochs is None and s.reset_interval is None
    assert brb_exp.protocol(s, "usps") == (20, 180)        # 36 steps per epoch: T = 20 gives 720 steps
    assert brb_exp.protocol(s, "optdigits") == (63, 567)   # 7 steps per epoch: T = 63 gives 441
    for d in ("usps", "optdigits", "mnist"):
        interval, epochs = brb_exp.protocol(s, d)
        assert interval * (profiles.data_spec("quick", d).n // 256) >= 440
        assert len(brb.reset_epochs(epochs, interval)) == 8
    paper = notebook_settings("brb/tab13", "paper", {})
    assert brb_exp.protocol(paper, "usps") == (20, 400)


def test_cells_outside_rows_and_extra_cells_are_left_to_the_paper_profile():
    rows = {"optdigits": [["dec", False], ["dec", True], ["dcn", True]], "usps": [["idec", False]]}
    s = notebook_settings("brb/tab13", "quick", {"rows": rows, "extra_cells": {"recluster": [["idec", False]]}})
    assert brb_exp.cell_runs(s, "dcn", True, "brb") and brb_exp.cell_runs(s, "idec", False, "recluster")
    assert brb_exp.cell_runs(s, "dcn", True, "brb", "optdigits") and not brb_exp.cell_runs(s, "dcn", True, "brb",
                                                                                            "usps")
    assert not brb_exp.cell_runs(s, "dcn", True, "recluster") and not brb_exp.cell_runs(s, "dec", False, "reset")
    assert not brb_exp.cell_runs(s, "idec", True, "brb")  # a row quick leaves to the paper profile
    assert len(experiments.configs_for(s)) == (2 * 4 + 1) * 3
    everything = notebook_settings("brb/tab13", "quick", {"rows": None, "extra_cells": {"recluster": "all"}})
    assert len(experiments.configs_for(everything)) == 6 * 3 * 2 * 3  # 6 rows x 3 variants x 2 data sets x 3 seeds


def test_an_item_about_a_data_set_quick_does_not_run_names_its_substitute():
    fig02 = notebook_settings("brb/fig02", "quick", {})  # GTSRB in the paper
    assert profiles.data_spec("quick", "gtsrb5") is None
    assert brb_exp.grid_datasets(fig02) == [fig02["substitute"]] == ["optdigits"]
    fig02 = notebook_settings("brb/fig02", "quick", {"rows": {"usps": [["dcn", True]]}})
    # the named substitute runs none of the item's cells here: the first grid data set that does
    assert brb_exp.grid_datasets(fig02) == ["usps"]
    label = profiles.data_spec("quick", "mnist").label(2_000)
    assert label == "MNIST (test split only, 10,000 of 70,000; subsample 2,000)"


def test_step_estimate_counts_the_split_that_is_loaded_not_the_papers_full_set():
    """OPTDIGITS' test split is the 1,797 images a run loads (scikit-learn's copy when the UCI files are absent), so
    an estimate from the papers' 5,620 would be three times too high."""
    x = load_dataset("optdigits", split="test").x
    assert data.split_size("optdigits", "test") == x.shape[0] == 1797
    cfg = RunConfig.make("brb.dc", "optdigits", seed=0, profile="quick", split="test", pretrain=True,
                         pretrain_epochs=250, cluster_epochs=567, batch_size=256, drop_last=True)
    assert brb.run.estimate_steps(cfg) == 8 * 250 + 7 * 567
