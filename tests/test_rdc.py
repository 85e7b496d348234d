"""R-DC training (dcutils.rdc): shared pretraining cache, methods, stopping rule, twist toy, DynAE, NaN."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from dcutils import claims, dec, findings, items, rdc
from dcutils.core import NonFiniteLossError, RunConfig, RunContext, get_algorithm
from dcutils.data import Dataset, fingerprint, make_curved_clusters
from dcutils.experiments import configs_for, notebook_settings
from dcutils.kmeans import gmm_em
from dcutils.models import FeedForwardAutoencoder, embed
from dcutils.rdc import baselines, evaluation, inputs, phase2, pretrain, twist
from dcutils.rdc import choices_plots as choices
from dcutils.rdc import settings as exp
from dcutils.rdc.paradigm import nt_xent
from dcutils.rdc.vade import VaDE
from dcutils.runs import RunResult, RunSet, get_run

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
    """rdc.method and rdc.paradigm load the toy set instead of a real one (no file access, fast)."""
    load = lambda name, **kw: _toy_images(kw.get("seed", 0)).to(kw.get("device") or "cpu")  # noqa: E731
    monkeypatch.setattr("dcutils.rdc.method.load_dataset", load)
    monkeypatch.setattr("dcutils.rdc.paradigm.load_dataset", load)


TINY = dict(subsample=None, pretrain_epochs=2, cluster_epochs=2, batch_size=64, pretrain_log_every=1,
            refresh_every=2, beta=0.3, gamma=0.6, geometry_sample=100, kmeans_n_init=1)


#: rdc.method version 1's defaults (dcutils' earlier reading), the other value of each option of version 2.
V1 = dict(construction_weight=1.0, neighbours_include_self=False, gamma_mode="absolute", border_target="input",
          lid_estimator="global90", dynae_rule="fixed_gap", acai_mixing="dcutils", stop="core_ratio",
          fused_adam=False)


def _cfg(method: str, **kw) -> RunConfig:
    return RunConfig.make("rdc.method", "toy", seed=0, profile="smoke", method=method, **{**TINY, **kw})


def test_pretraining_cache_is_shared_across_methods(results, toy, monkeypatch):
    calls = []
    real = pretrain.pretrain_acai
    monkeypatch.setattr(pretrain, "pretrain_acai", lambda *a, **k: calls.append(1) or real(*a, **k))
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
    # training time: measured per phase without evaluation; the method's time holds its phases' training
    # time (the last train_seconds of each phase after P1) plus the k-means / GMM fit every method runs
    assert res.final["seconds_pretrain"] > 0
    own = hist[hist.phase != "P1"].groupby("phase")["train_seconds"].last().sum()
    assert res.final["seconds_cluster"] > own
    assert (hist["train_seconds"].dropna() >= 0).all()
    # the record names its data (display name, split, samples) and carries the data fingerprint
    assert res.meta["dataset"] == "toy" and res.meta["n_samples"] == N_PER_CLASS * N_CLASSES
    assert "data_fingerprint" in res.meta
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
    with pytest.raises(NonFiniteLossError, match="R-DC phase-2 loss became nan at epoch 1"):
        get_run(cfg)
    assert not list(results.rglob("*.json.gz"))  # no run record


def test_nan_in_pretraining_raises(results, toy, monkeypatch):
    def diverge(*a, **k):
        raise FloatingPointError("ACAI reconstruction loss is nan")

    monkeypatch.setattr(rdc.acai, "acai_step", diverge)
    with pytest.raises(NonFiniteLossError, match="ACAI pretraining diverged at epoch 1"):
        get_run(_cfg("ae_kmeans"))
    assert not list(results.rglob("*.pt")) and not list(results.rglob("*.json.gz"))


def test_unknown_method_and_missing_beta_gamma_are_clear_errors(results, toy):
    with pytest.raises(ValueError, match="unknown R-DC method"):
        get_run(_cfg("kmeans"))
    with pytest.raises(ValueError, match="no beta/gamma"):
        rdc.resolve_beta_gamma("mnist", None, None)
    assert rdc.resolve_beta_gamma("fmnist", None, None) == (0.6, 0.6)


def test_items_share_identical_fmnist_runs():

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


@pytest.mark.parametrize("method", ["dec", "idec", "dynae", "vade", "rdc"])
def test_logging_fewer_epochs_changes_no_trained_number(results, toy, method):
    """The rows a run logs are evaluation only: logging every 3rd epoch ends with the same network, clusters
    and scores as logging every epoch, and its rows are the every-epoch run's rows of those epochs."""
    every = get_run(_cfg(method, cluster_epochs=4, cluster_log_every=1, dec_tol=-1.0))
    some = get_run(_cfg(method, cluster_epochs=4, cluster_log_every=3, dec_tol=-1.0))
    for name in ("acc", "nmi", "acc_kmeans", "id", "lid", "iterations"):
        assert some.final[name] == every.final[name], name
    phase = [p for p in some.history["phase"].unique() if p != "P1"]
    rows = some.history[some.history.phase.isin(phase)]
    assert rows["epoch"].tolist() == [0, 3, 4]
    same = every.history[every.history.phase.isin(phase) & every.history.epoch.isin([0, 3, 4])]
    for col in ("loss", "acc", "recon_mse", "min_cluster_share"):
        assert rows[col].tolist() == pytest.approx(same[col].tolist(), nan_ok=True), col


def test_noise_std_changes_the_pretraining_and_is_reproducible(results, toy):
    clean = get_run(_cfg("ae_kmeans"))
    noisy = get_run(_cfg("ae_kmeans", noise_std=0.5))
    assert noisy.meta["pretrained_key"] != clean.meta["pretrained_key"]
    x = torch.zeros(50, 1, 4, 4)
    a, b = inputs.noisy(x, 0.5, seed=3), inputs.noisy(x, 0.5, seed=3)
    assert torch.equal(a, b) and abs(float(a.std()) - 0.5) < 0.1
    assert inputs.noisy(x, 0.0, seed=3) is x
    with pytest.raises(ValueError, match="noise_std"):
        inputs.noisy(x, -1.0, seed=0)


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
    matched = nt_xent(z, z + 0.01 * torch.randn(16, 8, generator=g))
    shuffled = nt_xent(z, z[torch.randperm(16, generator=g)])
    assert float(matched) < float(shuffled)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_nt_xent_matches_a_hand_computation(temperature):
    # views e1, e2 | e1, e2: each row's partner has cosine 1, the two other rows cosine 0, so every row's
    # loss is -log(e^(1/t) / (e^(1/t) + 2 e^0)) = log(1 + 2 e^(-1/t))
    z = torch.eye(2)
    assert float(nt_xent(z, z.clone(), temperature)) == pytest.approx(math.log(1 + 2 * math.exp(-1 / temperature)))
    # scaling a view leaves the cosine similarities, hence the loss, unchanged
    assert float(nt_xent(3 * z, z, temperature)) == pytest.approx(float(nt_xent(z, z, temperature)))


def test_vade_prior_and_loss_are_finite_and_trainable():
    torch.manual_seed(0)
    data = _toy_images()
    model = FeedForwardAutoencoder([64, 16, 4])
    gmm = gmm_em(embed(model, data.x), 4, covariance_type="diag", generator=0)
    vade = VaDE(model, gmm.weights, gmm.centroids, gmm.covariances, -4.0)
    gamma = vade.responsibilities(embed(model, data.x))
    assert torch.allclose(gamma.sum(1), torch.ones(len(data)), atol=1e-5)
    loss = vade.loss(data.x[:32], data.x[:32], torch.Generator().manual_seed(0))
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    assert vade.mu_c.grad is not None and vade.logvar_head.weight.grad is not None
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
        assert res.meta["dataset"] == "toy" and res.meta["split"] == "all" and res.meta["n_samples"] == 160
    with pytest.raises(ValueError, match="pretext"):
        get_run(cfg.replace(pretext="jigsaw"))


def test_settings_drop_datasets_the_profile_does_not_pin():
    # quick pins FMNIST but not CIFAR10 or the MedMNIST sets: those are paper profile only
    assert exp.available("fmnist", "quick") and not exp.available("cifar10", "quick")
    assert exp.missing_datasets(notebook_settings("rdc/tab03", "quick")) == ["cifar10"]
    tab03 = configs_for(notebook_settings("rdc/tab03", "quick"))
    assert {c.dataset for c in tab03} == {"fmnist"}
    assert {c.data_fingerprint for c in tab03} == {items.data_spec("quick", "fmnist").fingerprint}
    assert configs_for(notebook_settings("rdc/tab04", "quick")) == []
    # every method runs the same fixed budget: the stopping rule is logged, not obeyed
    fig12 = configs_for(notebook_settings("rdc/fig12", "quick"))
    assert {c["stop"] for c in fig12} == {"budget"} and {c["method"] for c in fig12} == {"dynae", "rdc"}
    fig17 = configs_for(notebook_settings("rdc/fig17", "quick"))
    assert {c.dataset for c in fig17} == {"fmnist"} and len({(c["beta"], c["gamma"]) for c in fig17}) == 5  # the cross
    assert {c["gamma_mode"] for c in fig17} == {"absolute"}  # the paper's gamma is the figure's axis
    # fig01 runs on the split the profile pins: MNIST's test split at quick
    fig01 = configs_for(notebook_settings("rdc/fig01", "quick"))
    assert {(c.dataset, c["split"]) for c in fig01} == {("fmnist", "all"), ("mnist", "test")}
    # the paper profile keeps the paper's data sets
    assert set(exp.missing_datasets(notebook_settings("rdc/tab03", "paper"))) == set()


@pytest.mark.parametrize("seed", [0, 1])
def test_phase_two_starts_from_the_pretrained_accuracy(results, toy, seed):
    """The first logged row of R-DC's phase 2 is scored by the same k-means as acc_pretrained."""
    res = get_run(_cfg("rdc").replace(seed=seed))
    first = res.history[res.history.phase == "P2"].iloc[0]
    assert first["acc"] == res.final["acc_pretrained"]


def test_step_estimates_count_minibatches_per_phase():
    for n, bs in [(160, 64), (129, 64), (128, 64), (65, 64), (1, 64), (600, 256)]:
        got = len(inputs.batches(n, bs, torch.Generator().manual_seed(0), torch.device("cpu")))
        assert inputs.batches_per_epoch(n, bs) == got, (n, bs)
    steps = get_algorithm("rdc.method").steps
    cfg = RunConfig.make("rdc.method", "fmnist", seed=0, profile="smoke", subsample=600, pretrain_epochs=2,
                         cluster_epochs=2)  # 600 samples in batches of 256: 3 per epoch
    assert steps(cfg.replace(method="rdc")) == (2 + 2) * 3
    assert steps(cfg.replace(method="ae_kmeans")) == 2 * 3
    assert steps(cfg.replace(method="p1p2p3")) == (2 + 2 * 2) * 3
    assert steps(cfg.replace(subsample=None)) == (2 + 2) * 274  # all 70,000: 273 full batches and one of 112
    assert steps(cfg.replace(subsample=10**6)) == (2 + 2) * 274  # a subsample larger than the data keeps all
    para = RunConfig.make("rdc.paradigm", "fmnist", seed=0, profile="smoke", subsample=600, pretrain_epochs=3,
                          cluster_epochs=1)
    assert get_algorithm("rdc.paradigm").steps(para) == (3 + 1) * 3
    tw = RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", n_per_cluster=20, batch_size=16,
                        pretrain_epochs=3, cluster_epochs=4)
    assert get_algorithm("rdc.twist").steps(tw) == (3 + 4) * 5


def test_network_caches_are_keyed_by_declared_versions_and_data(results, monkeypatch):
    data = _toy_images()
    cfg = _cfg("rdc")
    geo = torch.arange(50)

    def key(**kw):
        return pretrain.pretrained_acai(cfg, data.x, data.y, N_CLASSES, geo, **kw)[2]

    first = key(data_fingerprint="abc")
    assert first["from_cache"] is False and key(data_fingerprint="abc") == {**first, "from_cache": True}
    assert key(data_fingerprint="other")["key"] != first["key"]  # other data, another network
    monkeypatch.setattr(pretrain, "PRETRAIN_VERSION", pretrain.PRETRAIN_VERSION + 1)
    bumped = key(data_fingerprint="abc")
    assert bumped["key"] != first["key"] and bumped["from_cache"] is False
    # phase 2: its own version
    paths = []
    monkeypatch.setattr(phase2, "_load_or_train_phase2", lambda *a: paths.append(a[-1]) or ([], {}))
    for version in (phase2.PHASE2_VERSION, phase2.PHASE2_VERSION + 1):
        monkeypatch.setattr(phase2, "PHASE2_VERSION", version)
        phase2.run_phase2(cfg, None, None, data.x, None, 0.3, 0.6, first["key"], None)
    assert paths[0] != paths[1]


def test_dec_helpers_are_the_shared_ones():
    assert rdc.soft_assignment is dec.soft_assignment and rdc.target_distribution is dec.target_distribution


def test_twist_record_names_its_data(results):
    cfg = RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", n_per_cluster=10, pretrain_epochs=1,
                         cluster_epochs=1, snapshots=2, batch_size=16)
    out = get_algorithm("rdc.twist").fn(cfg, RunContext(cfg, torch.device("cpu")))
    assert out.meta["dataset"] == "Curved4" and out.meta["split"] == "all" and out.meta["n_samples"] == 40
    raw = make_curved_clusters(n_per_cluster=10, seed=0)
    assert out.meta["data_fingerprint"] == fingerprint(raw.x, raw.y, "curved4", "all")
    assert out.meta["data_fingerprint"] != fingerprint(raw.x, raw.y.flip(0), "curved4", "all")


# ------------------------------------------------- options following the authors' code


def _dynae_points():
    """1-D codes and 10 centres: 0 and 10 near, 8 more at 1000, 2000, ... (negligible in q).

    By hand (Student-t, alpha = 1): q_max and the gap to the second largest q are
    z = 0: .990 / .980; z = 4: .685 / .370; z = 4.3: .632 / .264; z = 4.5: .595 / .190; z = 5: .5 / 0.
    """
    centres = torch.tensor([[0.0], [10.0]] + [[1000.0 * j] for j in range(1, 9)], dtype=torch.float64)
    z = torch.tensor([[0.0], [4.0], [4.3], [4.5], [5.0]], dtype=torch.float64)
    return z, centres


def test_dynae_authors_thresholds_and_their_schedule_by_hand():
    z, centres = _dynae_points()
    s = baselines.DynAESchedule("authors", n_clusters=10)
    # iteration 0: beta1 = 0, beta2 = 0.3 (train_dynAE): only the gap matters; 0 and 4 are confident
    assert (s.beta1, s.beta2) == (0.0, 0.3)
    labels, conf = baselines.dynae_confidence(z, centres, s.beta1, s.beta2)
    assert conf.tolist() == [True, True, False, False, False] and labels.tolist() == [0, 0, 0, 0, 0]
    # the first validation compares with N: fewer conflicted samples, nothing loosens
    assert s.observe(n_conflicted=3, n_conflicted_prev=5) is False and (s.beta1, s.beta2) == (0.0, 0.3)
    # no fall in the conflicted count: loosen by delta_kappa / K = 0.3 * 3 / 10 = 0.09 -> (-0.09, 0.21); 4.3 joins
    assert s.observe(3, 3) is True
    assert (s.beta1, s.beta2) == (pytest.approx(-0.09), pytest.approx(0.21))
    assert baselines.dynae_confidence(z, centres, s.beta1, s.beta2)[1].tolist() == [True, True, True, False, False]
    # the authors' first_time flag: never again
    assert s.observe(3, 3) is False and s.observe(4, 3) is False and s.loosenings == 1
    assert (s.beta1, s.beta2) == (pytest.approx(-0.09), pytest.approx(0.21))


def test_dynae_original_schedule_loosens_every_time_with_a_decaying_step():
    z, centres = _dynae_points()
    s = baselines.DynAESchedule("original", n_clusters=10)
    assert (s.beta1, s.beta2) == (pytest.approx(0.3), pytest.approx(0.15))  # generate_beta(3, 10)
    assert baselines.dynae_confidence(z, centres, s.beta1, s.beta2)[1].tolist() == [True, True, True, True, False]
    expected = [(0.21, 0.06), (0.12, -0.03), (0.093, -0.057), (0.0849, -0.0651)]  # steps .09, .09, .027, .0081
    for b1, b2 in expected:
        assert s.observe(5, 5) is True
        assert (s.beta1, s.beta2) == (pytest.approx(b1), pytest.approx(b2))
    assert s.observe(4, 5) is False  # the conflicted count fell: no change
    # once beta2 < 0 the midpoint (gap 0) is confident too; beta1 still bars a flat assignment (q_max .25)
    assert baselines.dynae_confidence(z, centres, 0.12, -0.03)[1].tolist() == [True] * 5
    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    flat = torch.tensor([[1.0, 1.0]])
    assert baselines.dynae_confidence(flat, square, 0.3, -0.03)[1].tolist() == [False]
    assert baselines.dynae_confidence(flat, square, 0.12, -0.03)[1].tolist() == [True]
    with pytest.raises(ValueError, match="authors"):
        baselines.DynAESchedule("fixed_gap", 10)


def test_dynae_authors_targets_are_embedded_centroids_and_weighted_1_to_100(results, toy):
    z = torch.tensor([[0.0, 0.0], [0.9, 0.1], [5.0, 5.0], [5.2, 4.9]])
    emb = baselines.embedded_centroids(z, torch.tensor([[1.0, 0.0], [5.0, 5.5]]))
    assert torch.equal(emb, z[[1, 2]])  # the real codes nearest to the k-means centres
    # the loss by hand: z = x1 + x2, g(z) = (z, 2 z); centres 0 and 10, their images (0, 0) and (10, 20)
    model = FeedForwardAutoencoder([2, 1], activation=None)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.tensor([[1.0, 1.0]]))
        model.encoder[0].bias.zero_()
        model.decoder[0].weight.copy_(torch.tensor([[1.0], [2.0]]))
        model.decoder[0].bias.zero_()
    x = torch.tensor([[1.0, 0.0], [2.5, 2.5]])  # z = 1 (confident, q gap .95) and 5 (the midpoint, gap 0)
    centres, images = torch.tensor([[0.0], [10.0]]), torch.tensor([[0.0, 0.0], [10.0, 20.0]])
    loss, parts = baselines.dynae_schedule_loss(model, x, centres, images, 0.0, 0.3, lam=1.0,
                                                construction_weight=100.0)
    # code targets 0 and 5 (own code): ((1-0)^2 + 0) / 2 = 0.5; image targets (0, 0) and x_1 = (2.5, 2.5):
    # ((1-0)^2 + (2-0)^2 + (5-2.5)^2 + (10-2.5)^2) / 4 = 16.875; loss = 0.5 + 100 * 16.875
    assert float(parts["latent"]) == 0.5 and float(parts["image"]) == 16.875 and float(parts["confident_share"]) == 0.5
    assert float(loss.detach()) == 1688.0
    res = get_run(_cfg("dynae", dynae_rule="authors", construction_weight=100.0, refresh_every=3, cluster_epochs=3,
                       stop="budget"))
    sched = res.meta["dynae_schedule"]
    assert [s["iteration"] for s in sched] == list(range(0, int(res.final["iterations"]), 3))
    assert sum(s["loosened"] for s in sched) <= 1  # the authors' rule loosens once at most
    # the first validation compares with N: it loosens only if every sample is conflicted
    assert sched[0]["loosened"] == (sched[0]["n_conflicted"] == N_PER_CLASS * N_CLASSES)
    assert res.final["iterations"] == 3 * len(inputs.batches(160, 64, torch.Generator(), torch.device("cpu")))


def test_lid_authors_per_cluster_recovers_subspace_dimensions():
    """Two clusters in 3-D and 5-D linear subspaces of 10-D: the authors' LID is 3 and 5 per cluster, 4 on average."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(10, 3)))
    a = rng.normal(size=(300, 3)) @ basis.T
    b = np.zeros((300, 10))
    b[:, 5:] = rng.normal(size=(300, 5)) * np.array([100.0, 0.01, 0.01, 0.01, 0.01])  # raw PCA sees 1 axis
    b += 1000.0
    z = torch.from_numpy(np.concatenate([a, b]))
    truth = torch.arange(600) // 300
    every = torch.arange(600)
    km = evaluation.kmeans_fit(z, 2, 3, 0).labels
    assert metrics_ari(truth, km) == 1.0  # k-means finds the two clusters
    out = evaluation.geometry(z, every, "authors", km)
    assert out["lid"] == 4.0  # (3 + 5) / 2
    assert evaluation.geometry(z, every[:300], "authors", km)["lid"] == 3.0
    assert evaluation.geometry(z, every[300:], "authors", km)["lid"] == 5.0
    assert evaluation.geometry(z, every, "authors_index", km)["lid"] == 3.0  # the authors' 0-based index: 2 and 4
    assert math.isfinite(out["id"])
    assert evaluation.geometry(z, every, "global90")["lid"] != 4.0  # raw global codes at 90 %: another number
    with pytest.raises(ValueError, match="k-means labels"):
        evaluation.geometry(z, every, "authors")
    with pytest.raises(ValueError, match="lid_estimator"):
        evaluation.geometry(z, every, "local")


def metrics_ari(a, b):
    from dcutils import metrics

    return metrics.ari(a, b)


def test_twist_relu_option_builds_a_network_with_relus(results):
    affine = twist.twist_autoencoder(16, None)
    relu = twist.twist_autoencoder(16, "relu")
    assert not any(isinstance(m, torch.nn.ReLU) for m in affine.modules())
    assert [type(m).__name__ for m in relu.encoder] == ["Linear", "ReLU", "Linear"]
    assert [type(m).__name__ for m in relu.decoder] == ["Linear", "ReLU", "Linear"]
    assert relu.encoder[0].out_features == 16
    with pytest.raises(ValueError, match="twist_activation"):
        twist.twist_autoencoder(16, "tanh")
    # the run builds it: same seed, same data, another map
    kw = dict(n_per_cluster=10, pretrain_epochs=2, cluster_epochs=1, snapshots=2, batch_size=16, method="rdc")
    a = get_run(RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", twist_activation=None, **kw))
    b = get_run(RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", **kw))  # version 2: ReLU
    assert not np.allclose(a.arrays["latent"][-1], b.arrays["latent"][-1])


def _phase2_with(stop: str, **kw):
    torch.manual_seed(0)
    data = _toy_images()
    model = FeedForwardAutoencoder([64, 16, 4])
    return rdc.train_proximity(model, data.x, epochs=kw.pop("epochs", 50), batch_size=16, lr=1e-3, beta=0.3,
                               gamma=0.6, m=5, lam=1.0, refresh_every=1, patience=3, use_augment=False,
                               generator=torch.Generator().manual_seed(0), log=lambda *a, **k: None, stop=stop,
                               y=data.y, **kw)


def test_phase2_budget_runs_every_epoch_and_records_when_the_rule_fired(monkeypatch):
    _stub_ratio(monkeypatch, [0.1, 0.2, 0.3, 0.3, 0.3, 0.3] + [0.9] * 1000)
    info = _phase2_with("budget", epochs=3)
    assert info["stopped"] == "budget" and info["rule_fired_at"] == 5  # where "core_ratio" stops (test above)
    assert info["iterations"] == 3 * (N_PER_CLASS * N_CLASSES // 16)
    assert len(info["refreshes"]) == len(info["core_ratios"]) == info["iterations"]  # before training + per step
    with pytest.raises(ValueError, match="stop"):
        _phase2_with("patience")


def test_phase2_refreshes_log_removed_share_and_purity_before_and_after():
    info = _phase2_with("budget", epochs=1, gamma_mode="quantile", gamma_quantile=0.5)
    first = info["refreshes"][0]
    assert set(first) == {"iteration", "core_ratio", "gamma", "removed_share", "purity_initial", "purity_filtered"}
    for r in info["refreshes"]:
        if r["core_ratio"] > 0:  # half of the core points' 4 non-closest neighbours: 2/5 of all 5
            assert r["removed_share"] == pytest.approx(0.4, abs=0.05)
            assert 0.0 <= r["purity_initial"] <= 1.0 and 0.0 <= r["purity_filtered"] <= 1.0
    absolute = _phase2_with("budget", epochs=1)
    assert {r["gamma"] for r in absolute["refreshes"]} == {0.6}


def test_rdc_method_with_every_authors_option_runs_and_reports_best_acc_apart(results, toy):
    authors = dict(construction_weight=100.0, neighbours_include_self=True, gamma_mode="quantile",
                   border_target="own_code", core_image_targets="per_iteration", lid_estimator="authors",
                   acai_mixing="authors", stop="budget",
                   dynae_rule="authors", refresh_every=3)
    default = get_run(_cfg("rdc", **V1))
    res = get_run(_cfg("rdc", **authors))
    assert res.meta["pretrained_key"] != default.meta["pretrained_key"]  # authors' ACAI draws: another network
    assert res.meta["phase2_stopped"] == "budget" and res.meta["phase2_refreshes"]
    p2 = res.history[res.history.phase == "P2"]
    assert p2["epoch"].tolist() == [0, 1, 2]
    assert (p2["gamma_removed"] > 0).all() and (default.history[default.history.phase == "P2"]["gamma_removed"]
                                                == 0).all()
    for r in (default, res):
        rows = r.history[r.history.phase != "P1"]
        best = max(rows["acc"].max(), r.final["acc"])
        assert r.final["acc_best_chosen_with_labels"] == best >= r.final["acc"]
        at = r.final["iteration_best_chosen_with_labels"]
        assert at == rows.loc[rows["acc"].idxmax(), "global_iteration"] or r.final["acc"] == best
    dyn = get_run(_cfg("dynae", **authors))
    assert dyn.meta["dynae_schedule"] and math.isfinite(dyn.final["lid"])
    for name in ("stop", "gamma_mode", "border_target", "core_image_targets", "lid_estimator", "dynae_rule",
                 "acai_mixing"):
        with pytest.raises(ValueError, match=name):
            get_run(_cfg("ae_kmeans", **{name: "typo"}))


def test_new_options_enter_the_network_keys_only_when_not_default(results, monkeypatch):
    data = _toy_images()
    geo = torch.arange(50)
    base = _cfg("rdc", **V1)

    def pre_key(cfg):
        return pretrain.pretrained_acai(cfg, data.x, data.y, N_CLASSES, geo, data_fingerprint="abc")[2]["key"]

    paths = []
    monkeypatch.setattr(phase2, "_load_or_train_phase2", lambda *a: paths.append(a[-1]) or ([], {}))

    def p2_path(cfg):
        phase2.run_phase2(cfg, None, None, data.x, None, 0.3, 0.6, "pre", None, data_fingerprint="abc")
        return paths[-1]

    # version 1's values spelled out give the keys of a config without them (the keys cached before the options)
    legacy = {"kind": "rdc-phase2", "version": phase2.PHASE2_VERSION, "dataset": "toy", "seed": 0,
              "data_fingerprint": "abc", "pretrained": "pre", "params": {k: base[k] for k in phase2.PHASE2_PARAMS},
              "beta_gamma": [0.3, 0.6]}
    assert p2_path(base) == pretrain.net_path("toy", legacy)[0]
    assert p2_path(base.replace(**phase2.PHASE2_OPTIONS)) == p2_path(base)
    for name, value in [("construction_weight", 100.0), ("neighbours_include_self", True), ("gamma_mode", "quantile"),
                        ("border_target", "own_code"), ("core_image_targets", "per_iteration"), ("stop", "budget"),
                        ("lid_estimator", "authors"), ("best_acc_every", 140)]:
        assert p2_path(base.replace(**{name: value})) != p2_path(base), name
    assert pre_key(base.replace(acai_mixing="authors")) != pre_key(base)
    assert pre_key(base.replace(dynae_rule="authors", stop="budget")) == pre_key(base)  # not pretraining options


def test_best_acc_chosen_with_labels_is_the_best_logged_row_not_the_final_one():
    from dcutils.rdc.method import _best_chosen_with_labels

    rows = [{"acc": 0.5, "global_iteration": 10}, {"acc": 0.8, "global_iteration": 20},
            {"acc": math.nan, "global_iteration": 25}, {"acc": 0.6, "global_iteration": 30}]
    assert _best_chosen_with_labels(rows, 0.6, 30) == {"acc_best_chosen_with_labels": 0.8,
                                                       "iteration_best_chosen_with_labels": 20.0}
    assert _best_chosen_with_labels([], 0.7, 5) == {"acc_best_chosen_with_labels": 0.7,
                                                    "iteration_best_chosen_with_labels": 5.0}


def test_version_3_defaults_are_the_authors_code_where_the_paper_is_silent_with_anchored_targets():
    from dcutils.core import get_algorithm

    method = get_algorithm("rdc.method")
    assert method.version == 3
    d = method.defaults
    assert (d["construction_weight"], d["pull_weight"]) == (100.0, 1.0)  # latent + 100 x image
    assert d["n_neighbours"] == 5 and d["neighbours_include_self"] is True  # 4 real neighbours
    assert (d["lid_estimator"], d["dynae_rule"], d["acai_mixing"]) == ("authors", "authors", "authors")
    # version 3: anchored phase-2 targets (the authors' self-referential ones diverge) and 20 k-means starts
    assert (d["border_target"], d["core_image_targets"], d["kmeans_n_init"]) == ("input", "per_refresh", 20)
    assert d["refresh_every"] == 140 and d["stop"] == "budget" and d["gamma_mode"] == "quantile"
    assert d["fused_adam"] is True and d["precision"] == "fp32"
    twist_defaults = get_algorithm("rdc.twist").defaults
    assert twist_defaults["twist_activation"] == "relu" and get_algorithm("rdc.twist").version == 3
    assert (twist_defaults["border_target"], twist_defaults["core_image_targets"]) == ("input", "per_refresh")
    assert get_algorithm("rdc.paradigm").defaults["lid_estimator"] == "authors"
    assert get_algorithm("rdc.paradigm").defaults["kmeans_n_init"] == 20


def test_bf16_autocast_holds_for_each_rdc_loss_on_the_same_network_and_batch():
    """bf16 autocast changes R-DC phase 2's, ACAI's, DEC's and VaDE's losses by under 2 % on the same network and
    mini-batch (the tolerance the quick profile relies on); fp32 autocast changes nothing."""
    import copy

    from dcutils import models
    from dcutils.dec import soft_assignment
    from dcutils.rdc import acai, inputs, proximity
    from dcutils.rdc.vade import VaDE

    torch.manual_seed(0)
    data = _toy_images()
    x = data.x.reshape(len(data.x), -1)
    model = models.rdc_autoencoder(x.shape[1], 10)
    targets = proximity.compute_targets(models.embed(model, x), 5, 0.3, 0.6, neighbours_include_self=True,
                                        gamma_mode="quantile")
    idx = torch.arange(64)
    critic = acai.Critic(x.shape[1])

    def losses(precision: str) -> dict[str, float]:
        t = inputs.Training(precision)
        out = {}
        with t.autocast("cpu"):
            out["phase2"] = proximity.proximity_loss(model, x[idx], targets.subset(idx), 1.0, construction_weight=100.0,
                                                     border_target="own_code")[0]
            q = soft_assignment(model.encode(x[idx]).float(), torch.randn(N_CLASSES, 10, generator=torch.Generator()
                                                                          .manual_seed(1)))
            out["dec"] = (q * q.log()).sum(dim=1).mean()
            vade = VaDE(model, torch.full((N_CLASSES,), 1 / N_CLASSES), torch.zeros(N_CLASSES, 10),
                        torch.ones(N_CLASSES, 10), -4.0)
            out["vade"] = vade.loss(x[idx], x[idx], torch.Generator().manual_seed(2))
        m, c = copy.deepcopy(model), copy.deepcopy(critic)
        out["acai"] = acai.acai_step(m, c, torch.optim.Adam(m.parameters()), torch.optim.Adam(c.parameters()), x[idx],
                                     generator=torch.Generator().manual_seed(3), precision=precision)["ae"]
        return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in out.items()}

    fp32, bf16 = losses("fp32"), losses("bf16")
    assert fp32 == losses("fp32")  # deterministic, so the comparison is about precision only
    for name in fp32:
        assert math.isfinite(bf16[name]) and abs(bf16[name] - fp32[name]) <= 0.02 * abs(fp32[name]), name


def test_p1p2p3_draws_the_same_dec_batches_whether_phase2_was_computed_or_cached(tmp_path, toy, monkeypatch):
    """P3 of P1+P2+P3 must not depend on the order of computation: phase 2 consumed the run's generator when
    it trained in-process and not when it was read from the cache, so P3 drew other batches (fixed in version 3:
    P3 has its own seed)."""
    cfg = _cfg("p1p2p3", cluster_epochs=3, refresh_every=3)
    monkeypatch.setenv("DCUTILS_RESULTS", str(tmp_path / "cached_first"))
    get_run(_cfg("rdc", cluster_epochs=3, refresh_every=3))  # phase 2 into a fresh cache first
    after = get_run(cfg)
    monkeypatch.setenv("DCUTILS_RESULTS", str(tmp_path / "fresh"))
    alone = get_run(cfg)  # phase 2 trained in this run
    assert after.meta["phase2_from_cache"] is True and alone.meta["phase2_from_cache"] is False
    p3 = lambda r: r.history[r.history.phase == "P3"].reset_index(drop=True)  # noqa: E731
    cols = ["loss", "acc", "recon_mse", "code_rms", "min_cluster_share"]
    assert len(p3(alone)) == 4
    assert p3(alone)[cols].equals(p3(after)[cols])
    timing = ("seconds_pretrain", "seconds_cluster")
    assert {k: v for k, v in alone.final.items() if k not in timing} == {
        k: v for k, v in after.final.items() if k not in timing}


def _pretrained_toy_autoencoder() -> tuple[Dataset, FeedForwardAutoencoder]:
    """The toy images and a small autoencoder pretrained by reconstruction (300 Adam steps)."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    data = _toy_images()
    model = FeedForwardAutoencoder([64, 32, 4])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(0, len(data.x), (32,), generator=g)
        loss = F.mse_loss(model(data.x[idx])[1], data.x[idx].reshape(32, -1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return data, model


def test_self_referential_phase2_targets_diverge_and_are_flagged_anchored_targets_are_not():
    """The authors' targets (border points' own code, every target decoded by the current decoder at every
    iteration) let codes and decoder outputs drift together; the health columns show it and the run is
    flagged. The anchored default (border points reconstruct the input, decoded targets fixed per refresh)
    on the same toy, network and budget stays bounded and is not flagged."""
    import copy

    import pandas as pd

    from dcutils.rdc.method import HEALTH_LOSSES

    data, pretrained = _pretrained_toy_autoencoder()

    def run(**kw):
        model = copy.deepcopy(pretrained)
        log = evaluation.EpochLogger(data.x, data.y, N_CLASSES, torch.arange(100), 5, 0.3, 0.6, 1, 0)
        rdc.train_proximity(model, data.x, epochs=60, batch_size=16, lr=1e-3, beta=0.3, gamma=0.6, m=5, lam=1.0,
                            refresh_every=1, patience=3, use_augment=False, generator=torch.Generator().manual_seed(0),
                            log=log, construction_weight=100.0, neighbours_include_self=True, gamma_mode="quantile",
                            stop="budget", **kw)
        history = pd.DataFrame(log.rows)
        assert set(evaluation.HEALTH_COLUMNS) <= set(history.columns)
        return history, evaluation.assess_health(history, HEALTH_LOSSES["rdc"])

    authors, sick = run(border_target="own_code", core_image_targets="per_iteration")
    assert sick["flagged"] and any("P2 recon mse grew" in r for r in sick["reasons"]), sick
    assert authors["recon_mse"].iloc[-1] > 100 * authors["recon_mse"].iloc[0]
    assert authors["decoder_rms"].iloc[-1] > 10 * authors["decoder_rms"].iloc[0]
    anchored, healthy = run()  # the defaults: border_target="input", core_image_targets="per_refresh"
    assert not healthy["flagged"], healthy
    assert anchored["recon_mse"].max() < 5 * anchored["recon_mse"].iloc[0]
    assert anchored["decoder_rms"].max() < 2 * anchored["decoder_rms"].iloc[0]


def test_every_rdc_method_logs_health_columns_and_stores_its_assessment(results, toy):
    for method in ("rdc", "dec", "vade"):
        res = get_run(_cfg(method))
        rows = res.history[res.history.phase != "P1"]
        assert rows[list(evaluation.HEALTH_COLUMNS)].notna().all().all(), method
        assert (rows["min_cluster_share"].between(0, 1)).all() and (rows["empty_clusters"] >= 0).all()
        h = res.meta["health"]
        assert set(h) >= {"flagged", "reasons", "loss_growth"} and isinstance(h["flagged"], bool)
        assert set(h["loss_growth"]) <= {f"{p} {c}" for p, cols in rdc.method.HEALTH_LOSSES[method].items()
                                         for c in cols}
    twist_run = get_run(RunConfig.make("rdc.twist", "curved4", seed=0, profile="smoke", method="rdc",
                                       n_per_cluster=30, pretrain_epochs=3, cluster_epochs=2))
    assert "health" in twist_run.meta and twist_run.history["recon_mse"].notna().all()
    paradigm = get_run(RunConfig.make("rdc.paradigm", "toy", seed=0, profile="smoke", subsample=None,
                                      pretrain_epochs=2, cluster_epochs=2, geometry_sample=100, kmeans_n_init=1))
    assert "health" in paradigm.meta and paradigm.history["decoder_rms"].notna().all()


def test_acc_probes_every_n_iterations_join_the_best_chosen_with_labels(results, toy):
    """best_acc_every probes the ACC between the logged epochs (the authors validate every 140 iterations); the
    probes of phase 2 are kept with its cached network, so P1+P2+P3 reading it sees them too."""
    res = get_run(_cfg("rdc", best_acc_every=2, cluster_epochs=2))
    rows = res.history[res.history.phase == "P2"]
    assert res.final["acc_best_chosen_with_labels"] >= max(rows["acc"].max(), res.final["acc"])
    log = evaluation.EpochLogger(torch.zeros(8, 2), torch.zeros(8, dtype=torch.long), 2, torch.arange(4), 2, 0.3,
                                 0.6, 1, 100, probe_every=3)
    model = FeedForwardAutoencoder([2, 2])
    for step in range(1, 8):
        log.probe(model, step, lambda: torch.zeros(8, dtype=torch.long))
    assert [p["global_iteration"] for p in log.probes] == [103.0, 106.0]
    assert all(p["acc"] == 1.0 for p in log.probes)


# ---------------------------------------------------------------- rdc/choices


def test_choices_run_each_choice_once_per_seed_on_the_shared_runs():
    """rdc/choices: the shared FMNIST R-DC runs (the same configs as tab03 and fig12, computed once) plus, per seed,
    one run per choice with only that choice switched to the authors' code's value."""
    for profile, refresh in (("smoke", 3), ("quick", 40), ("paper", 1)):
        s = notebook_settings("rdc/choices", profile)
        cs = configs_for(s)
        assert len(cs) == len(set(cs)) == (1 + len(exp.CHOICES)) * len(s.seeds)
        shared = {c for c in configs_for(notebook_settings("rdc/tab03", profile))
                  if c["method"] == "rdc" and c.dataset == "fmnist"}
        assert shared <= set(configs_for(notebook_settings("rdc/fig12", profile)))
        default = {"border_target": "input", "core_image_targets": "per_refresh", "refresh_every": refresh}
        base = [c for c in cs if all(c[k] == v for k, v in default.items())]
        assert set(base) == shared and sorted(c.seed for c in base) == s.seeds
        for choice in exp.CHOICES:
            switched = {**default, **choice["other"]}
            mine = [c for c in cs if all(c[k] == v for k, v in switched.items())]
            assert sorted(c.seed for c in mine) == s.seeds, (profile, choice["choice"])
            for c in mine:  # only the choice differs from the same seed's shared run
                twin = next(b for b in base if b.seed == c.seed)
                assert c.replace(**{k: twin[k] for k in choice["other"]}) == twin
    assert notebook_settings("rdc/choices", "quick").seeds == [0, 1, 2]  # 6 runs beyond the shared ones


def _choice_run(seed: int, acc: float, *, sick: bool = False, recon: float = 0.2, growth: float = 1.5,
                **switched):
    """A fabricated rdc.method record of rdc/choices at quick: its final ACC, phase-2 recon_mse and health."""
    cfg = RunConfig.make("rdc.method", "fmnist", seed=seed, profile="quick", method="rdc",
                         **{"refresh_every": 40, **switched})
    history = pd.DataFrame({"phase": ["P1", "P2", "P2"], "epoch": [100, 0, 63],
                            "recon_mse": [0.3, 0.19, recon]})
    reasons = ["P2 loss grew to 1e+06x its start (limit 10x)"] if sick else []
    meta = {"dataset": "FMNIST", "split": "all", "n_samples": 10_000,
            "health": {"flagged": sick, "reasons": reasons, "loss_growth": {"P2 loss": growth}}}
    return RunResult(cfg, history, {"acc": acc}, {}, meta, True, {})


def test_choices_table_pairs_each_choice_with_the_default_and_shows_flagged_runs():
    default, own, slow = [0.60, 0.62, 0.61], [0.40, 0.47, 0.42], [0.61, 0.60, 0.64]
    runs = [_choice_run(s, a) for s, a in enumerate(default)]
    runs += [_choice_run(s, a, sick=True, recon=755.0, growth=1.4e6, border_target="own_code",
                         core_image_targets="per_iteration") for s, a in enumerate(own)]
    runs += [_choice_run(s, a, sick=s == 1, refresh_every=140) for s, a in enumerate(slow)]
    settings = notebook_settings("rdc/choices", "quick")
    table = choices.choices_table(RunSet(runs), settings).set_index("choice")
    assert list(table.index) == [c["choice"] for c in exp.CHOICES]

    targets = table.loc["phase-2 targets"]
    diffs = [100 * (o - d) for o, d in zip(own, default)]
    mean, se, n = claims.mean_se(diffs)
    assert targets["pairs"] == n == 3 and targets["paired"] == pytest.approx(mean)
    assert targets["paired_se"] == pytest.approx(se) and targets["verdict"] == claims.direction(mean, se, n) == "behind"
    assert targets["default_acc"] == pytest.approx(61.0) and targets["other_acc"] == pytest.approx(43.0)
    assert targets["default"] == "border_target='input', core_image_targets='per_refresh'"
    assert targets["other"] == "border_target='own_code', core_image_targets='per_iteration'"
    assert targets["other_recon"] == pytest.approx(755.0) and targets["default_recon"] == pytest.approx(0.2)
    assert targets["other_growth"] == pytest.approx(1.4e6) and targets["default_growth"] == pytest.approx(1.5)
    assert (targets["other_flagged"], targets["default_flagged"]) == (3, 0)
    assert targets["flag"] == "⚠" and targets["note"] == "rests on 3 of 3 pairs with a flagged run"

    refresh = table.loc["target refresh interval"]
    assert (refresh["default"], refresh["other"]) == ("refresh_every=40", "refresh_every=140")
    assert refresh["paired"] == pytest.approx(100 * (sum(slow) - sum(default)) / 3)
    assert refresh["verdict"] == "inconclusive" and refresh["note"] == "rests on 1 of 3 pairs with a flagged run"

    found = choices.choices_findings(table.reset_index(), settings)
    checked = findings.make("rdc/choices", "quick", "test", found["verdict"], found["reason"], found["values"],
                            found["text"])  # every number of the text is cited
    assert checked.verdict == findings.NOT_TESTABLE
    assert "(⚠ rests on 3 of 3 pairs with a flagged run)" in checked.text and "`refresh_every=140`" in checked.text
