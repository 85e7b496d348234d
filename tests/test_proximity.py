"""Tests of dcutils.rdc.proximity (R-DC phase 2, Eq. 3-15)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcutils.models import FeedForwardAutoencoder
from dcutils.rdc.proximity import (
    CORE_IMAGE_TARGETS,
    ProximityTargets,
    compute_targets,
    core_points,
    core_ratio_stopped,
    decode_targets,
    knn,
    neighbour_centroids,
    neighbour_purity,
    proximity_loss,
    quantile_gamma,
    reliable_neighbours,
    removed_share,
)

# ---------------------------------------------------------------------------
# A hand-made 1-D point set, M = 3. Everything below was computed by hand.
#
#   point:     p0  p1  p2  p3  p4  p5  p6  p7
#   position:   0   2   5  12  20  21  23  40
# ---------------------------------------------------------------------------
POINTS = [0.0, 2.0, 5.0, 12.0, 20.0, 21.0, 23.0, 40.0]
M = 3
HAND_IDX = [
    [1, 2, 3],  # p0: 2, 5, 12
    [0, 2, 3],  # p1: 2, 3, 10
    [1, 0, 3],  # p2: 3, 5, 7
    [2, 4, 5],  # p3: 7, 8, 9
    [5, 6, 3],  # p4: 1, 3, 8
    [4, 6, 3],  # p5: 1, 2, 9
    [5, 4, 3],  # p6: 2, 3, 11
    [6, 5, 4],  # p7: 17, 19, 20
]
HAND_DIST = [
    [2, 5, 12],
    [2, 3, 10],
    [3, 5, 7],
    [7, 8, 9],
    [1, 3, 8],
    [1, 2, 9],
    [2, 3, 11],
    [17, 19, 20],
]
# closest / farthest: 2/12=.167, 2/10=.2, 3/7=.429, 7/9=.778, 1/8=.125, 1/9=.111, 2/11=.182, 17/20=.85
HAND_CORE = {
    0.18: [False, True, True, True, False, False, True, True],
    0.2: [False, False, True, True, False, False, False, True],  # p1's ratio equals beta: not core
    0.8: [False, False, False, False, False, False, False, True],
}
# gaps to the closest neighbour, reliable when < 3:
# p0 0,3,10 | p1 0,1,8 | p2 0,2,4 | p3 0,1,2 | p4 0,2,7 | p5 0,1,8 | p6 0,1,9 | p7 0,2,3
HAND_RELIABLE_3 = [
    [True, False, False],  # gap 3 is not < 3
    [True, True, False],
    [True, True, False],
    [True, True, True],
    [True, True, False],
    [True, True, False],
    [True, True, False],
    [True, True, False],  # gap 3 again
]
# centroid of the reliable neighbours' positions
HAND_CENTROID = [2.0, 2.5, 1.0, 46.0 / 3.0, 22.0, 21.5, 20.5, 22.0]


def _z1d(dtype=torch.float64):
    return torch.tensor(POINTS, dtype=dtype).unsqueeze(1)


# --------------------------------------------------------------------- knn


def test_knn_hand_made_set_matches_hand_distances():
    dist, idx = knn(_z1d(), m=M)
    assert idx.tolist() == HAND_IDX
    assert torch.allclose(dist, torch.tensor(HAND_DIST, dtype=torch.float64))


def test_knn_matches_brute_force_numpy_and_excludes_self():
    rng = np.random.default_rng(0)
    z_np = rng.normal(size=(203, 4)).astype(np.float32)
    dist, idx = knn(torch.from_numpy(z_np), m=5, chunk_size=17)  # several chunks, a ragged last one
    full = np.sqrt(((z_np[:, None, :] - z_np[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(full, np.inf)
    ref_idx = np.argsort(full, axis=1)[:, :5]
    ref_dist = np.take_along_axis(full, ref_idx, axis=1)
    assert dist.shape == (203, 5) and idx.dtype == torch.int64
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-5, atol=1e-6)
    assert not (idx == torch.arange(203).unsqueeze(1)).any()
    assert torch.all(dist[:, 1:] >= dist[:, :-1])


def test_knn_include_self_puts_point_first_at_distance_zero():
    z = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    dist, idx = knn(z, m=4, include_self=True)
    assert torch.equal(idx[:, 0], torch.arange(50))
    assert torch.all(dist[:, 0] == 0)
    d_ex, i_ex = knn(z, m=3)
    assert torch.equal(idx[:, 1:], i_ex) and torch.allclose(dist[:, 1:], d_ex)


def test_knn_keeps_duplicates_of_the_point_as_neighbours():
    z = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [9.0, 0.0]])
    dist, idx = knn(z, m=1)
    assert idx[:, 0].tolist() == [1, 0, 3, 2]  # the duplicate, not the point itself
    assert dist[:, 0].tolist() == [0.0, 0.0, 4.0, 4.0]


def test_knn_rejects_too_many_neighbours():
    with pytest.raises(ValueError, match="m=4"):
        knn(torch.zeros(4, 2), m=4)
    knn(torch.zeros(4, 2), m=4, include_self=True)


# ----------------------------------------------------------- core / reliable


@pytest.mark.parametrize("beta", sorted(HAND_CORE))
def test_core_points_pick_hand_computed_points(beta):
    dist = torch.tensor(HAND_DIST, dtype=torch.float64)
    assert core_points(dist, beta).tolist() == HAND_CORE[beta]
    # the same from float32 distances computed by knn
    d32, _ = knn(_z1d(torch.float32), m=M)
    assert core_points(d32, beta).tolist() == HAND_CORE[beta]


def test_core_points_degenerate_distances():
    dist = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    # all neighbours on the point: densest (ratio 1); only the closest on it: ratio 0
    assert core_points(dist, 0.5).tolist() == [True, False]
    with pytest.raises(ValueError, match="beta"):
        core_points(dist, -0.1)


def test_reliable_neighbours_pick_hand_computed_masks():
    dist = torch.tensor(HAND_DIST, dtype=torch.float64)
    assert reliable_neighbours(dist, 3.0).tolist() == HAND_RELIABLE_3
    # a larger gamma keeps everything, a tiny one only the closest neighbour
    assert reliable_neighbours(dist, 10.5).all()
    tiny = reliable_neighbours(dist, 0.5)
    assert tiny[:, 0].all() and not tiny[:, 1:].any()
    with pytest.raises(ValueError, match="gamma"):
        reliable_neighbours(dist, 0.0)


def test_neighbour_centroids_equal_hand_computed_means():
    z = _z1d()
    idx = torch.tensor(HAND_IDX)
    rel = torch.tensor(HAND_RELIABLE_3)
    c = neighbour_centroids(z, idx, rel)
    assert torch.allclose(c[:, 0], torch.tensor(HAND_CENTROID, dtype=torch.float64))


def test_neighbour_centroids_2d_hand_case():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [6.0, 6.0]])
    idx = torch.tensor([[1, 2], [0, 3], [0, 1], [1, 2]])
    rel = torch.tensor([[True, True], [True, False], [False, True], [False, False]])
    c = neighbour_centroids(z, idx, rel)
    expected = torch.tensor([[1.0, 2.0], [0.0, 0.0], [2.0, 0.0], [6.0, 6.0]])  # last: no reliable -> itself
    assert torch.equal(c, expected)


def test_compute_targets_on_hand_made_set():
    t = compute_targets(_z1d(), m=M, beta=0.18, gamma=3.0)
    assert isinstance(t, ProximityTargets) and len(t) == 8
    assert t.idx.tolist() == HAND_IDX
    assert t.core.tolist() == HAND_CORE[0.18]
    assert t.reliable.tolist() == HAND_RELIABLE_3
    assert torch.allclose(t.centroid[:, 0], torch.tensor(HAND_CENTROID, dtype=torch.float64))
    assert t.core_ratio == pytest.approx(5 / 8)
    sub = t.subset(torch.tensor([3, 7]))
    assert sub.core.tolist() == [True, True] and sub.idx.tolist() == [HAND_IDX[3], HAND_IDX[7]]
    assert sub.core_ratio == t.core_ratio


# --------------------------------------------------------------------- loss


class TinyAE(nn.Module):
    def __init__(self, d=6, k=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, k))
        self.decoder = nn.Sequential(nn.Linear(k, 8), nn.ReLU(), nn.Linear(8, d))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return z, self.decode(z)


def _targets(core, centroid):
    n = core.shape[0]
    return ProximityTargets(
        idx=torch.zeros(n, 2, dtype=torch.long),
        dist=torch.ones(n, 2),
        core=core,
        reliable=torch.ones(n, 2, dtype=torch.bool),
        centroid=centroid,
        core_ratio=float(core.float().mean()),
    )


@pytest.fixture
def ae_and_x():
    torch.manual_seed(0)
    return TinyAE(), torch.randn(10, 6)


def test_proximity_loss_without_core_points_is_plain_reconstruction(ae_and_x):
    model, x = ae_and_x
    t = _targets(torch.zeros(10, dtype=torch.bool), torch.randn(10, 2) * 5)
    loss, parts = proximity_loss(model, x, t, lam=3.0)
    expected = F.mse_loss(model.decode(model.encode(x)), x)
    assert torch.allclose(loss, expected)
    assert float(parts["pull"]) == 0.0 and float(parts["core_share"]) == 0.0


def test_proximity_loss_pull_vanishes_at_the_centroids(ae_and_x):
    model, x = ae_and_x
    core = torch.ones(10, dtype=torch.bool)
    t = _targets(core, model.encode(x).detach())
    loss, parts = proximity_loss(model, x, t, lam=2.0)
    assert float(parts["pull"]) == pytest.approx(0.0, abs=1e-12)
    # decoded own code as target: the construction term vanishes too
    assert float(parts["construction"]) == pytest.approx(0.0, abs=1e-12)
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-12)


def test_proximity_loss_terms_and_gradients(ae_and_x):
    model, x = ae_and_x
    core = torch.tensor([True, False] * 5)
    c = torch.randn(10, 2, generator=torch.Generator().manual_seed(3))
    lam = 0.7
    loss, parts = proximity_loss(model, x, _targets(core, c), lam=lam)

    z = model.encode(x)
    x_hat = model.decode(z)
    with torch.no_grad():
        dec_c = model.decode(c)
    target = torch.where(core.unsqueeze(1), dec_c, x)  # core: decoded centroid, border: input
    construction = ((x_hat - target) ** 2).mean()
    pull = (((z - c) ** 2).mean(1) * core).mean()
    assert torch.allclose(parts["construction"], construction)
    assert torch.allclose(parts["pull"], pull) and float(pull.detach()) > 0
    assert torch.allclose(loss, construction + lam * pull)
    assert float(parts["core_share"]) == 0.5

    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    assert any(p.grad.abs().sum() > 0 for p in model.decoder.parameters())


def test_proximity_loss_targets_are_detached(ae_and_x):
    model, x = ae_and_x
    c = torch.randn(10, 2, requires_grad=True)
    loss, _ = proximity_loss(model, x, _targets(torch.ones(10, dtype=torch.bool), c))
    loss.backward()
    assert c.grad is None


def test_proximity_loss_feeds_x_input_and_targets_x(ae_and_x):
    model, x = ae_and_x
    x_aug = x + 0.3
    t = _targets(torch.zeros(10, dtype=torch.bool), torch.zeros(10, 2))
    loss, _ = proximity_loss(model, x, t, x_input=x_aug)
    assert torch.allclose(loss, F.mse_loss(model.decode(model.encode(x_aug)), x))
    with pytest.raises(ValueError, match="subset"):
        proximity_loss(model, x[:5], t)


def test_proximity_loss_runs_with_dcutils_models_when_available():
    models = pytest.importorskip("dcutils.models", reason="dcutils.models not written yet")
    torch.manual_seed(0)
    model = models.FeedForwardAutoencoder([12, 16, 3])
    x = torch.randn(40, 12)
    with torch.no_grad():
        z = model.encode(x)
    t = compute_targets(z, m=5, beta=0.3, gamma=0.5)
    loss, parts = proximity_loss(model, x[:16], t.subset(torch.arange(16)))
    loss.backward()
    assert math.isfinite(float(loss.detach())) and 0.0 <= float(parts["core_share"]) <= 1.0


# ------------------------------------------------------------ purity / stop


def test_neighbour_purity_hand_case():
    y = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2])
    idx = torch.tensor(HAND_IDX)
    rel = torch.tensor(HAND_RELIABLE_3)
    # true neighbours per row, all M: 2,2,2,2,3,3,3,0 = 17 of 24
    # reliable only: 1/1, 2/2, 2/2, 2/3, 2/2, 2/2, 2/2, 0/2 = 13 of 16
    out = neighbour_purity(idx, rel, y)
    assert out["initial"] == pytest.approx(17 / 24)
    assert out["filtered"] == pytest.approx(13 / 16)
    assert out["false_filtered"] == pytest.approx(3 / 16)
    assert (out["n_initial"], out["n_filtered"]) == (24, 16)
    # core points only (rows 1, 2, 3, 6, 7): 9 of 15 and 8 of 11
    core = torch.tensor(HAND_CORE[0.18])
    out = neighbour_purity(idx, rel, y.numpy(), core=core)
    assert out["initial"] == pytest.approx(9 / 15)
    assert out["filtered"] == pytest.approx(8 / 11)


def test_core_ratio_stopped():
    assert not core_ratio_stopped([0.1, 0.2, 0.3], patience=3)  # too short to judge
    assert core_ratio_stopped([0.1, 0.2, 0.3, 0.3, 0.29, 0.3], patience=3)
    assert not core_ratio_stopped([0.1, 0.2, 0.3, 0.3, 0.29, 0.3001], patience=3)
    assert not core_ratio_stopped([0.1, 0.2, 0.3, 0.31], patience=1)
    assert core_ratio_stopped([0.1, 0.3, 0.301, 0.302], patience=2, min_delta=0.01)
    with pytest.raises(ValueError, match="patience"):
        core_ratio_stopped([0.1], patience=0)


# ------------------------------------------------- options following the authors' code


# The hand-made points with M = 5 counted with the point itself (the authors' n_neighbors=5):
# 4 real neighbours each, by hand (index: distance).
HAND_IDX_4 = [[1, 2, 3, 4], [0, 2, 3, 4], [1, 0, 3, 4], [2, 4, 5, 1],
              [5, 6, 3, 2], [4, 6, 3, 2], [5, 4, 3, 7], [6, 5, 4, 3]]
HAND_DIST_4 = [[2, 5, 12, 20], [2, 3, 10, 18], [3, 5, 7, 15], [7, 8, 9, 10],
               [1, 3, 8, 15], [1, 2, 9, 16], [2, 3, 11, 17], [17, 19, 20, 28]]


def test_neighbours_include_self_gives_four_real_neighbours_with_m_5():
    z = _z1d()
    t = compute_targets(z, m=5, beta=0.6, gamma=100.0, neighbours_include_self=True)
    assert t.idx.tolist() == HAND_IDX_4 and t.dist.tolist() == HAND_DIST_4
    assert not (t.idx == torch.arange(8).unsqueeze(1)).any()  # the point itself is never a neighbour
    # closest / farthest of the 4: p3 7/10 = .7 and p7 17/28 = .61 are the core points at beta = 0.6
    assert t.core.tolist() == [False, False, False, True, False, False, False, True]
    # dcutils' reading (5 others): p3's 5th neighbour is p6 at 11 (7/11 = .64, core), p7's is p2 at 35 (not core)
    other = compute_targets(z, m=5, beta=0.6, gamma=100.0)
    assert other.idx.shape == (8, 5)
    assert other.core.tolist() == [False, False, False, True, False, False, False, False]
    # the centroid averages the 4 real neighbours only: p3 -> (5 + 20 + 21 + 2) / 4
    assert float(t.centroid[3, 0]) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="m >= 2"):
        compute_targets(z, m=1, neighbours_include_self=True)


def _gap_table():
    """25 rows, M = 5: closest at 0.5, then gaps i+1, i+26, i+51, i+76: the 100 gaps are 1..100, distinct."""
    gaps = torch.tensor([[i + 1, i + 26, i + 51, i + 76] for i in range(25)], dtype=torch.float64)
    return torch.cat([torch.full((25, 1), 0.5, dtype=torch.float64), 0.5 + gaps], dim=1)


def test_quantile_gamma_removes_the_stated_share():
    dist = _gap_table()
    # q = 0.8: position 0.8 * 99 = 79.2 between the 80th and 81st gap: gamma = 80.2
    gamma = quantile_gamma(dist, 0.8)
    assert gamma == pytest.approx(80.2)
    rel = reliable_neighbours(dist, gamma)
    assert int((~rel[:, 1:]).sum()) == 20  # gaps 81..100: 20 % of the non-closest neighbours
    assert bool(rel[:, 0].all())  # the closest is always kept
    core = torch.ones(25, dtype=torch.bool)
    assert removed_share(rel, core) == pytest.approx(20 / 125)  # of all M = 5 neighbours of the core points
    # only core points count: rows 0..4 have gaps {1..5, 26..30, 51..55, 76..80}; q = 0.5 -> 40.5 (10 of 20 kept)
    core = torch.arange(25) < 5
    g = quantile_gamma(dist, 0.5, core)
    assert g == pytest.approx((30 + 51) / 2)
    assert removed_share(reliable_neighbours(dist, g), core) == pytest.approx(10 / 25)
    assert math.isnan(removed_share(rel, torch.zeros(25, dtype=torch.bool)))
    # all gaps zero: gamma stays positive, the closest (and its ties) reliable
    assert quantile_gamma(torch.zeros(3, 4), 0.5) > 0
    with pytest.raises(ValueError, match="gamma_quantile"):
        quantile_gamma(dist, 0.0)


def test_quantile_gamma_follows_the_latent_scale_where_the_absolute_one_removes_nothing():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 10, generator=g, dtype=torch.float64) * 0.05  # a small latent scale
    absolute = compute_targets(z, m=5, beta=0.3, gamma=0.6)
    assert absolute.removed_share == 0.0 and absolute.gamma_used == 0.6  # every gap < 0.6: nothing removed
    for scale in (0.05, 50.0):
        t = compute_targets(z / 0.05 * scale, m=5, beta=0.3, gamma=0.6, gamma_mode="quantile", gamma_quantile=0.75)
        assert t.core.any()
        assert t.gamma_used == pytest.approx(quantile_gamma(t.dist, 0.75, t.core))
        # 25 % of the core points' 4 non-closest neighbours, i.e. 1/5 of all their 5 neighbours (no ties)
        removed_nonclosest = float((~t.reliable[t.core][:, 1:]).float().mean())
        assert removed_nonclosest == pytest.approx(0.25, abs=0.01)
        assert t.removed_share == pytest.approx(removed_nonclosest * 4 / 5)
    with pytest.raises(ValueError, match="gamma_mode"):
        compute_targets(z, gamma_mode="relative")


def _hand_ae():
    """z = x1 + x2 and g(z) = (z, 2 z): a 2-1-2 affine autoencoder with hand-set weights."""
    model = FeedForwardAutoencoder([2, 1], activation=None)
    with torch.no_grad():
        model.encoder[0].weight.copy_(torch.tensor([[1.0, 1.0]]))
        model.encoder[0].bias.zero_()
        model.decoder[0].weight.copy_(torch.tensor([[1.0], [2.0]]))
        model.decoder[0].bias.zero_()
    return model


def test_proximity_loss_weights_image_1_to_100_by_hand():
    """x = (1, 0), (0, 2): z = 1, 2; x_hat = (1, 2), (2, 4). Row 0 core, centroid 3 (g(3) = (3, 6)); row 1 border."""
    model = _hand_ae()
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    t = ProximityTargets(idx=torch.zeros(2, 1, dtype=torch.long), dist=torch.ones(2, 1),
                         core=torch.tensor([True, False]), reliable=torch.ones(2, 1, dtype=torch.bool),
                         centroid=torch.tensor([[3.0], [7.0]]), core_ratio=0.5, code=torch.tensor([[0.0], [2.5]]))
    # paper reading: construction = ((1-3)^2 + (2-6)^2 + (2-0)^2 + (4-2)^2) / 4 = 28 / 4 = 7
    # and pull = ((1-3)^2 + 0) / 2 = 2
    loss, parts = proximity_loss(model, x, t)
    assert float(parts["construction"]) == 7.0 and float(parts["pull"]) == 2.0 and float(loss.detach()) == 9.0
    # the authors' 1:100 (loss_dynAE = mse(code) + 100 mse(image)): 100 * 7 + 1 * 2
    loss, _ = proximity_loss(model, x, t, lam=1.0, construction_weight=100.0)
    assert float(loss.detach()) == 702.0
    # own_code (the authors' border targets): row 1's code target is its stored code 2.5, image target g(2.5) = (2.5, 5)
    # construction = (4 + 16 + 0.25 + 1) / 4 = 5.3125; pull over all rows = (4 + 0.25) / 2 = 2.125
    loss, parts = proximity_loss(model, x, t, lam=1.0, construction_weight=100.0, border_target="own_code")
    assert float(parts["construction"]) == 5.3125 and float(parts["pull"]) == 2.125
    assert float(loss.detach()) == 100 * 5.3125 + 2.125
    with pytest.raises(ValueError, match="border_target"):
        proximity_loss(model, x, t, border_target="centroid")
    with pytest.raises(ValueError, match="codes"):
        proximity_loss(model, x, ProximityTargets(t.idx, t.dist, t.core, t.reliable, t.centroid, 0.5),
                       border_target="own_code")


def test_targets_subset_keeps_gamma_share_and_codes():
    z = _z1d()
    t = compute_targets(z, m=3, beta=0.18, gamma=3.0)
    assert t.gamma_used == 3.0 and torch.equal(t.code, z)
    # core rows 1, 2, 3, 6, 7; removed by gamma = 3 (HAND_RELIABLE_3): 1 + 1 + 0 + 1 + 1 of 15
    assert t.removed_share == pytest.approx(4 / 15)
    sub = t.subset(torch.tensor([3, 7]))
    assert sub.gamma_used == 3.0 and sub.removed_share == t.removed_share
    assert sub.code.tolist() == [[12.0], [40.0]]


@pytest.mark.parametrize("border_target", ["input", "own_code"])
def test_targets_decoded_once_per_refresh_equal_per_iteration_decoding_until_the_decoder_moves(border_target):
    """decode_targets (core_image_targets="per_refresh") stores the decoded target codes; the loss with them
    equals the per-iteration loss on the same decoder, and stays fixed when the decoder changes afterwards."""
    torch.manual_seed(0)
    model = FeedForwardAutoencoder([6, 5, 3])
    x = torch.randn(40, 6)
    t = compute_targets(model.encode(x).detach(), 5, 0.3, 0.6)
    fixed = decode_targets(model, t, border_target)
    assert t.image is None and fixed.image.shape == (40, 6)
    idx = torch.arange(16)
    per_iteration, _ = proximity_loss(model, x[idx], t.subset(idx), 1.0, border_target=border_target)
    per_refresh, _ = proximity_loss(model, x[idx], fixed.subset(idx), 1.0, border_target=border_target)
    assert torch.allclose(per_iteration, per_refresh)
    codes = t.centroid if border_target == "input" else torch.where(t.core[:, None], t.centroid, t.code)
    with torch.no_grad():
        assert torch.allclose(fixed.image, model.decode(codes))
        for p in model.decoder.parameters():  # the decoder moves: the stored images do not
            p.mul_(2.0)
    moved, _ = proximity_loss(model, x[idx], t.subset(idx), 1.0, border_target=border_target)
    held, _ = proximity_loss(model, x[idx], fixed.subset(idx), 1.0, border_target=border_target)
    assert not torch.allclose(moved, held)
    assert CORE_IMAGE_TARGETS == ("per_refresh", "per_iteration")
