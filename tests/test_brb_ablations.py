"""BRB's ablation options (issue 13): each switch does what the paper's ablation describes, on tiny data."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from dcutils import brb, core, kmeans, resets
from dcutils.core import RunConfig, canonical_json, sha256_text
from dcutils.data import Dataset
from dcutils.models import brb_autoencoder, embed
from dcutils.runs import get_run

K = 4


def _blobs(n_per: int = 40, seed: int = 0, classes: int = K) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(classes, 1, 8, 8, generator=g) * 2
    y = torch.arange(classes).repeat_interleave(n_per)
    x = protos[y] + 0.4 * torch.randn(len(y), 1, 8, 8, generator=g)
    x = (x - x.mean()) / x.std()
    return Dataset(x=x.contiguous(), y=y, name="toy",
                   info={"n_classes": classes, "display_name": "toy", "channel_mean": [0.0], "channel_std": [1.0]})


def _setup(method: str = "idec", seed: int = 0):
    data = _blobs()
    torch.manual_seed(seed)
    model = brb_autoencoder(64, K)
    c0 = embed(model, data.x)[torch.tensor([0, 40, 80, 120])].clone()
    centroids = torch.nn.Parameter(c0.clone()) if method != "dcn" else c0.clone()
    params = [*model.parameters()] + ([centroids] if method != "dcn" else [])
    opt = torch.optim.Adam(params, lr=1e-3)
    total, *_ = brb.clustering_loss(method, model, data.x, centroids)
    total.backward()
    opt.step()  # Adam holds moments for every parameter now
    return data, model, centroids, opt


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------- run identity


def test_added_later_parameters_keep_the_key_at_their_default_and_change_it_otherwise():
    cfg = RunConfig.make("brb.dc", "usps", seed=0, profile="quick")
    stored = cfg.to_dict()["params"]
    later = core.get_algorithm("brb.dc").added_later
    assert set(later) == {"embedding_dim", "classes", "record_embedding"} and not set(later) & set(stored)
    # the key is the hash of the config as it was before the parameters existed
    version = core.get_algorithm("brb.dc").version
    assert cfg.key() == sha256_text(canonical_json({"config": cfg.to_dict(), "version": version}))[:16]
    assert cfg["embedding_dim"] is None and cfg["record_embedding"] is False  # still named by the config
    two_d = cfg.replace(embedding_dim=2, classes=[0, 1, 2, 3])
    assert two_d.key() != cfg.key() and two_d.to_dict()["params"]["classes"] == (0, 1, 2, 3)
    assert RunConfig.from_dict(two_d.to_dict()) == two_d and RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="both as defaults and as added_later"):
        core.algorithm("clash", version=1, added_later={"a": 1}, a=2)


# ---------------------------------------------------------------------------- resets (Eq. 1 and H.13)


def test_perturb_only_is_the_soft_reset_without_contraction():
    """Same draw of phi: perturb − soft = (1 − α)·θ_old on every reset parameter (H.13, 'Perturbation only')."""
    data, model, centroids, opt = _setup()
    twin, c2, o2 = copy.deepcopy(model), torch.nn.Parameter(centroids.detach().clone()), None
    old = {n: p.detach().clone() for n, p in model.named_parameters()}
    brb.brb_step(model, centroids, opt, data.x, alpha=0.7, reset="soft", recluster=None, generator=_g())
    brb.brb_step(twin, c2, o2, data.x, alpha=0.7, reset="perturb", recluster=None, generator=_g())
    reset = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), old[n])}
    assert reset and all(n.startswith("encoder") for n in reset)
    for n, p in twin.named_parameters():
        if n in reset:
            torch.testing.assert_close(p.detach() - dict(model.named_parameters())[n].detach(), 0.3 * old[n])


def test_gaussian_reset_keeps_contraction_and_draws_gaussian_noise():
    data, model, centroids, opt = _setup()
    layer = resets.brb_reset_layers(model)[0]
    w_old = layer.weight.detach().clone()
    brb.brb_step(model, centroids, opt, data.x, alpha=0.8, reset="gaussian", recluster=None, generator=_g())
    eps = (layer.weight.detach() - 0.8 * w_old) / 0.2
    fan_in = w_old.shape[1]
    # Gaussian with the initial distribution's mean 0 and std sqrt(2 / fan_in), not uniform on ±sqrt(6 / fan_in)
    assert abs(float(eps.mean())) < 0.01 and float(eps.std()) == pytest.approx((2 / fan_in) ** 0.5, rel=0.05)
    assert float(eps.abs().max()) > (6 / fan_in) ** 0.5  # tails beyond the uniform bound


@pytest.mark.parametrize("reset_embedding", [False, True])
def test_reset_embedding_switch_resets_the_embedding_layer_or_not(reset_embedding):
    data, model, centroids, opt = _setup()
    last = model.encoder[-1] if isinstance(model.encoder[-1], torch.nn.Linear) else \
        [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    before = last.weight.detach().clone()
    brb.brb_step(model, centroids, opt, data.x, reset_embedding=reset_embedding, generator=_g())
    assert (not torch.equal(before, last.weight.detach())) == reset_embedding


@pytest.mark.parametrize("reset_momentum", [False, True])
def test_momentum_reset_switch(reset_momentum):
    data, model, centroids, opt = _setup("dec")
    moment = opt.state[centroids]["exp_avg"].clone()
    assert float(moment.abs().sum()) > 0
    brb.brb_step(model, centroids, opt, data.x, method="dec", reset_momentum=reset_momentum, generator=_g())
    zeroed = float(opt.state[centroids]["exp_avg"].abs().sum()) == 0.0
    assert zeroed == reset_momentum
    if not reset_momentum:
        assert torch.equal(opt.state[centroids]["exp_avg"], moment)


# ---------------------------------------------------------------------------- reclustering (Tables 10, 12, 18, 19)


def test_reclustering_choices_give_what_each_algorithm_promises():
    data, model, centroids, opt = _setup()
    out = {}
    for how in ("kmeans", "kmeans++", "kmedoids", "em", "own"):
        m, c = copy.deepcopy(model), torch.nn.Parameter(centroids.detach().clone())
        z_old = embed(m, data.x)
        c_old = c.detach().clone()
        info = brb.brb_step(m, c, None, data.x, method="dec", reset=None, recluster=how, generator=_g())
        z = embed(m, data.x)
        out[how] = c.detach().clone()
        assert info.t_cluster > 0 and info.t_reset >= 0
        if how in ("kmeans++", "kmedoids"):  # centroids are samples of the embedded subsample
            d = (out[how][:, None] - z[None]).abs().amax(-1).min(1).values
            assert float(d.max()) < 1e-6, how
        if how == "kmeans":  # a Lloyd fixed point: each centroid is the mean of its members
            labels = kmeans.assign(z, out[how])
            for k in labels.unique():
                torch.testing.assert_close(out[how][k], z[labels == k].mean(0), atol=1e-4, rtol=1e-4)
        if how == "own":  # the method's own hard assignment (nearest centroid = argmax of Student-t q) to the old
            labels = brb.dec_soft_assignment(z_old, c_old).argmax(1)  # centroids, centroids moved to the means
            for k in labels.unique():
                torch.testing.assert_close(out[how][k], z_old[labels == k].mean(0), atol=1e-5, rtol=1e-5)
    assert not torch.equal(out["em"], out["kmeans++"])


# ---------------------------------------------------------------------------- Eq. 18 and Algorithm 2


def test_noise_step_reclusters_a_noised_embedding_and_leaves_the_network():
    data, model, centroids, opt = _setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    quiet = torch.nn.Parameter(centroids.detach().clone())
    brb.noise_step(model, quiet, None, data.x, scale=0.0, generator=_g(), n_init=3)
    info = brb.noise_step(model, centroids, opt, data.x, scale=2.0, generator=_g(), n_init=3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # Eq. 18 leaves the network
    assert info.t_reset == 0.0 and info.total == pytest.approx(info.t_embed + info.t_cluster + info.t_momentum)
    assert not torch.allclose(centroids.detach(), quiet.detach())  # noise of twice the norm moves the centroids
    assert float(opt.state[centroids]["exp_avg"].abs().sum()) == 0.0  # momentum reset as in BRB
    # the labels after the step are the clean embedding's nearest new centroids
    z = embed(model, data.x)
    assert torch.equal(info.labels_after, kmeans.assign(z, centroids.detach()))


def test_disentangled_centroids_are_means_of_the_unchanged_embedding():
    """Algorithm 2: labels from a reset copy, centroids from the original network's embedding."""
    data, model, centroids, opt = _setup("dec")
    z = embed(model, data.x)
    info = brb.disentangled_step(model, centroids, opt, data.x, method="dec", generator=_g())
    labels = info.labels_after  # nearest new centroid in the unchanged embedding
    assert float(opt.state[centroids]["exp_avg"].abs().sum()) == 0.0
    # every centroid lies in the convex hull of the unchanged embedding: it is a mean of some of its rows
    lo, hi = z.min(0).values - 1e-5, z.max(0).values + 1e-5
    assert bool(((centroids.detach() >= lo) & (centroids.detach() <= hi)).all())
    assert labels is not None and info.t_reset > 0


# ---------------------------------------------------------------------------- Figure 13: 4 classes in 2-D


def test_select_classes_relabels_in_order_and_keeps_provenance():
    data = _blobs(n_per=5, classes=6)
    sub = brb.run.select_classes(data, [4, 1, 2])
    assert len(sub) == 15 and sub.n_classes == 3 and sub.info["classes"] == [4, 1, 2]
    assert torch.equal(sub.y[:5], torch.full((5,), 1)) and set(sub.y.tolist()) == {0, 1, 2}
    torch.testing.assert_close(sub.x[sub.y == 0], data.x[data.y == 4])
    with pytest.raises(ValueError, match="do not occur"):
        brb.run.select_classes(data, [0, 9])


def test_two_d_run_records_the_embedding_before_and_after_a_step(results, monkeypatch):
    monkeypatch.setattr(brb.run, "_load", lambda name, split, subsample, device: _blobs(n_per=30, classes=6))
    tiny = dict(pretrain_epochs=1, cluster_epochs=3, reset_interval=1, subsample=None, batch_size=32,
                metrics_subsample=None, kmeans_n_init=2, method="dec")
    cfg = RunConfig.make("brb.dc", "toy", seed=0, profile="smoke", classes=[0, 1, 2, 3], embedding_dim=2,
                         record_embedding=True, **tiny)
    r = get_run(cfg)
    a = r.arrays
    assert a["embedding_before"].shape == a["embedding_after"].shape == (120, 2)
    assert a["centroids_before"].shape == a["centroids_after"].shape == (4, 2)
    assert sorted(np.unique(a["labels_true"])) == [0, 1, 2, 3] and r.meta["classes"] == [0, 1, 2, 3]
    assert not np.allclose(a["embedding_before"], a["embedding_after"])  # the soft reset moved the embedding
    assert not np.allclose(a["centroids_before"], a["centroids_after"])  # k-means moved the centroids
    plain = get_run(cfg.replace(record_embedding=False))
    assert "embedding_before" not in plain.arrays
    assert plain.history["acc"].tolist() == r.history["acc"].tolist()  # recording changes no random draw
    # a 2-D, 4-class network is pretrained apart from the full one
    base = {"epochs": 1, "lr": 1e-3, "batch_size": 32}
    full = _blobs(n_per=30, classes=6)
    assert brb.pretrained_path("toy", full, 0, base) != brb.pretrained_path("toy", full, 0, {**base,
                                                                                             "embedding_dim": 2})
