"""ReSL's pipeline: strong augmentation, the self-labeling loop with strategies, the cached base network, settings."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcutils.resl import augment as ra
from dcutils.resl.network import ClusteringModel, resnet18
from dcutils.resl.pretext import Splits, base_network, load_splits
from dcutils.resl.selflabel import HISTORY_COLUMNS, evaluate, self_label
from dcutils.resl.strategies import HareTortoise, NoReset, PlasticityInjection, ShrinkPerturb


def _splits(n_train: int = 24, n_test: int = 12, seed: int = 0) -> Splits:
    g = torch.Generator().manual_seed(seed)
    x_train, x_test = torch.rand(n_train, 1, 8, 8, generator=g), torch.rand(n_test, 1, 8, 8, generator=g)
    y_train, y_test = torch.arange(n_train) % 3, torch.arange(n_test) % 3
    return Splits(x_train, y_train, x_test, y_test, torch.tensor([0.5]), torch.tensor([0.25]), 3, {})


def _model(seed: int = 0) -> ClusteringModel:
    torch.manual_seed(seed)
    return ClusteringModel(resnet18(1, 1 / 32), 3)


def _run(strategy, *, epochs: int = 3, threshold: float = 0.0, seed: int = 0, s: Splits | None = None):
    s = s or _splits()
    model = _model(seed)
    rows, labels = self_label(model, strategy, s, epochs=epochs, batch_size=8, lr=1e-2, weight_decay=1e-4,
                              threshold=threshold, balance=True, n_ops=2, cutout=3,
                              generator=torch.Generator().manual_seed(seed), prec="fp32", fused=False)
    return model, rows, labels


# ------------------------------------------------------------ augmentation
def test_strong_augment_is_batched_seeded_and_normalised():
    x = torch.rand(16, 1, 12, 12)
    mean, std = torch.tensor([0.3]), torch.tensor([0.2])
    a = ra.strong_augment(x, mean, std, cutout_length=4, generator=torch.Generator().manual_seed(1))
    b = ra.strong_augment(x, mean, std, cutout_length=4, generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert torch.isfinite(a).all()
    # before normalisation every op keeps [0, 1]; after it, values lie in [(0 - m)/s, (1 - m)/s]
    assert float(a.min()) >= (0 - 0.3) / 0.2 - 1e-5 and float(a.max()) <= (1 - 0.3) / 0.2 + 1e-5
    # with a fixed side every image has a zeroed hole (cutout after normalisation: 0 is the mean)
    c = ra.strong_augment(x, mean, std, cutout_length=4, cutout_random=False,
                          generator=torch.Generator().manual_seed(1))
    assert ((c == 0).flatten(1).sum(1) > 0).all()


def _scan_cutout(x: torch.Tensor, length: int, u: torch.Tensor) -> torch.Tensor:
    """SCAN's Cutout written per image as its code reads (data/augment.py), from our uniform draws u (N, 3)."""
    out = x.clone()
    h, w = x.shape[-2:]
    for i in range(x.shape[0]):
        side = min(int(u[i, 2] * length), length - 1) + 1          # random.randint(1, length)
        y, xc = min(int(u[i, 0] * h), h - 1), min(int(u[i, 1] * w), w - 1)  # np.random.randint(h), (w)
        y1, y2 = np.clip(y - side // 2, 0, h), np.clip(y + side // 2, 0, h)
        x1, x2 = np.clip(xc - side // 2, 0, w), np.clip(xc + side // 2, 0, w)
        out[i, :, y1:y2, x1:x2] = 0.0
    return out


@pytest.mark.parametrize("length", [14, 16, 5])
def test_cutout_is_scans_random_side_hole(length):
    x = torch.rand(300, 2, 28, 28) + 0.5  # no zero before the hole
    got = ra.cutout(x, length, torch.Generator().manual_seed(3))
    u = torch.rand(300, 3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(got, _scan_cutout(x, length, u))
    holes = (got == 0).all(dim=1).flatten(1).sum(1)
    assert (holes == 0).any() and int(holes.max()) <= (2 * (length // 2)) ** 2  # side 1 makes no hole


def test_cutout_share_is_scans_at_32_and_scaled_at_28():
    # SCAN at 32 px: side 2 (L // 2), L in 1..16: 8.4 % of the image before clipping, ~7 % after
    for side, length in ((32, 16), (28, 14)):
        holes = ra.cutout(torch.ones(4000, 1, side, side), length, torch.Generator().manual_seed(0))
        assert 0.06 < float((holes == 0).float().mean()) < 0.08


def test_strong_augment_crops_nothing_by_default_as_scans_random_crop_at_the_image_size():
    x = torch.rand(64, 1, 10, 10)
    flipped = ra._flip_crop(x, 0, torch.Generator().manual_seed(0))
    assert all(torch.equal(f, i) or torch.equal(f, i.flip(-1)) for f, i in zip(flipped, x))


def _pil_pair(op: str, a: np.ndarray, m: float):
    from PIL import Image, ImageOps
    img = Image.fromarray(a)
    ref = {"equalize": lambda: ImageOps.equalize(img), "posterize": lambda: ImageOps.posterize(img, int(m)),
           "shear_x": lambda: img.transform(img.size, Image.AFFINE, (1, m, 0, 0, 1, 0)),
           "shear_y": lambda: img.transform(img.size, Image.AFFINE, (1, 0, 0, m, 1, 0)),
           "translate_x": lambda: img.transform(img.size, Image.AFFINE, (1, 0, m * a.shape[1], 0, 1, 0))}[op]()
    x = torch.tensor(a / 255.0, dtype=torch.float32).view(1, 1, *a.shape)
    ours = (ra.apply_op(op, x, torch.tensor([m])) * 255).round().to(torch.uint8).numpy()[0, 0]
    return np.asarray(ref), ours


@pytest.mark.parametrize("op,m", [("equalize", 0.0), ("posterize", 4.9), ("posterize", 7.99), ("shear_x", 0.1),
                                  ("shear_y", -0.08), ("translate_x", 0.1)])
def test_operations_match_pil_on_8_bit_images(op, m):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    for trial in range(5):
        a = (rng.random((28, 28)) ** rng.uniform(0.3, 3) * 255 * rng.uniform(0.1, 1)).astype(np.uint8)
        if trial == 0:
            a = (a // 64 * 64).astype(np.uint8)  # few levels
        ref, ours = _pil_pair(op, a, m)
        assert np.array_equal(ref, ours), (op, m, trial)


@pytest.mark.parametrize("op", ra.OPS)
def test_each_operation_keeps_shape_and_range(op):
    x = torch.rand(5, 3, 10, 10)
    rng = ra.RANGES[op]
    m = torch.rand(5) if rng is None else rng[0] + (rng[1] - rng[0]) * torch.rand(5)
    out = ra.apply_op(op, x, m)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1 + 1e-6


def test_operations_by_hand():
    x = torch.rand(2, 1, 6, 6) * 0.5 + 0.25
    assert torch.equal(ra.apply_op("identity", x, torch.zeros(2)), x)
    torch.testing.assert_close(ra.apply_op("brightness", x, torch.tensor([0.5, 1.0])),
                               torch.stack([0.5 * x[0], x[1]]))
    out = ra.apply_op("solarize", x, torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(out, torch.stack([1 - x[0], x[1]]))
    ac = ra.apply_op("autocontrast", x, torch.zeros(2))
    assert torch.allclose(ac.amin(dim=(1, 2, 3)), torch.zeros(2)) and torch.allclose(ac.amax(dim=(1, 2, 3)),
                                                                                       torch.ones(2))


def test_simclr_views_differ_and_keep_shape():
    x = torch.rand(6, 1, 12, 12)
    g = torch.Generator().manual_seed(0)
    v1 = ra.simclr_augment(x, torch.tensor([0.5]), torch.tensor([0.25]), generator=g)
    v2 = ra.simclr_augment(x, torch.tensor([0.5]), torch.tensor([0.25]), generator=g)
    assert v1.shape == x.shape and not torch.equal(v1, v2)


# ------------------------------------------------------------ self-labeling loop
def test_history_columns_and_epoch_zero_row():
    _, rows, _ = _run(NoReset(), epochs=2)
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert all(set(HISTORY_COLUMNS) <= set(r) for r in rows)
    assert rows[-1]["steps"] == 2 * 3 and rows[0]["steps"] == 0
    assert math.isnan(rows[0]["cl_change"]) and rows[1]["cl_change"] >= 0


def test_sp_alpha_one_and_ht_momentum_zero_reproduce_the_no_reset_history_exactly():
    _, reference, _ = _run(NoReset())
    for strategy in (ShrinkPerturb(1.0, every=1, epochs=3), HareTortoise(0.0, every=1, epochs=3)):
        _, rows, _ = _run(strategy)
        assert sum(r["reset"] for r in rows) == 2  # after epochs 1 and 2, none after the last
        for a, b in zip(reference, rows):
            for col in ("acc", "nmi", "ari", "confident_fraction", "cl_change", "loss", "steps"):
                assert a[col] == b[col] or (math.isnan(a[col]) and math.isnan(b[col])), (type(strategy), col)


def test_ht_metrics_come_from_the_tortoise():
    s = _splits()
    ht = HareTortoise(0.9, every=10, epochs=2)
    model, rows, labels = _run(ht, epochs=2, s=s)
    scores, tortoise_labels = evaluate(ht.tortoise, s, 0.0, None)
    assert rows[-1]["acc"] == scores["acc"] and np.array_equal(labels, tortoise_labels)
    # the hare differs from the tortoise (no reset yet), so the rows are not the hare's
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), ht.tortoise.parameters()))


def test_a_batch_without_confident_sample_is_skipped_and_counted():
    model, rows, _ = _run(NoReset(), epochs=2, threshold=1.0)  # strictly above 1: never confident
    assert all(r["skipped_batches"] == 3 for r in rows[1:]) and rows[-1]["steps"] == 0
    reference = _model()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))


def test_sp_star_alpha_in_the_history_reaches_one():
    _, rows, _ = _run(ShrinkPerturb(0.5, every=1, schedule="linear", epochs=4), epochs=4)
    alphas = [r["alpha"] for r in rows if r["reset"]]
    assert alphas == pytest.approx([0.625, 0.75, 0.875])
    assert ShrinkPerturb(0.5, 1, "linear", 4).alpha_at(3) == 1.0


def test_plasticity_injection_in_the_loop_keeps_the_evaluation_at_injection():
    pi = PlasticityInjection([1], seed=0)
    s = _splits()
    model = _model()
    rows, _ = self_label(model, pi, s, epochs=1, batch_size=8, lr=1e-2, weight_decay=0.0, threshold=0.0,
                         balance=True, n_ops=2, cutout=3, generator=torch.Generator().manual_seed(0), fused=False)
    assert rows[-1]["reset"] is True
    ref = _model()
    rows_ref, _ = self_label(ref, NoReset(), s, epochs=1, batch_size=8, lr=1e-2, weight_decay=0.0, threshold=0.0,
                             balance=True, n_ops=2, cutout=3, generator=torch.Generator().manual_seed(0), fused=False)
    assert rows[-1]["acc"] == rows_ref[-1]["acc"] and rows[-1]["nmi"] == rows_ref[-1]["nmi"]


# ------------------------------------------------------------ the pseudo-label pass's BatchNorm mode
def _bn_net(seed: int = 0) -> torch.nn.Module:
    """Flatten -> BatchNorm -> Linear whose running statistics do not describe the data (variance 100x too small)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(16), torch.nn.Linear(16, 3))
    with torch.no_grad():
        net[1].running_mean.fill_(0.5)
        net[1].running_var.fill_(1 / 12 / 100)  # uniform [0, 1] has variance 1/12
        net[2].weight.mul_(3.0)
    return net.train()


def test_pseudo_label_bn_modes_give_different_confident_fractions_and_only_train_updates_statistics():
    from dcutils.resl.selflabel import confident_counts, pseudo_label_logits

    x = torch.rand(400, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    frac = {}
    for bn in ("train", "eval"):
        net = _bn_net()
        before = net[1].running_var.clone()
        logits = pseudo_label_logits(net, x, bn)
        assert net.training and not logits.requires_grad
        counts = confident_counts(torch.softmax(logits, 1), 0.99, 3)
        frac[bn] = counts.sum() / x.shape[0]
        # "train" normalises by the batch's statistics and updates the running ones (SCAN's code), "eval" neither
        assert torch.equal(net[1].running_var, before) == (bn == "eval")
    assert frac["eval"] > 0.5 > frac["train"], frac
    with pytest.raises(ValueError, match="pseudo_label_bn"):
        pseudo_label_logits(_bn_net(), x, "batch")


@pytest.mark.parametrize("bn", ["train", "eval"])
def test_pseudo_label_pass_precedes_the_strong_pass_as_in_scans_selflabel_train(bn):
    # SCAN's selflabel_train: model.train(); per batch: no_grad model(images) -> model(images_augmented) -> step
    s = _splits()
    model = _model()
    calls = []
    model.register_forward_pre_hook(lambda m, a: calls.append((m.training, torch.is_grad_enabled(), a[0].detach())))
    self_label(model, NoReset(), s, epochs=1, batch_size=8, lr=1e-2, weight_decay=1e-4, threshold=0.0, balance=True,
               n_ops=2, cutout=3, generator=torch.Generator().manual_seed(0), fused=False, pseudo_label_bn=bn)
    clean = ra.normalize(s.x_train, s.mean, s.std).flatten(1)
    strong_passes = [i for i, c in enumerate(calls) if c[1]]
    assert len(strong_passes) == 3  # 24 images, batches of 8
    for i in strong_passes:
        training, grad, x = calls[i - 1]
        assert calls[i][0] and not grad and training == (bn == "train")
        # the pseudo-label pass sees the clean (normalised, un-augmented) images of the batch
        assert float(torch.cdist(x.flatten(1), clean).min(dim=1).values.max()) == 0.0
        assert calls[i][2].shape == x.shape and not torch.equal(calls[i][2], x)


def test_health_columns_of_the_history():
    s = _splits()
    model = _model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rows, _ = self_label(model, NoReset(), s, epochs=0, batch_size=8, lr=1e-2, weight_decay=1e-4, threshold=0.0,
                         balance=True, n_ops=2, cutout=3, generator=torch.Generator().manual_seed(0), fused=False)
    # row 0's pseudo-label counts come from a copy: the model (BatchNorm statistics included) is untouched
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert rows[0]["pseudo_confident_per_cluster"] and sum(rows[0]["pseudo_confident_per_cluster"]) == 24
    _, rows, labels = _run(NoReset(), epochs=2, threshold=0.0)
    for r in rows:
        per = r["confident_per_cluster"]
        assert len(per) == 3 and sum(per) == round(r["confident_fraction"] * 24)
        assert r["unconfident_clusters"] == sum(c == 0 for c in per)
        assert 0 <= r["min_cluster_share"] <= 1 / 3 and 0 <= r["empty_clusters"] < 3
        # threshold 0: every target is confident, each training image once per epoch
        assert sum(r["pseudo_confident_per_cluster"]) == 24 and r["pseudo_confident_fraction"] == 1.0
    counts = np.bincount(labels, minlength=3)
    assert rows[-1]["min_cluster_share"] == counts.min() / 12 and rows[-1]["empty_clusters"] == int((counts == 0).sum())
    _, strict, _ = _run(NoReset(), epochs=1, threshold=1.0)  # nothing is ever confident
    assert all(r["unconfident_clusters"] == 3 and r["pseudo_confident_fraction"] == 0.0 for r in strict)


def test_resl_selflabel_records_health_and_the_bn_mode(results):
    import dcutils.runs  # noqa: F401  (registers resl.selflabel)
    from dcutils import items
    from dcutils.core import RunContext, get_algorithm

    cfg = items.config("resl.selflabel", "fmnist", 0, "smoke", n_train=40, n_test=20, width=1 / 32,
                       simclr_epochs=1, simclr_batch=16, scan_epochs=1, scan_batch=16, n_neighbours=3, sl_epochs=1,
                       sl_batch=20, pseudo_label_bn="eval")
    out = get_algorithm("resl.selflabel").fn(cfg, RunContext(cfg, torch.device("cpu")))
    h = out.meta["health"]
    assert {"flagged", "reasons", "unconfident_clusters_start", "unconfident_clusters_end"} <= set(h)
    assert h["unconfident_clusters_start"] == out.final["unconfident_clusters_scan"]
    assert h["unconfident_clusters_end"] == out.final["unconfident_clusters"]
    assert h["flagged"] == bool(h["unconfident_clusters_start"] or h["unconfident_clusters_end"] or h["reasons"])
    with pytest.raises(ValueError, match="pseudo_label_bn"):
        get_algorithm("resl.selflabel").fn(cfg.replace(pseudo_label_bn="batch"),
                                           RunContext(cfg, torch.device("cpu")))


# ------------------------------------------------------------ data and the cached base network
def test_load_splits_is_balanced_and_disjoint():
    s = load_splits("fmnist", n_train=100, n_test=50)
    assert s.x_train.shape == (100, 1, 28, 28) and s.x_test.shape == (50, 1, 28, 28)
    assert torch.bincount(s.y_train).tolist() == [10] * 10 and torch.bincount(s.y_test).tolist() == [5] * 10
    assert s.info["train_of"] == 60_000 and s.info["fingerprint"] == "58b658b428c6afa7"
    assert float(s.x_train.min()) >= 0 and float(s.x_train.max()) <= 1


def test_load_splits_normalises_with_the_subset_or_with_scans_constants(monkeypatch):
    from dcutils.resl import pretext

    s = load_splits("fmnist", n_train=100, n_test=50)
    assert torch.allclose(s.mean, s.x_train.mean(dim=(0, 2, 3))) and s.info["normalization"] == "subset"
    with pytest.raises(ValueError, match="normalization='subset'"):  # SCAN has no FMNIST constants
        load_splits("fmnist", n_train=100, n_test=50, normalization="scan")
    with pytest.raises(ValueError, match="unknown normalization"):
        load_splits("fmnist", n_train=100, n_test=50, normalization="zscore")
    monkeypatch.setitem(pretext.SCAN_NORMALIZATION, "fmnist", ((0.25,), (0.5,)))
    scan = load_splits("fmnist", n_train=100, n_test=50, normalization="scan")
    assert scan.mean.tolist() == [0.25] and scan.std.tolist() == [0.5] and torch.equal(scan.x_train, s.x_train)
    # the paper's data sets: SCAN's constants as ReSL's Table 3 prints them
    assert pretext.SCAN_NORMALIZATION["cifar10"] == ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
    assert set(pretext.SCAN_NORMALIZATION) >= {"cifar10", "cifar100-20", "cifar100", "stl10"}


def test_a_cached_network_keeps_its_key_under_subset_normalisation_and_gets_another_under_scans():
    import dcutils.runs  # noqa: F401  (registers resl.selflabel)
    from dcutils import items
    from dcutils.resl.pretext import BASE_PARAMS, _key_params

    cfg = items.config("resl.selflabel", "fmnist", 0, "smoke")
    assert _key_params(cfg, BASE_PARAMS) == {k: cfg[k] for k in BASE_PARAMS}  # what the key was before
    assert cfg.replace(normalization="subset").key() == cfg.key()  # added later: the record keys stay
    assert _key_params(cfg.replace(normalization="scan"), BASE_PARAMS)["normalization"] == "scan"
    assert cfg.replace(normalization="scan").key() != cfg.key()


def test_base_network_is_trained_once_and_loaded_from_the_cache(results):
    import dcutils.runs  # noqa: F401  (registers resl.selflabel)
    from dcutils import items

    cfg = items.config("resl.selflabel", "fmnist", 0, "smoke", n_train=40, n_test=20, width=1 / 32,
                       simclr_epochs=1, simclr_batch=16, scan_epochs=1, scan_batch=16, n_neighbours=3)
    s = load_splits("fmnist", n_train=40, n_test=20)
    m1, rows1, info1 = base_network(cfg, s, "cpu")
    m2, rows2, info2 = base_network(cfg.replace(seed=3, strategy="ht"), s, "cpu")
    assert not info1["from_cache"] and info2["from_cache"] and info1["key"] == info2["key"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert [r["stage"] for r in rows1] == ["simclr", "scan"] and rows1 == rows2
    assert 0 <= info1["neighbour_accuracy"] <= 1
    # another SCAN stage reuses the cached SimCLR network, and trains the same as with SimCLR trained now
    longer = cfg.replace(scan_epochs=2)
    m3, rows3, info3 = base_network(longer, s, "cpu")
    assert not info3["from_cache"] and info3["key"] != info1["key"] and rows3[0] == rows1[0]
    assert len(list((results / "pretrained" / "fmnist").glob("simclr-*.pt"))) == 1
    for f in (results / "pretrained" / "fmnist").glob("resl-*.pt"):
        f.unlink()
    m4, _, _ = base_network(cfg, s, "cpu")
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m4.state_dict().values()))


# ------------------------------------------------------------ settings
def test_scaled_schedule_keeps_the_papers_mechanics():
    from dcutils.resl import settings as rs

    run = rs.RUNS["quick"]["run"]
    steps = rs.steps_per_run(run)
    mu = rs.scaled_momentum(0.995, run)
    assert mu ** steps == pytest.approx(0.995 ** rs.PAPER_STEPS, rel=1e-9)
    assert rs.scaled_every(20, run) == round(20 / 200 * run["sl_epochs"])
    paper = rs.RUNS["paper"]["run"]
    assert rs.scaled_momentum(0.995, paper) == 0.995 and rs.scaled_every(20, paper) == 20
    assert rs.injection_epochs([100, 200, 250], 300, {**run, "sl_epochs": 30}) == [10, 20, 25]


def test_every_resl_data_item_has_runs_and_they_share_the_base():
    from dcutils import catalog, experiments

    keys = set()
    for item in catalog.items("resl"):
        if item.kind != "data":
            continue
        s = experiments.notebook_settings(item.key, "smoke", {})
        configs = experiments.configs_for(s)
        assert configs, item.key
        from dcutils.resl.pretext import BASE_PARAMS

        keys |= {tuple(c[k] for k in BASE_PARAMS) for c in configs}
    assert len(keys) == 1
