"""Tests of dcutils.metrics against scikit-learn, brute force and hand values."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from dcutils import metrics as M

TOL = 1e-9


def noisy_labels(rng, n, k_true, k_pred, noise=0.4):
    """Ground truth and a noisy, relabelled prediction with k_pred clusters."""
    y = rng.integers(0, k_true, n)
    perm = rng.permutation(max(k_true, k_pred))
    p = perm[y] % k_pred
    flip = rng.random(n) < noise
    p[flip] = rng.integers(0, k_pred, flip.sum())
    return y, p + 3  # offset: cluster labels need not start at 0


# --------------------------------------------------------------------------
# Hungarian mapping, ACC, F1
# --------------------------------------------------------------------------
def test_known_permutation_gives_perfect_scores():
    y = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    perm = {0: 7, 1: 5, 2: 4, 3: 6}
    p = np.array([perm[v] for v in y])
    mapping = M.hungarian_mapping(y, p)
    assert mapping == {7: 0, 5: 1, 4: 2, 6: 3}
    assert M.cluster_acc(y, p) == 1.0
    assert M.f1_macro(y, p) == 1.0
    assert M.f1_micro(y, p) == 1.0
    np.testing.assert_array_equal(M.map_clusters(p, mapping), y)


def brute_force_acc(y, p):
    classes, clusters = np.unique(y), np.unique(p)
    best = 0
    if len(clusters) >= len(classes):
        for chosen in itertools.permutations(clusters, len(classes)):
            best = max(best, sum(np.sum((y == c) & (p == k)) for c, k in zip(classes, chosen)))
    else:
        for chosen in itertools.permutations(classes, len(clusters)):
            best = max(best, sum(np.sum((y == c) & (p == k)) for c, k in zip(chosen, clusters)))
    return best / len(y)


@pytest.mark.parametrize("k_pred", [4, 5, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_acc_matches_brute_force(k_pred, seed):
    rng = np.random.default_rng(seed)
    y, p = noisy_labels(rng, 300, 4, k_pred, noise=0.6)
    assert abs(M.cluster_acc(y, p) - brute_force_acc(y, p)) < TOL


def test_mapping_is_injective_and_unmatched_clusters_dropped():
    rng = np.random.default_rng(3)
    y, p = noisy_labels(rng, 500, 4, 6)
    mapping = M.hungarian_mapping(y, p)
    assert len(mapping) == 4 and sorted(mapping.values()) == [0, 1, 2, 3]
    mapped = M.map_clusters(p, mapping)
    # The standard ACC: unmatched clusters are never correct.
    assert abs(np.mean(mapped == y) - M.cluster_acc(y, p)) < TOL
    full = M.hungarian_mapping(y, p, unmatched="majority")
    assert set(full) == set(np.unique(p).tolist())
    for k, v in mapping.items():
        assert full[k] == v


@pytest.mark.parametrize("k_pred", [10, 12, 7])
def test_f1_matches_sklearn_after_mapping(k_pred):
    rng = np.random.default_rng(k_pred)
    y, p = noisy_labels(rng, 3000, 10, k_pred)
    mapped = M.map_clusters(p, M.hungarian_mapping(y, p))
    classes = np.unique(y)
    ref_macro = skm.f1_score(y, mapped, average="macro", labels=classes)
    ref_micro = skm.f1_score(y, mapped, average="micro")
    assert abs(M.f1_macro(y, p) - ref_macro) < TOL
    assert abs(M.f1_micro(y, p) - ref_micro) < TOL
    assert abs(M.f1_micro(y, p) - M.cluster_acc(y, p)) < TOL


def test_map_clusters_rejects_fill_that_is_a_class():
    with pytest.raises(ValueError, match="fill"):
        M.map_clusters([0, 1], {0: 0, 1: -1}, fill=-1)


# --------------------------------------------------------------------------
# NMI, ARI, CL change, clustering_scores
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n,k_true,k_pred", [(50, 3, 3), (2000, 10, 10), (2000, 10, 15), (70000, 10, 10)])
def test_nmi_ari_match_sklearn(n, k_true, k_pred):
    rng = np.random.default_rng(n + k_pred)
    y, p = noisy_labels(rng, n, k_true, k_pred)
    assert abs(M.nmi(y, p) - skm.normalized_mutual_info_score(y, p)) < TOL
    assert abs(M.ari(y, p) - skm.adjusted_rand_score(y, p)) < TOL


@pytest.mark.parametrize(
    "y,p",
    [
        ([0, 0, 0, 0], [1, 1, 1, 1]),  # both unsplit
        ([0, 0, 0, 0], [0, 1, 2, 3]),  # one unsplit
        ([0, 1, 2, 3], [3, 2, 1, 0]),  # all singletons
        ([0, 0, 1, 1], [0, 1, 0, 1]),  # anti-correlated
        ([0, 0, 1, 1], [5, 5, 2, 2]),
    ],
)
def test_nmi_ari_edge_cases_match_sklearn(y, p):
    assert abs(M.nmi(y, p) - skm.normalized_mutual_info_score(y, p)) < TOL
    assert abs(M.ari(y, p) - skm.adjusted_rand_score(y, p)) < TOL


def test_torch_and_numpy_inputs_agree():
    rng = np.random.default_rng(5)
    y, p = noisy_labels(rng, 1000, 5, 6)
    ref = M.clustering_scores(y, p)
    got = M.clustering_scores(torch.from_numpy(y), torch.from_numpy(p).to(torch.int32))
    assert got == ref
    assert M.nmi(y.tolist(), p.tolist()) == ref["nmi"]


def test_clustering_scores_agree_with_single_metrics():
    rng = np.random.default_rng(6)
    y, p = noisy_labels(rng, 70000, 10, 10)
    s = M.clustering_scores(y, p)
    assert set(s) == {"acc", "nmi", "ari", "f1_macro", "f1_micro"}
    assert s["acc"] == M.cluster_acc(y, p)
    assert s["nmi"] == M.nmi(y, p)
    assert s["ari"] == M.ari(y, p)
    assert s["f1_macro"] == M.f1_macro(y, p)
    assert s["f1_micro"] == M.f1_micro(y, p)
    assert 0.5 < s["acc"] < 0.8  # 40 % noise over 10 classes: about 0.64


def test_cluster_label_change():
    rng = np.random.default_rng(7)
    prev = rng.integers(0, 10, 20000)
    renamed = rng.permutation(10)[prev]
    assert abs(M.cluster_label_change(prev, renamed)) < 1e-9
    independent = rng.integers(0, 10, 20000)
    change = M.cluster_label_change(prev, independent)
    assert 99.0 < change <= 100.0
    half = renamed.copy()
    flip = rng.random(20000) < 0.5
    half[flip] = rng.integers(0, 10, flip.sum())
    assert 10.0 < M.cluster_label_change(prev, half) < 90.0


def test_label_validation_errors():
    with pytest.raises(ValueError, match="same length"):
        M.cluster_acc([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="1-D"):
        M.nmi(np.zeros((3, 2), dtype=int), [0, 1, 2])
    with pytest.raises(ValueError, match="non-integer"):
        M.ari([0.5, 1.0], [0, 1])


# --------------------------------------------------------------------------
# Silhouette, intra/inter-CD
# --------------------------------------------------------------------------
def blobs(rng, n=400, d=6, k=4):
    y = rng.integers(0, k, n)
    centers = rng.normal(scale=3.0, size=(k, d))
    return centers[y] + rng.normal(size=(n, d)), y


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_silhouette_matches_sklearn(metric):
    rng = np.random.default_rng(8)
    x, y = blobs(rng)
    y[0] = 9  # a singleton label: s = 0 by convention
    x[1] = 0.0  # a zero vector: cosine distance 1 to all, as sklearn
    ref = skm.silhouette_score(x, y, metric=metric)
    assert abs(M.silhouette(x, y, metric=metric) - ref) < TOL
    samples = M.silhouette_samples(x, y, metric=metric)
    np.testing.assert_allclose(samples, skm.silhouette_samples(x, y, metric=metric), rtol=0, atol=TOL)
    assert samples[0] == 0.0
    # torch input gives the same
    assert abs(M.silhouette(torch.from_numpy(x), torch.from_numpy(y), metric=metric) - ref) < TOL


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_silhouette_components_reproduce_sklearn_samples(metric):
    rng = np.random.default_rng(9)
    x, y = blobs(rng, n=300, k=5)
    a, b = M.silhouette_components(x, y, metric=metric)
    s = np.nan_to_num((b - a) / np.maximum(a, b))
    np.testing.assert_allclose(s, skm.silhouette_samples(x, y, metric=metric), rtol=0, atol=TOL)
    intra, inter = M.intra_inter_cd(x, y, metric=metric)
    assert abs(intra - a.mean()) < TOL and abs(inter - b.mean()) < TOL
    assert inter > intra  # separated blobs


def test_intra_inter_cd_hand_values():
    # 1-D Euclidean: class 0 at {0, 1}, class 1 at {10, 12}.
    x = np.array([[0.0], [1.0], [10.0], [12.0]])
    y = np.array([0, 0, 1, 1])
    a, b = M.silhouette_components(x, y, metric="euclidean")
    np.testing.assert_allclose(a, [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(b, [11.0, 10.0, 9.5, 11.5])
    assert M.intra_inter_cd(x, y, metric="euclidean") == pytest.approx((1.5, 10.5))
    # Cosine: orthogonal classes, identical directions within a class.
    xc = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
    assert M.intra_inter_cd(xc, y) == pytest.approx((0.0, 1.0), abs=1e-12)


def test_singleton_class_is_skipped_in_intra_cd():
    x = np.array([[0.0], [1.0], [5.0]])
    y = np.array([0, 0, 1])
    a, _ = M.silhouette_components(x, y, metric="euclidean")
    assert np.isnan(a[2])
    assert M.intra_inter_cd(x, y, metric="euclidean")[0] == pytest.approx(1.0)


def test_silhouette_subsample_rule():
    rng = np.random.default_rng(10)
    x, y = blobs(rng, n=500)
    idx = np.random.default_rng(3).choice(500, 120, replace=False)
    ref = skm.silhouette_score(x[idx], y[idx], metric="cosine")
    assert abs(M.silhouette(x, y, sample_size=120, seed=3) - ref) < TOL
    assert M.silhouette(x, y, sample_size=10_000) == M.silhouette(x, y)


def test_silhouette_validation():
    x = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="number of labels"):
        M.silhouette(x, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="metric"):
        M.silhouette(x, [0, 0, 1, 1, 1], metric="manhattan")
    with pytest.raises(ValueError, match="rows"):
        M.silhouette(x, [0, 1, 1])


# --------------------------------------------------------------------------
# d1 / d2
# --------------------------------------------------------------------------
def test_centroid_distance_ratio_hand_values():
    centroids = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    x = np.array([[1.0, 0.0], [1.5, 0.0], [0.0, 0.0], [0.0, 1.0]])
    # d1/d2: 1/2; 1.5/1.5; 0/3; 1/sqrt(10)
    expected = [0.5, 1.0, 0.0, 1.0 / math.sqrt(10.0)]
    np.testing.assert_allclose(M.centroid_distance_ratio(x, centroids), expected, atol=1e-12)
    got = M.centroid_distance_ratio(torch.from_numpy(x).float(), torch.from_numpy(centroids))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_centroid_distance_ratio_range_and_errors():
    rng = np.random.default_rng(11)
    r = M.centroid_distance_ratio(rng.normal(size=(1000, 5)), rng.normal(size=(10, 5)))
    assert r.shape == (1000,) and np.all((r > 0) & (r <= 1))
    with pytest.raises(ValueError, match="at least 2 centroids"):
        M.centroid_distance_ratio(rng.normal(size=(3, 5)), rng.normal(size=(1, 5)))
    with pytest.raises(ValueError, match="dimension"):
        M.centroid_distance_ratio(rng.normal(size=(3, 5)), rng.normal(size=(2, 4)))


# --------------------------------------------------------------------------
# TwoNN and PCA-LID
# --------------------------------------------------------------------------
def linear_subspace_points(rng, n=3000, d=3, ambient=20):
    basis, _ = np.linalg.qr(rng.normal(size=(ambient, d)))
    return rng.uniform(-1, 1, size=(n, d)) @ basis.T + rng.normal(size=ambient)


def test_twonn_and_pca_on_linear_subspace():
    x = linear_subspace_points(np.random.default_rng(12))
    assert abs(M.twonn_id(x) - 3.0) < 0.5
    assert M.pca_lid(x) == 3
    assert M.pca_lid(x, variance=0.5) == 2  # three equal variances: 2/3 >= 0.5


def test_twonn_on_curved_2d_manifolds():
    rng = np.random.default_rng(13)
    v = rng.normal(size=(3000, 3))
    sphere = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert abs(M.twonn_id(sphere) - 2.0) < 0.5
    t = 1.5 * np.pi * (1 + 2 * rng.random(3000))
    roll = np.stack([t * np.cos(t), 20 * rng.random(3000), t * np.sin(t)], axis=1)
    assert abs(M.twonn_id(roll) - 2.0) < 0.5
    assert M.pca_lid(sphere) == 3  # curved: the linear dimension exceeds the ID


def test_twonn_drops_duplicates_and_accepts_tensors():
    x = linear_subspace_points(np.random.default_rng(14), n=2000)
    base = M.twonn_id(x)
    dup = np.concatenate([x, x[:300]])
    with_dups = M.twonn_id(dup)
    assert abs(with_dups - base) < 1e-9  # repeated rows collapse to one copy
    assert abs(M.twonn_id(torch.from_numpy(x)) - base) < 1e-9
    assert abs(M.twonn_id(x, sample_size=1000) - 3.0) < 0.6
    with pytest.raises(ValueError, match="discard_fraction"):
        M.twonn_id(x, discard_fraction=1.0)


def test_twonn_high_dimensional_gaussian():
    x = np.random.default_rng(15).normal(size=(4000, 6))
    assert abs(M.twonn_id(x) - 6.0) < 1.0


def test_pca_lid_edge_cases():
    assert M.pca_lid(np.ones((10, 4))) == 0
    x = np.random.default_rng(16).normal(size=(500, 5)) * np.array([10.0, 1, 1, 1, 1])
    assert M.pca_lid(x, variance=0.9) <= 5
    assert M.pca_lid(x, variance=0.5) == 1
    assert M.pca_lid(x, variance=1.0) == 5
    with pytest.raises(ValueError, match="variance"):
        M.pca_lid(x, variance=0.0)


def test_pca_lid_authors_options_standardise_and_count_to_0_9999():
    """standardize + strict (the authors' computePC_ID): a 5-D axis-aligned cloud whose first axis carries
    almost all the raw variance is 1-D at 0.9999 on raw codes and 5-D once standardised."""
    rng = np.random.default_rng(17)
    x = np.zeros((400, 10))
    x[:, :5] = rng.normal(size=(400, 5)) * np.array([100.0, 0.01, 0.01, 0.01, 0.01])
    assert M.pca_lid(x, variance=0.9999) == 1  # raw: 1e4 / (1e4 + 4e-4) of the variance on one axis
    assert M.pca_lid(x, variance=0.9999, standardize=True) == 5
    assert M.pca_lid(x, variance=0.9999, standardize=True, strict=True) == 5
    # strict: the first component whose cumulative share is > (not >=) the threshold
    y = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # two equal variances: shares 0.5, 1.0
    assert M.pca_lid(y, variance=0.5) == 1  # >= : the first component reaches 0.5
    assert M.pca_lid(y, variance=0.5, strict=True) == 2  # > : it does not exceed it
    assert M.pca_lid(np.ones((5, 3)), variance=0.9999, standardize=True) == 0  # constant features: no variance


# --------------------------------------------------------------------------
# ReSL: confident fraction, NMI match
# --------------------------------------------------------------------------
def test_confident_fraction_hand_values():
    probs = np.array(
        [
            [0.995, 0.005, 0.0],
            [0.99, 0.01, 0.0],  # exactly at the threshold: not confident (strict)
            [0.2, 0.3, 0.5],
            [0.0, 0.001, 0.999],
        ]
    )
    np.testing.assert_array_equal(M.is_confident(probs), [True, False, False, True])
    assert M.confident_fraction(probs) == 0.5
    assert M.confident_fraction(torch.from_numpy(probs).float(), threshold=0.5) == 0.75
    with pytest.raises(ValueError, match="softmax"):
        M.confident_fraction(np.array([[3.0, -1.0]]))


def test_nmi_match_hand_values():
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    pseudo = np.array([5, 5, 3, 3, 4, 4, 3, 5])  # last two are wrong
    mask = np.array([True] * 6 + [False, False])
    assert M.nmi_match(y, pseudo, mask) == pytest.approx(1.0)
    # Including the wrong ones lowers the match; equal to NMI on the subset.
    full = np.ones(8, dtype=bool)
    assert M.nmi_match(y, pseudo, full) == pytest.approx(skm.normalized_mutual_info_score(y, pseudo))
    assert M.nmi_match(y, pseudo, full) < 1.0
    assert math.isnan(M.nmi_match(y, pseudo, np.zeros(8, dtype=bool)))
    with pytest.raises(TypeError, match="boolean"):
        M.nmi_match(y, pseudo, np.ones(8))


# --------------------------------------------------------------------------
# Device: geometry metrics run on the input's device and agree with the CPU
# --------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_geometry_metrics_on_cuda_match_cpu():
    rng = np.random.default_rng(17)
    x, y = blobs(rng, n=500)
    xc, yc = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    for metric in ("cosine", "euclidean"):
        assert abs(M.silhouette(xc, yc, metric) - M.silhouette(x, y, metric)) < 1e-9
    cents = torch.from_numpy(rng.normal(size=(4, x.shape[1]))).cuda()
    np.testing.assert_allclose(
        M.centroid_distance_ratio(xc, cents), M.centroid_distance_ratio(x, cents.cpu()), atol=1e-12
    )
    assert abs(M.twonn_id(xc) - M.twonn_id(x)) < 1e-9
    assert M.pca_lid(xc) == M.pca_lid(x)
    probs = torch.softmax(torch.from_numpy(x[:, :4]), dim=1).cuda()
    assert M.confident_fraction(probs, 0.9) == M.confident_fraction(probs.cpu(), 0.9)
