"""R-DC training (dcutils.rdc): shared pretraining cache, methods, stopping rule, twist toy, DynAE, NaN."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcutils import rdc
from dcutils.data import Dataset
from dcutils.models import FeedForwardAutoencoder
from dcutils.runs import NonFiniteLossError, RunConfig, get_run

N_PER_CLASS, N_CLASSES = 40, 4


def _toy_images(seed: int = 0) -> Dataset:
    """4 classes of 1x8x8 'images': a random prototype per class plus noise."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(N_CLASSES, 1, 8, 8, generator=g) * 2
    y = torch.arange(N_CLASSES).repeat_interleave(N_PER_CLASS)
    x = protos[y] + 0.3 * torch.randn(len(y), 1, 8, 8, generator=g)
    return Dataset(x=x.float().contiguous(), y=y, name="toy", info={"n_classes": N_CLASSES, "display_name": "toy"})


@pytest.fixture
def toy(monkeypatch):
    """rdc.method loads the toy set instead of a real one (no file access, fast)."""
    monkeypatch.setattr(rdc, "load_dataset", lambda name, **kw: _toy_images(kw.get("seed", 0)).to(kw.get("device") or "cpu"))


TINY = dict(subsample=None, pretrain_epochs=2, cluster_epochs=2, batch_size=64, pretrain_log_every=1,
            refresh_every=2, beta=0.3, gamma=0.6, geometry_sample=100, kmeans_n_init=1)


def _cfg(method: str, **kw) -> RunConfig:
    return RunConfig.make("rdc.method", "toy", seed=0, profile="smoke", method=method, **{**TINY, **kw})


def test_pretraining_cache_is_shared_across_methods(results, toy, monkeypatch):
    calls = []
    real = rdc.pretrain_acai
    monkeypatch.setattr(rdc, "pretrain_acai", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = get_run(_cfg("ae_kmeans"))
    second = get_run(_cfg("dec"))
    assert len(calls) == 1, "the second method must load the pretrained network, not train it"
    assert first.meta["pretrained_from_cache"] is False and second.meta["pretrained_from_cache"] is True
    assert first.meta["pretrained_key"] == second.meta["pretrained_key"]
    # both start from the same network: same phase-1 history and same accuracy before phase 2
    assert first.final["acc_pretrained"] == second.final["acc_pretrained"]
    p1 = lambda r: r.history[r.history.phase == "P1"].reset_index(drop=True)  # noqa: E731
    assert p1(first)[["acc", "id", "lid"]].equals(p1(second)[["acc", "id", "lid"]])
    assert len(list((results / "pretrained" / "toy").glob("*.pt"))) == 1
    # a different pretraining parameter is a different network
    get_run(_cfg("ae_kmeans", pretrain_epochs=1))
    assert len(calls) == 2


EXPECTED_PHASES = {"ae_kmeans": {"P1"}, "dec": {"P1", "P3"}, "idec": {"P1", "IDEC"}, "dynae": {"P1", "DynAE"},
                   "rdc": {"P1", "P2"}, "p1p2p3": {"P1", "P2", "P3"}, "vade": {"P1", "VaDE"}}


@pytest.mark.parametrize("method", rdc.METHODS)
def test_each_method_returns_documented_history_and_caches(results, toy, method):
    res = get_run(_cfg(method))
    hist = res.history
    assert set(rdc.HISTORY_COLUMNS) <= set(hist.columns)
    assert set(hist["phase"]) == EXPECTED_PHASES[method]
    assert hist["global_iteration"].is_monotonic_increasing
    for key in ("acc", "f1_macro", "f1_micro", "nmi", "id", "lid", "acc_pretrained"):
        assert math.isfinite(res.final[key]), key
    assert 0.0 <= res.final["acc"] <= 1.0
    # training time: measured per phase without evaluation, never negative
    assert res.final["seconds_pretrain"] > 0 and res.final["seconds_cluster"] >= 0
    assert (hist["train_seconds"].dropna() >= 0).all()
    # PCA pictures of the fixed geometry rows (Figures 18/19)
    n_geo = res.meta["geometry_rows"]
    assert res.arrays["pca_final"].shape == (n_geo, 2) and res.arrays["pca_pretrained"].shape == (n_geo, 2)
    assert res.arrays["pca_y"].shape == (n_geo,) and res.arrays["pca_pred"].shape == (n_geo,)
    if method in ("rdc", "p1p2p3"):
        p2 = hist[hist.phase == "P2"]
        assert p2["core_ratio"].between(0, 1).all() and p2["purity_initial"].notna().all()
    again = get_run(_cfg(method))
    assert again.from_cache and again.final == res.final


def test_p1p2p3_reuses_the_phase2_network_of_rdc(results, toy):
    a = get_run(_cfg("rdc"))
    b = get_run(_cfg("p1p2p3"))
    assert a.meta["phase2_from_cache"] is False and b.meta["phase2_from_cache"] is True
    pa, pb = (r.history[r.history.phase == "P2"].reset_index(drop=True) for r in (a, b))
    assert pa[["acc", "core_ratio"]].equals(pb[["acc", "core_ratio"]])


def _stub_ratio(monkeypatch, ratios):
    """compute_targets returns real targets whose core_ratio follows ``ratios``."""
    real = rdc.proximity.compute_targets
    it = iter(ratios)

    def stub(*a, **k):
        t = real(*a, **k)
        t.core_ratio = next(it)
        return t

    monkeypatch.setattr(rdc.proximity, "compute_targets", stub)


def _phase2(epochs: int, patience: int):
    torch.manual_seed(0)
    data = _toy_images()
    model = FeedForwardAutoencoder([64, 16, 4])
    return rdc.train_proximity(model, data.x, epochs=epochs, batch_size=16, lr=1e-3, beta=0.3, gamma=0.6, m=5,
                               lam=1.0, refresh_every=1, patience=patience, use_augment=False,
                               generator=torch.Generator().manual_seed(0), log=lambda *a, **k: None)


def test_phase2_stops_when_core_ratio_stops_growing(monkeypatch):
    _stub_ratio(monkeypatch, [0.1, 0.2, 0.3, 0.3, 0.3, 0.3] + [0.9] * 1000)
    info = _phase2(epochs=50, patience=3)
    assert info["stopped"] == "core ratio"
    # ratios 0.1 (before training), then one per refresh; the 3rd flat refresh stops before its step
    assert info["core_ratios"] == [0.1, 0.2, 0.3, 0.3, 0.3, 0.3]
    assert info["iterations"] == 5


def test_phase2_runs_to_max_epochs_while_core_ratio_grows(monkeypatch):
    _stub_ratio(monkeypatch, [i / 1000 for i in range(1000)])
    info = _phase2(epochs=2, patience=3)
    assert info["stopped"] == "max epochs"
    assert info["iterations"] == 2 * (N_PER_CLASS * N_CLASSES // 16)


def test_twist_returns_latent_snapshots(results):
    for method in ("dec", "rdc"):
        cfg = RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", method=method, n_per_cluster=20,
                             pretrain_epochs=3, cluster_epochs=4, snapshots=3, batch_size=16, refresh_every=2)
        res = get_run(cfg)
        lat, ep = res.arrays["latent"], res.arrays["snapshot_epoch"]
        assert lat.shape == (len(ep), 80, 2) and np.isfinite(lat).all()
        assert ep[0] == 0 and 3 in ep and ep[-1] == 7 and len(ep) >= 3
        assert res.arrays["y"].shape == (80,) and set(res.arrays["y"]) == {0, 1, 2, 3}
        assert {"knn_purity", "flatness", "acc"} <= set(res.history.columns)
        # the snapshot after pretraining differs from the random initial map
        assert not np.allclose(lat[0], lat[list(ep).index(3)])


def test_dynae_targets_are_decoded_centroids_for_confident_samples_only():
    model = FeedForwardAutoencoder([3, 2], activation=None)
    with torch.no_grad():
        dec = model.decoder[0]
        dec.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
        dec.bias.copy_(torch.tensor([0.5, 0.0, -1.0]))
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [0.0, 0.0, 0.0]])
    centroids = torch.tensor([[1.0, -1.0], [3.0, 2.0]])
    labels = torch.tensor([0, 1, 1, 0])
    confident = torch.tensor([True, False, True, False])
    t = rdc.dynae_targets(model, x, centroids, labels, confident)
    expected = torch.stack([
        torch.tensor([1.0 + 0.5, -2.0, 0.0 - 1.0]),   # g(mu_0) = W mu_0 + b
        x[1],
        torch.tensor([3.0 + 0.5, 4.0, 5.0 - 1.0]),    # g(mu_1)
        x[3],
    ])
    assert torch.equal(t, expected)
    # with no confident sample the loss is plain reconstruction
    loss, _ = rdc.dynae_loss(model, x, centroids, labels, torch.zeros(4, dtype=torch.bool), lam=5.0)
    assert torch.allclose(loss, torch.nn.functional.mse_loss(model(x)[1], x))


def test_dec_soft_assignment_and_target():
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    mu = torch.tensor([[0.0, 0.0], [5.0, 5.0]])
    q = rdc.soft_assignment(z, mu)
    p = rdc.target_distribution(q)
    assert torch.allclose(q.sum(1), torch.ones(3)) and torch.allclose(p.sum(1), torch.ones(3))
    assert q[0, 0] > q[1, 0] > 0.5 and q[2, 1] > 0.9
    assert (p.max(1).values >= q.max(1).values - 1e-7).all()  # the target sharpens confident rows


def test_nan_in_phase2_loss_raises_and_caches_nothing(results, toy, monkeypatch):
    real = rdc.proximity.proximity_loss

    def nan_loss(*a, **k):
        loss, parts = real(*a, **k)
        return loss * float("nan"), parts

    monkeypatch.setattr(rdc.proximity, "proximity_loss", nan_loss)
    cfg = _cfg("rdc")
    with pytest.raises(NonFiniteLossError, match="phase-2 loss"):
        get_run(cfg)
    assert not cfg.path().exists()


def test_nan_in_pretraining_raises(results, toy, monkeypatch):
    def diverge(*a, **k):
        raise FloatingPointError("ACAI reconstruction loss is nan")

    monkeypatch.setattr(rdc.acai, "acai_step", diverge)
    with pytest.raises(NonFiniteLossError, match="ACAI"):
        get_run(_cfg("ae_kmeans"))
    assert not list(results.rglob("*.pt")) and not list(results.rglob("*.json.gz"))


def test_unknown_method_and_missing_beta_gamma_are_clear_errors(results, toy):
    with pytest.raises(ValueError, match="unknown R-DC method"):
        get_run(_cfg("kmeans"))
    with pytest.raises(ValueError, match="no beta/gamma"):
        rdc.resolve_beta_gamma("mnist", None, None)
    assert rdc.resolve_beta_gamma("fmnist", None, None) == (0.6, 0.6)


def test_items_share_identical_fmnist_runs():
    from dcutils.experiments import configs_for
    from dcutils.profiles import notebook_settings

    for profile in ("smoke", "quick"):
        tab03 = set(configs_for(notebook_settings("rdc/tab03", profile)))
        tab08 = set(configs_for(notebook_settings("rdc/tab08", profile)))
        fig12 = {c for c in configs_for(notebook_settings("rdc/fig12", profile)) if c["patience"] < 10**6}
        fig15 = {c for c in configs_for(notebook_settings("rdc/fig15", profile)) if c["patience"] < 10**6}
        tab06 = set(configs_for(notebook_settings("rdc/tab06", profile)))
        assert fig12 and fig12 <= tab03 and fig15 <= tab03 and tab06 == tab03
        assert len(tab03 & tab08) == 3 * len(notebook_settings("rdc/tab03", profile).seeds)
        # fig17's grid and fig20's noise runs start from the same pretrained network as tab03
        keys = {c.to_dict()["params"]["pretrain_epochs"] for c in configs_for(notebook_settings("rdc/fig17", profile))}
        assert keys == {notebook_settings("rdc/tab03", profile)["pretrain_epochs"]}


def test_cluster_log_every_keeps_the_last_epoch(results, toy):
    res = get_run(_cfg("dec", cluster_epochs=3, cluster_log_every=2, dec_tol=-1.0))
    assert res.history[res.history.phase == "P3"]["epoch"].tolist() == [0, 2, 3]


def test_noise_std_changes_the_pretraining_and_is_reproducible(results, toy):
    clean = get_run(_cfg("ae_kmeans"))
    noisy = get_run(_cfg("ae_kmeans", noise_std=0.5))
    assert noisy.meta["pretrained_key"] != clean.meta["pretrained_key"]
    x = torch.zeros(50, 1, 4, 4)
    a, b = rdc._noisy(x, 0.5, seed=3), rdc._noisy(x, 0.5, seed=3)
    assert torch.equal(a, b) and abs(float(a.std()) - 0.5) < 0.1
    assert rdc._noisy(x, 0.0, seed=3) is x
    with pytest.raises(ValueError, match="noise_std"):
        rdc._noisy(x, -1.0, seed=0)


def test_pca_2d_recovers_the_two_main_axes():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(500, 5, generator=g) * torch.tensor([10.0, 3.0, 0.1, 0.1, 0.1])
    p = rdc.pca_2d(z)
    assert p.shape == (500, 2) and p.dtype == np.float32
    zc = (z - z.mean(0)).numpy()
    np.testing.assert_allclose(np.abs(np.corrcoef(p[:, 0], zc[:, 0])[0, 1]), 1.0, atol=1e-3)
    np.testing.assert_allclose(np.abs(np.corrcoef(p[:, 1], zc[:, 1])[0, 1]), 1.0, atol=1e-2)
    np.testing.assert_allclose(rdc.pca_2d(z), rdc.pca_2d(z.clone()))  # sign convention is deterministic


def test_nt_xent_prefers_matching_views():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=g)
    matched = rdc.nt_xent(z, z + 0.01 * torch.randn(16, 8, generator=g))
    shuffled = rdc.nt_xent(z, z[torch.randperm(16, generator=g)])
    assert float(matched) < float(shuffled)
    assert float(matched) >= 0


def test_vade_prior_and_loss_are_finite_and_trainable():
    torch.manual_seed(0)
    data = _toy_images()
    model = FeedForwardAutoencoder([64, 16, 4])
    from dcutils.kmeans import gmm_em
    from dcutils.models import embed

    gmm = gmm_em(embed(model, data.x), 4, covariance_type="diag", generator=0)
    vade = rdc._VaDE(model, gmm.weights, gmm.centroids, gmm.covariances, -4.0)
    gamma = vade.responsibilities(embed(model, data.x))
    assert torch.allclose(gamma.sum(1), torch.ones(len(data)), atol=1e-5)
    loss = vade.loss(data.x[:32], data.x[:32], torch.Generator().manual_seed(0))
    loss.backward()
    assert math.isfinite(float(loss.detach())) and vade.mu_c.grad is not None and vade.logvar_head.weight.grad is not None
    assert vade.predict(data.x).shape == (len(data),)


def test_paradigm_runs_both_pretexts(results, toy):
    for pretext in ("reconstruction", "contrastive"):
        cfg = RunConfig.make("rdc.paradigm", "toy", seed=0, profile="smoke", pretext=pretext, subsample=None,
                             pretrain_epochs=2, cluster_epochs=2, pretrain_log_every=1, batch_size=64,
                             geometry_sample=100, kmeans_n_init=1)
        res = get_run(cfg)
        assert set(res.history["phase"]) == {"pretrain", "DEC"}
        assert res.history["global_iteration"].is_monotonic_increasing
        assert res.history[["id", "lid"]].notna().all().all()
    with pytest.raises(ValueError, match="pretext"):
        get_run(cfg.replace(pretext="jigsaw"))


def test_settings_drop_unavailable_datasets(monkeypatch):
    from dcutils.experiments import configs_for
    from dcutils.experiments import rdc as exp
    from dcutils.profiles import notebook_settings

    monkeypatch.setattr(exp, "available", lambda d: d == "fmnist")
    tab03 = configs_for(notebook_settings("rdc/tab03", "quick"))
    assert {c.dataset for c in tab03} == {"fmnist"}
    assert configs_for(notebook_settings("rdc/tab04", "quick")) == []
    nostop = [c for c in configs_for(notebook_settings("rdc/fig12", "quick")) if c["patience"] == exp.NO_STOP_PATIENCE]
    assert nostop and all(c["method"] == "rdc" for c in nostop)
    fig17 = configs_for(notebook_settings("rdc/fig17", "quick"))
    assert {c.dataset for c in fig17} == {"fmnist"} and len({(c["beta"], c["gamma"]) for c in fig17}) == 9


@pytest.mark.parametrize("seed", [0, 1])
def test_phase_two_starts_from_the_pretrained_accuracy(results, toy, seed):
    """The first logged row of R-DC's phase 2 is scored by the same k-means as acc_pretrained."""
    res = get_run(_cfg("rdc").replace(seed=seed))
    first = res.history[res.history.phase == "P2"].iloc[0]
    assert first["acc"] == res.final["acc_pretrained"]
